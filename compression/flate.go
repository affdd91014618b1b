package compression

import (
	"fmt"

	"github.com/klauspost/compress/flate"

	"github.com/ora2gcs/ora2gcs/compression/lines"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// blockFactory makes the compressor of one encode worker.
type blockFactory func() (pipeline.BlockCompressor, error)

// lineBlocks is the line compressor of package compression/lines (see its
// doc for the format), a gzip level 1 compressor.
func lineBlocks() blockFactory {
	return func() (pipeline.BlockCompressor, error) { return lines.New(), nil }
}

// flateBlocks compresses each piece with its own
// github.com/klauspost/compress/flate writer at level (-2 Huffman only).
// Every piece becomes one raw DEFLATE segment that starts without a
// dictionary and ends with a sync flush (byte aligned, never final), so the
// pipeline frames the segments of an object as one gzip member. Compared
// with pgzip there are no compressor goroutines and no block buffers, and
// each piece is compressed by the worker that just encoded it; pieces do
// not see the previous piece as a dictionary, which costs a little ratio
// (see docs/PERFORMANCE.md).
func flateBlocks(level int) blockFactory {
	return func() (pipeline.BlockCompressor, error) {
		b := &blockCompressor{}
		zw, err := flate.NewWriter(&b.out, level)
		if err != nil {
			return nil, fmt.Errorf("compression: deflate level %d: %w", level, err)
		}
		b.zw = zw
		return b, nil
	}
}

type blockCompressor struct {
	zw  *flate.Writer
	out appendWriter
}

// AppendBlock appends the segment compressing src to dst. An empty src
// still yields a segment (an empty stored block).
func (b *blockCompressor) AppendBlock(dst, src []byte) ([]byte, error) {
	b.out.b = dst
	defer func() { b.out.b = nil }()
	b.zw.Reset(&b.out) // forget the previous piece: each segment stands alone
	if _, err := b.zw.Write(src); err != nil {
		return dst, fmt.Errorf("compression: deflate: %w", err)
	}
	if err := b.zw.Flush(); err != nil {
		return dst, fmt.Errorf("compression: deflate: %w", err)
	}
	return b.out.b, nil
}

// appendWriter appends everything written to b.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}
