package stages_test

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// TestDeflateSegmentsConcatenate checks the property RangeRun relies on:
// segments of any level, including empty ones, concatenated and closed by
// a final empty block (03 00) are one DEFLATE stream of the concatenated input.
func TestDeflateSegmentsConcatenate(t *testing.T) {
	parts := [][]byte{
		bytes.Repeat([]byte(`{"A":"x","B":12.5}`+"\n"), 5000),
		nil,
		[]byte("z"),
		randomBytes(300000, 7),
		bytes.Repeat([]byte("abc"), 100000),
	}
	for _, level := range []int{1, 6, 9, -2} {
		t.Run(string(rune('0'+level+2)), func(t *testing.T) {
			var stream, want bytes.Buffer
			for _, p := range parts {
				zw, err := stages.Deflate()(&stream, pipeline.Config{GzipLevel: level})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := zw.Write(p); err != nil {
					t.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					t.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					t.Fatalf("second Close: %v", err)
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

func TestDeflateStickyError(t *testing.T) {
	boom := errors.New("boom")
	zw, err := stages.Deflate()(failWriter{boom}, pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, werr := zw.Write(randomBytes(1<<20, 1))
	cerr := zw.Close()
	if !errors.Is(werr, boom) && !errors.Is(cerr, boom) {
		t.Fatalf("write %v, close %v: want boom", werr, cerr)
	}
	if _, err := zw.Write([]byte("x")); err == nil {
		t.Fatal("write after failure succeeded")
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}
