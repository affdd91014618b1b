package stages

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGzipRoundTrip(t *testing.T) {
	data := vbrpNDJSON(t, 600) // ≈2.6 MB, several blocks
	cases := []struct {
		name string
		cfg  pipeline.Config
	}{
		{"defaults", pipeline.Config{}},
		{"level 6 small blocks", pipeline.Config{GzipLevel: 6, GzipBlockSize: 64 << 10, GzipBlocks: 3}},
		{"huffman only one block at a time", pipeline.Config{GzipLevel: -2, GzipBlockSize: 64 << 10, GzipBlocks: 1}},
		{"level 9", pipeline.Config{GzipLevel: 9}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out closeTracker
			zw, err := Gzip()(&out, tc.cfg)
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

type failWriter struct {
	n, after int
}

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
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
	data := vbrpNDJSON(t, 300)
	for _, after := range []int{0, 5, 10, 4000, 50000} {
		t.Run("after="+strconv.Itoa(after), func(t *testing.T) {
			zw, err := Gzip()(&failWriter{after: after}, pipeline.Config{GzipBlockSize: 64 << 10, GzipBlocks: 2})
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
	if _, err := Gzip()(io.Discard, pipeline.Config{GzipLevel: 12}); err == nil || !strings.Contains(err.Error(), "stages: gzip level 12") {
		t.Fatalf("level 12: %v", err)
	}
}

func TestCRC32C(t *testing.T) {
	cases := []struct {
		in      string
		b64, hx string
	}{
		{"", "AAAAAA==", "00000000"},
		{"123456789", "4waSgw==", "e3069283"}, // the CRC-32C check value
		{"hello world\n", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			c := CRC32C([]byte(tc.in))
			if tc.hx != "" && (CRC32CHex(c) != tc.hx || CRC32CBase64(c) != tc.b64) {
				t.Fatalf("crc %08x: hex %s base64 %s, want %s %s", c, CRC32CHex(c), CRC32CBase64(c), tc.hx, tc.b64)
			}
			if len(CRC32CBase64(c)) != 8 || len(CRC32CHex(c)) != 8 {
				t.Fatalf("lengths %q %q", CRC32CBase64(c), CRC32CHex(c))
			}
		})
	}
}
