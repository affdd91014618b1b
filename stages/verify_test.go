package stages_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/compresstest"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// TestVerifiedPassesGoodSegments: Verified changes nothing when the
// compressor is right, for the line compressor and flate.
func TestVerifiedPassesGoodSegments(t *testing.T) {
	for name, f := range map[string]pipeline.BlockCompressorFactory{"lines": stages.LineDeflate(), "flate": stages.GzipBlocks()} {
		t.Run(name, func(t *testing.T) {
			plain, _ := f(pipeline.Config{GzipLevel: 1})
			checked, err := stages.Verified(f)(pipeline.Config{GzipLevel: 1})
			if err != nil {
				t.Fatal(err)
			}
			for in, data := range compresstest.LineInputs(t) {
				want, _ := plain.AppendBlock([]byte("x"), data)
				got, err := checked.AppendBlock([]byte("x"), data)
				if err != nil {
					t.Fatalf("%s: %v", in, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: Verified changed the segment", in)
				}
			}
		})
	}
}

// corrupt is a BlockCompressor whose segments are damaged by fn.
type corrupt struct {
	bc pipeline.BlockCompressor
	fn func(seg []byte) []byte
}

func (c corrupt) AppendBlock(dst, src []byte) ([]byte, error) {
	start := len(dst)
	out, err := c.bc.AppendBlock(dst, src)
	return append(out[:start], c.fn(out[start:])...), err
}

func corrupting(fn func(seg []byte) []byte) pipeline.BlockCompressorFactory {
	return func(cfg pipeline.Config) (pipeline.BlockCompressor, error) {
		bc, err := stages.LineDeflate()(cfg)
		return corrupt{bc, fn}, err
	}
}

// TestVerifiedCatchesBadSegments: a segment that does not inflate, or
// inflates to other bytes, is an ErrCompression naming what differs.
func TestVerifiedCatchesBadSegments(t *testing.T) {
	in := compresstest.SynthNDJSON(t, "VBRP", 200)
	for _, tc := range []struct {
		name string
		fn   func([]byte) []byte
		want string
	}{
		{"truncated", func(s []byte) []byte { return s[:len(s)/2] }, "does not inflate"},
		{"bit flipped", func(s []byte) []byte { s = bytes.Clone(s); s[len(s)/2] ^= 0x10; return s }, ""},
		{"segment of other data", func([]byte) []byte {
			bc, _ := stages.LineDeflate()(pipeline.Config{})
			seg, _ := bc.AppendBlock(nil, []byte("{\"A\":1}\n"))
			return seg
		}, "inflates to 8 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bc, err := stages.Verified(corrupting(tc.fn))(pipeline.Config{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = bc.AppendBlock(nil, in)
			if !errors.Is(err, pipeline.ErrCompression) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrCompression with %q", err, tc.want)
			}
		})
	}
}
