package compression_test

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/compresstest"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// TestNew: the compressor, its level and verification are validated
// together once; "auto" resolves here; a level the compressor does not
// support is an error naming the field, never a silent change.
func TestNew(t *testing.T) {
	for _, c := range []struct {
		spec      compression.Spec
		name      string
		field     string // SpecError.Field, "" for success
		errSubstr string
	}{
		{spec: compression.Spec{Name: "auto", Level: 1}, name: "lines"},
		{spec: compression.Spec{Name: "", Level: 1}, name: "lines"},
		{spec: compression.Spec{Name: "auto", Level: 6}, name: "blocks"},
		{spec: compression.Spec{Name: "auto", Level: -2}, name: "blocks"},
		{spec: compression.Spec{Name: "lines", Level: 1, Verify: true}, name: "lines"},
		{spec: compression.Spec{Name: "blocks", Level: 9, Verify: true}, name: "blocks"},
		{spec: compression.Spec{Name: "pgzip", Level: 6}, name: "pgzip"},
		{spec: compression.Spec{Name: "lines", Level: 6}, field: "name", errSubstr: "lines is the gzip level 1 compressor; for gzip level 6 use blocks or pgzip"},
		{spec: compression.Spec{Name: "lines", Level: -2}, field: "name", errSubstr: "for gzip level -2"},
		{spec: compression.Spec{Name: "pgzip", Level: 1, Verify: true}, field: "verify", errSubstr: "not pgzip"},
		{spec: compression.Spec{Name: "zstd", Level: 1}, field: "name", errSubstr: `"zstd" is not auto, lines, blocks or pgzip`},
		{spec: compression.Spec{Name: "blocks", Level: 0}, field: "level", errSubstr: "0 is out of range"},
		{spec: compression.Spec{Name: "blocks", Level: 10}, field: "level", errSubstr: "10 is out of range"},
		{spec: compression.Spec{Name: "blocks", Level: -1}, field: "level", errSubstr: "-1 is out of range"},
	} {
		codec, err := compression.New(c.spec)
		if c.field == "" {
			if err != nil || codec.Name() != c.name || codec.Level() != c.spec.Level || codec.Verify() != c.spec.Verify || codec.IsZero() {
				t.Errorf("%+v: %q level %d verify %v, %v; want %q", c.spec, codec.Name(), codec.Level(), codec.Verify(), err, c.name)
			}
			if codec.BlockMode() != (c.name != "pgzip") {
				t.Errorf("%+v: block mode %v", c.spec, codec.BlockMode())
			}
			continue
		}
		var serr *compression.SpecError
		if !errors.As(err, &serr) || serr.Field != c.field || !strings.Contains(err.Error(), c.errSubstr) || !codec.IsZero() {
			t.Errorf("%+v: %v; want %s error %q", c.spec, err, c.field, c.errSubstr)
		}
		if cerr := compression.Check(c.spec); cerr == nil || cerr.Error() != err.Error() {
			t.Errorf("%+v: Check %v, New %v", c.spec, cerr, err)
		}
	}
	if !(compression.Codec{}).IsZero() {
		t.Error("the zero Codec is not zero")
	}
}

// TestCodecViewsAgree: every view of one codec (the encode workers'
// blocks framed by the codec, the whole-member writer, and the range
// segments framed by the codec) writes the same NDJSON back, at the codec's
// level: single objects, parts and ranges cannot disagree.
func TestCodecViewsAgree(t *testing.T) {
	in := compresstest.VBRPNDJSON(t, 600)
	cfg := pipeline.Config{}
	for _, spec := range []compression.Spec{
		{Name: "lines", Level: 1}, {Name: "lines", Level: 1, Verify: true},
		{Name: "blocks", Level: 1}, {Name: "blocks", Level: 6}, {Name: "blocks", Level: -2}, {Name: "blocks", Level: 6, Verify: true},
		{Name: "pgzip", Level: 1}, {Name: "pgzip", Level: 6},
	} {
		codec := compression.Must(compression.New(spec))
		t.Run(fmt.Sprintf("%s/level=%d/verify=%v", codec.Name(), spec.Level, spec.Verify), func(t *testing.T) {
			sum := codec.Sum(in)
			if sum != crc32.ChecksumIEEE(in) {
				t.Fatalf("Sum %08x is not the CRC-32 of the data", sum)
			}
			// the encode workers' blocks, framed as the pipeline frames them
			if codec.BlockMode() {
				bc, err := codec.NewBlockCompressor(cfg)
				if err != nil {
					t.Fatal(err)
				}
				obj := codec.Header()
				var got uint32
				var n int64
				for piece := range compresstest.Chunks(in, 1<<18) {
					if obj, err = bc.AppendBlock(obj, piece); err != nil {
						t.Fatal(err)
					}
					got = codec.CombineSums(got, codec.Sum(piece), int64(len(piece)))
					n += int64(len(piece))
				}
				if got != sum || n != int64(len(in)) {
					t.Fatalf("combined sums %08x over %d bytes, want %08x over %d", got, n, sum, len(in))
				}
				obj = append(obj, codec.Trailer(got, n)...)
				if back := testutil.GunzipOne(t, obj); !bytes.Equal(back, in) {
					t.Fatalf("blocks: %d bytes back, want %d", len(back), len(in))
				}
				if spec.Name == "blocks" && !spec.Verify {
					// flate at the codec's level: a fresh writer, one sync flush
					seg, _ := bc.AppendBlock(nil, in[:1<<18])
					if want := flateFlushed(t, in[:1<<18], spec.Level); !bytes.Equal(seg, want) {
						t.Errorf("the codec's blocks are not flate at level %d", spec.Level)
					}
				}
			} else if _, err := codec.NewBlockCompressor(cfg); err == nil {
				t.Error("pgzip made a block compressor")
			}
			// a whole member
			var buf bytes.Buffer
			zw, err := codec.NewWriter(&buf, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for piece := range compresstest.Chunks(in, 70_000) {
				if _, err := zw.Write(piece); err != nil {
					t.Fatal(err)
				}
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			if back := testutil.GunzipOne(t, buf.Bytes()); !bytes.Equal(back, in) {
				t.Fatalf("member: %d bytes back, want %d", len(back), len(in))
			}
			// range segments
			var seg bytes.Buffer
			sw, err := codec.NewSegmentWriter(&seg, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sw.Write(in); err != nil {
				t.Fatal(err)
			}
			if err := sw.Close(); err != nil {
				t.Fatal(err)
			}
			member := append(codec.Header(), seg.Bytes()...)
			member = append(member, codec.Trailer(sum, int64(len(in)))...)
			if back := testutil.GunzipOne(t, member); !bytes.Equal(back, in) {
				t.Fatalf("segment: %d bytes back, want %d", len(back), len(in))
			}
			if spec.Name != "lines" && !spec.Verify {
				if want := flateFlushed(t, in, spec.Level); !bytes.Equal(seg.Bytes(), want) {
					t.Errorf("the codec's segments are not flate at level %d", spec.Level)
				}
			}
		})
	}
}

// flateFlushed is in compressed by a fresh klauspost flate writer at level
// and sync-flushed.
func flateFlushed(t *testing.T, in []byte, level int) []byte {
	var b bytes.Buffer
	zw, err := flate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = zw.Write(in)
	if err := zw.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestZeroCodecRefuses: the zero Codec returns errors from every
// constructor; it never compresses at some default.
func TestZeroCodecRefuses(t *testing.T) {
	var c compression.Codec
	if _, err := c.NewBlockCompressor(pipeline.Config{}); err == nil {
		t.Error("block compressor")
	}
	if _, err := c.NewWriter(&bytes.Buffer{}, pipeline.Config{}); err == nil {
		t.Error("writer")
	}
	if _, err := c.NewSegmentWriter(&bytes.Buffer{}, pipeline.Config{}); err == nil {
		t.Error("segment writer")
	}
}

// TestGzipTrailer: the trailer is the final empty block, the CRC-32 and
// ISIZE (the size modulo 2^32), little-endian; the header is RFC 1952's.
func TestGzipTrailer(t *testing.T) {
	b := compression.GzipTrailer(0x11223344, 1<<32+5)
	want := []byte{0x03, 0x00, 0x44, 0x33, 0x22, 0x11, 5, 0, 0, 0}
	if !bytes.Equal(b, want) {
		t.Fatalf("trailer % x, want % x", b, want)
	}
	if h := compression.GzipHeader(); len(h) != 10 || h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 {
		t.Fatalf("header % x", h)
	}
}

// FuzzCodecMember: for every codec, any input split at any point into two
// range segments and framed by the codec's Header and Trailer (with the
// sums combined as ComposeSegments combines them), and the same input
// through NewWriter, are each one gzip member of exactly the input.
func FuzzCodecMember(f *testing.F) {
	f.Add([]byte(`{"A":1,"B":"x"}`+"\n"+`{"A":2,"B":"y"}`+"\n"), uint16(9), uint8(0))
	f.Add([]byte{}, uint16(0), uint8(3))
	f.Add(bytes.Repeat([]byte("\x00\xff\n"), 4000), uint16(5000), uint8(5))
	specs := []compression.Spec{
		{Name: "lines", Level: 1}, {Name: "lines", Level: 1, Verify: true}, {Name: "blocks", Level: 1},
		{Name: "blocks", Level: 9}, {Name: "blocks", Level: -2, Verify: true}, {Name: "pgzip", Level: 6},
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint16, which uint8) {
		codec := compression.Must(compression.New(specs[int(which)%len(specs)]))
		k := int(cut) % (len(in) + 1)
		member := codec.Header()
		var sum uint32
		for _, part := range [][]byte{in[:k], in[k:]} {
			var seg bytes.Buffer
			sw, err := codec.NewSegmentWriter(&seg, pipeline.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sw.Write(part); err != nil {
				t.Fatal(err)
			}
			if err := sw.Close(); err != nil {
				t.Fatal(err)
			}
			member = append(member, seg.Bytes()...)
			sum = codec.CombineSums(sum, codec.Sum(part), int64(len(part)))
		}
		member = append(member, codec.Trailer(sum, int64(len(in)))...)
		if back := testutil.GunzipOne(t, member); !bytes.Equal(back, in) {
			t.Fatalf("%s: segments give %d bytes back, want %d", codec.Name(), len(back), len(in))
		}
		var buf bytes.Buffer
		zw, err := codec.NewWriter(&buf, pipeline.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write(in[:k]); err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write(in[k:]); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if back := testutil.GunzipOne(t, buf.Bytes()); !bytes.Equal(back, in) {
			t.Fatalf("%s: member gives %d bytes back, want %d", codec.Name(), len(back), len(in))
		}
	})
}
