package oracle

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/godror/godror"

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
	benchRead(b, c, ti, 5000, rows)
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkReadFake274 reads a VBRP-shaped row (274 columns: 200 VARCHAR2,
// 60 NUMBER, 14 DATE, as godror returns them; a third of the text empty)
// through the connector and the fake driver, and reports the time and
// allocations per row of our side (reading the driver's rows,
// normalisation, batching); godror's own per-value work is not in it.
// reader=driver-rows is the connector's reader (driver.Rows through
// conn.Raw), reader=database-sql the shared database/sql reader (Scan into
// []any) it replaced, for comparison.
func BenchmarkReadFake274(b *testing.B) {
	for _, viaSQL := range []bool{false, true} {
		name := "reader=driver-rows"
		if viaSQL {
			name = "reader=database-sql"
		}
		b.Run(name, func(b *testing.B) { benchReadFake274(b, viaSQL) })
	}
}

func benchReadFake274(b *testing.B, viaSQL bool) {
	const rows, ncols = 5000, 274
	var cols []fakeCol
	var decl [][2]string
	row := make([]driver.Value, ncols)
	for i := 0; i < ncols; i++ {
		name := fmt.Sprintf("C%03d", i)
		switch {
		case i < 200:
			cols = append(cols, fakeCol{name: name, dbType: "VARCHAR2"})
			decl = append(decl, [2]string{name, "VARCHAR2(40 CHAR)"})
			if i%3 != 0 {
				row[i] = "text value " + name
			} else {
				row[i] = ""
			}
		case i < 260:
			cols = append(cols, fakeCol{name: name, dbType: "NUMBER", prec: 15, scale: 2, hasPS: true})
			decl = append(decl, [2]string{name, "NUMBER(15,2)"})
			row[i] = godror.Number("12345.67")
		default:
			cols = append(cols, fakeCol{name: name, dbType: "DATE"})
			decl = append(decl, [2]string{name, "DATE"})
			row[i] = time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC) // godror builds DATE in UTC
		}
	}
	f := &tableFake{cols: cols, decl: decl}
	for i := 0; i < rows; i++ {
		f.rows = append(f.rows, row)
	}
	fake := &fakeDB{answer: f.answer}
	c, err := New(sqlOpenDB(fake), Config{User: "u", Password: "p", ConnectString: "h:1521/S"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.viaDatabaseSQL = viaSQL
	ti, err := c.Describe(context.Background(), "T.X")
	if err != nil {
		b.Fatal(err)
	}
	benchRead(b, c, ti, 1000, rows)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows)/1000, "µs/row")
}

// benchRead reads table ti b.N times in batches of batchRows and checks
// that every read gives rows rows.
func benchRead(b *testing.B, c *Connector, ti pipeline.TableInfo, batchRows, rows int) {
	b.Helper()
	read := func() {
		src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{BatchRows: batchRows})
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
	read() // the fake's one-time set-up (building its answer) is not the reader's cost
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		read()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*rows), "allocs/row")
}
