package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
)

// fakeClock is the Manager's clock in scheduler tests: time moves only
// when the test sets it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.t = t.UTC(); c.mu.Unlock() }

func withClock(c *fakeClock) func(*ManagerConfig) {
	return func(cfg *ManagerConfig) { cfg.Clock = c.Now }
}

// reopen closes e's Manager and opens a new one on the same state
// database and buckets (a restart of the server).
func reopen(t *testing.T, e *testEnv, mod ...func(*ManagerConfig)) {
	t.Helper()
	stop, cancel := context.WithCancel(context.Background())
	cancel() // a running job is interrupted, as by a crash
	_ = e.m.Shutdown(stop)
	if err := e.m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	e.start(t, mod...)
}

// waitIdle waits for the running job, if any, to end.
func waitIdle(t *testing.T, m *Manager) {
	t.Helper()
	if j, ok := m.Running(); ok {
		if _, err := m.Wait(context.Background(), j.ID); err != nil {
			t.Fatal(err)
		}
	}
}

func mustTime(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

// TestScheduleZonesAndDST drives schedules with a fake clock, ticking at
// every next_run the transport shows, and checks the runs happen at the
// wall-clock times of the schedule's zone, across DST changes.
func TestScheduleZonesAndDST(t *testing.T) {
	cases := []struct {
		name, cron, zone, start string
		want                    []string // wall clock in zone
	}{
		{"seoul 01:00 KST", "0 1 * * *", "Asia/Seoul", "2026-01-18 10:30",
			[]string{"2026-01-19 01:00", "2026-01-20 01:00", "2026-01-21 01:00"}},
		// America/New_York springs forward on 2026-03-08 02:00 → 03:00
		{"new york spring forward", "0 1 * * *", "America/New_York", "2026-03-06 12:00",
			[]string{"2026-03-07 01:00", "2026-03-08 01:00", "2026-03-09 01:00", "2026-03-10 01:00"}},
		// and falls back on 2026-11-01 02:00 → 01:00: 01:30 happens twice, runs once
		{"new york fall back", "30 1 * * *", "America/New_York", "2026-10-30 12:00",
			[]string{"2026-10-31 01:30", "2026-11-01 01:30", "2026-11-02 01:30"}},
		// Europe/Berlin springs forward on 2026-03-29 02:00 → 03:00
		{"berlin spring forward", "0 3 * * *", "Europe/Berlin", "2026-03-27 12:00",
			[]string{"2026-03-28 03:00", "2026-03-29 03:00", "2026-03-30 03:00"}},
		{"berlin weekdays 22:00", "0 22 * * 1-5", "Europe/Berlin", "2026-10-23 12:00", // Friday, fall back on Sunday 25th
			[]string{"2026-10-23 22:00", "2026-10-26 22:00", "2026-10-27 22:00"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{}
			clk.Set(mustTime(t, tc.zone, tc.start))
			e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 3}), withClock(clk))
			tr := mustCreate(t, e.m, "sched", "T")
			ctx := context.Background()
			got, err := e.m.SetSchedule(ctx, tr.ID, ScheduleSpec{Cron: tc.cron, Timezone: tc.zone})
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tc.want {
				want := mustTime(t, tc.zone, w)
				if got.Schedule == nil || got.Schedule.NextRun == nil || !got.Schedule.NextRun.Equal(want) {
					t.Fatalf("run %d: next_run = %+v, want %s (%s %s)", i, got.Schedule, want, w, tc.zone)
				}
				// a tick just before does nothing
				e.m.Tick(ctx, want.Add(-time.Second))
				if _, running := e.m.Running(); running {
					t.Fatalf("run %d started before its time", i)
				}
				clk.Set(want)
				next := e.m.Tick(ctx, want)
				waitIdle(t, e.m)
				if i+1 < len(tc.want) {
					if w2 := mustTime(t, tc.zone, tc.want[i+1]); !next.Equal(w2) {
						t.Fatalf("Tick returned next %s, want %s", next, w2)
					}
				}
				got, err = e.m.GetTransport(ctx, tr.ID)
				if err != nil {
					t.Fatal(err)
				}
				r := got.LastScheduledRun
				if r == nil || !r.DueAt.Equal(want) || r.Outcome != RunStarted || r.Missed || r.JobID == "" || r.JobStatus != StatusCompleted {
					t.Fatalf("run %d: last scheduled run %+v", i, r)
				}
				j, err := e.m.GetJob(ctx, r.JobID)
				if err != nil || j.Trigger != TriggerSchedule || j.Status != StatusCompleted {
					t.Fatalf("job %+v %v", j, err)
				}
			}
			runs, err := e.m.Store().ScheduledRuns(ctx, tr.ID)
			if err != nil || len(runs) != len(tc.want) {
				t.Fatalf("%d scheduled runs, want %d (%v)", len(runs), len(tc.want), err)
			}
		})
	}
}

func TestScheduleValidation(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 1}))
	tr := mustCreate(t, e.m, "v", "T")
	ctx := context.Background()
	cases := []struct {
		spec  ScheduleSpec
		field string
	}{
		{ScheduleSpec{Cron: "", Timezone: "UTC"}, "cron"},
		{ScheduleSpec{Cron: "61 * * * *", Timezone: "UTC"}, "cron"},
		{ScheduleSpec{Cron: "* * * *", Timezone: "UTC"}, "cron"},
		{ScheduleSpec{Cron: "CRON_TZ=Asia/Seoul 0 1 * * *", Timezone: "UTC"}, "cron"},
		{ScheduleSpec{Cron: "@every 1h", Timezone: "UTC"}, "cron"},
		{ScheduleSpec{Cron: "0 0 30 2 *", Timezone: "UTC"}, "cron"}, // never
		{ScheduleSpec{Cron: "0 1 * * *", Timezone: ""}, "timezone"},
		{ScheduleSpec{Cron: "0 1 * * *", Timezone: "Mars/Olympus"}, "timezone"},
		{ScheduleSpec{Cron: "0 1 * * *", Timezone: "Local"}, "timezone"},
	}
	for _, c := range cases {
		_, err := e.m.SetSchedule(ctx, tr.ID, c.spec)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want a field error on %s", c.spec, err, c.field)
		}
	}
	if _, err := e.m.SetSchedule(ctx, "TRP-NOPE", ScheduleSpec{Cron: "0 1 * * *", Timezone: "UTC"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown transport: %v", err)
	}
	// POST /transport's schedule names the nested field and stores nothing
	_, err := e.m.CreateTransport(ctx, NewTransport{Name: "x", Tables: []string{"T"}, Schedule: &ScheduleSpec{Cron: "0 1 * * *", Timezone: "Nowhere/City"}})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "schedule.timezone" {
		t.Fatalf("create with bad schedule: %v", err)
	}
	p, _ := e.m.ListTransports(ctx, 1, 50)
	if p.Total != 1 {
		t.Fatalf("%d transports after a refused create", p.Total)
	}
	// a good one is stored with the transport; DELETE removes it
	created, err := e.m.CreateTransport(ctx, NewTransport{Name: "y", Tables: []string{"T"}, Schedule: &ScheduleSpec{Cron: " 0  1 * * * ", Timezone: " Asia/Seoul "}})
	if err != nil || created.Schedule == nil || created.Schedule.Cron != "0 1 * * *" || created.Schedule.Timezone != "Asia/Seoul" || created.Schedule.NextRun == nil {
		t.Fatalf("create with schedule: %+v %v", created.Schedule, err)
	}
	if err := e.m.DeleteSchedule(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.m.GetTransport(ctx, created.ID); got.Schedule != nil {
		t.Fatalf("schedule after delete: %+v", got.Schedule)
	}
	if err := e.m.DeleteSchedule(ctx, "TRP-NOPE"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete on unknown transport: %v", err)
	}
}

// TestMissedRunsAfterDowntime: a server down over five scheduled times
// runs once at start-up (the latest time, marked missed), never a burst,
// and then keeps the schedule.
func TestMissedRunsAfterDowntime(t *testing.T) {
	clk := &fakeClock{}
	clk.Set(time.Date(2026, 1, 18, 9, 30, 0, 0, time.UTC))
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 3}), withClock(clk))
	tr := mustCreate(t, e.m, "hourly", "T")
	ctx := context.Background()
	if _, err := e.m.SetSchedule(ctx, tr.ID, ScheduleSpec{Cron: "0 * * * *", Timezone: "Asia/Seoul"}); err != nil {
		t.Fatal(err)
	}
	clk.Set(time.Date(2026, 1, 18, 10, 0, 0, 0, time.UTC))
	e.m.Tick(ctx, clk.Now())
	waitIdle(t, e.m)

	// down from 10:20 to 15:10: 11:00 … 15:00 missed
	clk.Set(time.Date(2026, 1, 18, 15, 10, 0, 0, time.UTC))
	reopen(t, e, withClock(clk))
	next := e.m.Tick(ctx, clk.Now())
	waitIdle(t, e.m)
	if want := time.Date(2026, 1, 18, 16, 0, 0, 0, time.UTC); !next.Equal(want) {
		t.Fatalf("next %s, want %s", next, want)
	}
	e.m.Tick(ctx, clk.Now()) // again: nothing owed any more
	waitIdle(t, e.m)
	runs, err := e.m.Store().ScheduledRuns(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("%d scheduled runs, want 2: %+v", len(runs), runs)
	}
	r := runs[1]
	if !r.DueAt.Equal(time.Date(2026, 1, 18, 15, 0, 0, 0, time.UTC)) || !r.Missed || r.Outcome != RunStarted || r.JobStatus != StatusCompleted {
		t.Fatalf("missed run %+v", r)
	}
	p, _ := e.m.ListJobs(ctx, JobFilter{TransportID: tr.ID})
	if p.Total != 2 {
		t.Fatalf("%d jobs, want 2 (no burst)", p.Total)
	}
	for _, j := range p.Items {
		if j.Trigger != TriggerSchedule {
			t.Fatalf("job %s trigger %q", j.ID, j.Trigger)
		}
	}
	// on time again afterwards
	clk.Set(time.Date(2026, 1, 18, 16, 0, 30, 0, time.UTC))
	e.m.Tick(ctx, clk.Now())
	waitIdle(t, e.m)
	if got, _ := e.m.GetTransport(ctx, tr.ID); got.LastScheduledRun == nil || got.LastScheduledRun.Missed || got.LastScheduledRun.Outcome != RunStarted {
		t.Fatalf("after catch-up: %+v", got.LastScheduledRun)
	}
}

func TestJobTriggers(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 2}))
	tr := mustCreate(t, e.m, "t", "T")
	ctx := context.Background()
	j := runJob(t, e.m, tr.ID)
	if j.Trigger != TriggerAPI {
		t.Fatalf("default trigger %q", j.Trigger)
	}
	j2, err := e.m.Execute(WithTrigger(ctx, TriggerCLI), tr.ID)
	if err != nil || j2.Trigger != TriggerCLI {
		t.Fatalf("%+v %v", j2, err)
	}
	if live, ok := e.m.Running(); ok && live.ID == j2.ID && live.Trigger != TriggerCLI {
		t.Fatalf("running job trigger %q", live.Trigger)
	}
	done, _ := e.m.Wait(ctx, j2.ID)
	if done.Trigger != TriggerCLI {
		t.Fatalf("stored trigger %q", done.Trigger)
	}
}

// TestScheduleSpringForwardGap: a fixed time that does not exist on the
// night the clocks go forward (02:30 in New York on 2026-03-08) still runs
// that day, once, at 03:30 EDT (02:30 at the offset before the change);
// robfig/cron alone skips the day. The day after it is 02:30 again.
func TestScheduleSpringForwardGap(t *testing.T) {
	spec := ScheduleSpec{Cron: "30 2 * * *", Timezone: "America/New_York"}
	sched, err := spec.parse("")
	if err != nil {
		t.Fatal(err)
	}
	at := mustTime(t, "America/New_York", "2026-03-07 12:00")
	var got []string
	for i := 0; i < 3; i++ {
		at = sched.Next(at)
		got = append(got, at.In(mustLoc(t, "America/New_York")).Format("2006-01-02 15:04 MST"))
	}
	want := []string{"2026-03-08 03:30 EDT", "2026-03-09 02:30 EDT", "2026-03-10 02:30 EDT"}
	if !equalStrings(got, want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
}

func mustLoc(t *testing.T, zone string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestScheduleFallBackRunsFirstOccurrence: a fixed time inside the hour
// the clocks repeat runs once, at its first occurrence, in zones east of
// UTC as in zones west of it (Go's time.Date picks the later occurrence
// east of UTC): Berlin on 2026-10-25 (03:00 CEST → 02:00 CET), Seoul on
// 1988-10-09 (its last DST: 03:00 KDT → 02:00 KST), New York on 2026-11-01.
func TestScheduleFallBackRunsFirstOccurrence(t *testing.T) {
	cases := []struct {
		cron, zone, start string
		want              []string // UTC
	}{
		{"30 2 * * *", "Europe/Berlin", "2026-10-24 12:00",
			[]string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}}, // 02:30 CEST, then 02:30 CET
		{"30 2 * * *", "Asia/Seoul", "1988-10-08 12:00",
			[]string{"1988-10-08T16:30:00Z", "1988-10-09T17:30:00Z"}}, // 02:30 KDT (UTC+10), then 02:30 KST
		{"30 1 * * *", "America/New_York", "2026-10-31 12:00",
			[]string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}}, // 01:30 EDT, then 01:30 EST
		{"0 2 * * *", "Europe/Berlin", "2026-10-25 01:30", // 01:30 CEST: 02:00 CEST is next
			[]string{"2026-10-25T00:00:00Z", "2026-10-26T01:00:00Z"}},
	}
	for _, c := range cases {
		spec := ScheduleSpec{Cron: c.cron, Timezone: c.zone}
		sched, err := spec.parse("")
		if err != nil {
			t.Fatal(err)
		}
		at := mustTime(t, c.zone, c.start)
		var got []string
		for range c.want {
			at = sched.Next(at)
			got = append(got, at.UTC().Format(time.RFC3339))
		}
		if !equalStrings(got, c.want) {
			t.Errorf("%s %s from %s: runs %v, want %v", c.cron, c.zone, c.start, got, c.want)
		}
	}
}

// TestScheduledRunLogFields: a scheduled run counts in
// ora2gcs_scheduled_runs_total, a queued one in ora2gcs_queue_length until
// cancelled; the log lines of a scheduled run and of the queue carry the transport's id, and those of its job the job's id and
// trigger: the "scheduled run started" line names both ids, every line of
// the job names the transport, and a cancelled queued run names its
// transport and queue entry.
func TestScheduledRunLogFields(t *testing.T) {
	var buf testutil.LogBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	clk := &fakeClock{}
	clk.Set(time.Date(2026, 1, 18, 9, 30, 0, 0, time.UTC))
	gate := make(chan struct{})
	var gateOnce sync.Once
	release := func() { gateOnce.Do(func() { close(gate) }) }
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 3}, &fakeTable{name: "SLOW", rows: 50, gate: gate}),
		withClock(clk), func(c *ManagerConfig) { c.Logger = logger })
	t.Cleanup(release)
	ctx := context.Background()
	tr := mustCreate(t, e.m, "sched", "T")
	slow := mustCreate(t, e.m, "slow", "SLOW")
	if _, err := e.m.SetSchedule(ctx, tr.ID, ScheduleSpec{Cron: "0 * * * *", Timezone: "Asia/Seoul"}); err != nil {
		t.Fatal(err)
	}
	clk.Set(time.Date(2026, 1, 18, 10, 0, 0, 0, time.UTC))
	e.m.Tick(ctx, clk.Now())
	waitIdle(t, e.m)
	r, _ := e.m.GetTransport(ctx, tr.ID)
	if r.LastScheduledRun == nil || r.LastScheduledRun.JobID == "" {
		t.Fatalf("no scheduled job: %+v", r.LastScheduledRun)
	}
	jobID := r.LastScheduledRun.JobID
	if c := e.m.metrics.GetOrCreateCounter(`ora2gcs_scheduled_runs_total{outcome="started"}`).Get(); c != 1 {
		t.Fatalf(`ora2gcs_scheduled_runs_total{outcome="started"} = %d, want 1`, c)
	}
	// a run queued behind a running job, then cancelled
	if _, err := e.m.Execute(ctx, slow.ID); err != nil {
		t.Fatal(err)
	}
	q, err := e.m.ExecuteWith(ctx, tr.ID, ExecuteOptions{Queue: true})
	if err != nil || q.Queued == nil {
		t.Fatalf("queue: %+v %v", q, err)
	}
	if v := queueGauge(e.m); v != 1 {
		t.Fatalf("ora2gcs_queue_length with one queued run = %v", v)
	}
	if err := e.m.CancelQueued(ctx, q.Queued.ID); err != nil {
		t.Fatal(err)
	}
	if v := queueGauge(e.m); v != 0 {
		t.Fatalf("ora2gcs_queue_length after the cancel = %v", v)
	}
	release()
	waitIdle(t, e.m)

	var sawScheduled, sawStarted, sawQueued, sawCancelled bool
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["job_id"] == jobID && rec["transport_id"] != tr.ID {
			t.Errorf("a line of the scheduled job lacks its transport: %s", line)
		}
		switch rec["msg"] {
		case "scheduled run started":
			sawScheduled = rec["transport_id"] == tr.ID && rec["job_id"] == jobID
		case "job started":
			if rec["job_id"] == jobID {
				sawStarted = rec["transport_id"] == tr.ID && rec["trigger"] == TriggerSchedule
			}
		case "run queued":
			sawQueued = rec["transport_id"] == tr.ID && rec["queue_id"] == q.Queued.ID
		case "queued run cancelled":
			sawCancelled = rec["transport_id"] == tr.ID && rec["queue_id"] == q.Queued.ID
		}
	}
	if !sawScheduled || !sawStarted || !sawQueued || !sawCancelled {
		t.Fatalf("scheduled %v, job started %v, queued %v, cancelled %v; log:\n%s", sawScheduled, sawStarted, sawQueued, sawCancelled, buf.String())
	}
}

// TestMissedRunsAfterLongDowntime: a server down for longer than the
// scheduled times it walks when collapsing missed runs (an every-minute
// schedule, down for two and a half years) still runs once at start-up,
// at the latest missed time, and owes nothing after: never a second
// catch-up run at the next tick.
func TestMissedRunsAfterLongDowntime(t *testing.T) {
	clk := &fakeClock{}
	clk.Set(time.Date(2024, 1, 1, 0, 0, 30, 0, time.UTC))
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 1}), withClock(clk))
	tr := mustCreate(t, e.m, "every minute", "T")
	ctx := context.Background()
	if _, err := e.m.SetSchedule(ctx, tr.ID, ScheduleSpec{Cron: "* * * * *", Timezone: "Asia/Seoul"}); err != nil {
		t.Fatal(err)
	}
	clk.Set(time.Date(2026, 7, 1, 0, 0, 30, 0, time.UTC)) // ~1.3 million minutes later
	reopen(t, e, withClock(clk))
	start := time.Now()
	next := e.m.Tick(ctx, clk.Now())
	waitIdle(t, e.m)
	t.Logf("the first tick took %s", time.Since(start))
	if want := time.Date(2026, 7, 1, 0, 1, 0, 0, time.UTC); !next.Equal(want) {
		t.Fatalf("next %s, want %s", next, want)
	}
	e.m.Tick(ctx, clk.Now())
	waitIdle(t, e.m)
	runs, err := e.m.Store().ScheduledRuns(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || !runs[0].DueAt.Equal(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)) || !runs[0].Missed || runs[0].Outcome != RunStarted {
		t.Fatalf("scheduled runs after a long downtime: %+v", runs)
	}
	if p, _ := e.m.ListJobs(ctx, JobFilter{TransportID: tr.ID}); p.Total != 1 {
		t.Fatalf("%d jobs, want 1 (no burst)", p.Total)
	}
}
