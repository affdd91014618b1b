package compression

import (
	"bufio"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
)

// flateSegment writes a raw DEFLATE segment for pipeline.RangeRun:
// github.com/klauspost/compress/flate at level (-2 Huffman only), no gzip
// header or trailer, and Close ends
// the segment with a sync flush (an empty stored block, byte aligned) and
// never a final block. Segments written this way can be concatenated and
// closed by one final block: the result is one valid DEFLATE stream.
// Compression is single-threaded; RangeRun runs one segment per range in
// parallel instead. Close does not close the underlying writer; the first
// error of the underlying writer is returned by every later call.
func flateSegment(w io.Writer, level int) (io.WriteCloser, error) {
	// flate emits its output in writes of a few hundred bytes: buffered, a
	// file or network sink sees 256 KiB writes instead of one system call
	// per 250 bytes
	bw := bufio.NewWriterSize(w, 256<<10)
	zw, err := flate.NewWriter(bw, level)
	if err != nil {
		return nil, fmt.Errorf("compression: deflate level %d: %w", level, err)
	}
	return &segmentWriter{zw: zw, bw: bw}, nil
}

type segmentWriter struct {
	zw     *flate.Writer
	bw     *bufio.Writer
	err    error
	closed bool
}

func (s *segmentWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, fmt.Errorf("compression: deflate: write after close")
	}
	n, err := s.zw.Write(p)
	if err != nil {
		s.err = fmt.Errorf("compression: deflate: %w", err)
	}
	return n, s.err
}

// Close sync-flushes the segment; a second Close is a no-op.
func (s *segmentWriter) Close() error {
	if s.closed || s.err != nil {
		return s.err
	}
	s.closed = true
	if err := s.zw.Flush(); err != nil {
		s.err = fmt.Errorf("compression: deflate: %w", err)
	} else if err := s.bw.Flush(); err != nil {
		s.err = fmt.Errorf("compression: deflate: %w", err)
	}
	return s.err
}
