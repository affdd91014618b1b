package pipeline_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// stdBlocks is a BlockCompressor built on the standard library's
// compress/flate, independent of package compression: the pipeline must
// frame any compressor keeping the segment contract. It fails its
// failAt-th call (1-based; 0 never), counting across all workers.
type stdBlocks struct {
	calls  *atomic.Int64
	failAt int64
}

var errCompress = errors.New("compressor jammed")

func (s stdBlocks) AppendBlock(dst, src []byte) ([]byte, error) {
	if n := s.calls.Add(1); n == s.failAt {
		return dst, errCompress
	}
	buf := bytes.NewBuffer(dst)
	zw, err := flate.NewWriter(buf, flate.BestSpeed)
	if err != nil {
		return dst, err
	}
	if _, err := zw.Write(src); err != nil {
		return dst, err
	}
	if err := zw.Flush(); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}

// stdCodec is a pipeline.Codec on the standard library alone (stdBlocks,
// compress/gzip, compress/flate segments, and gzip framing written here
// from RFC 1952), independent of package compression.
type stdCodec struct {
	calls   *atomic.Int64
	failAt  int64
	wrap    func(pipeline.BlockCompressor) pipeline.BlockCompressor
	factory error // NewBlockCompressor fails with it
	stream  bool  // compress after the encoders (compress/gzip)
}

func newStdCodec(failAt int64) (stdCodec, *atomic.Int64) {
	c := stdCodec{calls: new(atomic.Int64), failAt: failAt}
	return c, c.calls
}

func (c stdCodec) BlockMode() bool { return !c.stream }

func (c stdCodec) NewBlockCompressor(pipeline.Config) (pipeline.BlockCompressor, error) {
	if c.factory != nil {
		return nil, c.factory
	}
	var bc pipeline.BlockCompressor = stdBlocks{calls: c.calls, failAt: c.failAt}
	if c.wrap != nil {
		bc = c.wrap(bc)
	}
	return bc, nil
}

func (c stdCodec) NewWriter(w io.Writer, _ pipeline.Config) (io.WriteCloser, error) {
	return gzip.NewWriterLevel(w, gzip.BestSpeed)
}

func (c stdCodec) NewSegmentWriter(w io.Writer, _ pipeline.Config) (io.WriteCloser, error) {
	zw, err := flate.NewWriter(w, flate.BestSpeed)
	return flushCloser{zw}, err
}

func (stdCodec) Header() []byte { return []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff} }

func (stdCodec) Trailer(crc uint32, size int64) []byte {
	return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32([]byte{3, 0}, crc), uint32(size))
}

func (stdCodec) Sum(p []byte) uint32 { return crc32.ChecksumIEEE(p) }

func (stdCodec) CombineSums(crc1, crc2 uint32, len2 int64) uint32 {
	return pipeline.CRC32Combine(pipeline.PolyIEEE, crc1, crc2, len2)
}

// flushCloser ends a segment with a sync flush, never a final block.
type flushCloser struct{ zw *flate.Writer }

func (f flushCloser) Write(p []byte) (int, error) { return f.zw.Write(p) }
func (f flushCloser) Close() error                { return f.zw.Flush() }

// TestRunBlocksManySegments: tiny pieces, so an object is hundreds of
// segments from several workers; it must still be one gzip member with the
// exact lines and stats computed independently of the pipeline.
func TestRunBlocksManySegments(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec func() (pipeline.Codec, *atomic.Int64)
	}{
		{"compression blocks", func() (pipeline.Codec, *atomic.Int64) {
			return compression.Must(compression.New(compression.Spec{Name: "blocks", Level: 1})), nil
		}},
		{"compression lines", func() (pipeline.Codec, *atomic.Int64) { return compression.Default(), nil }},
		{"compress/flate", func() (pipeline.Codec, *atomic.Int64) { return newStdCodec(0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const batches, per = 50, 300
			src := newFakeSource(batches, per)
			sink := newMemSink()
			p := newPipelineMode("blocks", src, sink, pipeline.Config{EncodeWorkers: 3, PieceBytes: 4 << 10})
			var calls *atomic.Int64
			p.Codec, calls = tc.codec()
			p.Transforms = []pipeline.Transform{jitter(200 * time.Microsecond)}
			st, err := p.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			obj, _ := sink.get(p.Name)
			raw := testutil.GunzipOne(t, obj)
			var want strings.Builder
			for id := range batches * per {
				want.WriteString(expectedLine(id) + "\n")
			}
			if string(raw) != want.String() {
				t.Fatalf("content differs: %d bytes, want %d", len(raw), want.Len())
			}
			if calls != nil && calls.Load() < 100 {
				t.Fatalf("only %d segments; the test wants many", calls.Load())
			}
			if st.RawBytes != int64(len(raw)) || st.RawCRC32C != crc32.Checksum(raw, pipeline.Castagnoli) ||
				st.CompressedBytes != int64(len(obj)) || st.CRC32C != crc32.Checksum(obj, pipeline.Castagnoli) ||
				st.Rows != batches*per || st.Batches != batches {
				t.Fatalf("stats %+v disagree with the object (%d raw, %d stored bytes)", st, len(raw), len(obj))
			}
		})
	}
}

// TestRunBlocksCompressorErrors: a compressor failing mid-table, or its
// factory failing, fails the run, aborts the object and leaks nothing
// (goleak in TestMain).
func TestRunBlocksCompressorErrors(t *testing.T) {
	errFactory := errors.New("no compressor today")
	cases := []struct {
		name   string
		codec  pipeline.Codec
		is     error
		substr string
	}{
		{"mid-table", func() pipeline.Codec { c, _ := newStdCodec(7); return c }(), errCompress, "compress"},
		{"first segment", func() pipeline.Codec { c, _ := newStdCodec(1); return c }(), errCompress, "compress"},
		{"factory", func() pipeline.Codec { c, _ := newStdCodec(0); c.factory = errFactory; return c }(), errFactory, "block compressor"},
		// a compressor whose 5th segment is damaged and that says so
		// (as package compression's verification does)
		{"compression error", func() pipeline.Codec {
			c, _ := newStdCodec(0)
			c.wrap = func(bc pipeline.BlockCompressor) pipeline.BlockCompressor { return &damaging{bc: bc, at: 5} }
			return c
		}(), pipeline.ErrCompression, "damaged"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := newFakeSource(40, 200)
			sink := newMemSink()
			p := newPipelineMode("blocks", src, sink, pipeline.Config{EncodeWorkers: 2, PieceBytes: 4 << 10})
			p.Codec = tc.codec
			_, err := p.Run(context.Background())
			if !errors.Is(err, tc.is) || !strings.HasPrefix(err.Error(), "pipeline: ") || !strings.Contains(err.Error(), tc.substr) {
				t.Fatalf("error %v, want %v mentioning %q", err, tc.is, tc.substr)
			}
			if _, ok := sink.get(p.Name); ok || sink.commits != 0 || (sink.created > 0 && sink.aborts != 1) {
				t.Fatalf("created %d commits %d aborts %d", sink.created, sink.commits, sink.aborts)
			}
			// (Batch.Release is "at most once": a batch a failing worker held
			// is not released, as with an encoder error.)
			if src.closed.Load() != 1 {
				t.Fatalf("source closed %d times", src.closed.Load())
			}
		})
	}
}

// TestRunStreamCodec: a codec that is not in BlockMode compresses after
// the encoders (NewWriter) and never makes a block compressor.
func TestRunStreamCodec(t *testing.T) {
	src := newFakeSource(3, 10)
	sink := newMemSink()
	p := newPipelineMode("pgzip", src, sink, pipeline.Config{})
	c, calls := newStdCodec(0)
	c.stream = true
	p.Codec = c
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	obj, _ := sink.get(p.Name)
	if raw := testutil.GunzipOne(t, obj); bytes.Count(raw, []byte("\n")) != 30 || calls.Load() != 0 {
		t.Fatalf("%d lines, %d segments", bytes.Count(raw, []byte("\n")), calls.Load())
	}
}

// TestRunNeedsCodec: no codec is an error, never some default compression.
func TestRunNeedsCodec(t *testing.T) {
	src := newFakeSource(3, 10)
	p := newPipelineMode("pgzip", src, newMemSink(), pipeline.Config{})
	p.Codec = nil
	if _, err := p.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "Codec") {
		t.Fatalf("err = %v", err)
	}
}

// damaging is a BlockCompressor whose at-th segment fails with
// pipeline.ErrCompression, as a verifying compressor reports a segment that
// does not inflate to its input.
type damaging struct {
	bc    pipeline.BlockCompressor
	at, n int
}

func (d *damaging) AppendBlock(dst, src []byte) ([]byte, error) {
	if d.n++; d.n == d.at {
		return dst, fmt.Errorf("%w: segment %d damaged", pipeline.ErrCompression, d.n)
	}
	return d.bc.AppendBlock(dst, src)
}
