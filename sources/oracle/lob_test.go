package oracle

import (
	"context"
	"database/sql/driver"
	"io"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

const lobSize = 5 << 20 // 5 MB CLOBs

// lobTable is T.X with 40 rows of a 5 MB CLOB (one shared string: the
// fake accounts the bytes without allocating them per row).
func lobTable() *tableFake {
	big := strings.Repeat("x", lobSize)
	f := &tableFake{
		cols: []fakeCol{{name: "ID", dbType: "NUMBER"}, {name: "C", dbType: "CLOB"}},
		decl: [][2]string{{"ID", "NUMBER"}, {"C", "CLOB"}},
	}
	for i := 0; i < 40; i++ {
		f.rows = append(f.rows, []driver.Value{"1", big})
	}
	return f
}

// readLOBTable reads T.X the way a job does (its batch rows and fetch array
// size) and returns the rows read, the largest batch's LOB bytes and the
// most the fake driver's LOB fetch buffers held.
func readLOBTable(tb testing.TB, f *tableFake) (rows int, maxBatch, fetchBuffers int64) {
	fake, db := newFakeDB(tb, f.answer)
	c, err := New(db, Config{User: "u", Password: "p", ConnectString: "h:1521/S"})
	if err != nil {
		tb.Fatal(err)
	}
	ti, err := c.Describe(context.Background(), "T.X")
	if err != nil {
		tb.Fatal(err)
	}
	src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{BatchRows: 10000, FetchArraySize: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	for {
		b, err := src.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		var n int64
		for _, r := range b.Rows {
			if s, ok := r[1].(string); ok {
				n += int64(len(s))
			}
		}
		maxBatch = max(maxBatch, n)
		rows += len(b.Rows)
		if b.Release != nil {
			b.Release()
		}
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	return rows, maxBatch, fake.peakFetchBuffers
}

// TestLOBTableWithinBudget: with a job's fetch array of 1000 rows, godror's
// LOB buffers would grow to 1000 × 5 MB, and a batch of 10000 rows would
// hold 10000 × 5 MB. A table with LOB columns is read with a short fetch
// array and batches cut by bytes, so both stay within DefaultLOBMemory.
func TestLOBTableWithinBudget(t *testing.T) {
	rows, maxBatch, fetchBuffers := readLOBTable(t, lobTable())
	if rows != 40 {
		t.Fatalf("%d rows", rows)
	}
	if fetchBuffers > DefaultLOBMemory/2 {
		t.Errorf("LOB fetch buffers held %d MB, budget %d MB", fetchBuffers>>20, DefaultLOBMemory/2>>20)
	}
	if maxBatch > DefaultLOBMemory/8+lobSize {
		t.Errorf("a batch held %d MB of LOBs, budget %d MB", maxBatch>>20, (DefaultLOBMemory/8+lobSize)>>20)
	}
	t.Logf("fetch buffers %d MB, largest batch %d MB", fetchBuffers>>20, maxBatch>>20)
}

// BenchmarkLOBTable reads 40 rows of 5 MB CLOBs through the fake driver,
// which accounts godror's LOB fetch buffers as ODPI-C keeps them, and
// reports the most they held and the largest batch, in MB.
func BenchmarkLOBTable(b *testing.B) {
	f := lobTable()
	var fetchMB, batchMB float64
	for b.Loop() {
		rows, maxBatch, fetchBuffers := readLOBTable(b, f)
		if rows != 40 {
			b.Fatalf("%d rows", rows)
		}
		fetchMB, batchMB = float64(fetchBuffers)/(1<<20), float64(maxBatch)/(1<<20)
	}
	b.SetBytes(40 * lobSize)
	b.ReportMetric(fetchMB, "fetch-buffer-MB")
	b.ReportMetric(batchMB, "batch-MB")
	b.ReportMetric(float64(DefaultLOBMemory>>20), "budget-MB")
}
