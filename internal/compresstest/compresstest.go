// Package compresstest holds the inputs and checks shared by the tests and
// benchmarks of the compressors (package compression and its line
// compressor): pieces that exercise every path of the line compressor, the
// synthetic and VBRP-shaped rows as NDJSON, and an independent inflater.
package compresstest

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/vbrptest"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

// Inflate decompresses one segment (sync flush, not final) with the
// standard library's inflater.
func Inflate(tb testing.TB, seg []byte) []byte {
	tb.Helper()
	// close the stream with an empty final stored block
	seg = append(seg[:len(seg):len(seg)], 1, 0, 0, 0xff, 0xff)
	got, err := io.ReadAll(flate.NewReader(bytes.NewReader(seg)))
	if err != nil {
		tb.Fatalf("inflate: %v", err)
	}
	return got
}

// LineInputs are pieces that exercise every path of the line compressor.
func LineInputs(tb testing.TB) map[string][]byte {
	long := strings.Repeat(`{"A":"`+strings.Repeat("x", 300)+`","B":1}`+"\n", 50)
	in := map[string][]byte{
		"empty":            nil,
		"one byte":         []byte("z"),
		"newline":          []byte("\n"),
		"no final newline": []byte("{\"A\":1}\n{\"A\":2}"),
		"identical lines":  bytes.Repeat([]byte(`{"VBELN":"0090000001","POSNR":10,"ARKTX":"국내용"}`+"\n"), 3000),
		"long matches":     []byte(long),
		"vbrp":             VBRPNDJSON(tb, 400),
		"random":           RandomBytes(200000, 3),
		"random lines":     bytes.ReplaceAll(RandomBytes(200000, 4), []byte{'\n'}, []byte{'\n', ',', '"'}),
		"keys differ":      []byte("{\"A\":1,\"B\":2}\n{\"A\":1,\"C\":2}\n{\"X\":1,\"C\":2,\"D\":3}\n{}\n\n{\"X\":1}\n"),
		"commas":           []byte(",\",\",\"\n,\",\",\"\n,,,\"\"\"\n,\",\",\"x\n"),
		"arrays":           []byte("{\"A\":[\"a\",\"b\"],\"B\":1}\n{\"A\":[\"a\",\"b\",\"c\"],\"B\":1}\n{\"A\":[],\"B\":1}\n"),
		"short lines":      bytes.Repeat([]byte("1\n22\n333\n4444\n55555\n666666\n"), 5000),
		"long line":        append(bytes.Repeat([]byte(`{"CLOB":"`+strings.Repeat("abc,\"", 5000)+`"}`+"\n"), 3), '\n'),
	}
	// lines of 258+3 bytes that differ only at the end: matches split at 258
	var split []byte
	for i := 0; i < 100; i++ {
		split = append(split, strings.Repeat("k", 258+i%7)...)
		split = append(split, fmt.Sprintf("%d\n", i)...)
	}
	in["match split"] = split
	in["random values"] = RandomValueRows(300)
	// a long line after more than one Huffman block was written: the piece
	// starts over with flate
	in["long line after blocks"] = append(bytes.Repeat([]byte("1\n22\n333\n4444\n55555\n666666\n"), 60000),
		bytes.Repeat([]byte("x"), 20000)...)
	// lines just under and over the 32 KiB window
	for _, n := range []int{16 << 10, 16<<10 + 1} {
		line := append(bytes.Repeat([]byte(`,"K":1`), n/6+1), '\n')
		line = line[len(line)-n:]
		in[fmt.Sprintf("lines of %d", n)] = bytes.Repeat(line, 4)
	}
	return in
}

// RandomBytes is n pseudo-random bytes (xorshift), the same for a seed.
func RandomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// RandomValueRows is n lines of 274 columns whose values are md5 hex
// prefixes of 0–16 characters (almost every value changes from line to
// line: the line compressor's worst case).
func RandomValueRows(n int) []byte {
	var in []byte
	for r := range n {
		in = append(in, '{')
		for c := range 274 {
			if c > 0 {
				in = append(in, ',')
			}
			sum := md5.Sum(fmt.Appendf(nil, "%d.%d", r, c))
			h := hex.EncodeToString(sum[:])
			in = fmt.Appendf(in, `"COLUMN_%d":"%s"`, c, h[:int(sum[0])%17])
		}
		in = append(in, "}\n"...)
	}
	return in
}

// VBRPNDJSON is n VBRP-shaped rows (internal/vbrptest) as NDJSON.
func VBRPNDJSON(tb testing.TB, n int) []byte {
	tb.Helper()
	cols, rows := vbrptest.Rows(n)
	e, err := stages.NewEncoder(cols, stages.NDJSONOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	buf, err := e.AppendRows(nil, rows)
	if err != nil {
		tb.Fatal(err)
	}
	return buf
}

// SynthNDJSON is n rows of a table of the synthetic source as NDJSON.
func SynthNDJSON(tb testing.TB, table string, n int64) []byte {
	tb.Helper()
	ctx := context.Background()
	c, err := synth.New(synth.Config{Rows: map[string]int64{table: n}})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	info, err := c.Describe(ctx, table)
	if err != nil {
		tb.Fatal(err)
	}
	src, err := c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	enc, err := stages.NewEncoder(info.Columns, stages.NDJSONOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	var out []byte
	for {
		b, err := src.Next(ctx)
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		if out, err = enc.AppendRows(out, b.Rows); err != nil {
			tb.Fatal(err)
		}
		b.Release()
	}
}

// Chunks yields src in pieces of about n bytes, each cut after a newline
// (the last may end without one).
func Chunks(src []byte, n int) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for len(src) > 0 {
			end := min(n, len(src))
			if i := bytes.IndexByte(src[end:], '\n'); i >= 0 && end < len(src) {
				end += i + 1
			} else {
				end = len(src)
			}
			if !yield(src[:end]) {
				return
			}
			src = src[end:]
		}
	}
}
