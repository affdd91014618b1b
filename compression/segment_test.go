package compression

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/compresstest"
)

// segmentWriters are the segment writers of pipeline.RangeRun.
var segmentWriters = []struct {
	name string
	f    func(io.Writer) (io.WriteCloser, error)
}{
	{"deflate-1", func(w io.Writer) (io.WriteCloser, error) { return flateSegment(w, 1) }},
	{"deflate-6", func(w io.Writer) (io.WriteCloser, error) { return flateSegment(w, 6) }},
	{"deflate-9", func(w io.Writer) (io.WriteCloser, error) { return flateSegment(w, 9) }},
	{"deflate-huffman", func(w io.Writer) (io.WriteCloser, error) { return flateSegment(w, -2) }},
	{"lines", func(w io.Writer) (io.WriteCloser, error) { return blockSegment(w, lineBlocks()) }},
	{"verified-lines", func(w io.Writer) (io.WriteCloser, error) { return blockSegment(w, verified(lineBlocks())) }},
	{"verified-flate", func(w io.Writer) (io.WriteCloser, error) { return blockSegment(w, verified(flateBlocks(6))) }},
}

// TestDeflateSegmentsConcatenate checks the property RangeRun relies on:
// segments of every segment writer, including empty ones, written in small
// writes (several of the line writer's pieces each), concatenated and closed
// by a final empty block (03 00) are one DEFLATE stream of the concatenated
// input; a second Close is a no-op and a write after Close fails.
func TestDeflateSegmentsConcatenate(t *testing.T) {
	parts := [][]byte{
		bytes.Repeat([]byte(`{"A":"x","B":12.5}`+"\n"), 5000),
		nil,
		[]byte("z"),
		compresstest.RandomBytes(1500000, 7),
		bytes.Repeat([]byte("abc"), 100000),
		compresstest.VBRPNDJSON(t, 300),
	}
	for _, sw := range segmentWriters {
		t.Run(sw.name, func(t *testing.T) {
			var stream, want bytes.Buffer
			for _, p := range parts {
				zw, err := sw.f(&stream)
				if err != nil {
					t.Fatal(err)
				}
				for rest := p; len(rest) > 0; {
					n := min(len(rest), 7<<10)
					if k, err := zw.Write(rest[:n]); err != nil || k != n {
						t.Fatalf("write: %d, %v", k, err)
					}
					rest = rest[n:]
				}
				if err := zw.Close(); err != nil {
					t.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					t.Fatalf("second Close: %v", err)
				}
				if _, err := zw.Write([]byte("x")); err == nil {
					t.Fatal("write after close accepted")
				}
				want.Write(p)
			}
			stream.Write([]byte{0x03, 0x00})
			got, err := io.ReadAll(flate.NewReader(bytes.NewReader(stream.Bytes())))
			if err != nil {
				t.Fatalf("inflate: %v", err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("inflated %d bytes, want %d", len(got), want.Len())
			}
		})
	}
}

// TestDeflateStickyError: the first error of the underlying writer is
// returned by the write or close that meets it and by every later call.
func TestDeflateStickyError(t *testing.T) {
	for _, sw := range segmentWriters {
		t.Run(sw.name, func(t *testing.T) {
			boom := errors.New("boom")
			zw, err := sw.f(failWriter{boom})
			if err != nil {
				t.Fatal(err)
			}
			_, werr := zw.Write(compresstest.RandomBytes(1<<20, 1))
			cerr := zw.Close()
			if !errors.Is(werr, boom) && !errors.Is(cerr, boom) {
				t.Fatalf("write %v, close %v: want boom", werr, cerr)
			}
			if _, err := zw.Write([]byte("x")); !errors.Is(err, boom) {
				t.Fatalf("write after failure: %v", err)
			}
		})
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }
