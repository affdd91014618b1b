package stages

import (
	"fmt"
	"io"

	"github.com/klauspost/pgzip"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Gzip returns a CompressorFactory writing one gzip member with
// github.com/klauspost/pgzip: level cfg.GzipLevel, blocks of cfg.GzipBlockSize
// bytes compressed cfg.GzipBlocks at a time (zero fields take their
// defaults). Close flushes everything and does not close the underlying writer.
func Gzip() pipeline.CompressorFactory {
	return func(w io.Writer, cfg pipeline.Config) (io.WriteCloser, error) {
		cfg = cfg.WithDefaults()
		zw, err := pgzip.NewWriterLevel(w, cfg.GzipLevel)
		if err != nil {
			return nil, fmt.Errorf("stages: gzip level %d: %w", cfg.GzipLevel, err)
		}
		if err := zw.SetConcurrency(cfg.GzipBlockSize, cfg.GzipBlocks); err != nil {
			return nil, fmt.Errorf("stages: gzip concurrency: %w", err)
		}
		return zw, nil
	}
}
