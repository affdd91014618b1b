package pipeline_test

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"hash/crc32"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// stdBlocks is a BlockCompressor built on the standard library's
// compress/flate, independent of stages.GzipBlocks: the pipeline must frame
// any compressor keeping the segment contract. It fails its failAt-th call
// (1-based; 0 never), counting across all workers.
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

func stdBlocksFactory(failAt int64) (pipeline.BlockCompressorFactory, *atomic.Int64) {
	calls := new(atomic.Int64)
	return func(pipeline.Config) (pipeline.BlockCompressor, error) {
		return stdBlocks{calls: calls, failAt: failAt}, nil
	}, calls
}

// TestRunBlocksManySegments: tiny pieces, so an object is hundreds of
// segments from several workers; it must still be one gzip member with the
// exact lines and stats computed independently of the pipeline.
func TestRunBlocksManySegments(t *testing.T) {
	for _, tc := range []struct {
		name   string
		blocks func() (pipeline.BlockCompressorFactory, *atomic.Int64)
	}{
		{"stages.GzipBlocks", func() (pipeline.BlockCompressorFactory, *atomic.Int64) { return stages.GzipBlocks(), nil }},
		{"stages.LineDeflate", func() (pipeline.BlockCompressorFactory, *atomic.Int64) { return stages.LineDeflate(), nil }},
		{"compress/flate", func() (pipeline.BlockCompressorFactory, *atomic.Int64) { return stdBlocksFactory(0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const batches, per = 50, 300
			src := newFakeSource(batches, per)
			sink := newMemSink()
			p := newPipelineMode("blocks", src, sink, pipeline.Config{EncodeWorkers: 3, PieceBytes: 4 << 10})
			var calls *atomic.Int64
			p.Blocks, calls = tc.blocks()
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
		blocks pipeline.BlockCompressorFactory
		is     error
		substr string
	}{
		{"mid-table", func() pipeline.BlockCompressorFactory { f, _ := stdBlocksFactory(7); return f }(), errCompress, "compress"},
		{"first segment", func() pipeline.BlockCompressorFactory { f, _ := stdBlocksFactory(1); return f }(), errCompress, "compress"},
		{"factory", func(pipeline.Config) (pipeline.BlockCompressor, error) { return nil, errFactory }, errFactory, "block compressor"},
		// a compressor whose 5th segment is damaged, caught by stages.Verified
		{"verified", stages.Verified(func(cfg pipeline.Config) (pipeline.BlockCompressor, error) {
			bc, err := stages.LineDeflate()(cfg)
			return &damaging{bc: bc, at: 5}, err
		}), pipeline.ErrCompression, "inflates to"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := newFakeSource(40, 200)
			sink := newMemSink()
			p := newPipelineMode("blocks", src, sink, pipeline.Config{EncodeWorkers: 2, PieceBytes: 4 << 10})
			p.Blocks = tc.blocks
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

// TestRunBlocksNeedsNoCompressor: Blocks alone is a complete pipeline, and
// Blocks wins when both are set.
func TestRunBlocksNeedsNoCompressor(t *testing.T) {
	for _, withCompressor := range []bool{false, true} {
		src := newFakeSource(3, 10)
		sink := newMemSink()
		p := newPipelineMode("blocks", src, sink, pipeline.Config{})
		var calls *atomic.Int64
		p.Blocks, calls = stdBlocksFactory(0)
		if withCompressor {
			p.Compressor = stages.Gzip()
		}
		if _, err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		obj, _ := sink.get(p.Name)
		if raw := testutil.GunzipOne(t, obj); bytes.Count(raw, []byte("\n")) != 30 || calls.Load() == 0 {
			t.Fatalf("%d lines, %d segments", bytes.Count(raw, []byte("\n")), calls.Load())
		}
	}
}

// damaging is a BlockCompressor whose at-th segment compresses one byte
// too few (the last of its input is dropped).
type damaging struct {
	bc    pipeline.BlockCompressor
	at, n int
}

func (d *damaging) AppendBlock(dst, src []byte) ([]byte, error) {
	if d.n++; d.n == d.at && len(src) > 0 {
		src = src[:len(src)-1]
	}
	return d.bc.AppendBlock(dst, src)
}
