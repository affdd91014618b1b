package compression

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// gzipHeader is a gzip member header: deflate, no flags, no mtime, OS
// unknown.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// GzipHeader returns the 10-byte gzip member header that starts every
// object of the block compressors and every composed object (RFC 1952:
// deflate, no flags, no mtime, OS unknown).
func GzipHeader() []byte { return append([]byte(nil), gzipHeader...) }

// GzipTrailer returns the bytes that close a gzip member whose DEFLATE data
// so far ended with a sync flush: a final empty fixed-Huffman block (03 00),
// the CRC-32 (IEEE) of the uncompressed stream and its size modulo 2^32.
func GzipTrailer(crc uint32, size int64) []byte {
	b := []byte{0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[2:], crc)
	binary.LittleEndian.PutUint32(b[6:], uint32(size))
	return b
}

// gzipFraming is pipeline.Framing for one gzip member: GzipHeader,
// DEFLATE segments ending in sync flushes, GzipTrailer; the checksum is the
// CRC-32 (IEEE), combined with zlib's crc32_combine (pipeline.CRC32Combine,
// the same arithmetic the engine uses for CRC32C).
type gzipFraming struct{}

func (gzipFraming) Header() []byte                        { return GzipHeader() }
func (gzipFraming) Trailer(crc uint32, size int64) []byte { return GzipTrailer(crc, size) }
func (gzipFraming) Sum(p []byte) uint32                   { return crc32.ChecksumIEEE(p) }
func (gzipFraming) CombineSums(crc1, crc2 uint32, len2 int64) uint32 {
	return pipeline.CRC32Combine(pipeline.PolyIEEE, crc1, crc2, len2)
}

// memberWriter writes one whole gzip member from a segment writer: the
// header before the first byte, the segments, the trailer at Close. It is
// the block codecs' NewWriter (the pipeline itself frames their blocks).
type memberWriter struct {
	w      io.Writer
	seg    io.WriteCloser
	crc    uint32
	size   int64
	header bool
	err    error
	closed bool
}

func newMemberWriter(w io.Writer, newSeg func(io.Writer) (io.WriteCloser, error)) (io.WriteCloser, error) {
	m := &memberWriter{w: w}
	seg, err := newSeg(rawWriter{m})
	if err != nil {
		return nil, err
	}
	m.seg = seg
	return m, nil
}

func (m *memberWriter) Write(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	if m.closed {
		return 0, fmt.Errorf("compression: gzip: write after close")
	}
	n, err := m.seg.Write(p)
	m.crc = crc32.Update(m.crc, crc32.IEEETable, p[:n])
	m.size += int64(n)
	if err != nil {
		m.err = err
	}
	return n, err
}

// Close flushes the last segment and writes the trailer; a second Close is
// a no-op.
func (m *memberWriter) Close() error {
	if m.closed || m.err != nil {
		return m.err
	}
	m.closed = true
	if err := m.seg.Close(); err != nil {
		m.err = err
		return err
	}
	if _, err := m.writeRaw(GzipTrailer(m.crc, m.size)); err != nil {
		m.err = fmt.Errorf("compression: gzip: %w", err)
	}
	return m.err
}

// writeRaw writes b to w, after the header if it is still due.
func (m *memberWriter) writeRaw(b []byte) (int, error) {
	if !m.header {
		m.header = true
		if _, err := m.w.Write(gzipHeader); err != nil {
			return 0, err
		}
	}
	return m.w.Write(b)
}

// rawWriter is what the segment writer of a memberWriter writes to.
type rawWriter struct{ m *memberWriter }

func (r rawWriter) Write(b []byte) (int, error) { return r.m.writeRaw(b) }
