package stages_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os/exec"
	"strings"
	"testing"

	kflate "github.com/klauspost/compress/flate"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

// inflate decompresses one segment (sync flush, not final) with the
// standard library's inflater.
func inflate(t testing.TB, seg []byte) []byte {
	t.Helper()
	// close the stream with an empty final stored block
	seg = append(seg[:len(seg):len(seg)], 1, 0, 0, 0xff, 0xff)
	got, err := io.ReadAll(flate.NewReader(bytes.NewReader(seg)))
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return got
}

// lineInputs are pieces that exercise every path of the line compressor.
func lineInputs(t testing.TB) map[string][]byte {
	long := strings.Repeat(`{"A":"`+strings.Repeat("x", 300)+`","B":1}`+"\n", 50)
	in := map[string][]byte{
		"empty":            nil,
		"one byte":         []byte("z"),
		"newline":          []byte("\n"),
		"no final newline": []byte("{\"A\":1}\n{\"A\":2}"),
		"identical lines":  bytes.Repeat([]byte(`{"VBELN":"0090000001","POSNR":10,"ARKTX":"국내용"}`+"\n"), 3000),
		"long matches":     []byte(long),
		"vbrp":             stages.VBRPNDJSON(t, 400),
		"random":           randomBytes(200000, 3),
		"random lines":     bytes.ReplaceAll(randomBytes(200000, 4), []byte{'\n'}, []byte{'\n', ',', '"'}),
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
	in["random values"] = randomValueRows(300)
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

// TestLineDeflateRoundTrip: every input inflates back byte-identical with
// the standard library, also when the compressor is reused and the output
// is appended after existing bytes.
func TestLineDeflateRoundTrip(t *testing.T) {
	for _, f := range []struct {
		name string
		f    pipeline.BlockCompressorFactory
	}{{"probing", stages.LineDeflate()}, {"lines-only", stages.LineDeflateOnly()}} {
		t.Run(f.name, func(t *testing.T) { roundTrip(t, f.f) })
	}
}

func roundTrip(t *testing.T, f pipeline.BlockCompressorFactory) {
	bc, err := f(pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range lineInputs(t) {
		t.Run(name, func(t *testing.T) {
			for _, prefix := range []string{"", "prefix"} {
				out, err := bc.AppendBlock([]byte(prefix), in)
				if err != nil {
					t.Fatal(err)
				}
				if string(out[:len(prefix)]) != prefix {
					t.Fatal("prefix overwritten")
				}
				if got := inflate(t, out[len(prefix):]); !bytes.Equal(got, in) {
					t.Fatalf("round trip: got %d bytes, want %d", len(got), len(in))
				}
			}
		})
	}
}

// TestLineDeflateRatio: on VBRP rows the line compressor stays within 10%
// of flate level 1's size (and really compresses).
func TestLineDeflateRatio(t *testing.T) {
	in := stages.VBRPNDJSON(t, 2000)
	bc, _ := stages.LineDeflateOnly()(pipeline.Config{})
	var lines []byte
	var err error
	for piece := range slicesChunk(in, 1<<20) {
		if lines, err = bc.AppendBlock(lines, piece); err != nil {
			t.Fatal(err)
		}
	}
	var l1 bytes.Buffer
	zw, _ := kflate.NewWriter(&l1, 1)
	for piece := range slicesChunk(in, 1<<20) {
		zw.Reset(&l1)
		zw.Write(piece)
		zw.Flush()
	}
	t.Logf("%d bytes: lines %d (%.2f:1), flate level 1 %d (%.2f:1)", len(in), len(lines),
		float64(len(in))/float64(len(lines)), l1.Len(), float64(len(in))/float64(l1.Len()))
	if len(lines) > l1.Len()*11/10 {
		t.Fatalf("line compressor %d bytes, flate level 1 %d: more than 10%% larger", len(lines), l1.Len())
	}
}

// slicesChunk yields src in pieces of about n bytes, cut after a newline.
func slicesChunk(src []byte, n int) func(func([]byte) bool) {
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

// FuzzLineDeflate: any bytes round-trip.
func FuzzLineDeflate(f *testing.F) {
	for _, in := range lineInputs(f) {
		if len(in) < 4096 {
			f.Add(in)
		}
	}
	bc, _ := stages.LineDeflateOnly()(pipeline.Config{})
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := bc.AppendBlock(nil, in)
		if err != nil {
			t.Fatal(err)
		}
		if got := inflate(t, out); !bytes.Equal(got, in) {
			t.Fatalf("round trip: got %q, want %q", got, in)
		}
	})
}

// synthNDJSON is n rows of the synthetic source's VBRP (what the bench
// compresses) as NDJSON.
func synthNDJSON(tb testing.TB, n int64) []byte { return synthTable(tb, "VBRP", n) }

// synthTable is n rows of a synthetic table as NDJSON.
func synthTable(tb testing.TB, table string, n int64) []byte {
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

// TestLineDeflateSynth: the synthetic VBRP rows round-trip, compressed at
// least as well as by flate level 1 (measured: 6.7 vs 5.8 : 1).
func TestLineDeflateSynth(t *testing.T) {
	in := synthNDJSON(t, 3000)
	bc, _ := stages.LineDeflateOnly()(pipeline.Config{})
	fl, _ := stages.GzipBlocks()(pipeline.Config{GzipLevel: 1})
	var lines, l1 []byte
	for piece := range slicesChunk(in, 1<<20) {
		before := len(lines)
		var err error
		if lines, err = bc.AppendBlock(lines, piece); err != nil {
			t.Fatal(err)
		}
		if got := inflate(t, lines[before:]); !bytes.Equal(got, piece) {
			t.Fatalf("round trip: %d bytes, want %d", len(got), len(piece))
		}
		l1, _ = fl.AppendBlock(l1, piece)
	}
	t.Logf("%d bytes: lines %.2f:1, flate level 1 %.2f:1", len(in),
		float64(len(in))/float64(len(lines)), float64(len(in))/float64(len(l1)))
	if len(lines) > len(l1) {
		t.Fatalf("line compressor %d bytes, flate level 1 %d", len(lines), len(l1))
	}
}

// randomValueRows is n lines of 274 columns whose values are md5 hex
// prefixes of 0–16 characters (almost every value changes from line to
// line: the line compressor's worst case).
func randomValueRows(n int) []byte {
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

// BenchmarkLineDeflate compresses rows in 1 MiB pieces with the line
// compressor and with flate level 1: the synthetic source's VBRP, the
// encoder tests' VBRP rows and rows where nearly every value changes
// (md5 hex); ratio and rows/s are reported.
func BenchmarkLineDeflate(b *testing.B) {
	for _, d := range []struct {
		name string
		rows int
		in   func(testing.TB, int) []byte
	}{
		{"synth", 2000, func(tb testing.TB, n int) []byte { return synthNDJSON(tb, int64(n)) }},
		{"vbrp", 2000, stages.VBRPNDJSON},
		{"random-values", 3000, func(_ testing.TB, n int) []byte { return randomValueRows(n) }},
	} {
		in := d.in(b, d.rows)
		for _, c := range []struct {
			name string
			f    pipeline.BlockCompressorFactory
		}{{"lines", stages.LineDeflate()}, {"flate1", stages.GzipBlocks()}} {
			b.Run(d.name+"/"+c.name, func(b *testing.B) {
				bc, _ := c.f(pipeline.Config{GzipLevel: 1})
				var out []byte
				b.SetBytes(int64(len(in)))
				b.ReportAllocs()
				for b.Loop() {
					out = out[:0]
					for piece := range slicesChunk(in, 1<<20) {
						out, _ = bc.AppendBlock(out, piece)
					}
				}
				b.ReportMetric(float64(len(in))/float64(len(out)), "ratio")
				b.ReportMetric(float64(b.N)*float64(d.rows)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// TestLineDeflateRealigns: `,"` inside values (arrays of strings, as the
// PostgreSQL source writes them) shifts the key count between lines; the
// compressor must find its way back to the same key instead of comparing
// every later column with the wrong one.
func TestLineDeflateRealigns(t *testing.T) {
	var in []byte
	for i := range 3000 {
		in = append(in, `{"ID":`...)
		in = append(in, fmt.Sprint(100000+i)...)
		in = append(in, `,"TAGS":["x"`...)
		for range i * 7 % 5 {
			in = append(in, `,"y"`...)
		}
		in = append(in, ']')
		for c := range 40 {
			in = append(in, fmt.Sprintf(`,"COL%02d":"value %d"`, c, c*c)...)
		}
		in = append(in, "}\n"...)
	}
	bc, _ := stages.LineDeflateOnly()(pipeline.Config{})
	fl, _ := stages.GzipBlocks()(pipeline.Config{GzipLevel: 1})
	lines, err := bc.AppendBlock(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := inflate(t, lines); !bytes.Equal(got, in) {
		t.Fatal("round trip")
	}
	l1, _ := fl.AppendBlock(nil, in)
	t.Logf("%d bytes: lines %d, flate level 1 %d", len(in), len(lines), len(l1))
	if len(lines) > len(l1)*3/2 {
		t.Fatalf("lines %d bytes, flate level 1 %d: lost alignment", len(lines), len(l1))
	}
}

// TestLineDeflateGNUGzip: a second, independent inflater (GNU gzip, as
// found on every Debian system) reads the line compressor's gzip member
// back byte-identical.
func TestLineDeflateGNUGzip(t *testing.T) {
	gz, err := exec.LookPath("gzip")
	if err != nil {
		t.Fatalf("GNU gzip is needed as an independent inflater: %v", err)
	}
	in := append(synthNDJSON(t, 1500), randomValueRows(100)...)
	bc, _ := stages.LineDeflateOnly()(pipeline.Config{})
	obj := pipeline.GzipHeader()
	for piece := range slicesChunk(in, 1<<20) {
		if obj, err = bc.AppendBlock(obj, piece); err != nil {
			t.Fatal(err)
		}
	}
	obj = append(obj, pipeline.GzipTrailer(crc32.ChecksumIEEE(in), int64(len(in)))...)
	cmd := exec.Command(gz, "-dc")
	cmd.Stdin = bytes.NewReader(obj)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("gzip -dc: %v: %s", err, stderr.String())
	}
	if !bytes.Equal(got, in) {
		t.Fatalf("gzip -dc gave %d bytes, want %d", len(got), len(in))
	}
}

// TestLineDeflateProbe: where flate compresses a table's pieces more than
// 5% better (synthetic VBRK: header rows whose values come from small
// vocabularies, so consecutive lines share little) the compressor writes
// flate's segments; on VBRP its own. Either way the segments inflate.
func TestLineDeflateProbe(t *testing.T) {
	for _, tc := range []struct {
		table     string
		wantFlate bool
	}{{"VBRK", true}, {"LIKP", true}, {"VBRP", false}} {
		t.Run(tc.table, func(t *testing.T) {
			in := synthTable(t, tc.table, 4000)
			size := map[string]int{}
			for name, f := range map[string]pipeline.BlockCompressorFactory{
				"probing": stages.LineDeflate(), "lines": stages.LineDeflateOnly(), "flate": stages.GzipBlocks()} {
				bc, _ := f(pipeline.Config{GzipLevel: 1})
				var out []byte
				for piece := range slicesChunk(in, 1<<20) {
					before := len(out)
					out, _ = bc.AppendBlock(out, piece)
					if got := inflate(t, out[before:]); !bytes.Equal(got, piece) {
						t.Fatalf("%s: round trip", name)
					}
				}
				size[name] = len(out)
			}
			t.Logf("%s %d bytes: %v", tc.table, len(in), size)
			want := size["lines"]
			if tc.wantFlate {
				want = size["flate"]
			}
			if size["probing"] != want {
				t.Fatalf("sizes %v: probing should equal %s", size, map[bool]string{true: "flate", false: "lines"}[tc.wantFlate])
			}
		})
	}
}
