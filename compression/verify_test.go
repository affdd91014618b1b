package compression

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/compresstest"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

// TestVerifiedPassesGoodSegments: verified changes nothing when the
// compressor is right, for the line compressor and flate.
func TestVerifiedPassesGoodSegments(t *testing.T) {
	for name, f := range map[string]blockFactory{"lines": lineBlocks(), "flate": flateBlocks(1)} {
		t.Run(name, func(t *testing.T) {
			plain, _ := f()
			checked, err := verified(f)()
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
					t.Fatalf("%s: verified changed the segment", in)
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

func corrupting(fn func(seg []byte) []byte) blockFactory {
	return func() (pipeline.BlockCompressor, error) {
		bc, err := lineBlocks()()
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
			bc, _ := lineBlocks()()
			seg, _ := bc.AppendBlock(nil, []byte("{\"A\":1}\n"))
			return seg
		}, "inflates to 8 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bc, err := verified(corrupting(tc.fn))()
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

// damagingBlocks drops the last byte of the at-th piece of each worker
// before compressing it: a compressor fault verification must catch.
type damagingBlocks struct {
	bc    pipeline.BlockCompressor
	at, n int
}

func (d *damagingBlocks) AppendBlock(dst, src []byte) ([]byte, error) {
	if d.n++; d.n == d.at && len(src) > 0 {
		src = src[:len(src)-1]
	}
	return d.bc.AppendBlock(dst, src)
}

// TestVerifiedFailsTheTable: through a real Pipeline (synth source, file
// sink), a codec whose compressor damages one segment fails the table with
// ErrCompression when verified, and leaves no object; unverified, the same
// fault goes unnoticed by the pipeline (which is why Verify exists).
func TestVerifiedFailsTheTable(t *testing.T) {
	ctx := context.Background()
	conn, err := synth.New(synth.Config{DefaultRows: 3000})
	if err != nil {
		t.Fatal(err)
	}
	info, err := conn.Describe(ctx, "VBRP")
	if err != nil {
		t.Fatal(err)
	}
	damaged := func() blockFactory {
		return func() (pipeline.BlockCompressor, error) {
			bc, err := lineBlocks()()
			return &damagingBlocks{bc: bc, at: 3}, err
		}
	}
	for _, verify := range []bool{true, false} {
		t.Run(fmt.Sprintf("verify=%v", verify), func(t *testing.T) {
			codec := Must(New(Spec{Name: Lines, Level: 1, Verify: verify}))
			codec.blocks = damaged()
			if verify {
				codec.blocks = verified(codec.blocks)
			}
			src, err := conn.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: 500})
			if err != nil {
				t.Fatal(err)
			}
			sink, err := file.New(t.TempDir(), "b")
			if err != nil {
				t.Fatal(err)
			}
			p := pipeline.Pipeline{Source: src, Sink: sink, Name: "T/v001/VBRP.jsonl.gz",
				Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: codec,
				Config: pipeline.Config{EncodeWorkers: 2, PieceBytes: 16 << 10}}
			_, err = p.Run(ctx)
			_, statErr := os.Stat(filepath.Join(sink.Root(), "T/v001/VBRP.jsonl.gz"))
			if verify {
				if !errors.Is(err, pipeline.ErrCompression) || !strings.Contains(err.Error(), "inflates to") {
					t.Fatalf("err = %v, want ErrCompression", err)
				}
				if !os.IsNotExist(statErr) {
					t.Fatalf("an object is left after the failure: %v", statErr)
				}
			} else if err != nil {
				t.Fatalf("unverified run: %v", err)
			}
		})
	}
}
