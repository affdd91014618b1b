package compression

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/compresstest"

	"go.uber.org/goleak"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGzipRoundTrip(t *testing.T) {
	data := compresstest.VBRPNDJSON(t, 600) // ≈2.6 MB, several blocks
	cases := []struct {
		name  string
		level int
		cfg   pipeline.Config
	}{
		{"defaults", 1, pipeline.Config{}},
		{"level 6 small blocks", 6, pipeline.Config{GzipBlockSize: 64 << 10, GzipBlocks: 3}},
		{"huffman only one block at a time", -2, pipeline.Config{GzipBlockSize: 64 << 10, GzipBlocks: 1}},
		{"level 9", 9, pipeline.Config{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out closeTracker
			zw, err := pgzipWriter(&out, tc.level, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for chunk := range slicesChunk(data, 100_000) { // many writes
				if _, err := zw.Write(chunk); err != nil {
					t.Fatal(err)
				}
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			if out.closed {
				t.Fatal("Close closed the underlying writer")
			}
			zr, err := gzip.NewReader(bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			zr.Multistream(false) // one member must hold everything
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("single member gives %d of %d bytes (%v)", len(got), len(data), err)
			}
		})
	}
}

func slicesChunk(b []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			k := min(n, len(b))
			if !yield(b[:k]) {
				return
			}
			b = b[k:]
		}
	}
}

type closeTracker struct {
	bytes.Buffer
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }

type failAfterWriter struct {
	n, after int
}

var errDisk = errors.New("disk full")

func (f *failAfterWriter) Write(p []byte) (int, error) {
	if f.n+len(p) > f.after {
		k := f.after - f.n
		f.n = f.after
		return k, errDisk
	}
	f.n += len(p)
	return len(p), nil
}

// TestGzipWriterError checks that an error of the underlying writer comes
// back from Write or Close and that no goroutine is left (TestMain).
func TestGzipWriterError(t *testing.T) {
	data := compresstest.VBRPNDJSON(t, 300)
	for _, after := range []int{0, 5, 10, 4000, 50000} {
		t.Run("after="+strconv.Itoa(after), func(t *testing.T) {
			zw, err := pgzipWriter(&failAfterWriter{after: after}, 1, pipeline.Config{GzipBlockSize: 64 << 10, GzipBlocks: 2})
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for chunk := range slicesChunk(data, 50_000) {
				if _, werr = zw.Write(chunk); werr != nil {
					break
				}
			}
			cerr := zw.Close()
			if !errors.Is(werr, errDisk) && !errors.Is(cerr, errDisk) {
				t.Fatalf("write error %v, close error %v; want %v", werr, cerr, errDisk)
			}
			if cerr == nil {
				t.Fatal("Close succeeded after a write error")
			}
		})
	}
}

func TestGzipConfigErrors(t *testing.T) {
	if _, err := pgzipWriter(io.Discard, 12, pipeline.Config{}); err == nil || !strings.Contains(err.Error(), "compression: gzip level 12") {
		t.Fatalf("level 12: %v", err)
	}
}

// TestPgzipHeaderHasNoTime: the member header says "no time stamp" (MTIME
// 0), deflate, OS unknown, like the header of the block codecs; gzip
// readers see a zero ModTime, not a date pgzip made up.
func TestPgzipHeaderHasNoTime(t *testing.T) {
	var out bytes.Buffer
	zw, err := pgzipWriter(&out, 1, pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write([]byte("{\"A\":1}\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	h := out.Bytes()[:10]
	if !bytes.Equal(h[:8], GzipHeader()[:8]) || h[9] != 0xff {
		t.Fatalf("header % x, want MTIME 0 and OS 255 like % x", h, GzipHeader())
	}
	zr, err := gzip.NewReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() {
		t.Fatalf("ModTime %v", zr.ModTime)
	}
}
