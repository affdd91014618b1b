package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
)

func pgExec(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	for _, s := range stmts {
		if _, err := c.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// readIDs reads an object of (id, payload) rows and returns id → payload.
func readIDs(t *testing.T, path string) map[int64]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytesReader(testutil.GunzipOne(t, b)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	out := map[int64]string{}
	for sc.Scan() {
		var row struct {
			ID      int64  `json:"id"`
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		if _, dup := out[row.ID]; dup {
			t.Fatalf("id %d twice in %s", row.ID, path)
		}
		out[row.ID] = row.Payload
	}
	return out
}

func pgStack(t *testing.T, dsn string, par int) (*stack, string) {
	t.Helper()
	conn, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxOpen: 8, MinIdle: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	dir := t.TempDir()
	s := startStack(t, dir, conn, func(b string) (pipeline.Sink, error) { return file.New(dir, b) }, func(c *jobs.ManagerConfig) {
		c.ParallelTables = par
		c.Pipeline.ChunkRows = 1000
	})
	return s, dir
}

// TestPostgresKilledConnectionRetriesTable kills the backend reading a table
// mid-way (pg_terminate_backend): the table is read again from the start into
// a fresh object, and the result has every row exactly once.
func TestPostgresKilledConnectionRetriesTable(t *testing.T) {
	dsn := pgtest.DSN(t)
	const n = 200000
	pgExec(t, dsn, `DROP TABLE IF EXISTS it_retry`,
		`CREATE TABLE it_retry (id bigint PRIMARY KEY, payload text NOT NULL)`,
		fmt.Sprintf(`INSERT INTO it_retry SELECT g, md5(g::text) || repeat('x', g %% 50) FROM generate_series(1, %d) g`, n),
		`ANALYZE it_retry`)
	s, dir := pgStack(t, dsn, 1)
	tr, err := s.m.CreateTransport(context.Background(), jobs.NewTransport{Name: "retry", Tables: []string{"public.it_retry"}})
	if err != nil {
		t.Fatal(err)
	}
	job, err := s.m.Execute(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	events, cancel, err := s.m.Subscribe(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	killed := false
	for ev := range events {
		if ev.Type == jobs.EventProgress && ev.RowsProcessed > 0 && !killed {
			killed = true
			pgExec(t, dsn, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE pid <> pg_backend_pid() AND query ILIKE '%it_retry%' AND query NOT ILIKE '%pg_stat_activity%'`)
		}
	}
	if !killed {
		t.Fatal("the job ended before any progress: nothing was killed")
	}
	done, err := s.m.Wait(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != jobs.StatusCompleted || len(done.Tables) != 1 {
		t.Fatalf("job %+v", done)
	}
	te := done.Tables[0]
	if te.Attempts != 2 || te.RowCount != n {
		t.Fatalf("table %+v: want 2 attempts and %d rows", te, n)
	}
	got := readIDs(t, filepath.Join(dir, "oracle-etl-data", tr.ID, "v001", "public.it_retry.jsonl.gz"))
	if len(got) != n {
		t.Fatalf("%d distinct ids, want %d", len(got), n)
	}
	for i := int64(1); i <= n; i++ {
		if _, ok := got[i]; !ok {
			t.Fatalf("id %d missing", i)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "oracle-etl-data", tr.ID, "v001", "*.tmp"))
	if len(matches) != 0 {
		t.Fatalf("temporary files of the failed attempt remain: %v", matches)
	}
}

// TestPostgresOneSnapshotPerJob changes both tables of a job from another
// connection after the job's snapshot was taken: neither table's output shows
// any of it, also the table read last.
func TestPostgresOneSnapshotPerJob(t *testing.T) {
	dsn := pgtest.DSN(t)
	const n = 20000
	for _, tb := range []string{"it_snap_a", "it_snap_b"} {
		pgExec(t, dsn, `DROP TABLE IF EXISTS `+tb,
			`CREATE TABLE `+tb+` (id bigint PRIMARY KEY, payload text NOT NULL)`,
			fmt.Sprintf(`INSERT INTO %s SELECT g, 'v' || g FROM generate_series(1, %d) g`, tb, n))
	}
	s, dir := pgStack(t, dsn, 1) // one table at a time: b is read well after the changes
	tr, err := s.m.CreateTransport(context.Background(), jobs.NewTransport{Name: "snap", Tables: []string{"it_snap_a", "it_snap_b"}})
	if err != nil {
		t.Fatal(err)
	}
	job, err := s.m.Execute(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	events, cancel, err := s.m.Subscribe(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	changed := false
	for ev := range events {
		if ev.Type == jobs.EventTableStart && !changed {
			changed = true
			for _, tb := range []string{"it_snap_a", "it_snap_b"} {
				pgExec(t, dsn,
					fmt.Sprintf(`INSERT INTO %s SELECT g, 'new' FROM generate_series(%d, %d) g`, tb, n+1, n+500),
					`UPDATE `+tb+` SET payload = 'updated' WHERE id % 10 = 0`,
					`DELETE FROM `+tb+` WHERE id % 7 = 0`)
			}
		}
	}
	done, err := s.m.Wait(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != jobs.StatusCompleted || done.Snapshot.Kind != "pg_snapshot" || done.Snapshot.ID == "" {
		t.Fatalf("job %+v", done)
	}
	for _, tb := range []string{"it_snap_a", "it_snap_b"} {
		got := readIDs(t, filepath.Join(dir, "oracle-etl-data", tr.ID, "v001", tb+".jsonl.gz"))
		if len(got) != n {
			t.Fatalf("%s: %d rows, want the %d of the snapshot", tb, len(got), n)
		}
		for i := int64(1); i <= n; i++ {
			if got[i] != "v"+strconv.FormatInt(i, 10) {
				t.Fatalf("%s: id %d = %q: a change after the snapshot is visible", tb, i, got[i])
			}
		}
	}
	// Sanity: the changes did happen.
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var now int
	if err := c.QueryRow(context.Background(), `SELECT count(*) FROM it_snap_b`).Scan(&now); err != nil || now == n {
		t.Fatalf("table b has %d rows now (%v): the change did not happen", now, err)
	}
	_ = time.Second
}
