package compression_test

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/compresstest"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
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
			if (codec.Blocks() == nil) != (c.name == "pgzip") || (codec.Stream() == nil) != (c.name != "pgzip") || codec.Segments() == nil {
				t.Errorf("%+v: blocks %v stream %v", c.spec, codec.Blocks() != nil, codec.Stream() != nil)
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
// segments or the stream after them, and the range segments) writes the
// same NDJSON back, at the codec's level whatever pipeline.Config says:
// single objects, parts and ranges cannot disagree.
func TestCodecViewsAgree(t *testing.T) {
	in := compresstest.VBRPNDJSON(t, 600)
	other := pipeline.Config{GzipLevel: 9} // must not matter
	for _, spec := range []compression.Spec{
		{Name: "lines", Level: 1}, {Name: "lines", Level: 1, Verify: true},
		{Name: "blocks", Level: 1}, {Name: "blocks", Level: 6}, {Name: "blocks", Level: -2}, {Name: "blocks", Level: 6, Verify: true},
		{Name: "pgzip", Level: 1}, {Name: "pgzip", Level: 6},
	} {
		codec := compression.Must(compression.New(spec))
		t.Run(fmt.Sprintf("%s/level=%d/verify=%v", codec.Name(), spec.Level, spec.Verify), func(t *testing.T) {
			// single objects and parts
			var obj []byte
			if f := codec.Blocks(); f != nil {
				bc, err := f(other)
				if err != nil {
					t.Fatal(err)
				}
				obj = pipeline.GzipHeader()
				for piece := range compresstest.Chunks(in, 1<<18) {
					if obj, err = bc.AppendBlock(obj, piece); err != nil {
						t.Fatal(err)
					}
				}
				obj = append(obj, pipeline.GzipTrailer(crc32.ChecksumIEEE(in), int64(len(in)))...)
				// the codec's level, not cfg's
				if spec.Name == "blocks" && !spec.Verify {
					direct, err := stages.GzipBlocks()(pipeline.Config{GzipLevel: spec.Level})
					if err != nil {
						t.Fatal(err)
					}
					want, _ := direct.AppendBlock(nil, in[:1<<18])
					got, _ := bc.AppendBlock(nil, in[:1<<18])
					if !bytes.Equal(got, want) {
						t.Errorf("the codec's blocks are not flate at level %d", spec.Level)
					}
				}
			} else {
				var buf bytes.Buffer
				zw, err := codec.Stream()(&buf, other)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := zw.Write(in); err != nil {
					t.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					t.Fatal(err)
				}
				obj = buf.Bytes()
			}
			if got := testutil.GunzipOne(t, obj); !bytes.Equal(got, in) {
				t.Fatalf("object: %d bytes back, want %d", len(got), len(in))
			}
			// range segments
			var seg bytes.Buffer
			sw, err := codec.Segments()(&seg, other)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sw.Write(in); err != nil {
				t.Fatal(err)
			}
			if err := sw.Close(); err != nil {
				t.Fatal(err)
			}
			member := append(pipeline.GzipHeader(), seg.Bytes()...)
			member = append(member, pipeline.GzipTrailer(crc32.ChecksumIEEE(in), int64(len(in)))...)
			if got := testutil.GunzipOne(t, member); !bytes.Equal(got, in) {
				t.Fatalf("segment: %d bytes back, want %d", len(got), len(in))
			}
			if spec.Name != "lines" && !spec.Verify {
				// flate at the codec's level
				var want bytes.Buffer
				dw, _ := stages.Deflate()(&want, pipeline.Config{GzipLevel: spec.Level})
				_, _ = dw.Write(in)
				_ = dw.Close()
				if !bytes.Equal(seg.Bytes(), want.Bytes()) {
					t.Errorf("the codec's segments are not flate at level %d", spec.Level)
				}
			}
		})
	}
}

// TestLineDeflateOtherLevelRefused: the line compressor given any level
// but 1 is an error, never level 1 in disguise.
func TestLineDeflateOtherLevelRefused(t *testing.T) {
	for _, level := range []int{0, 1} { // 0 is the pipeline's default, 1
		if _, err := stages.LineDeflate()(pipeline.Config{GzipLevel: level}); err != nil {
			t.Errorf("level %d: %v", level, err)
		}
	}
	for _, level := range []int{-2, 2, 6, 9} {
		if _, err := stages.LineDeflate()(pipeline.Config{GzipLevel: level}); err == nil || !strings.Contains(err.Error(), "gzip level 1 compressor") {
			t.Errorf("level %d: %v", level, err)
		}
	}
}

// TestSameLevel: a pipeline.Config naming another level than the codec's
// is an error, zero is the codec's.
func TestSameLevel(t *testing.T) {
	codec := compression.Must(compression.New(compression.Spec{Name: "pgzip", Level: 6}))
	if err := codec.SameLevel(pipeline.Config{}); err != nil {
		t.Error(err)
	}
	if err := codec.SameLevel(pipeline.Config{GzipLevel: 6}); err != nil {
		t.Error(err)
	}
	if err := codec.SameLevel(pipeline.Config{GzipLevel: 1}); err == nil {
		t.Error("level 1 pipeline with a level 6 codec accepted")
	}
}
