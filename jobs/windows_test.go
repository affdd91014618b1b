package jobs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// offHours is the spec's example: 22:00-06:00 KST on weekdays, all day on weekends.
func offHours(onClose string) *WindowSpec {
	return &WindowSpec{Timezone: "Asia/Seoul", OnClose: onClose, Allow: []WindowRule{
		{Days: "mon-fri", From: "22:00", To: "06:00"},
		{Days: "sat,sun", From: "00:00", To: "24:00"},
	}}
}

func TestWindowOpenAndNextOpening(t *testing.T) {
	w, err := offHours("").parse("")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-01-19 is a Monday
	cases := []struct {
		at   string // KST
		open bool
		next string // KST, when closed
	}{
		{"2026-01-19 03:00", false, "2026-01-19 22:00"}, // Monday morning: Sunday's day ended at midnight
		{"2026-01-19 21:59", false, "2026-01-19 22:00"},
		{"2026-01-19 22:00", true, ""},
		{"2026-01-20 05:59", true, ""}, // Monday's window, past midnight
		{"2026-01-20 06:00", false, "2026-01-20 22:00"},
		{"2026-01-23 23:30", true, ""}, // Friday night
		{"2026-01-24 06:00", true, ""}, // Saturday all day
		{"2026-01-25 23:59", true, ""}, // Sunday
		{"2026-01-26 00:00", false, "2026-01-26 22:00"},
	}
	for _, c := range cases {
		at := mustTime(t, "Asia/Seoul", c.at)
		if got := w.open(at); got != c.open {
			t.Errorf("%s KST: open = %v", c.at, got)
		}
		if !c.open {
			if got, want := w.nextOpen(at), mustTime(t, "Asia/Seoul", c.next); !got.Equal(want) {
				t.Errorf("%s KST: next opening %s, want %s", c.at, got, want)
			}
		}
	}
	bad := []struct {
		spec  WindowSpec
		field string
	}{
		{WindowSpec{Timezone: "", Allow: []WindowRule{{Days: "*", From: "22:00", To: "06:00"}}}, "w.timezone"},
		{WindowSpec{Timezone: "UTC"}, "w.allow"},
		{WindowSpec{Timezone: "UTC", Allow: []WindowRule{{Days: "mon-fry", From: "22:00", To: "06:00"}}}, "w.allow[0].days"},
		{WindowSpec{Timezone: "UTC", Allow: []WindowRule{{Days: "*", From: "25:00", To: "06:00"}}}, "w.allow[0].from"},
		{WindowSpec{Timezone: "UTC", Allow: []WindowRule{{Days: "*", From: "06:00", To: "06:00"}}}, "w.allow[0].to"},
		{WindowSpec{Timezone: "UTC", OnClose: "pause", Allow: []WindowRule{{Days: "*", From: "00:00", To: "24:00"}}}, "w.on_close"},
	}
	for _, b := range bad {
		_, err := b.spec.parse("w.")
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != b.field {
			t.Errorf("%+v: %v, want field %s", b.spec, err, b.field)
		}
	}
}

func TestManualExecuteOutsideWindow(t *testing.T) {
	clk := &fakeClock{}
	clk.Set(mustTime(t, "Asia/Seoul", "2026-01-19 12:00")) // Monday noon
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 3}), withClock(clk))
	tr := mustCreate(t, e.m, "w", "T")
	ctx := context.Background()
	got, err := e.m.SetWindows(ctx, tr.ID, offHours(""))
	if err != nil || got.Windows == nil || got.Windows.OnClose != OnCloseFinish {
		t.Fatalf("SetWindows: %+v %v", got.Windows, err)
	}
	_, err = e.m.ExecuteWith(ctx, tr.ID, ExecuteOptions{})
	var we *OutsideWindowError
	if !errors.As(err, &we) || !we.NextOpen.Equal(mustTime(t, "Asia/Seoul", "2026-01-19 22:00")) {
		t.Fatalf("execute outside the window: %v", err)
	}
	res, err := e.m.ExecuteWith(ctx, tr.ID, ExecuteOptions{Force: true})
	if err != nil || res.Job == nil {
		t.Fatalf("forced execute: %+v %v", res, err)
	}
	waitIdle(t, e.m)
	clk.Set(mustTime(t, "Asia/Seoul", "2026-01-19 22:30"))
	if res, err := e.m.ExecuteWith(ctx, tr.ID, ExecuteOptions{}); err != nil || res.Job == nil {
		t.Fatalf("execute inside the window: %+v %v", res, err)
	}
	waitIdle(t, e.m)
	// the server default applies to a transport without its own windows
	if _, err := e.m.SetWindows(ctx, tr.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.m.GetTransport(ctx, tr.ID); got.Windows != nil {
		t.Fatalf("windows after removal: %+v", got.Windows)
	}
}

// TestScheduledRunWaitsForWindow: a scheduled run due outside the window
// is queued and starts when the window opens; a run missed during downtime
// whose window has closed is recorded as skipped with the reason.
func TestScheduledRunWaitsForWindow(t *testing.T) {
	clk := &fakeClock{}
	clk.Set(mustTime(t, "Asia/Seoul", "2026-01-19 11:00"))
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 3}), withClock(clk), func(c *ManagerConfig) {
		c.DefaultWindows = offHours("") // the server's default from config.yaml
	})
	tr := mustCreate(t, e.m, "w", "T")
	ctx := context.Background()
	if got, _ := e.m.GetTransport(ctx, tr.ID); got.Windows == nil || got.Windows.Timezone != "Asia/Seoul" {
		t.Fatalf("default windows not shown: %+v", got.Windows)
	}
	if _, err := e.m.SetSchedule(ctx, tr.ID, ScheduleSpec{Cron: "0 12 * * *", Timezone: "Asia/Seoul"}); err != nil {
		t.Fatal(err)
	}
	clk.Set(mustTime(t, "Asia/Seoul", "2026-01-19 12:00"))
	e.m.Tick(ctx, clk.Now())
	if _, running := e.m.Running(); running {
		t.Fatal("scheduled run started outside its window")
	}
	got, _ := e.m.GetTransport(ctx, tr.ID)
	if r := got.LastScheduledRun; r == nil || r.Outcome != RunQueued || !strings.Contains(r.Reason, "2026-01-19T13:00:00Z") {
		t.Fatalf("run outside the window: %+v", r)
	}
	clk.Set(mustTime(t, "Asia/Seoul", "2026-01-19 21:59"))
	e.m.Tick(ctx, clk.Now())
	if _, running := e.m.Running(); running {
		t.Fatal("started before the window opened")
	}
	clk.Set(mustTime(t, "Asia/Seoul", "2026-01-19 22:00"))
	e.m.Tick(ctx, clk.Now())
	j, running := e.m.Running()
	if !running || j.Trigger != TriggerSchedule {
		t.Fatalf("queued run did not start when the window opened: %+v", j)
	}
	waitIdle(t, e.m)
	// down from Tuesday 11:00 to 13:00: the 12:00 run is missed and the
	// window is closed, so it is skipped (not queued, not run)
	clk.Set(mustTime(t, "Asia/Seoul", "2026-01-20 13:00"))
	reopen(t, e, withClock(clk), func(c *ManagerConfig) { c.DefaultWindows = offHours("") })
	e.m.Tick(ctx, clk.Now())
	got, _ = e.m.GetTransport(ctx, tr.ID)
	if r := got.LastScheduledRun; r == nil || r.Outcome != RunSkipped || !r.Missed || !strings.Contains(r.Reason, "outside the allowed window") {
		t.Fatalf("missed run outside the window: %+v", r)
	}
	if q, _ := e.m.ListQueue(ctx); len(q) != 0 {
		t.Fatalf("skipped run queued: %+v", q)
	}
}

// TestWindowClosesMidJob: with on_close stop the running job is
// interrupted when the window closes (nothing at a final name); with
// finish it runs to its end.
func TestWindowClosesMidJob(t *testing.T) {
	for _, policy := range []string{OnCloseStop, OnCloseFinish} {
		t.Run(policy, func(t *testing.T) {
			gate := make(chan struct{})
			var once sync.Once
			release := func() { once.Do(func() { close(gate) }) }
			clk := &fakeClock{}
			clk.Set(mustTime(t, "Asia/Seoul", "2026-01-20 05:50"))
			e := newEnv(t, newFakeConnector(&fakeTable{name: "SLOW", rows: 50, gate: gate}), withClock(clk))
			t.Cleanup(release)
			tr := mustCreate(t, e.m, "w", "SLOW")
			ctx := context.Background()
			if _, err := e.m.SetWindows(ctx, tr.ID, offHours(policy)); err != nil {
				t.Fatal(err)
			}
			res, err := e.m.ExecuteWith(ctx, tr.ID, ExecuteOptions{})
			if err != nil || res.Job == nil {
				t.Fatalf("%+v %v", res, err)
			}
			clk.Set(mustTime(t, "Asia/Seoul", "2026-01-20 05:59"))
			e.m.Tick(ctx, clk.Now())
			if _, running := e.m.Running(); !running {
				t.Fatal("job stopped while the window was open")
			}
			clk.Set(mustTime(t, "Asia/Seoul", "2026-01-20 06:00"))
			e.m.Tick(ctx, clk.Now())
			if policy == OnCloseFinish {
				release()
			}
			done, err := e.m.Wait(ctx, res.Job.ID)
			if err != nil {
				t.Fatal(err)
			}
			final := filepath.Join(e.root, "test-bucket", tr.ID, done.Version, "SLOW.jsonl.gz")
			_, statErr := os.Stat(final)
			switch policy {
			case OnCloseStop:
				if done.Status != StatusFailed || done.Error == nil || *done.Error != interrupted {
					t.Fatalf("stop: job %+v", done)
				}
				if !os.IsNotExist(statErr) {
					t.Fatalf("stop: an object is at its final name: %v", statErr)
				}
			case OnCloseFinish:
				if done.Status != StatusCompleted || statErr != nil {
					t.Fatalf("finish: job %s %v, object %v", done.Status, done.Error, statErr)
				}
			}
		})
	}
}

// TestForcedRunOutsideWindowNotStopped: a run forced outside its window
// ({"force": true}) is not interrupted by the window's on_close stop at the
// next tick: its window never closed on it. A forced run that the window
// then opens and closes on is stopped.
func TestForcedRunOutsideWindowNotStopped(t *testing.T) {
	gate1, gate2 := make(chan struct{}), make(chan struct{})
	var once1, once2 sync.Once
	release1 := func() { once1.Do(func() { close(gate1) }) }
	release2 := func() { once2.Do(func() { close(gate2) }) }
	clk := &fakeClock{}
	clk.Set(mustTime(t, "Asia/Seoul", "2026-01-20 12:00")) // Tuesday noon: closed
	e := newEnv(t, newFakeConnector(&fakeTable{name: "SLOW", rows: 50, gate: gate1}, &fakeTable{name: "SLOW2", rows: 50, gate: gate2}), withClock(clk))
	t.Cleanup(release1)
	t.Cleanup(release2)
	ctx := context.Background()
	for _, c := range []struct {
		table   string
		release func()
		ticks   []string // KST, while the job waits
		want    string
	}{
		// the window stays closed: the forced run is left to finish
		{"SLOW", release1, []string{"2026-01-20 12:01", "2026-01-20 13:00"}, StatusCompleted},
		// the window opens at 22:00 while it runs and closes at 06:00 on it
		{"SLOW2", release2, []string{"2026-01-20 12:01", "2026-01-20 22:30", "2026-01-21 06:00"}, StatusFailed},
	} {
		clk.Set(mustTime(t, "Asia/Seoul", "2026-01-20 12:00"))
		tr := mustCreate(t, e.m, "w", c.table)
		if _, err := e.m.SetWindows(ctx, tr.ID, offHours(OnCloseStop)); err != nil {
			t.Fatal(err)
		}
		res, err := e.m.ExecuteWith(ctx, tr.ID, ExecuteOptions{Force: true})
		if err != nil || res.Job == nil {
			t.Fatalf("forced execute: %+v %v", res, err)
		}
		for _, at := range c.ticks {
			clk.Set(mustTime(t, "Asia/Seoul", at))
			e.m.Tick(ctx, clk.Now())
		}
		if c.want == StatusCompleted {
			c.release()
		}
		done, err := e.m.Wait(ctx, res.Job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != c.want {
			t.Fatalf("%s: forced run %s %s, want %s", c.table, done.Status, derefErr(done.Error), c.want)
		}
		if c.want == StatusFailed && (done.Error == nil || *done.Error != interrupted) {
			t.Fatalf("%s: stopped with %s", c.table, derefErr(done.Error))
		}
	}
}
