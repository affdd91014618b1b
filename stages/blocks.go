package stages

import (
	"fmt"

	"github.com/klauspost/compress/flate"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// GzipBlocks returns a BlockCompressorFactory for Pipeline.Blocks: each
// encode worker compresses its pieces with its own
// github.com/klauspost/compress/flate writer at level cfg.GzipLevel (-2
// Huffman only; zero means the default). Every piece becomes one raw DEFLATE
// segment that starts without a dictionary and ends with a sync flush (byte
// aligned, never final), so the pipeline frames the segments of an object
// as one gzip member. Compared with Gzip (pgzip) there are no compressor
// goroutines and no block buffers, and each piece is compressed by the
// worker that just encoded it; pieces do not see the previous piece as a
// dictionary, which costs a little ratio (see docs/PERFORMANCE.md).
func GzipBlocks() pipeline.BlockCompressorFactory {
	return func(cfg pipeline.Config) (pipeline.BlockCompressor, error) {
		cfg = cfg.WithDefaults()
		b := &blockCompressor{}
		zw, err := flate.NewWriter(&b.out, cfg.GzipLevel)
		if err != nil {
			return nil, fmt.Errorf("stages: deflate level %d: %w", cfg.GzipLevel, err)
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
		return dst, fmt.Errorf("stages: deflate: %w", err)
	}
	if err := b.zw.Flush(); err != nil {
		return dst, fmt.Errorf("stages: deflate: %w", err)
	}
	return b.out.b, nil
}

// appendWriter appends everything written to b.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}
