package jobs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
)

// TestJobStalledTableFailsAndFreesSlot: a table whose reads wait on a lock
// another session holds (a stalled source) fails after the retry policy's
// attempts with an error saying the source stalled, the other table of the
// job is exported, and the job ends, so the one-job-at-a-time slot is free:
// the next execute runs (and, with the lock gone, completes).
func TestJobStalledTableFailsAndFreesSlot(t *testing.T) {
	pool := pgPool(t)
	schema := fmt.Sprintf("stall_job_%d", rand.Uint32())
	pgExec(t, pool, "CREATE SCHEMA "+schema,
		"CREATE TABLE "+schema+".ok AS SELECT g AS id FROM generate_series(1, 10) g",
		"CREATE TABLE "+schema+".locked AS SELECT g AS id FROM generate_series(1, 10) g")
	t.Cleanup(func() { pgExec(t, pool, "DROP SCHEMA "+schema+" CASCADE") })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // only a guard against a hang
	defer cancel()
	conn, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{MaxOpen: 4, FetchTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The lock is taken when the job opens the table to read it (after the
	// pre-flight, the snapshot and the table's describe, which would wait
	// for it too), and held until the job ended.
	holder, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release()
	var once sync.Once
	hc := &lockOnOpen{Connector: conn, open: func(ti pipeline.TableInfo) {
		if ti.Name != "locked" {
			return
		}
		once.Do(func() {
			if _, err := holder.Exec(ctx, "BEGIN; LOCK TABLE "+schema+".locked IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Error(err)
			}
		})
	}}
	e := newRangeEnv(t, hc, nil) // 3 attempts per table
	tr, err := e.m.CreateTransport(ctx, NewTransport{Name: "stall", Tables: []string{schema + ".ok", schema + ".locked"}})
	if err != nil {
		t.Fatal(err)
	}

	j, err := e.m.Execute(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	j, err = e.m.Wait(ctx, j.ID)
	if err != nil {
		t.Fatalf("Wait: %v (the stalled job did not end)", err)
	}
	if j.Status == StatusCompleted {
		t.Fatalf("job %s completed with a stalled table", j.ID)
	}
	locked, ok := tableOf(t, j, schema+".locked"), tableOf(t, j, schema+".ok")
	if locked.Status != StatusFailed || locked.Attempts != 3 || !strings.Contains(derefErr(locked.Error), "the source stalled") {
		t.Fatalf("stalled table: status %s, %d attempts, error %q; want failed after 3 attempts, saying the source stalled",
			locked.Status, locked.Attempts, derefErr(locked.Error))
	}
	if ok.Status != StatusCompleted || ok.RowCount != 10 {
		t.Fatalf("other table: %s with %d rows", ok.Status, ok.RowCount)
	}
	t.Logf("stalled table's error: %s", derefErr(locked.Error))

	if _, err := holder.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	j2, err := e.m.Execute(ctx, tr.ID) // the slot is free: no "a job is running"
	if err != nil {
		t.Fatalf("execute after the stalled job: %v", err)
	}
	if j2, err = e.m.Wait(ctx, j2.ID); err != nil || j2.Status != StatusCompleted {
		t.Fatalf("job after the lock is gone: %v %s %s", err, j2.Status, derefErr(j2.Error))
	}
}

type lockOnOpen struct {
	pipeline.Connector
	open func(pipeline.TableInfo)
}

func (c *lockOnOpen) Open(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	c.open(t)
	return c.Connector.Open(ctx, t, snap, opts)
}
