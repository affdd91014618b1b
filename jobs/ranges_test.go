package jobs

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

// hookedConnector lets a test act right after the job's snapshot is taken
// and wrap the sources it opens.
type hookedConnector struct {
	pipeline.Connector
	afterSnapshot func()
	beforeOpen    func(r *pipeline.Range)
	wrap          func(r *pipeline.Range, src pipeline.Source) pipeline.Source
}

func (c *hookedConnector) Snapshot(ctx context.Context) (pipeline.Snapshot, error) {
	s, err := c.Connector.Snapshot(ctx)
	if err == nil && c.afterSnapshot != nil {
		c.afterSnapshot()
	}
	return s, err
}

func (c *hookedConnector) Open(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	if c.beforeOpen != nil {
		c.beforeOpen(opts.Range)
	}
	src, err := c.Connector.Open(ctx, t, snap, opts)
	if err == nil && c.wrap != nil {
		src = c.wrap(opts.Range, src)
	}
	return src, err
}

func (c *hookedConnector) Ranges(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, n int) ([]pipeline.Range, error) {
	return c.Connector.(pipeline.RangeSplitter).Ranges(ctx, t, snap, n)
}

// rangeEnv is a Manager with the real encoder and compressors over conn,
// writing into a file sink.
type rangeEnv struct {
	m    *Manager
	sink *file.Sink
}

func newRangeEnv(t *testing.T, conn pipeline.Connector, mod func(*ManagerConfig)) *rangeEnv {
	t.Helper()
	dir := t.TempDir()
	sink, err := file.New(filepath.Join(dir, "out"), "bucket")
	if err != nil {
		t.Fatal(err)
	}
	cfg := ManagerConfig{
		Store: filepath.Join(dir, "state.db"), Connector: conn,
		Sinks:   func(string) (pipeline.Sink, error) { return sink, nil },
		Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})),
		Pipeline:      pipeline.Config{ChunkRows: 5000, Retry: pipeline.Retry{Attempts: 3, Backoff: time.Millisecond}},
		DefaultBucket: "bucket", ParallelTables: 1,
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := NewManager(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()); _ = m.Close() })
	return &rangeEnv{m: m, sink: sink}
}

// runTransport runs a new transport of tables at table parallelism par and
// returns the finished job.
func (e *rangeEnv) runTransport(t *testing.T, name string, par int, tables ...string) Job {
	t.Helper()
	tr, err := e.m.CreateTransport(context.Background(), NewTransport{Name: name, Tables: tables, TableParallelism: par})
	if err != nil {
		t.Fatal(err)
	}
	j := runJob(t, e.m, tr.ID)
	if j.Status != StatusCompleted {
		t.Fatalf("job %s: %s %v", j.ID, j.Status, derefErr(j.Error))
	}
	return j
}

func derefErr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// content returns the table's object decompressed as one gzip member with
// nothing after it.
func (e *rangeEnv) content(t *testing.T, j Job, table string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.sink.Root(), j.TransportID, j.Version, table+".jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return testutil.GunzipOne(t, b)
}

// noTemporaries fails if anything but final objects, schemas and manifests
// is in the sink.
func (e *rangeEnv) noTemporaries(t *testing.T) {
	t.Helper()
	_ = filepath.WalkDir(e.sink.Root(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".jsonl.gz") && !strings.HasSuffix(p, ".json") {
			t.Errorf("temporary file left: %s", p)
		}
		if err == nil && strings.Contains(p, "_ranges") && !d.IsDir() {
			t.Errorf("range object left: %s", p)
		}
		return err
	})
}

func tableOf(t *testing.T, j Job, name string) TableExtraction {
	t.Helper()
	for _, te := range j.Tables {
		if te.TableName == name {
			return te
		}
	}
	t.Fatalf("job %s has no table %s", j.ID, name)
	return TableExtraction{}
}

func pgPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func pgExec(t *testing.T, p *pgxpool.Pool, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := p.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestRangesPostgres reads a table of 1M narrow rows with table parallelism
// 1 and 4 while another connection inserts, updates and deletes rows right
// after each job's snapshot: both outputs are one gzip member, byte-identical
// after decompression, with equal raw CRC32C and none of the changes.
func TestRangesPostgres(t *testing.T) {
	const rows = 1000000
	pool := pgPool(t)
	// A and B are loaded identically, so their pages hold the same rows in
	// the same order; each job changes its table after its snapshot.
	for _, tab := range []string{"rng_a", "rng_b"} {
		pgExec(t, pool, "DROP TABLE IF EXISTS "+tab,
			"CREATE TABLE "+tab+" (id bigint NOT NULL, code text, amount numeric(12,2))",
			fmt.Sprintf("INSERT INTO %s SELECT g, to_hex(g::bigint * 7919), g / 8.0 FROM generate_series(1, %d) g", tab, rows),
			"ANALYZE "+tab)
	}
	conn, err := postgres.Open(context.Background(), pgtest.DSN(t), postgres.Options{MaxOpen: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var target atomic.Value
	hc := &hookedConnector{Connector: conn, afterSnapshot: func() {
		tab := target.Load().(string)
		pgExec(t, pool,
			"INSERT INTO "+tab+" SELECT g, 'inserted', 0 FROM generate_series(2000001, 2001000) g",
			"UPDATE "+tab+" SET code = 'updated' WHERE id % 1000 = 3",
			"DELETE FROM "+tab+" WHERE id BETWEEN 500000 AND 500999")
	}}
	e := newRangeEnv(t, hc, nil)

	target.Store("rng_a")
	j1 := e.runTransport(t, "p1", 1, "RNG_A")
	target.Store("rng_b")
	j4 := e.runTransport(t, "p4", 4, "RNG_B")

	a, b := e.content(t, j1, "rng_a"), e.content(t, j4, "rng_b")
	if !bytes.Equal(a, b) {
		t.Fatalf("parallelism 1 and 4 differ: %d and %d bytes", len(a), len(b))
	}
	for _, bad := range []string{"inserted", "updated"} {
		if bytes.Contains(a, []byte(bad)) {
			t.Fatalf("output contains a row %s after the snapshot", bad)
		}
	}
	if n := bytes.Count(a, []byte("\n")); n != rows {
		t.Fatalf("%d lines, want %d", n, rows)
	}
	t1, t4 := tableOf(t, j1, "rng_a"), tableOf(t, j4, "rng_b")
	if t1.RowCount != rows || t4.RowCount != rows || t1.RawBytes != t4.RawBytes {
		t.Fatalf("rows %d/%d raw bytes %d/%d", t1.RowCount, t4.RowCount, t1.RawBytes, t4.RawBytes)
	}
	m1, m4 := e.manifestTable(t, j1, "rng_a"), e.manifestTable(t, j4, "rng_b")
	if m1.RawCRC32C != m4.RawCRC32C || m1.RawCRC32C == "" {
		t.Fatalf("raw CRC32C %s vs %s", m1.RawCRC32C, m4.RawCRC32C)
	}
	if len(t1.Ranges) != 0 || len(t4.Ranges) != 4 || len(m4.Ranges) != 4 {
		t.Fatalf("ranges: p1 %d, p4 %d (manifest %d)", len(t1.Ranges), len(t4.Ranges), len(m4.Ranges))
	}
	var sum int64
	for _, r := range t4.Ranges {
		sum += r.Rows
		if r.Attempts != 1 || r.Rows == 0 {
			t.Fatalf("range %+v", r)
		}
	}
	if sum != rows {
		t.Fatalf("ranges hold %d rows", sum)
	}
	e.noTemporaries(t)
}

func (e *rangeEnv) manifestTable(t *testing.T, j Job, table string) ManifestTable {
	t.Helper()
	m := readManifest(t, filepath.Join(e.sink.Root(), j.TransportID, j.Version, "_manifest.json"))
	for _, mt := range m.Tables {
		if mt.Table == table {
			return mt
		}
	}
	t.Fatalf("manifest of %s has no %s", j.ID, table)
	return ManifestTable{}
}

// TestRangeWorkerKilled terminates the backend of range 3 of 4 once
// (pg_terminate_backend) after its read began: that range alone is retried
// and the output still equals a parallelism-1 read.
//
// To hit the backend while its range is being read, and not after it has
// already pushed the whole range into the socket buffers (4 MB here; that
// made a kill after the first batch miss), the test holds an ACCESS
// EXCLUSIVE lock on the table when range 3 opens: its reader has begun its
// transaction, imported the snapshot and sent the SELECT, which waits for
// the lock; that waiting backend is terminated, then the lock released.
func TestRangeWorkerKilled(t *testing.T) {
	const rows = 300000
	ctx := context.Background()
	pool := pgPool(t)
	pgExec(t, pool, "DROP TABLE IF EXISTS rng_k",
		"CREATE TABLE rng_k (id bigint NOT NULL, code text)",
		fmt.Sprintf("INSERT INTO rng_k SELECT g, md5(g::text) FROM generate_series(1, %d) g", rows),
		"ANALYZE rng_k")
	conn, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{MaxOpen: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var armed atomic.Bool
	var killed atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait()
	hc := &hookedConnector{Connector: conn}
	hc.beforeOpen = func(r *pipeline.Range) {
		if r == nil || r.Index != 2 || !armed.CompareAndSwap(true, false) {
			return
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Errorf("begin: %v", err)
			return
		}
		if _, err := tx.Exec(ctx, "LOCK TABLE rng_k IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Errorf("lock: %v", err)
		}
		pat := fmt.Sprintf("%%ctid >= '(%s,0)'%%", r.Lo)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer tx.Rollback(ctx)
			for i := 0; i < 3000 && killed.Load() == 0; i++ {
				var n int64
				err := pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
					WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE $1`, pat).Scan(&n)
				if err != nil {
					t.Errorf("terminate: %v", err)
					return
				}
				killed.Add(n)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	e := newRangeEnv(t, hc, func(c *ManagerConfig) { c.RangeMinRows = 1000; c.Pipeline.ChunkRows = 2000 })
	ref := e.runTransport(t, "ref", 1, "RNG_K")
	armed.Store(true)
	j := e.runTransport(t, "killed", 4, "RNG_K")
	wg.Wait()
	if killed.Load() != 1 {
		t.Fatalf("terminated %d backends, want 1", killed.Load())
	}
	te := tableOf(t, j, "rng_k")
	if len(te.Ranges) != 4 {
		t.Fatalf("%d ranges", len(te.Ranges))
	}
	for _, r := range te.Ranges {
		want := 1
		if r.Index == 2 {
			want = 2
		}
		if r.Attempts != want {
			t.Errorf("range %d: %d attempts, want %d", r.Index, r.Attempts, want)
		}
	}
	if te.RowCount != rows {
		t.Fatalf("row count %d", te.RowCount)
	}
	if !bytes.Equal(e.content(t, ref, "rng_k"), e.content(t, j, "rng_k")) {
		t.Fatal("output after a killed range differs from the parallelism-1 read")
	}
	// the stored job detail has the ranges too
	stored, err := e.m.GetJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := tableOf(t, stored, "rng_k").Ranges; len(got) != 4 || got[2].Attempts != 2 {
		t.Fatalf("stored ranges %+v", got)
	}
	e.noTemporaries(t)
}

// TestRangesSynth covers the no-database path: 40 ranges (RangeRows) with
// two workers equal the single read; a table under RangeMinRows is not
// split; a failing range fails the table and leaves nothing behind.
func TestRangesSynth(t *testing.T) {
	c, err := synth.New(synth.Config{Rows: map[string]int64{"LIKP": 8000, "VBRK": 500}, DefaultRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	var failRange atomic.Int32
	failRange.Store(-1)
	hc := &hookedConnector{Connector: c, wrap: func(r *pipeline.Range, src pipeline.Source) pipeline.Source {
		if r != nil && int32(r.Index) == failRange.Load() {
			return &errSource{Source: src}
		}
		return src
	}}
	e := newRangeEnv(t, hc, func(c *ManagerConfig) { c.RangeMinRows = 1000; c.RangeRows = 200; c.Pipeline.ChunkRows = 100 })
	ref := e.runTransport(t, "ref", 1, "LIKP", "VBRK")
	j := e.runTransport(t, "par", 2, "LIKP", "VBRK")
	if !bytes.Equal(e.content(t, ref, "LIKP"), e.content(t, j, "LIKP")) {
		t.Fatal("LIKP differs between parallelism 1 and 2")
	}
	if n := len(tableOf(t, j, "LIKP").Ranges); n != 40 {
		t.Fatalf("LIKP read in %d ranges, want 40", n)
	}
	if n := len(tableOf(t, j, "VBRK").Ranges); n != 0 {
		t.Fatalf("VBRK (500 rows) was split into %d ranges", n)
	}
	if !bytes.Equal(e.content(t, ref, "VBRK"), e.content(t, j, "VBRK")) {
		t.Fatal("VBRK differs")
	}

	failRange.Store(39)
	tr, err := e.m.CreateTransport(context.Background(), NewTransport{Name: "fail", Tables: []string{"LIKP"}, TableParallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	jf := runJob(t, e.m, tr.ID)
	if jf.Status != StatusFailed || tableOf(t, jf, "LIKP").Status != StatusFailed {
		t.Fatalf("job %s table %s", jf.Status, tableOf(t, jf, "LIKP").Status)
	}
	if _, err := os.Stat(filepath.Join(e.sink.Root(), jf.TransportID, jf.Version, "LIKP.jsonl.gz")); !os.IsNotExist(err) {
		t.Fatalf("final object of a failed table: %v", err)
	}
	e.noTemporaries(t)
}

type errSource struct{ pipeline.Source }

func (s *errSource) Next(ctx context.Context) (*pipeline.Batch, error) {
	return nil, fmt.Errorf("range source broke")
}
