package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// restart reopens e's Manager with configure applied (and conn as its
// source).
func (e *incEnv) restart(t *testing.T, conn pipeline.Connector, configure func(*ManagerConfig)) {
	t.Helper()
	_ = e.m.Shutdown(context.Background())
	_ = e.m.Close()
	e.configure = configure
	e.start(t, conn)
}

// TestIncrementalFullSchedule: a full schedule ("0 0 * * 0" in
// Europe/Berlin: every Sunday) makes the first job from each Sunday on
// read the incremental table in full — which removes the deleted rows and
// reads the NULL watermarks — and the jobs after it incremental again
// until the next Sunday. The schedule is read in its own zone: 23:30 UTC
// on a Saturday is already Sunday in Berlin. Sundays without a job (the
// server was down) give one full read, not one per Sunday missed.
func TestIncrementalFullSchedule(t *testing.T) {
	e := newIncEnv(t, "", 1)
	var mu sync.Mutex
	now := time.Date(2026, 2, 27, 12, 0, 0, 0, time.UTC) // a Friday
	at := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		var err error
		if now, err = time.Parse(time.RFC3339, s); err != nil {
			t.Fatal(err)
		}
	}
	e.restart(t, e.conn, func(c *ManagerConfig) {
		c.Clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	e.exec(t, "CREATE TABLE $S.t (id int PRIMARY KEY, wm timestamptz)",
		`INSERT INTO $S.t VALUES (1, '2026-02-27 10:00:00+00'), (2, '2026-02-27 10:00:00+00'), (3, '2026-02-27 11:00:00+00')`)
	tr, err := e.m.CreateTransport(context.Background(), NewTransport{Name: "weekly", Tables: []string{e.tab("t")},
		Incremental: &IncrementalSpec{
			Tables:       []TableMode{{Table: e.tab("t"), Mode: ModeIncremental, WatermarkColumn: "wm", Overlap: "0s"}},
			FullSchedule: &ScheduleSpec{Cron: "0 0 * * 0", Timezone: "Europe/Berlin"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		at, mode string
		ids      []string
	}
	check := func(w want) Job {
		t.Helper()
		at(w.at)
		j := e.mustRun(t, tr.ID)
		mt, win := tableWindow(t, e, j, "t")
		if mt.Mode != w.mode {
			t.Fatalf("job at %s: mode %q (%+v), want %s", w.at, mt.Mode, win, w.mode)
		}
		if w.mode == ModeFull && !strings.Contains(win.FullReason, "0 0 * * 0 (Europe/Berlin) is due") && !strings.Contains(win.FullReason, "no previous") {
			t.Fatalf("job at %s: full reason %q", w.at, win.FullReason)
		}
		wantIDs(t, "job at "+w.at, e.rows(t, j, "t"), w.ids...)
		marks, err := e.m.Watermarks(context.Background(), tr.ID)
		if err != nil || len(marks) != 1 {
			t.Fatalf("watermarks %+v %v", marks, err)
		}
		if w.mode == ModeFull && (marks[0].FullJobID != j.ID || !marks[0].FullAt.Equal(j.StartedAt)) {
			t.Fatalf("job at %s read in full, the state says the last full read was %s at %s", w.at, marks[0].FullJobID, marks[0].FullAt)
		}
		if w.mode == ModeIncremental && marks[0].FullJobID == j.ID {
			t.Fatalf("job at %s: an incremental read recorded as full", w.at)
		}
		return j
	}
	jFull := check(want{"2026-02-27T12:00:00Z", ModeFull, []string{"1", "2", "3"}}) // first: no watermark yet

	e.exec(t, "UPDATE $S.t SET wm = '2026-02-28 09:00:00+00' WHERE id = 1", "DELETE FROM $S.t WHERE id = 2",
		"INSERT INTO $S.t VALUES (4, NULL)")
	// Saturday 23:30 in Berlin: not yet Sunday. The delete and the NULL are not seen.
	jInc := check(want{"2026-02-28T22:30:00Z", ModeIncremental, []string{"1"}})
	// both modes: the same object name pattern and the same BigQuery schema
	mf, _ := tableWindow(t, e, jFull, "t")
	mi, _ := tableWindow(t, e, jInc, "t")
	sf, err := os.ReadFile(filepath.Join(e.sink.Root(), mf.Schema))
	if err != nil {
		t.Fatal(err)
	}
	si, err := os.ReadFile(filepath.Join(e.sink.Root(), mi.Schema))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sf, si) || strings.TrimPrefix(mf.Object, jFull.TransportID+"/"+jFull.Version+"/") != strings.TrimPrefix(mi.Object, jInc.TransportID+"/"+jInc.Version+"/") ||
		mi.Object != jInc.TransportID+"/"+jInc.Version+"/"+e.tab("t")+".jsonl.gz" {
		t.Fatalf("full and incremental differ: objects %s, %s; schemas\n%s\n%s", mf.Object, mi.Object, sf, si)
	}
	// Sunday 00:30 in Berlin (still Saturday in UTC): full; 2 is gone, 4 is read
	check(want{"2026-02-28T23:30:00Z", ModeFull, []string{"1", "3", "4"}})
	e.exec(t, "INSERT INTO $S.t VALUES (5, '2026-03-01 10:00:00+00')")
	// later that Sunday and during the week: incremental
	check(want{"2026-03-01T12:00:00Z", ModeIncremental, []string{"5"}})
	check(want{"2026-03-07T22:59:00Z", ModeIncremental, nil})
	// the next Sunday
	check(want{"2026-03-08T09:00:00Z", ModeFull, []string{"1", "3", "4", "5"}})
	// two Sundays without a job: one full read, then incremental again
	e.exec(t, "DELETE FROM $S.t WHERE id = 3")
	check(want{"2026-03-25T09:00:00Z", ModeFull, []string{"1", "4", "5"}})
	check(want{"2026-03-25T10:00:00Z", ModeIncremental, nil})
}

// statsHook runs before each watermark maximum is read.
type statsHook struct {
	pipeline.Connector
	before func()
}

func (h *statsHook) Ranges(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, n int) ([]pipeline.Range, error) {
	return h.Connector.(pipeline.RangeSplitter).Ranges(ctx, t, snap, n)
}

func (h *statsHook) WatermarkStats(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, c pipeline.Column, n bool) (pipeline.WatermarkStats, error) {
	if h.before != nil {
		h.before()
	}
	return h.Connector.(pipeline.Watermarker).WatermarkStats(ctx, t, snap, c, n)
}

func (h *statsHook) PrimaryKey(ctx context.Context, t pipeline.TableInfo) ([]string, error) {
	return h.Connector.(pipeline.Watermarker).PrimaryKey(ctx, t)
}

func (h *statsHook) Indexed(ctx context.Context, t pipeline.TableInfo, c string) (bool, error) {
	return h.Connector.(pipeline.Watermarker).Indexed(ctx, t, c)
}

// TestIncrementalHighInSnapshot: rows committed after the job's snapshot
// was taken — here just before the job reads the watermark's maximum —
// are neither read by the job nor counted in its high, in the incremental
// table and in a full table of the same job alike, so the next job reads
// them (overlap 0). A high read outside the snapshot would include the
// new row's watermark, and the next job would start above the row: lost.
func TestIncrementalHighInSnapshot(t *testing.T) {
	e := newIncEnv(t, "", 1)
	e.exec(t, "CREATE TABLE $S.t (id int PRIMARY KEY, seq bigint NOT NULL)", "CREATE TABLE $S.other (id int PRIMARY KEY)",
		"INSERT INTO $S.t VALUES (1, 1), (2, 2)", "INSERT INTO $S.other VALUES (1)")
	hook := &statsHook{Connector: e.conn}
	// one table at a time, in the transport's order: other is read after
	// t's maximum, so after the rows below were committed
	e.restart(t, hook, func(c *ManagerConfig) { c.ParallelTables = 1 })
	tr := e.transport(t, []TableMode{{Table: "t", Mode: ModeIncremental, WatermarkColumn: "seq"}}, "t", "other")
	e.mustRun(t, tr.ID) // high 2
	e.exec(t, "INSERT INTO $S.t VALUES (3, 3)")

	var once sync.Once
	hook.before = func() {
		once.Do(func() { e.exec(t, "INSERT INTO $S.t VALUES (4, 4)", "INSERT INTO $S.other VALUES (2)") })
	}
	j2 := e.mustRun(t, tr.ID)
	hook.before = nil
	wantIDs(t, "job 2", e.rows(t, j2, "t"), "3")
	if _, w := tableWindow(t, e, j2, "t"); w.Low != "2" || w.High != "3" {
		t.Fatalf("job 2 window %+v: want (2, 3], the maximum of its snapshot", w)
	}
	wantIDs(t, "job 2, full table", e.rows(t, j2, "other"), "1")
	j3 := e.mustRun(t, tr.ID)
	wantIDs(t, "job 3", e.rows(t, j3, "t"), "4")
	if _, w := tableWindow(t, e, j3, "t"); w.Low != "3" || w.High != "4" {
		t.Fatalf("job 3 window %+v", w)
	}
}

// TestIncrementalUnindexedWatermark: a watermark column that no index
// leads with is allowed; each job logs a warning naming the table, the
// column and the table's size (rows). A column indexed first (pg_index)
// gets no warning; one that is only the second column of an index does.
func TestIncrementalUnindexedWatermark(t *testing.T) {
	e := newIncEnv(t, "", 1)
	logs := &testutil.LogBuffer{}
	e.restart(t, e.conn, func(c *ManagerConfig) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	e.exec(t, "CREATE TABLE $S.plain (id int PRIMARY KEY, wm timestamp)",
		"CREATE TABLE $S.second (id int PRIMARY KEY, wm timestamp)", "CREATE INDEX ON $S.second (id, wm)",
		"CREATE TABLE $S.indexed (id int PRIMARY KEY, wm timestamp)", "CREATE INDEX ON $S.indexed (wm, id)",
		"INSERT INTO $S.plain SELECT g, timestamp '2026-01-01' + g * interval '1 second' FROM generate_series(1, 4321) g",
		"INSERT INTO $S.second SELECT g, timestamp '2026-01-01' FROM generate_series(1, 10) g",
		"INSERT INTO $S.indexed SELECT g, timestamp '2026-01-01' FROM generate_series(1, 10) g",
		"ANALYZE $S.plain", "ANALYZE $S.second", "ANALYZE $S.indexed")
	var modes []TableMode
	for _, tab := range []string{"plain", "second", "indexed"} {
		modes = append(modes, TableMode{Table: tab, Mode: ModeIncremental, WatermarkColumn: "wm"})
	}
	tr := e.transport(t, modes, "plain", "second", "indexed")
	j := e.mustRun(t, tr.ID)
	e.mustRun(t, tr.ID)
	warned := map[string][]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if strings.HasPrefix(m["msg"].(string), "watermark column has no index") {
			tab, _ := m["table"].(string)
			warned[tab] = append(warned[tab], m)
		}
	}
	if got := warned[e.tab("plain")]; len(got) != 2 || got[0]["column"] != "wm" || got[0]["table_rows"] != float64(4321) ||
		got[0]["level"] != "WARN" || got[0]["job_id"] != j.ID {
		t.Fatalf("warnings for the unindexed column: %v", got)
	}
	if got := warned[e.tab("second")]; len(got) != 2 || got[0]["table_rows"] != float64(10) {
		t.Fatalf("warnings for a column second in an index: %v", got)
	}
	if got := warned[e.tab("indexed")]; len(got) != 0 {
		t.Fatalf("warnings for an indexed column: %v", got)
	}
}

// TestIncrementalFullScheduleWithSchedule: with a daily schedule (02:00
// Berlin) and the weekly full schedule, the scheduler's own runs are
// incremental on weekdays and full in the Sunday run; the full schedule
// starts no job of its own.
func TestIncrementalFullScheduleWithSchedule(t *testing.T) {
	e := newIncEnv(t, "", 1)
	clk := &fakeClock{}
	clk.Set(time.Date(2026, 2, 26, 12, 0, 0, 0, time.UTC)) // Thursday
	e.restart(t, e.conn, func(c *ManagerConfig) { c.Clock = clk.Now })
	e.exec(t, "CREATE TABLE $S.t (id int PRIMARY KEY, seq bigint)", "INSERT INTO $S.t VALUES (1, 1), (2, 2)")
	ctx := context.Background()
	tr, err := e.m.CreateTransport(ctx, NewTransport{Name: "daily", Tables: []string{e.tab("t")},
		Schedule: &ScheduleSpec{Cron: "0 2 * * *", Timezone: "Europe/Berlin"},
		Incremental: &IncrementalSpec{
			Tables:       []TableMode{{Table: e.tab("t"), Mode: ModeIncremental, WatermarkColumn: "seq"}},
			FullSchedule: &ScheduleSpec{Cron: "0 0 * * 0", Timezone: "Europe/Berlin"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	var jobsSeen []string
	tick := func(at time.Time, mode string, rows ...string) {
		t.Helper()
		clk.Set(at)
		e.m.Tick(ctx, at)
		got, err := e.m.GetTransport(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		r := got.LastScheduledRun
		if r == nil || r.Outcome != RunStarted || r.JobID == "" || !r.DueAt.Equal(at) || slices.Contains(jobsSeen, r.JobID) {
			t.Fatalf("tick at %s: scheduled run %+v", at, r)
		}
		jobsSeen = append(jobsSeen, r.JobID)
		j, err := e.m.Wait(ctx, r.JobID)
		if err != nil || j.Status != StatusCompleted || j.Trigger != TriggerSchedule {
			t.Fatalf("scheduled job %+v %v", j, err)
		}
		if mt, w := tableWindow(t, e, j, "t"); mt.Mode != mode {
			t.Fatalf("scheduled job at %s: mode %s (%+v), want %s", at, mt.Mode, w, mode)
		}
		wantIDs(t, "scheduled job at "+at.String(), e.rows(t, j, "t"), rows...)
	}
	tick(time.Date(2026, 2, 27, 1, 0, 0, 0, time.UTC), ModeFull, "1", "2") // Friday 02:00 Berlin: the first
	e.exec(t, "INSERT INTO $S.t VALUES (3, 3)", "DELETE FROM $S.t WHERE id = 1")
	tick(time.Date(2026, 2, 28, 1, 0, 0, 0, time.UTC), ModeIncremental, "3")
	tick(time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC), ModeFull, "2", "3") // Sunday
	e.exec(t, "INSERT INTO $S.t VALUES (4, 4)")
	tick(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), ModeIncremental, "4")
	// no scheduled time between: a tick starts nothing, full schedule or not
	clk.Set(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	e.m.Tick(ctx, clk.Now())
	if p, err := e.m.ListJobs(ctx, JobFilter{TransportID: tr.ID, Page: 1, PageSize: 50}); err != nil || p.Total != len(jobsSeen) {
		t.Fatalf("jobs %+v %v, want %d", p.Total, err, len(jobsSeen))
	}
}
