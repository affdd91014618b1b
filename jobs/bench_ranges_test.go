package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

// cpuMeter measures the CPU time of this process (getrusage RUSAGE_SELF)
// and of the PostgreSQL server's processes: every child of the postmaster
// of the test server (found as the parent of a backend), read from
// /proc/<pid>/stat (utime+stime, clock ticks of 10 ms). The pool's backends
// live for the whole job, so their CPU is counted; a backend that exits
// between two readings loses its last part.
type cpuMeter struct {
	postmaster int
	goStart    time.Duration
	pgStart    map[int]time.Duration
	rssReset   bool
}

func newCPUMeter(tb testing.TB, pool *pgxpool.Pool) *cpuMeter {
	var pid int
	if err := pool.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		tb.Fatal(err)
	}
	return &cpuMeter{postmaster: ppid(pid)}
}

func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func (c *cpuMeter) pgCPU() map[int]time.Duration {
	out := map[int]time.Duration{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || ppid(pid) != c.postmaster {
			continue
		}
		out[pid] = procCPU(pid)
	}
	return out
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *cpuMeter) start() {
	// return the heap of earlier runs to the OS, then reset the peak RSS
	// (VmHWM) of this process to the current RSS (Linux ≥ 4.0)
	debug.FreeOSMemory()
	c.rssReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	c.goStart, c.pgStart = selfCPU(), c.pgCPU()
}

// stop returns the CPU of this process, of the server, and the peak RSS in MiB.
func (c *cpuMeter) stop() (goCPU, pgCPU time.Duration, peakMiB float64) {
	goCPU = selfCPU() - c.goStart
	for pid, v := range c.pgCPU() {
		pgCPU += v - c.pgStart[pid]
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				peakMiB = kb / 1024
			}
		}
	}
	return goCPU, pgCPU, peakMiB
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkTableParallelism reads one VBRP-shaped PostgreSQL table
// (ORA2GCS_BENCH_ROWS rows, default 100,000, of pgtest.CreateSynthVBRP, or
// of pgtest.CreateVBRP with ORA2GCS_BENCH_DATA=md5) into the
// file sink with table parallelism 1, 2 and 4, and reports rows/s, the peak
// RSS of the process, and the CPU seconds of ora2gcs and of postgres.
//
//	scripts/with-postgres.sh go test ./jobs -run '^$' -bench TableParallelism -benchtime 1x
func BenchmarkTableParallelism(b *testing.B) {
	ctx := context.Background()
	rows := envInt("ORA2GCS_BENCH_ROWS", 100000)
	pool, err := pgxpool.New(ctx, pgtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	// synthetic SAP-like rows (compress like real data) unless
	// ORA2GCS_BENCH_DATA=md5; a table already loaded with as many rows is
	// reused (2M rows take minutes to load)
	table := fmt.Sprintf("vbrp_par_%s_%d", os.Getenv("ORA2GCS_BENCH_DATA"), rows)
	var have int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&have); err != nil || have != int64(rows) {
		if os.Getenv("ORA2GCS_BENCH_DATA") == "md5" {
			err = pgtest.CreateVBRP(ctx, func(ctx context.Context, q string, args ...any) error {
				_, err := pool.Exec(ctx, q, args...)
				return err
			}, table, rows)
		} else {
			var conn *pgxpool.Conn
			if conn, err = pool.Acquire(ctx); err == nil {
				err = pgtest.CreateSynthVBRP(ctx, conn.Conn().PgConn(), table, rows)
				conn.Release()
			}
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, par := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("p%d", par), func(b *testing.B) {
			conn, err := postgres.Open(ctx, pgtest.DSN(b), postgres.Options{MaxOpen: 10})
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			e := benchEnv(b, conn, 1)
			meter := newCPUMeter(b, pool)
			b.ResetTimer()
			meter.start()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				e.run(b, fmt.Sprintf("p%d-%d", par, i), par, strings.ToUpper(table))
			}
			el := time.Since(start)
			goCPU, pgCPU, peak := meter.stop()
			b.ReportMetric(float64(rows*b.N)/el.Seconds(), "rows/s")
			b.ReportMetric(peak, "peakRSS-MiB")
			b.ReportMetric(goCPU.Seconds()/float64(b.N), "go-cpu-s/op")
			b.ReportMetric(pgCPU.Seconds()/float64(b.N), "pg-cpu-s/op")
		})
	}
}

// sessionBound is a synthetic source whose every reader delivers at most
// perSession rows/s, like a remote database whose sessions are limited by
// network round trips or a per-session resource cap.
type sessionBound struct {
	*synth.Connector
	perSession float64
}

type slowSource struct {
	pipeline.Source
	perRow time.Duration
}

func (c sessionBound) Open(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	src, err := c.Connector.Open(ctx, t, snap, opts)
	if err != nil {
		return nil, err
	}
	return slowSource{Source: src, perRow: time.Duration(float64(time.Second) / c.perSession)}, nil
}

func (s slowSource) Next(ctx context.Context) (*pipeline.Batch, error) {
	b, err := s.Source.Next(ctx)
	if err == nil {
		select {
		case <-time.After(time.Duration(len(b.Rows)) * s.perRow):
		case <-ctx.Done():
			b.Release()
			return nil, ctx.Err()
		}
	}
	return b, err
}

// BenchmarkTableParallelismSessionBound shows what ranges are for: when one
// reader session is the limit (here each delivers ≤ 20,000 rows/s of
// synthetic VBRP, ORA2GCS_BENCH_ROWS rows, default 400,000), table
// parallelism 2 and 4 read that many sessions at once, until the CPU is the
// limit.
//
//	go test ./jobs -run '^$' -bench TableParallelismSessionBound -benchtime 1x
func BenchmarkTableParallelismSessionBound(b *testing.B) {
	rows := envInt("ORA2GCS_BENCH_ROWS", 400000)
	sc, err := synth.New(synth.Config{Rows: map[string]int64{"VBRP": int64(rows)}})
	if err != nil {
		b.Fatal(err)
	}
	conn := sessionBound{Connector: sc, perSession: 20000}
	for _, par := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("p%d", par), func(b *testing.B) {
			e := benchEnv(b, conn, 1)
			debug.FreeOSMemory()
			cpu0 := selfCPU()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.run(b, fmt.Sprintf("sb-p%d-%d", par, i), par, "VBRP")
			}
			b.StopTimer()
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric((selfCPU()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

type benchManager struct{ m *Manager }

func benchEnv(tb testing.TB, conn pipeline.Connector, parallelTables int) benchManager {
	dir := tb.TempDir()
	sink, err := file.New(filepath.Join(dir, "out"), "bucket")
	if err != nil {
		tb.Fatal(err)
	}
	m, err := NewManager(context.Background(), ManagerConfig{
		Store: filepath.Join(dir, "state.db"), Connector: conn,
		Sinks:   func(string) (pipeline.Sink, error) { return sink, nil },
		Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: compression.Must(compression.New(compression.Spec{Name: compression.Blocks, Level: 1})), // the CLI's default
		DefaultBucket: "bucket", ParallelTables: parallelTables, RangeMinRows: -1,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = m.Shutdown(context.Background()); _ = m.Close() })
	return benchManager{m}
}

func (e benchManager) run(tb testing.TB, name string, par int, tables ...string) Job {
	tr, err := e.m.CreateTransport(context.Background(), NewTransport{Name: name, Tables: tables, TableParallelism: par})
	if err != nil {
		tb.Fatal(err)
	}
	j, err := e.m.Execute(context.Background(), tr.ID)
	if err != nil {
		tb.Fatal(err)
	}
	j, err = e.m.Wait(context.Background(), j.ID)
	if err != nil || j.Status != StatusCompleted {
		tb.Fatalf("job %s: %v %v", j.Status, err, derefErr(j.Error))
	}
	return j
}

// TestScaling is the NFR-01.4 measurement: 100 tables of 20,000 rows each
// (10 columns of mixed types) read with parallel_tables 1, 2, 4 and 8; it
// logs rows/s per setting. It runs only with ORA2GCS_SCALING=1 (it takes
// minutes); ORA2GCS_SCALING_TABLES and ORA2GCS_SCALING_ROWS change the size.
//
//	ORA2GCS_SCALING=1 scripts/with-postgres.sh go test ./jobs -run TestScaling -v -timeout 30m
func TestScaling(t *testing.T) {
	if os.Getenv("ORA2GCS_SCALING") != "1" {
		t.Skip("set ORA2GCS_SCALING=1 to measure scaling over many tables")
	}
	ctx := context.Background()
	tables, rows := envInt("ORA2GCS_SCALING_TABLES", 100), envInt("ORA2GCS_SCALING_ROWS", 20000)
	pool := pgPool(t)
	var names []string
	for i := range tables {
		n := fmt.Sprintf("scale_%03d", i)
		names = append(names, strings.ToUpper(n))
		pgExec(t, pool, "DROP TABLE IF EXISTS "+n, fmt.Sprintf(`CREATE TABLE %s AS SELECT g AS id, md5(g::text) AS code,
			(g %% 977)::numeric(12,2) / 7 AS amount, g * 1.5::float8 AS ratio, now()::timestamp(0) - g * interval '1 minute' AS created,
			(g %% 2 = 0) AS flag, to_hex(g) AS hex, g %% 13 AS small, repeat('x', (g %% 20)) AS pad, current_date - (g %% 400) AS day
			FROM generate_series(1, %d) g`, n, rows), "ANALYZE "+n)
	}
	conn, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{MaxOpen: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	meter := newCPUMeter(t, pool)
	for _, pt := range []int{1, 2, 4, 8} {
		e := benchEnv(t, conn, pt)
		meter.start()
		start := time.Now()
		e.run(t, fmt.Sprintf("scale-%d", pt), 1, names...)
		el := time.Since(start)
		goCPU, pgCPU, peak := meter.stop()
		t.Logf("parallel_tables=%d: %d tables × %d rows in %.1fs = %.0f rows/s; CPU ora2gcs %.1fs, postgres %.1fs; peak RSS %.0f MiB",
			pt, tables, rows, el.Seconds(), float64(tables*rows)/el.Seconds(), goCPU.Seconds(), pgCPU.Seconds(), peak)
	}
}

// BenchmarkIncrementalVsFull exports one VBRP-shaped PostgreSQL table
// (ORA2GCS_BENCH_ROWS rows, default 2,000,000, of pgtest.CreateSynthVBRP
// plus an indexed change date "AEDAT") after one day of changes — 1% of
// its rows updated with the next day's AEDAT — in full and incrementally
// (AEDAT watermark, 10 minute overlap), and reports the rows read and
// written, the compressed bytes written and the time per export.
//
//	scripts/with-postgres.sh go test ./jobs -run '^$' -bench IncrementalVsFull -benchtime 1x -count 3
func BenchmarkIncrementalVsFull(b *testing.B) {
	ctx := context.Background()
	rows := envInt("ORA2GCS_BENCH_ROWS", 2000000)
	pool, err := pgxpool.New(ctx, pgtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	// a table already loaded with as many rows is reused (2M rows take minutes)
	table := fmt.Sprintf("vbrp_inc_%d", rows)
	var have int64
	err = pool.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE "AEDAT" IS NOT NULL`).Scan(&have)
	if err != nil || have != int64(rows) {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		err = pgtest.CreateSynthVBRP(ctx, conn.Conn().PgConn(), table, rows)
		conn.Release()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `ALTER TABLE `+table+` ADD COLUMN "AEDAT" timestamp(0) NOT NULL DEFAULT '2026-01-01 00:00:00'`); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `CREATE INDEX ON `+table+` ("AEDAT")`); err != nil {
			b.Fatal(err)
		}
	}
	conn, err := postgres.Open(ctx, pgtest.DSN(b), postgres.Options{MaxOpen: 10})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	name := strings.ToUpper(table)
	// oneDay updates 1% of the rows (a different 1% each day) to the day
	// after the newest change date.
	oneDay := func(b *testing.B) int64 {
		var day int
		if err := pool.QueryRow(ctx, `SELECT (max("AEDAT")::date - date '2026-01-01') FROM `+table).Scan(&day); err != nil {
			b.Fatal(err)
		}
		tag, err := pool.Exec(ctx, `UPDATE `+table+` SET "AEDAT" = timestamp '2026-01-01 08:00:00' + $1 * interval '1 day'
			WHERE abs(hashtext("VBELN" || '/' || "POSNR"::text)) % 100 = $2`, day+1, day%100)
		if err != nil {
			b.Fatal(err)
		}
		return tag.RowsAffected()
	}
	for _, mode := range []string{ModeFull, ModeIncremental} {
		b.Run(mode, func(b *testing.B) {
			e := benchEnv(b, conn, 1)
			in := NewTransport{Name: mode, Tables: []string{name}}
			if mode == ModeIncremental {
				// the synthetic table has no primary key: VBRP's key columns
				in.Incremental = &IncrementalSpec{Tables: []TableMode{{Table: name, Mode: ModeIncremental, WatermarkColumn: "AEDAT",
					KeyColumns: []string{"MANDT", "VBELN", "POSNR"}}}}
			}
			tr, err := e.m.CreateTransport(ctx, in)
			if err != nil {
				b.Fatal(err)
			}
			runOnce := func() Job {
				j, err := e.m.Execute(ctx, tr.ID)
				if err != nil {
					b.Fatal(err)
				}
				if j, err = e.m.Wait(ctx, j.ID); err != nil || j.Status != StatusCompleted {
					b.Fatalf("job %s: %v %s", j.Status, err, derefErr(j.Error))
				}
				return j
			}
			if mode == ModeIncremental {
				runOnce() // the first incremental run reads in full
			}
			var read, written, changed int64
			var el time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				changed += oneDay(b)
				b.StartTimer()
				start := time.Now()
				j := runOnce()
				el += time.Since(start)
				read += j.TotalRows
				written += j.BytesTransferred
			}
			b.ReportMetric(float64(changed)/float64(b.N), "changed-rows/op")
			b.ReportMetric(float64(read)/float64(b.N), "rows/op")
			b.ReportMetric(float64(written)/float64(b.N)/1e6, "MB/op")
			b.ReportMetric(el.Seconds()/float64(b.N), "s/export")
		})
	}
}
