package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
	"github.com/ora2gcs/ora2gcs/stages"
)

// incEnv is a Manager over the real PostgreSQL and a file target, with one
// schema of its own; restart opens a new Manager on the same state
// database (a process restart).
type incEnv struct {
	pool   *pgxpool.Pool
	schema string
	conn   pipeline.Connector
	sink   *file.Sink
	db     string
	par    int
	m      *Manager
	// configure, when set, changes the Manager's config before each start
	configure func(*ManagerConfig)
}

func newIncEnv(t *testing.T, dsnExtra string, par int) *incEnv {
	t.Helper()
	e := &incEnv{pool: pgPool(t), schema: fmt.Sprintf("inc_%d", rand.Uint32()), par: par}
	pgExec(t, e.pool, "CREATE SCHEMA "+e.schema)
	t.Cleanup(func() { pgExec(t, e.pool, "DROP SCHEMA "+e.schema+" CASCADE") })
	conn, err := postgres.Open(context.Background(), pgtest.DSN(t)+dsnExtra, postgres.Options{MaxOpen: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e.conn = conn
	dir := t.TempDir()
	if e.sink, err = file.New(filepath.Join(dir, "out"), "bucket"); err != nil {
		t.Fatal(err)
	}
	e.db = filepath.Join(dir, "state.db")
	e.start(t, e.conn)
	return e
}

func (e *incEnv) start(t *testing.T, conn pipeline.Connector) {
	t.Helper()
	cfg := ManagerConfig{
		Store: e.db, Connector: conn,
		Sinks:   func(string) (pipeline.Sink, error) { return e.sink, nil },
		Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})),
		Pipeline:      pipeline.Config{ChunkRows: 1000, Retry: pipeline.Retry{Attempts: 2, Backoff: time.Millisecond}},
		DefaultBucket: "bucket", ParallelTables: 2, TableParallelism: e.par, RangeMinRows: 1,
	}
	if e.configure != nil {
		e.configure(&cfg)
	}
	m, err := NewManager(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	t.Cleanup(func() { _ = m.Shutdown(context.Background()); _ = m.Close() })
}

func (e *incEnv) tab(name string) string { return e.schema + "." + name }

func (e *incEnv) exec(t *testing.T, qs ...string) {
	t.Helper()
	for i := range qs {
		qs[i] = strings.ReplaceAll(qs[i], "$S.", e.schema+".")
	}
	pgExec(t, e.pool, qs...)
}

func (e *incEnv) transport(t *testing.T, modes []TableMode, tables ...string) Transport {
	t.Helper()
	for i := range tables {
		tables[i] = e.tab(tables[i])
	}
	for i := range modes {
		modes[i].Table = e.tab(modes[i].Table)
	}
	tr, err := e.m.CreateTransport(context.Background(), NewTransport{Name: "inc", Tables: tables, Incremental: &IncrementalSpec{Tables: modes}})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (e *incEnv) run(t *testing.T, ctx context.Context, trID string) Job {
	t.Helper()
	j, err := e.m.Execute(ctx, trID)
	if err != nil {
		t.Fatal(err)
	}
	j, err = e.m.Wait(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (e *incEnv) mustRun(t *testing.T, trID string) Job {
	t.Helper()
	j := e.run(t, context.Background(), trID)
	if j.Status != StatusCompleted {
		t.Fatalf("job %s: %s: %s", j.ID, j.Status, derefErr(j.Error))
	}
	return j
}

func (e *incEnv) manifest(t *testing.T, j Job) Manifest {
	t.Helper()
	return readManifest(t, filepath.Join(e.sink.Root(), j.TransportID, j.Version, "_manifest.json"))
}

// rows reads the table's object of job j as JSON objects (numbers exact).
func (e *incEnv) rows(t *testing.T, j Job, table string) []map[string]any {
	t.Helper()
	man := e.manifest(t, j)
	for _, mt := range man.Tables {
		if mt.Table != e.tab(table) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(e.sink.Root(), mt.Object))
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(testutil.GunzipOne(t, b)))
		dec.UseNumber()
		var out []map[string]any
		for dec.More() {
			var r map[string]any
			if err := dec.Decode(&r); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	t.Fatalf("job %s: no table %s in the manifest", j.ID, table)
	return nil
}

// ids lists the "id" of rows, sorted, as strings.
func ids(rows []map[string]any) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, fmt.Sprint(r["id"]))
	}
	slices.Sort(out)
	return out
}

func tableWindow(t *testing.T, e *incEnv, j Job, table string) (ManifestTable, *TableWindow) {
	t.Helper()
	for _, mt := range e.manifest(t, j).Tables {
		if mt.Table == e.tab(table) {
			te := tableOf(t, j, e.tab(table))
			if te.Mode != mt.Mode {
				t.Fatalf("job history says mode %q, manifest %q", te.Mode, mt.Mode)
			}
			return mt, mt.Window
		}
	}
	t.Fatalf("no table %s", table)
	return ManifestTable{}, nil
}

func wantIDs(t *testing.T, what string, got []map[string]any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if g := ids(got); !slices.Equal(g, want) {
		t.Fatalf("%s: read ids %v, want %v", what, g, want)
	}
}

// TestIncrementalPostgresRuns: the first run of an incremental table reads
// it in full and records the snapshot's maximum; the next runs read only
// rows inserted or updated since (minus the overlap), a run without
// changes reads nothing new beyond the overlap, deletes are not seen until
// a full run, NULL watermarks are counted in every incremental run and
// read only by full runs, and the manifest and job history show mode and
// window per table. A plain table of the same transport stays full.
func TestIncrementalPostgresRuns(t *testing.T) {
	e := newIncEnv(t, "", 1)
	e.exec(t, "CREATE TABLE $S.orders (id bigint PRIMARY KEY, v text, wm timestamptz)",
		"CREATE INDEX ON $S.orders (wm)",
		"CREATE TABLE $S.plain (id int PRIMARY KEY)",
		"INSERT INTO $S.plain VALUES (1), (2)",
		`INSERT INTO $S.orders VALUES (1, 'a', '2026-01-01 10:00:00+00'), (2, 'b', '2026-01-01 11:00:00+00'),
			(3, 'c', NULL)`)
	tr := e.transport(t, []TableMode{{Table: "orders", Mode: ModeIncremental, WatermarkColumn: "WM", Overlap: "30m"}}, "orders", "plain")
	if got := tr.Incremental.Tables[0]; got.WatermarkColumn != "wm" || !slices.Equal(got.KeyColumns, []string{"id"}) {
		t.Fatalf("stored mode %+v: want column wm as the catalog spells it and keys from the primary key", got)
	}

	j1 := e.mustRun(t, tr.ID)
	wantIDs(t, "run 1 (first: full)", e.rows(t, j1, "orders"), "1", "2", "3")
	mt, w := tableWindow(t, e, j1, "orders")
	if mt.Mode != ModeFull || w == nil || w.Low != "" || w.High != "2026-01-01T11:00:00Z" || w.FullReason == "" || w.NullWatermarks != 1 {
		t.Fatalf("run 1 manifest: mode %q window %+v", mt.Mode, w)
	}
	if pm, _ := tableWindow(t, e, j1, "plain"); pm.Mode != ModeFull || pm.Window != nil {
		t.Fatalf("plain table: mode %q window %+v", pm.Mode, pm.Window)
	}

	// insert one, update one, delete one, one more NULL
	e.exec(t, "INSERT INTO $S.orders VALUES (4, 'd', '2026-01-01 12:00:00+00'), (5, 'e', NULL)",
		"UPDATE $S.orders SET v = 'a2', wm = '2026-01-01 12:30:00+00' WHERE id = 1",
		"DELETE FROM $S.orders WHERE id = 2")
	j2 := e.mustRun(t, tr.ID)
	// low = 11:00 - 30m = 10:30: rows 4 and 1 (updated); not 2 (deleted), not NULLs
	wantIDs(t, "run 2", e.rows(t, j2, "orders"), "1", "4")
	mt, w = tableWindow(t, e, j2, "orders")
	if mt.Mode != ModeIncremental || w.Low != "2026-01-01T10:30:00Z" || w.High != "2026-01-01T12:30:00Z" ||
		w.Overlap != "30m0s" || !slices.Equal(w.KeyColumns, []string{"id"}) || w.NullWatermarks != 2 || w.PreviousJobID != j1.ID || mt.Rows != 2 {
		t.Fatalf("run 2 manifest: mode %q rows %d window %+v", mt.Mode, mt.Rows, w)
	}
	if te := tableOf(t, j2, e.tab("orders")); te.Window == nil || te.Window.Low != w.Low || te.Window.High != w.High {
		t.Fatalf("job history window %+v, manifest %+v", te.Window, w)
	}
	if got := e.rows(t, j2, "plain"); len(got) != 2 {
		t.Fatalf("plain table: %d rows, want all 2", len(got))
	}

	// no change: only the overlap's tail (12:00 < wm <= 12:30) again
	j3 := e.mustRun(t, tr.ID)
	wantIDs(t, "run 3 (no change)", e.rows(t, j3, "orders"), "1")

	// a full run (as a full schedule would start) sees the delete and the NULLs
	jf := e.run(t, WithFullRun(context.Background()), tr.ID)
	if jf.Status != StatusCompleted {
		t.Fatalf("full run: %s", derefErr(jf.Error))
	}
	wantIDs(t, "requested full run", e.rows(t, jf, "orders"), "1", "3", "4", "5")
	if mt, w := tableWindow(t, e, jf, "orders"); mt.Mode != ModeFull || w.FullReason != "full run requested" || w.High != "2026-01-01T12:30:00Z" {
		t.Fatalf("full run: mode %q window %+v", mt.Mode, w)
	}
	marks, err := e.m.Watermarks(context.Background(), tr.ID)
	if err != nil || len(marks) != 1 || marks[0].FullJobID != jf.ID || marks[0].JobID != jf.ID || marks[0].High != "2026-01-01T12:30:00Z" {
		t.Fatalf("watermarks %+v %v", marks, err)
	}
}

// TestIncrementalLongTransaction: a transaction that stays open across a
// run commits a row whose watermark is older than that run's high. The
// next run's overlap reads it; with overlap 0 it is missed for good (the
// reason overlaps exist).
func TestIncrementalLongTransaction(t *testing.T) {
	for _, tc := range []struct {
		overlap    string
		run2, run3 []string
	}{
		// default 10m: each run also reads the previous 10 minutes again
		{"", []string{"1", "3"}, []string{"1", "2", "3"}},
		// 0: row 2 (09:02, committed after run 2 read up to 09:05) is lost
		{"0s", []string{"3"}, nil},
	} {
		t.Run("overlap="+tc.overlap, func(t *testing.T) {
			e := newIncEnv(t, "", 1)
			e.exec(t, "CREATE TABLE $S.t (id bigint PRIMARY KEY, wm timestamp)",
				"INSERT INTO $S.t VALUES (1, '2026-03-01 09:00:00')")
			tr := e.transport(t, []TableMode{{Table: "t", Mode: ModeIncremental, WatermarkColumn: "wm", Overlap: tc.overlap}}, "t")
			e.mustRun(t, tr.ID) // high 09:00

			ctx := context.Background()
			long, err := e.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer long.Rollback(ctx)
			// the long transaction stamps its row at 09:02 but commits later
			if _, err := long.Exec(ctx, "INSERT INTO "+e.tab("t")+" VALUES (2, '2026-03-01 09:02:00')"); err != nil {
				t.Fatal(err)
			}
			e.exec(t, "INSERT INTO $S.t VALUES (3, '2026-03-01 09:05:00')")
			j2 := e.mustRun(t, tr.ID) // high 09:05; row 2 is not committed yet
			wantIDs(t, "run 2", e.rows(t, j2, "t"), tc.run2...)
			if err := long.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			j3 := e.mustRun(t, tr.ID)
			wantIDs(t, "run 3", e.rows(t, j3, "t"), tc.run3...)
		})
	}
}

// failOnce fails the reads of one table (after its first batch) while
// armed: the job fails with part of the table read.
type failOnce struct {
	pipeline.Connector
	armed atomic.Bool
	hang  atomic.Bool  // reads wait for their context's end instead
	hung  atomic.Int32 // reads waiting
}

func (f *failOnce) Open(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	src, err := f.Connector.Open(ctx, t, snap, opts)
	if err != nil || (!f.armed.Load() && !f.hang.Load()) {
		return src, err
	}
	return &failingSource{Source: src, hang: f.hang.Load(), hung: &f.hung}, nil
}

func (f *failOnce) Ranges(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, n int) ([]pipeline.Range, error) {
	return f.Connector.(pipeline.RangeSplitter).Ranges(ctx, t, snap, n)
}

func (f *failOnce) WatermarkStats(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, c pipeline.Column, n bool) (pipeline.WatermarkStats, error) {
	return f.Connector.(pipeline.Watermarker).WatermarkStats(ctx, t, snap, c, n)
}

func (f *failOnce) PrimaryKey(ctx context.Context, t pipeline.TableInfo) ([]string, error) {
	return f.Connector.(pipeline.Watermarker).PrimaryKey(ctx, t)
}

func (f *failOnce) Indexed(ctx context.Context, t pipeline.TableInfo, c string) (bool, error) {
	return f.Connector.(pipeline.Watermarker).Indexed(ctx, t, c)
}

type failingSource struct {
	pipeline.Source
	n    int
	hang bool
	hung *atomic.Int32
}

func (s *failingSource) Next(ctx context.Context) (*pipeline.Batch, error) {
	if s.n++; s.n > 1 && s.hang {
		s.hung.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if s.n > 1 {
		return nil, errors.New("disk on fire")
	}
	return s.Source.Next(ctx)
}

// TestIncrementalFailedAndInterruptedRuns: a run that fails mid-table and
// one interrupted by a shutdown leave the watermark where the last
// completed run put it, so the next run reads their windows and its own:
// every row changed since the last completed run is read.
func TestIncrementalFailedAndInterruptedRuns(t *testing.T) {
	e := newIncEnv(t, "", 1)
	fo := &failOnce{Connector: e.conn}
	_ = e.m.Shutdown(context.Background())
	_ = e.m.Close()
	e.start(t, fo)
	e.exec(t, "CREATE TABLE $S.t (id bigint PRIMARY KEY, seq bigint NOT NULL)",
		"INSERT INTO $S.t SELECT g, g FROM generate_series(1, 100) g")
	tr := e.transport(t, []TableMode{{Table: "t", Mode: ModeIncremental, WatermarkColumn: "seq"}}, "t")
	e.mustRun(t, tr.ID) // high 100
	before, _ := e.m.Watermarks(context.Background(), tr.ID)

	// window A: 101..3100, read by a run that fails after its first batch
	e.exec(t, "INSERT INTO $S.t SELECT g, g FROM generate_series(101, 3100) g")
	fo.armed.Store(true)
	jf := e.run(t, context.Background(), tr.ID)
	fo.armed.Store(false)
	if jf.Status != StatusFailed {
		t.Fatalf("the failing run ended %s", jf.Status)
	}
	if after, _ := e.m.Watermarks(context.Background(), tr.ID); !slices.Equal(after, before) {
		t.Fatalf("a failed run moved the watermark: %+v → %+v", before, after)
	}

	// window B: 3101..3200, read by a run interrupted by a shutdown
	e.exec(t, "INSERT INTO $S.t SELECT g, g FROM generate_series(3101, 3200) g")
	e.exec(t, "UPDATE $S.t SET seq = 5000 WHERE id = 7") // an update moves its row up
	fo.hang.Store(true)
	ji, err := e.m.Execute(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	for fo.hung.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = e.m.Shutdown(sctx)
	cancel()
	fo.hang.Store(false)
	_ = e.m.Close()
	e.start(t, fo) // a restart
	ji, err = e.m.GetJob(context.Background(), ji.ID)
	if err != nil || ji.Status != StatusFailed {
		t.Fatalf("interrupted job: %+v %v", ji.Status, err)
	}
	if after, _ := e.m.Watermarks(context.Background(), tr.ID); !slices.Equal(after, before) {
		t.Fatalf("an interrupted run moved the watermark: %+v → %+v", before, after)
	}

	j := e.mustRun(t, tr.ID)
	got := e.rows(t, j, "t")
	var want []string
	for i := 101; i <= 3200; i++ {
		want = append(want, fmt.Sprint(i))
	}
	want = append(want, "7")
	wantIDs(t, "the run after a failed and an interrupted one", got, want...)
	if _, w := tableWindow(t, e, j, "t"); w.Low != "100" || w.High != "5000" {
		t.Fatalf("window %+v, want (100, 5000]", w)
	}
}

// TestIncrementalBoundaryAndNumbers: the window is low < wm <= high. Rows
// whose watermark equals a run's high are read by that run (<=) and not
// again by the next one (>, overlap 0): with >= every run would read them
// again. A numeric (decimal) watermark compares as a number (9.5 < 10,
// not as text), and its overlap is a number.
func TestIncrementalBoundaryAndNumbers(t *testing.T) {
	e := newIncEnv(t, "", 1)
	e.exec(t, "CREATE TABLE $S.n (id int PRIMARY KEY, wm numeric(12,3))",
		"INSERT INTO $S.n VALUES (1, 9.5), (2, 9.5), (3, 8)")
	tr := e.transport(t, []TableMode{{Table: "n", Mode: ModeIncremental, WatermarkColumn: "wm"}}, "n")
	j1 := e.mustRun(t, tr.ID)
	if _, w := tableWindow(t, e, j1, "n"); w.High != "9.500" {
		t.Fatalf("high %q, want 9.500", w.High)
	}
	// two more rows at 10 (the next high) and one at 9.5 committed late
	e.exec(t, "INSERT INTO $S.n VALUES (4, 10), (5, 10), (6, 9.5)")
	j2 := e.mustRun(t, tr.ID)
	wantIDs(t, "run 2 (> 9.5: both rows at the new high 10, not the late 9.5 with overlap 0)", e.rows(t, j2, "n"), "4", "5")
	j3 := e.mustRun(t, tr.ID)
	wantIDs(t, "run 3 (> 10: the rows at the previous high are not read again)", e.rows(t, j3, "n"))

	// overlap 0.5 reads wm > 9.5: the rows at 10 again, not those at 9.5
	if _, err := e.m.SetIncremental(context.Background(), tr.ID, IncrementalSpec{Tables: []TableMode{
		{Table: e.tab("n"), Mode: ModeIncremental, WatermarkColumn: "wm", Overlap: "0.5"}}}); err != nil {
		t.Fatal(err)
	}
	j4 := e.mustRun(t, tr.ID)
	wantIDs(t, "run 4 (overlap 0.5)", e.rows(t, j4, "n"), "4", "5")
	if _, w := tableWindow(t, e, j4, "n"); w.Low != "9.5" || w.High != "10.000" {
		t.Fatalf("window %+v", w)
	}
}

// TestIncrementalTimeTypes: timestamptz bounds are instants whatever the
// session's time zone (here UTC+14), timestamp and date bounds wall clocks
// compared without any zone. Each table gets rows just below, at and just
// above the boundaries.
func TestIncrementalTimeTypes(t *testing.T) {
	e := newIncEnv(t, "&timezone=Pacific%2FKiritimati", 1)
	e.exec(t, "CREATE TABLE $S.tz (id int PRIMARY KEY, wm timestamptz)",
		"CREATE TABLE $S.ts (id int PRIMARY KEY, wm timestamp(3))",
		"CREATE TABLE $S.d (id int PRIMARY KEY, wm date)",
		"INSERT INTO $S.tz VALUES (1, '2026-06-01 00:00:00.000001+00')",
		"INSERT INTO $S.ts VALUES (1, '2026-06-01 00:00:00.001')",
		"INSERT INTO $S.d VALUES (1, '2026-06-01')")
	tr := e.transport(t, []TableMode{
		{Table: "tz", Mode: ModeIncremental, WatermarkColumn: "wm", Overlap: "0s"},
		{Table: "ts", Mode: ModeIncremental, WatermarkColumn: "wm", Overlap: "0s"},
		{Table: "d", Mode: ModeIncremental, WatermarkColumn: "wm", Overlap: "1h"},
	}, "tz", "ts", "d")
	j1 := e.mustRun(t, tr.ID)
	for tab, want := range map[string]string{"tz": "2026-06-01T00:00:00.000001Z", "ts": "2026-06-01T00:00:00.001", "d": "2026-06-01"} {
		if _, w := tableWindow(t, e, j1, tab); w.High != want {
			t.Fatalf("%s: high %q, want %q", tab, w.High, want)
		}
	}
	e.exec(t,
		// the same instant written in +14 (equal: not above the high), one
		// microsecond later in -10 (above)
		"INSERT INTO $S.tz VALUES (2, '2026-06-01 14:00:00.000001+14'), (3, '2026-05-31 14:00:00.000002-10')",
		// wall clocks: equal, one millisecond later, and one that would be
		// later if read as UTC+14 wall clock in UTC (it is not)
		"INSERT INTO $S.ts VALUES (2, '2026-06-01 00:00:00.001'), (3, '2026-06-01 00:00:00.002'), (4, '2026-05-31 23:00:00')",
		// dates: the overlap of 1h rounds the low down to the previous day,
		// so the high's own day is read again; the day before is not
		"INSERT INTO $S.d VALUES (2, '2026-06-01'), (3, '2026-06-02'), (4, '2026-05-31')")
	j2 := e.mustRun(t, tr.ID)
	wantIDs(t, "timestamptz", e.rows(t, j2, "tz"), "3")
	wantIDs(t, "timestamp", e.rows(t, j2, "ts"), "3")
	wantIDs(t, "date", e.rows(t, j2, "d"), "1", "2", "3")
	if _, w := tableWindow(t, e, j2, "d"); w.Low != "2026-05-31" {
		t.Fatalf("date low %q, want 2026-05-31 (rounded down)", w.Low)
	}
}

// TestIncrementalRanges: with table parallelism the window applies to
// every range: the ranged incremental read gives exactly the rows a single
// read gives.
func TestIncrementalRanges(t *testing.T) {
	e := newIncEnv(t, "", 4)
	e.exec(t, "CREATE TABLE $S.r (id bigint PRIMARY KEY, pad text, seq bigint NOT NULL)",
		"INSERT INTO $S.r SELECT g, repeat('x', 200), g FROM generate_series(1, 20000) g", "ANALYZE $S.r")
	tr := e.transport(t, []TableMode{{Table: "r", Mode: ModeIncremental, WatermarkColumn: "seq"}}, "r")
	j1 := e.mustRun(t, tr.ID)
	if n := len(tableOf(t, j1, e.tab("r")).Ranges); n < 2 {
		t.Fatalf("the first run used %d ranges, want several", n)
	}
	// changes spread over the whole heap
	e.exec(t, "UPDATE $S.r SET seq = 20000 + id WHERE id % 997 = 0")
	j2 := e.mustRun(t, tr.ID)
	if n := len(tableOf(t, j2, e.tab("r")).Ranges); n < 2 {
		t.Fatalf("the incremental run used %d ranges, want several", n)
	}
	var want []string
	for i := 997; i <= 20000; i += 997 {
		want = append(want, fmt.Sprint(i))
	}
	wantIDs(t, "ranged incremental run", e.rows(t, j2, "r"), want...)
}

// TestIncrementalRebuildFromManifests: after the state database loses its
// watermarks, rebuilding them from the bucket's manifests gives the same
// state, so the next run reads the same window as it would have.
func TestIncrementalRebuildFromManifests(t *testing.T) {
	e := newIncEnv(t, "", 1)
	e.exec(t, "CREATE TABLE $S.a (id int PRIMARY KEY, wm timestamptz)",
		"CREATE TABLE $S.b (id int PRIMARY KEY, seq int)",
		"INSERT INTO $S.a VALUES (1, '2026-01-01 00:00:00+00')", "INSERT INTO $S.b VALUES (1, 1)")
	tr := e.transport(t, []TableMode{
		{Table: "a", Mode: ModeIncremental, WatermarkColumn: "wm"},
		{Table: "b", Mode: ModeIncremental, WatermarkColumn: "seq"}}, "a", "b")
	e.mustRun(t, tr.ID)
	e.exec(t, "INSERT INTO $S.a VALUES (2, '2026-01-02 00:00:00+00')", "INSERT INTO $S.b VALUES (2, 2)")
	e.mustRun(t, tr.ID)
	// a failed job later on: its manifest must not count
	fo := &failOnce{Connector: e.conn}
	fo.armed.Store(true)
	_ = e.m.Shutdown(context.Background())
	_ = e.m.Close()
	e.start(t, fo)
	e.exec(t, "INSERT INTO $S.b SELECT g, g FROM generate_series(3, 3000) g")
	if j := e.run(t, context.Background(), tr.ID); j.Status != StatusFailed {
		t.Fatalf("the failing job %s", j.Status)
	}
	fo.armed.Store(false)

	ctx := context.Background()
	want, err := e.m.Watermarks(ctx, tr.ID)
	if err != nil || len(want) != 2 {
		t.Fatalf("watermarks %+v %v", want, err)
	}
	if err := e.m.Store().ReplaceWatermarks(ctx, tr.ID, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	got, err := e.m.RebuildWatermarks(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := e.m.Watermarks(ctx, tr.ID)
	for _, set := range [][]WatermarkState{got, stored} {
		if len(set) != len(want) {
			t.Fatalf("rebuilt %+v, want %+v", set, want)
		}
		for i := range want {
			if set[i].Table != want[i].Table || set[i].High != want[i].High || set[i].Column != want[i].Column || set[i].Kind != want[i].Kind ||
				set[i].JobID != want[i].JobID || set[i].FullJobID != want[i].FullJobID || !set[i].FullAt.Equal(want[i].FullAt) {
				t.Fatalf("rebuilt %+v\nwant    %+v", set[i], want[i])
			}
		}
	}
	j := e.mustRun(t, tr.ID)
	if _, w := tableWindow(t, e, j, "b"); w.Low != "2" || w.High != "3000" || w.FullReason != "" {
		t.Fatalf("window after rebuild %+v, want (2, 3000]", w)
	}
	if _, w := tableWindow(t, e, j, "a"); w.Low != "2026-01-01T23:50:00Z" {
		t.Fatalf("window after rebuild %+v", w)
	}
}
