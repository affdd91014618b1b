package compression

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/compresstest"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
)

// TestGzipBlocksMember: segments from one reused BlockCompressor (flate at
// every level, and the line compressor), appended
// after existing bytes, framed by GzipHeader and GzipTrailer, are
// one gzip member (compress/gzip, Multistream off) of the concatenated input,
// with nothing after it; empty pieces included.
func TestGzipBlocksMember(t *testing.T) {
	pieces := [][]byte{
		bytes.Repeat([]byte(`{"A":"x","B":12.5}`+"\n"), 5000),
		nil,
		[]byte("z"),
		compresstest.RandomBytes(300000, 7),
		bytes.Repeat([]byte("abc"), 100000),
		nil,
	}
	inputs := compresstest.LineInputs(t)
	for _, name := range slices.Sorted(maps.Keys(inputs)) {
		pieces = append(pieces, inputs[name])
	}
	type compressor struct {
		name string
		f    blockFactory
	}
	cs := []compressor{{"lines", lineBlocks()}}
	for _, level := range []int{1, 6, 9, -2} {
		cs = append(cs, compressor{fmt.Sprintf("level=%d", level), flateBlocks(level)})
	}
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			bc, err := c.f()
			if err != nil {
				t.Fatal(err)
			}
			obj := GzipHeader()
			var want []byte
			for _, p := range pieces {
				before := len(obj)
				if obj, err = bc.AppendBlock(obj, p); err != nil {
					t.Fatal(err)
				}
				if len(obj) == before {
					t.Fatal("an empty segment: a sync flush writes at least an empty stored block")
				}
				want = append(want, p...)
			}
			obj = append(obj, GzipTrailer(crc32.ChecksumIEEE(want), int64(len(want)))...)
			if got := testutil.GunzipOne(t, obj); !bytes.Equal(got, want) {
				t.Fatalf("gunzipped %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

// TestGzipBlocksIndependent: a segment does not depend on the pieces the
// compressor saw before (each starts without a dictionary), so the same
// piece gives the same bytes whatever came first.
func TestGzipBlocksIndependent(t *testing.T) {
	piece := bytes.Repeat([]byte(`{"VBELN":"0090000001","POSNR":"000010"}`+"\n"), 3000)
	fresh, _ := flateBlocks(1)()
	want, err := fresh.AppendBlock(nil, piece)
	if err != nil {
		t.Fatal(err)
	}
	used, _ := flateBlocks(1)()
	if _, err := used.AppendBlock(nil, piece); err != nil { // same data as a potential dictionary
		t.Fatal(err)
	}
	got, err := used.AppendBlock([]byte("prefix"), piece)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[6:], want) || string(got[:6]) != "prefix" {
		t.Fatalf("segment after a previous piece differs (%d vs %d bytes)", len(got)-6, len(want))
	}
	if len(want)*10 > len(piece) {
		t.Fatalf("%d bytes compressed to %d: not compressed", len(piece), len(want))
	}
}

func TestGzipBlocksLevel(t *testing.T) {
	for _, level := range []int{10, -3, 42} {
		if _, err := flateBlocks(level)(); err == nil {
			t.Errorf("level %d accepted", level)
		}
	}
}
