package jobs

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"
)

func queueIDs(t *testing.T, m *Manager) []string {
	t.Helper()
	items, err := m.ListQueue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(items))
	for i, q := range items {
		if q.Position != i+1 {
			t.Fatalf("queue item %d has position %d", i, q.Position)
		}
		out[i] = q.TransportID + "/" + q.Trigger
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestQueueOrderAndCancel: while a job runs, a manual execute is refused
// (409) unless it asks to be queued; a scheduled run that comes due is
// queued; a queued run can be cancelled; the rest start first in, first
// out as the slot frees.
func TestQueueOrderAndCancel(t *testing.T) {
	gate := make(chan struct{})
	var gateOnce sync.Once
	release := func() { gateOnce.Do(func() { close(gate) }) }
	clk := &fakeClock{}
	clk.Set(time.Date(2026, 1, 18, 12, 0, 0, 0, time.UTC))
	e := newEnv(t, newFakeConnector(&fakeTable{name: "SLOW", rows: 50, gate: gate}, &fakeTable{name: "T", rows: 3}), withClock(clk))
	t.Cleanup(release) // before the Manager's shutdown, also when the test fails
	ctx := context.Background()
	a := mustCreate(t, e.m, "a", "SLOW")
	b := mustCreate(t, e.m, "b", "T")
	c := mustCreate(t, e.m, "c", "T")
	d := mustCreate(t, e.m, "d", "T")
	res, err := e.m.ExecuteWith(ctx, a.ID, ExecuteOptions{Queue: true})
	if err != nil || res.Job == nil || res.Queued != nil {
		t.Fatalf("first execute: %+v %v", res, err)
	}
	running := res.Job.ID
	if _, err := e.m.ExecuteWith(ctx, b.ID, ExecuteOptions{}); !errors.Is(err, ErrJobRunning) {
		t.Fatalf("execute without queue: %v", err)
	}
	qb, err := e.m.ExecuteWith(ctx, b.ID, ExecuteOptions{Queue: true})
	if err != nil || qb.Queued == nil || qb.Queued.Position != 1 || qb.Job != nil {
		t.Fatalf("queued b: %+v %v", qb, err)
	}
	qc, err := e.m.ExecuteWith(WithTrigger(ctx, TriggerCLI), c.ID, ExecuteOptions{Queue: true})
	if err != nil || qc.Queued == nil || qc.Queued.Position != 2 {
		t.Fatalf("queued c: %+v %v", qc, err)
	}
	// d's schedule comes due while a runs: queued behind b and c
	if _, err := e.m.SetSchedule(ctx, d.ID, ScheduleSpec{Cron: "5 12 * * *", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	clk.Set(time.Date(2026, 1, 18, 12, 5, 0, 0, time.UTC))
	e.m.Tick(ctx, clk.Now())
	if got := e.m.store; got == nil {
		t.Fatal("no store")
	}
	tr, _ := e.m.GetTransport(ctx, d.ID)
	if r := tr.LastScheduledRun; r == nil || r.Outcome != RunQueued || r.QueueID == "" || r.Reason != "job "+running+" was running" {
		t.Fatalf("scheduled run while busy: %+v", r)
	}
	// a second tick of the same time changes nothing; the next due time of
	// d while its run still waits is recorded as skipped, not queued twice
	e.m.Tick(ctx, clk.Now())
	want := []string{b.ID + "/api", c.ID + "/cli", d.ID + "/schedule"}
	if got := queueIDs(t, e.m); !equalStrings(got, want) {
		t.Fatalf("queue %v, want %v", got, want)
	}
	clk.Set(time.Date(2026, 1, 19, 12, 5, 0, 0, time.UTC))
	e.m.Tick(ctx, clk.Now())
	if got := queueIDs(t, e.m); !equalStrings(got, want) {
		t.Fatalf("queue after a second due time %v, want %v", got, want)
	}
	tr, _ = e.m.GetTransport(ctx, d.ID)
	if r := tr.LastScheduledRun; r == nil || r.Outcome != RunSkipped {
		t.Fatalf("second due time while queued: %+v", r)
	}
	// cancel c
	if err := e.m.CancelQueued(ctx, qc.Queued.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.m.CancelQueued(ctx, qc.Queued.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second cancel: %v", err)
	}
	want = []string{b.ID + "/api", d.ID + "/schedule"}
	if got := queueIDs(t, e.m); !equalStrings(got, want) {
		t.Fatalf("queue after cancel %v, want %v", got, want)
	}
	if v := queueGauge(e.m); v != 2 {
		t.Fatalf("ora2gcs_queue_length = %v", v)
	}
	// nothing starts while a runs
	if e.m.Dispatch(ctx) {
		t.Fatal("dispatched while a job runs")
	}
	release()
	waitIdle(t, e.m)
	before := jobIDs(t, e.m)
	for e.m.Dispatch(ctx) {
		waitIdle(t, e.m)
	}
	// the order comes from the job history: a 3-row job may have ended
	// before Running() could be read (that made this test flaky)
	order := startOrder(t, e.m, before)
	if !equalStrings(order, want) {
		t.Fatalf("start order %v, want %v", order, want)
	}
	if got := queueIDs(t, e.m); len(got) != 0 {
		t.Fatalf("queue not empty: %v", got)
	}
	tr, _ = e.m.GetTransport(ctx, d.ID)
	runs, _ := e.m.Store().ScheduledRuns(ctx, d.ID)
	if len(runs) != 2 || runs[0].Outcome != RunStarted || runs[0].JobID == "" || runs[0].JobStatus != StatusCompleted {
		t.Fatalf("d's scheduled runs %+v", runs)
	}
	p, _ := e.m.ListJobs(ctx, JobFilter{TransportID: c.ID})
	if p.Total != 0 {
		t.Fatalf("cancelled run ran: %d jobs", p.Total)
	}
}

func queueGauge(m *Manager) float64 {
	m.sched.queueLen.Lock()
	defer m.sched.queueLen.Unlock()
	return float64(m.sched.qlen)
}

// TestQueueSurvivesRestart: runs queued when the server stops are still
// queued, in order, after it starts again, can be cancelled then, and the
// others start.
func TestQueueSurvivesRestart(t *testing.T) {
	gate := make(chan struct{})
	var gateOnce sync.Once
	release := func() { gateOnce.Do(func() { close(gate) }) }
	e := newEnv(t, newFakeConnector(&fakeTable{name: "SLOW", rows: 50, gate: gate}, &fakeTable{name: "T", rows: 3}))
	t.Cleanup(release)
	ctx := context.Background()
	a := mustCreate(t, e.m, "a", "SLOW")
	b := mustCreate(t, e.m, "b", "T")
	c := mustCreate(t, e.m, "c", "T")
	if _, err := e.m.Execute(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	var queued []string
	for _, id := range []string{c.ID, b.ID} {
		r, err := e.m.ExecuteWith(ctx, id, ExecuteOptions{Queue: true})
		if err != nil || r.Queued == nil {
			t.Fatalf("queue %s: %+v %v", id, r, err)
		}
		queued = append(queued, r.Queued.ID)
	}
	want := []string{c.ID + "/api", b.ID + "/api"}
	// the restart interrupts a (Close cancels it) and keeps the queue
	reopen(t, e)
	release()
	if got := queueIDs(t, e.m); !equalStrings(got, want) {
		t.Fatalf("queue after restart %v, want %v", got, want)
	}
	if v := queueGauge(e.m); v != 2 {
		t.Fatalf("ora2gcs_queue_length after restart = %v", v)
	}
	// a run queued before the restart can be cancelled after it
	if err := e.m.CancelQueued(ctx, queued[1]); err != nil {
		t.Fatalf("cancel after restart: %v", err)
	}
	want = want[:1]
	before := jobIDs(t, e.m)
	for e.m.Dispatch(ctx) {
		waitIdle(t, e.m)
	}
	// the order comes from the job history: a 3-row job may have ended
	// before Running() could be read (that made this test flaky)
	order := startOrder(t, e.m, before)
	if !equalStrings(order, want) {
		t.Fatalf("start order %v, want %v", order, want)
	}
}

// TestSchedulerLoopStartsQueuedRun: with the background loop running, a
// queued run starts by itself when the running job ends (no Dispatch call).
func TestSchedulerLoopStartsQueuedRun(t *testing.T) {
	gate := make(chan struct{})
	var gateOnce sync.Once
	release := func() { gateOnce.Do(func() { close(gate) }) }
	e := newEnv(t, newFakeConnector(&fakeTable{name: "SLOW", rows: 50, gate: gate}, &fakeTable{name: "T", rows: 3}))
	t.Cleanup(release)
	ctx := context.Background()
	a := mustCreate(t, e.m, "a", "SLOW")
	b := mustCreate(t, e.m, "b", "T")
	e.m.StartScheduler()
	if _, err := e.m.Execute(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if r, err := e.m.ExecuteWith(ctx, b.ID, ExecuteOptions{Queue: true}); err != nil || r.Queued == nil {
		t.Fatalf("%+v %v", r, err)
	}
	release()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, _ := e.m.ListJobs(ctx, JobFilter{TransportID: b.ID, Status: StatusCompleted})
		if p.Total == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queued run did not start after the slot freed; queue %v", queueIDs(t, e.m))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// jobIDs is the set of every job's id.
func jobIDs(t *testing.T, m *Manager) map[string]bool {
	t.Helper()
	p, err := m.ListJobs(context.Background(), JobFilter{PageSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, j := range p.Items {
		out[j.ID] = true
	}
	return out
}

// startOrder lists "transport/trigger" of the jobs not in before, in the
// order they were created (JOB-YYYYMMDD-NNN ids of one day sort that way).
func startOrder(t *testing.T, m *Manager, before map[string]bool) []string {
	t.Helper()
	p, err := m.ListJobs(context.Background(), JobFilter{PageSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	var jobs []Job
	for _, j := range p.Items {
		if !before[j.ID] {
			jobs = append(jobs, j)
		}
	}
	sort.Slice(jobs, func(i, k int) bool { return jobs[i].ID < jobs[k].ID })
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.TransportID + "/" + j.Trigger
	}
	return out
}

// TestCancelRacingDispatch: a queued run cancelled while the dispatcher is
// starting it (between reading the queue and starting the job) either is
// cancelled and never runs, or has started and the cancel says it is no
// longer queued (ErrNotFound) — never "cancelled" and run anyway.
func TestCancelRacingDispatch(t *testing.T) {
	conn := newFakeConnector(&fakeTable{name: "T", rows: 3})
	e := newEnv(t, conn)
	ctx := context.Background()
	b := mustCreate(t, e.m, "b", "T")
	q, err := e.m.store.enqueue(ctx, b.ID, TriggerAPI, false, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	inPreflight := make(chan struct{})
	cancelled := make(chan struct{})
	var once sync.Once
	conn.mu.Lock()
	conn.onDescribe = func() {
		once.Do(func() {
			close(inPreflight)
			// give the cancel its chance to land while the run is being started
			select {
			case <-cancelled:
			case <-time.After(500 * time.Millisecond):
			}
		})
	}
	conn.mu.Unlock()
	started := make(chan bool, 1)
	go func() { started <- e.m.Dispatch(ctx) }()
	<-inPreflight
	cerr := e.m.CancelQueued(ctx, q.ID)
	close(cancelled)
	didStart := <-started
	waitIdle(t, e.m)
	p, _ := e.m.ListJobs(ctx, JobFilter{TransportID: b.ID})
	switch {
	case cerr == nil && (didStart || p.Total != 0):
		t.Fatalf("cancel reported success but the run started (%d jobs)", p.Total)
	case cerr != nil && !errors.Is(cerr, ErrNotFound):
		t.Fatalf("cancel: %v", cerr)
	case cerr != nil && (!didStart || p.Total != 1):
		t.Fatalf("cancel said not queued, but started=%v, %d jobs", didStart, p.Total)
	}
	if got := queueIDs(t, e.m); len(got) != 0 {
		t.Fatalf("queue %v", got)
	}
}
