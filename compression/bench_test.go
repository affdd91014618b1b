package compression

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/compresstest"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// BenchmarkPgzip is the pgzip compressor (--compressor pgzip) on VBRP rows.
func BenchmarkPgzip(b *testing.B) {
	data := compresstest.VBRPNDJSON(b, 20000) // ≈70 MB raw
	rows := bytes.Count(data, []byte("\n"))
	for _, level := range []int{1, 6} {
		b.Run("level="+strconv.Itoa(level), func(b *testing.B) {
			var cw countWriter
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				cw = countWriter{}
				zw, err := pgzipWriter(&cw, level, pipeline.Config{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := zw.Write(data); err != nil {
					b.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data))/float64(cw.n), "ratio")
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
