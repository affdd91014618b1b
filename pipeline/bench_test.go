package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// vbrpLike returns 274 columns shaped like SAP VBRP (199 short strings, 58
// decimals, 15 DATE, 2 floats; names of VBRP's average length) and n
// varied rows of realistic values (many blank CHAR fields).
func vbrpLike(n int) ([]pipeline.Column, [][]any) {
	cols := make([]pipeline.Column, 274)
	for i := range cols {
		c := pipeline.Column{Name: fmt.Sprintf("F%c%c%03d", 'A'+i%26, 'K'+i%7, i)}
		switch {
		case i < 199:
			c.Type = pipeline.TypeString
		case i < 257:
			c.Type, c.Precision, c.Scale = pipeline.TypeDecimal, 15, 2
		case i < 272:
			c.Type = pipeline.TypeDateTime
		default:
			c.Type = pipeline.TypeFloat
		}
		cols[i] = c
	}
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([][]any, n)
	for r := range rows {
		row := make([]any, len(cols))
		for i, c := range cols {
			switch c.Type {
			case pipeline.TypeString:
				switch k := rng.IntN(10); {
				case k < 6:
					row[i] = " "
				case k < 9:
					row[i] = []string{"X", "01", "KRW", "EA", "1000", "Z001"}[i%6]
				default:
					row[i] = "품목 " + strconv.Itoa(rng.IntN(1000))
				}
			case pipeline.TypeDecimal:
				if rng.IntN(3) == 0 {
					row[i] = strconv.Itoa(rng.IntN(100000)) + "." + strconv.Itoa(10+rng.IntN(90))
				} else {
					row[i] = "0.00"
				}
			case pipeline.TypeDateTime:
				row[i] = base.AddDate(0, 0, rng.IntN(365))
			case pipeline.TypeFloat:
				row[i] = rng.Float64()
			}
		}
		row[1] = fmt.Sprintf("%010d", 90000000+r/8)
		rows[r] = row
	}
	return cols, rows
}

// cycleSource hands out total rows in batches of per, cycling over rows.
type cycleSource struct {
	cols       []pipeline.Column
	rows       [][]any
	total, per int
	seq        int64
	done       int
}

func (s *cycleSource) Columns() []pipeline.Column { return s.cols }
func (s *cycleSource) Close() error               { return nil }

func (s *cycleSource) Next(ctx context.Context) (*pipeline.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.done >= s.total {
		return nil, io.EOF
	}
	n := min(s.per, s.total-s.done)
	batch := make([][]any, n)
	for i := range batch {
		batch[i] = s.rows[(s.done+i)%len(s.rows)]
	}
	s.done += n
	b := &pipeline.Batch{Seq: s.seq, Rows: batch}
	s.seq++
	return b, nil
}

type discardSink struct{}

func (discardSink) Create(context.Context, string) (pipeline.Object, error) {
	return discardObject{}, nil
}

type discardObject struct{}

func (discardObject) Write(p []byte) (int, error)          { return len(p), nil }
func (discardObject) Commit() (pipeline.ObjectInfo, error) { return pipeline.ObjectInfo{}, nil }
func (discardObject) Abort() error                         { return nil }

// BenchmarkPipelineVBRP runs fake source → NDJSON → gzip level 1 → discard
// over 100,000 VBRP-shaped rows per iteration with the default Config, with
// pgzip after the encoders and with compression in the encoders (the
// blocks codec: flate, and the lines codec: the line compressor).
func BenchmarkPipelineVBRP(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			const rowsPerRun = 100_000
			cols, rows := vbrpLike(4096)
			b.ReportAllocs()
			var raw int64
			for b.Loop() {
				src := &cycleSource{cols: cols, rows: rows, total: rowsPerRun, per: pipeline.DefaultConfig().ChunkRows}
				p := newPipelineMode(mode, src, discardSink{}, pipeline.Config{})
				st, err := p.Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				raw = st.RawBytes
				b.SetBytes(raw)
				b.ReportMetric(float64(st.RawBytes)/float64(st.CompressedBytes), "ratio")
			}
			b.ReportMetric(float64(rowsPerRun)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(raw)/rowsPerRun, "B/row")
		})
	}
}
