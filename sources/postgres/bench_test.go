package postgres_test

import (
	"context"
	"io"
	"os"
	osexec "os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
)

// BenchmarkPostgresVBRP reads a VBRP table (ORA2GCS_BENCH_ROWS rows, default
// 50,000, created once and reused) with each reader (copy: the COPY reader,
// its rows decoded on the benchmark's goroutine) and discards the rows. It reports rows/s,
// this process's CPU µs per row, and — when psql is on PATH — the rate of
// `COPY vbrp TO STDOUT` to /dev/null measured in the same run, the reference
// of the performance target.
func BenchmarkPostgresVBRP(b *testing.B) {
	rows := 50000
	if s := os.Getenv("ORA2GCS_BENCH_ROWS"); s != "" {
		rows, _ = strconv.Atoi(s)
	}
	table := "vbrp_bench_" + strconv.Itoa(rows)
	db := admin(b)
	var n int64
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil || n != int64(rows) {
		loadVBRP(b, db, table, rows)
	}
	dsn := pgtest.DSN(b)
	for _, mode := range readModes {
		b.Run(mode.name, func(b *testing.B) {
			c := open(b, mode.opts)
			ctx := context.Background()
			ti := mustDescribe(b, c, table)
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				src, err := c.Open(ctx, ti, nil, pipeline.ReadOptions{Raw: mode.raw})
				if err != nil {
					b.Fatal(err)
				}
				// copy: the rows are decoded here, as an encode worker would
				var dec pipeline.RowDecoder
				if rs, ok := src.(pipeline.RawSource); ok {
					dec = rs.NewRowDecoder()
				}
				row := make([]any, len(ti.Columns))
				got := 0
				for {
					bt, err := src.Next(ctx)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					got += len(bt.Rows)
					for raw := bt.Raw; len(raw) > 0; got++ {
						if raw, err = dec.DecodeRow(raw, row); err != nil {
							b.Fatal(err)
						}
					}
					bt.Release()
				}
				src.Close()
				if got != rows {
					b.Fatalf("read %d rows, want %d", got, rows)
				}
			}
			b.StopTimer()
			total := float64(rows * b.N)
			b.ReportMetric(total/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/total, "cpu-µs/row")
		})
	}
	if psql, err := osexec.LookPath("psql"); err == nil {
		b.Run("copy_reference", func(b *testing.B) {
			for range b.N {
				cmd := osexec.Command(psql, dsn, "-qAt", "-c", "COPY "+table+" TO STDOUT")
				cmd.Stdout = io.Discard
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
