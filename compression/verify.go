package compression

import (
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// blockSegment writes a raw DEFLATE segment for pipeline.RangeRun with a
// BlockCompressor (the line compressor's segments, or the verified
// compressor's): the stream is cut after the last newline of about every
// 1 MiB and each piece becomes one of the compressor's segments. Close
// writes the rest and does not close the underlying writer; the first error
// is returned by every later call.
func blockSegment(w io.Writer, f blockFactory) (io.WriteCloser, error) {
	bc, err := f()
	if err != nil {
		return nil, err
	}
	return &blockSegmentWriter{w: w, bc: bc}, nil
}

const segmentPiece = 1 << 20

type blockSegmentWriter struct {
	w        io.Writer
	bc       pipeline.BlockCompressor
	buf, out []byte
	err      error
	closed   bool
}

func (s *blockSegmentWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, fmt.Errorf("compression: segment: write after close")
	}
	s.buf = append(s.buf, p...)
	if len(s.buf) >= segmentPiece {
		cut := bytes.LastIndexByte(s.buf, '\n') + 1
		if cut == 0 {
			cut = len(s.buf)
		}
		s.flush(cut)
	}
	if s.err != nil {
		return 0, s.err
	}
	return len(p), nil
}

// flush compresses and writes s.buf[:n], keeping the rest.
func (s *blockSegmentWriter) flush(n int) {
	out, err := s.bc.AppendBlock(s.out[:0], s.buf[:n])
	s.out = out
	if err == nil {
		_, err = s.w.Write(out)
	}
	if err != nil {
		s.err = fmt.Errorf("compression: segment: %w", err)
		return
	}
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
}

// Close writes what is buffered; a second Close is a no-op.
func (s *blockSegmentWriter) Close() error {
	if s.closed || s.err != nil {
		return s.err
	}
	s.closed = true
	if len(s.buf) > 0 {
		s.flush(len(s.buf))
	}
	return s.err
}

// verified wraps a blockFactory so that every segment is inflated
// again right after it was compressed, by the standard library's
// compress/flate (an implementation independent of the compressor), and
// compared with its input by length and CRC-32. A mismatch is an error that
// fails the table (pipeline.ErrCompression), so a compressor fault can never
// reach storage. It checks the compressor, not the storage (the sinks verify
// what they stored by CRC32C); Spec.Verify, the CLI's --verify-compression. It costs
// one inflate and one CRC-32 per byte: ≈ 11 µs per VBRP row, synth → null
// 130k → 73k rows/s (docs/PERFORMANCE.md).
func verified(f blockFactory) blockFactory {
	return func() (pipeline.BlockCompressor, error) {
		bc, err := f()
		if err != nil {
			return nil, err
		}
		return &verifiedCompressor{bc: bc, buf: make([]byte, 64<<10)}, nil
	}
}

type verifiedCompressor struct {
	bc   pipeline.BlockCompressor
	seg  bytes.Reader
	tail bytes.Reader
	zr   io.ReadCloser
	buf  []byte
}

// finalBlock ends a stream of sync-flushed segments: an empty final block
// with fixed codes.
var finalBlock = []byte{0x03, 0x00}

func (v *verifiedCompressor) AppendBlock(dst, src []byte) ([]byte, error) {
	start := len(dst)
	out, err := v.bc.AppendBlock(dst, src)
	if err != nil {
		return out, err
	}
	v.seg.Reset(out[start:])
	v.tail.Reset(finalBlock)
	r := twoReaders{&v.seg, &v.tail}
	if v.zr == nil {
		v.zr = flate.NewReader(r)
	} else if err := v.zr.(flate.Resetter).Reset(r, nil); err != nil {
		return out, err
	}
	h := crc32.NewIEEE()
	n, err := io.CopyBuffer(h, v.zr, v.buf)
	if err != nil {
		return out, fmt.Errorf("%w: the segment of %d bytes does not inflate: %v", pipeline.ErrCompression, len(src), err)
	}
	if want := crc32.ChecksumIEEE(src); n != int64(len(src)) || h.Sum32() != want {
		return out, fmt.Errorf("%w: the segment inflates to %d bytes with CRC-32 %08x, its input was %d bytes with %08x",
			pipeline.ErrCompression, n, h.Sum32(), len(src), want)
	}
	return out, nil
}

// twoReaders reads a, then b (io.MultiReader without its allocation).
type twoReaders struct{ a, b *bytes.Reader }

func (t twoReaders) Read(p []byte) (int, error) {
	if t.a.Len() > 0 {
		return t.a.Read(p)
	}
	return t.b.Read(p)
}

// ReadByte makes twoReaders an io.ByteReader, so flate reads it without a
// bufio wrapper of its own.
func (t twoReaders) ReadByte() (byte, error) {
	if t.a.Len() > 0 {
		return t.a.ReadByte()
	}
	return t.b.ReadByte()
}
