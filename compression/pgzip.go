package compression

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/klauspost/pgzip"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// pgzipWriter writes one gzip member with github.com/klauspost/pgzip at
// level, blocks of cfg.GzipBlockSize bytes compressed cfg.GzipBlocks at a
// time (zero fields take their defaults). Close flushes everything and does
// not close the underlying writer. The first error of the underlying writer
// is sticky: Write and Close return it, and Close still ends every
// goroutine of the compressor.
func pgzipWriter(w io.Writer, level int, cfg pipeline.Config) (io.WriteCloser, error) {
	cfg = cfg.WithDefaults()
	g := &gzipWriter{dst: stickyWriter{w: w}}
	zw, err := pgzip.NewWriterLevel(&g.dst, level)
	if err != nil {
		return nil, fmt.Errorf("compression: gzip level %d: %w", level, err)
	}
	if err := zw.SetConcurrency(cfg.GzipBlockSize, cfg.GzipBlocks); err != nil {
		return nil, fmt.Errorf("compression: gzip concurrency: %w", err)
	}
	// MTIME 0 means "no time stamp" (RFC 1952); pgzip writes the zero
	// time.Time as 0x886e0900 (a date in 2042) unless told otherwise, which
	// gunzip -N would give the extracted file
	zw.ModTime = time.Unix(0, 0)
	g.zw = zw
	return g, nil
}

// gzipWriter keeps errors of the underlying writer away from pgzip: pgzip
// v1.3.0's Close returns early once it has seen an error and leaves its
// output goroutine blocked forever. stickyWriter swallows the error for
// pgzip (discarding further output) and reports it to our caller instead.
type gzipWriter struct {
	zw  *pgzip.Writer
	dst stickyWriter
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if err := g.dst.failed(); err != nil {
		return 0, fmt.Errorf("compression: gzip: %w", err)
	}
	n, err := g.zw.Write(p)
	if err != nil {
		return n, fmt.Errorf("compression: gzip: %w", err)
	}
	return n, nil
}

func (g *gzipWriter) Close() error {
	err := g.zw.Close()
	if derr := g.dst.failed(); derr != nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("compression: gzip: %w", err)
	}
	return nil
}

type stickyWriter struct {
	w   io.Writer
	mu  sync.Mutex
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return len(p), nil
	}
	n, err := s.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		s.err = err
	}
	return len(p), nil
}

func (s *stickyWriter) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
