//go:build cgo

package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
	"github.com/ora2gcs/ora2gcs/stages"
)

// TestIncrementalMergeEqualsSource applies the objects of a sequence of
// runs to a DuckDB table the way the README tells BigQuery users to: each
// incremental object is loaded into a staging table with its schema and
// merged with one MERGE on the key columns keeping the row with the highest
// watermark; a full run replaces the table. Between runs the PostgreSQL
// table receives inserts, updates (some committed late by a long
// transaction, inside the overlap) and deletes, and one run fails. After
// every run the merged table equals the source except for the rows deleted
// since the last full run, which are exactly the extra rows; after the
// closing full run it equals the source exactly.
func TestIncrementalMergeEqualsSource(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	pg, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	schema := fmt.Sprintf("inc_merge_%d", rand.Uint32())
	tab := schema + ".orders"
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := pg.Exec(ctx, strings.ReplaceAll(q, "$T", tab)); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec("CREATE SCHEMA "+schema,
		"CREATE TABLE $T (region text, id int, qty numeric(12,2), note text, wm timestamptz NOT NULL, PRIMARY KEY (region, id))",
		"CREATE INDEX ON $T (wm)",
		`INSERT INTO $T SELECT CASE WHEN g % 2 = 0 THEN 'EU' ELSE 'US' END, g, g * 1.25, 'n' || g,
			timestamptz '2026-02-01 00:00:00+00' + g * interval '1 second' FROM generate_series(1, 2000) g`)
	defer exec("DROP SCHEMA " + schema + " CASCADE")

	conn, err := postgres.Open(ctx, dsn, postgres.Options{MaxOpen: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dir := t.TempDir()
	sink, err := file.New(filepath.Join(dir, "out"), "bucket")
	if err != nil {
		t.Fatal(err)
	}
	fail := &failing{Connector: conn}
	m, err := jobs.NewManager(ctx, jobs.ManagerConfig{
		Store: filepath.Join(dir, "state.db"), Connector: fail,
		Sinks:   func(string) (pipeline.Sink, error) { return sink, nil },
		Encoder: stages.NDJSON(stages.NDJSONOptions{BigQuery: true}), Codec: compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})),
		Pipeline:      pipeline.Config{ChunkRows: 300, Retry: pipeline.Retry{Attempts: 1}},
		DefaultBucket: "bucket", ParallelTables: 1, TableParallelism: 3, RangeMinRows: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer m.Shutdown(ctx)
	tr, err := m.CreateTransport(ctx, jobs.NewTransport{Name: "merge", Tables: []string{tab},
		Incremental: &jobs.IncrementalSpec{Tables: []jobs.TableMode{{Table: tab, Mode: jobs.ModeIncremental, WatermarkColumn: "wm"}}}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := conn.Describe(ctx, tab)
	if err != nil {
		t.Fatal(err)
	}

	duck, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	duck.SetMaxOpenConns(1)
	target := newMergeTarget(duck, info.Columns)

	deleted := map[string]bool{}
	check := func(run string) {
		t.Helper()
		src := pgRows(t, pg, tab)
		got := target.rows(t)
		for k, v := range src {
			if got[k] != v {
				t.Fatalf("%s: row %s is %q in the merged table, %q in the source", run, k, got[k], v)
			}
		}
		var extra []string
		for k := range got {
			if _, ok := src[k]; !ok {
				extra = append(extra, k)
				if !deleted[k] {
					t.Fatalf("%s: merged row %s was never in the source", run, k)
				}
			}
		}
		if len(extra) != len(deleted) {
			t.Fatalf("%s: %d rows deleted since the last full run, %d extra merged rows", run, len(deleted), len(extra))
		}
	}
	runJob := func(ctx context.Context, want string) jobs.Job {
		t.Helper()
		j, err := m.Execute(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j, err = m.Wait(context.Background(), j.ID); err != nil {
			t.Fatal(err)
		}
		if j.Status != want {
			t.Fatalf("job %s: %s (want %s): %v", j.Version, j.Status, want, j.Error)
		}
		return j
	}
	apply := func(j jobs.Job) {
		t.Helper()
		man := readManifest(t, filepath.Join(sink.Root(), j.TransportID, j.Version, "_manifest.json"))
		mt := man.Tables[0]
		path := filepath.Join(sink.Root(), mt.Object)
		if mt.Mode == jobs.ModeFull {
			target.replace(t, path)
			clear(deleted)
		} else {
			target.merge(t, path, mt.Window.KeyColumns, mt.Window.Column)
		}
	}

	apply(runJob(ctx, jobs.StatusCompleted))
	check("run 1 (full)")
	for round := 2; round <= 6; round++ {
		base := 3000 + round*100
		// inserts, updates of existing rows (the key's watermark moves up),
		// deletes; timestamps advance a minute per round
		now := fmt.Sprintf("timestamptz '2026-02-02 00:00:00+00' + interval '%d minutes'", round*20)
		exec(fmt.Sprintf("INSERT INTO $T SELECT 'EU', g, g, 'new', %s FROM generate_series(%d, %d) g", now, base, base+20),
			fmt.Sprintf("UPDATE $T SET qty = qty + 1, note = 'upd%d', wm = %s WHERE id %% 97 = %d", round, now, round))
		var del []string
		rows, err := pg.Query(ctx, strings.ReplaceAll(fmt.Sprintf("DELETE FROM $T WHERE id %% 101 = %d RETURNING region || '/' || id", round), "$T", tab))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			_ = rows.Scan(&k)
			del = append(del, k)
		}
		rows.Close()
		for _, k := range del {
			deleted[k] = true
		}
		// a long transaction stamps a row 5 minutes earlier and commits
		// after this round's run: the next run's overlap (10m) reads it
		long, err := pg.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		late := fmt.Sprintf("%s - interval '5 minutes'", now)
		if _, err := long.Exec(ctx, fmt.Sprintf("UPDATE %s SET note = 'late%d', wm = %s WHERE region = 'EU' AND id = %d", tab, round, late, 2*round)); err != nil {
			t.Fatal(err)
		}
		if round == 4 {
			// this run fails mid-table: nothing of it is applied
			fail.failNext = true
			runJob(ctx, jobs.StatusFailed)
			fail.failNext = false
		} else {
			apply(runJob(ctx, jobs.StatusCompleted))
		}
		if err := long.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if round != 4 {
			// the late row is missing until the next run: compare without it
			// after that run instead
			j := runJob(ctx, jobs.StatusCompleted)
			apply(j)
			check(fmt.Sprintf("round %d", round))
		}
	}
	jf := runJob(jobs.WithFullRun(ctx), jobs.StatusCompleted)
	apply(jf)
	check("closing full run")
	if len(target.rows(t)) != len(pgRows(t, pg, tab)) {
		t.Fatal("after the full run the merged table has other rows than the source")
	}
}

// failing fails the next table read after its first batch.
type failing struct {
	pipeline.Connector
	failNext bool
}

func (f *failing) Open(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	src, err := f.Connector.Open(ctx, t, snap, opts)
	if err != nil || !f.failNext {
		return src, err
	}
	return &failAfterOne{Source: src}, nil
}

func (f *failing) Ranges(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, n int) ([]pipeline.Range, error) {
	return f.Connector.(pipeline.RangeSplitter).Ranges(ctx, t, snap, n)
}

func (f *failing) WatermarkStats(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, c pipeline.Column, n bool) (pipeline.WatermarkStats, error) {
	return f.Connector.(pipeline.Watermarker).WatermarkStats(ctx, t, snap, c, n)
}

func (f *failing) PrimaryKey(ctx context.Context, t pipeline.TableInfo) ([]string, error) {
	return f.Connector.(pipeline.Watermarker).PrimaryKey(ctx, t)
}

func (f *failing) Indexed(ctx context.Context, t pipeline.TableInfo, c string) (bool, error) {
	return f.Connector.(pipeline.Watermarker).Indexed(ctx, t, c)
}

type failAfterOne struct {
	pipeline.Source
	n int
}

func (s *failAfterOne) Next(ctx context.Context) (*pipeline.Batch, error) {
	if s.n++; s.n > 1 {
		return nil, fmt.Errorf("network cable unplugged")
	}
	return s.Source.Next(ctx)
}

// mergeTarget is the consumer's table in DuckDB.
type mergeTarget struct {
	db   *sql.DB
	cols []pipeline.Column
}

func newMergeTarget(db *sql.DB, cols []pipeline.Column) *mergeTarget {
	return &mergeTarget{db: db, cols: cols}
}

func q(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func (m *mergeTarget) load(path string) string {
	return fmt.Sprintf("read_json('%s', format = 'newline_delimited', columns = %s)",
		strings.ReplaceAll(path, "'", "''"), stages.DuckDBColumns(m.cols))
}

// replace: a full run replaces the table.
func (m *mergeTarget) replace(t *testing.T, path string) {
	t.Helper()
	if _, err := m.db.Exec("CREATE OR REPLACE TABLE target AS SELECT * FROM " + m.load(path)); err != nil {
		t.Fatal(err)
	}
}

// merge: load into staging, then one MERGE on the keys keeping the row
// with the highest watermark (the README's BigQuery statement in DuckDB).
func (m *mergeTarget) merge(t *testing.T, path string, keys []string, wm string) {
	t.Helper()
	if _, err := m.db.Exec("CREATE OR REPLACE TABLE staging AS SELECT * FROM " + m.load(path)); err != nil {
		t.Fatal(err)
	}
	var on, part, set, names, vals []string
	for _, k := range keys {
		on = append(on, "t."+q(k)+" = s."+q(k))
		part = append(part, q(k))
	}
	for _, c := range m.cols {
		set = append(set, q(c.Name)+" = s."+q(c.Name))
		names = append(names, q(c.Name))
		vals = append(vals, "s."+q(c.Name))
	}
	stmt := fmt.Sprintf(`MERGE INTO target t
USING (SELECT * FROM staging QUALIFY row_number() OVER (PARTITION BY %s ORDER BY %s DESC) = 1) s
ON %s
WHEN MATCHED AND s.%s >= t.%s THEN UPDATE SET %s
WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)`,
		strings.Join(part, ", "), q(wm), strings.Join(on, " AND "), q(wm), q(wm),
		strings.Join(set, ", "), strings.Join(names, ", "), strings.Join(vals, ", "))
	if _, err := m.db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// rows: region/id → qty|note|epoch microseconds of wm.
func (m *mergeTarget) rows(t *testing.T) map[string]string {
	t.Helper()
	rs, err := m.db.Query(`SELECT region || '/' || id, qty::VARCHAR || '|' || coalesce(note, '∅') || '|' || epoch_us(wm) FROM target`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	out := map[string]string{}
	for rs.Next() {
		var k, v string
		if err := rs.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[k]; dup {
			t.Fatalf("key %s twice in the merged table", k)
		}
		out[k] = v
	}
	return out
}

func pgRows(t *testing.T, pg *pgx.Conn, tab string) map[string]string {
	t.Helper()
	rs, err := pg.Query(context.Background(), `SELECT region || '/' || id, qty::text || '|' || coalesce(note, '∅') || '|' ||
		(extract(epoch from wm) * 1000000)::bigint FROM `+tab)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	out := map[string]string{}
	for rs.Next() {
		var k, v string
		if err := rs.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

func readManifest(t *testing.T, path string) jobs.Manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var man jobs.Manifest
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	return man
}
