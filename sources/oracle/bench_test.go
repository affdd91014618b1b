package oracle

import (
	"context"
	"io"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// BenchmarkReadFake measures the Oracle dialect's share of a read: the
// shared database/sql reader plus godror value normalisation (NUMBER
// digits, ” → null, DATE wall clock, intervals) for an 18-column row, with
// the database replaced by the in-memory fake (no cgo, no network).
func BenchmarkReadFake(b *testing.B) {
	const rows = 20000
	o := &oracleFake{rows: rows}
	fake := &fakeDB{answer: o.answer}
	c, err := New(sqlOpenDB(fake), Config{User: "u", Password: "p", ConnectString: "h:1521/S"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ti, err := c.Describe(context.Background(), "vbrp")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{BatchRows: 5000})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			bt, err := src.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += len(bt.Rows)
			bt.Release()
		}
		src.Close()
		if n != rows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
