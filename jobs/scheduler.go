package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// schedState is the Manager's scheduler: the background loop and its wake-up.
type schedState struct {
	once sync.Once
	wake chan struct{}
	wg   sync.WaitGroup

	tickMu sync.Mutex // one Tick at a time
	// dispatchMu: one Dispatch at a time, so a queued run is started once
	// (it leaves the queue only after its job started), and a cancel never
	// lands between reading the queue and starting the run
	dispatchMu sync.Mutex
	lastSweep  time.Time // of the retention sweep (under tickMu)

	retMu     sync.Mutex
	retention map[string]RetentionStatus // by transport
	// queueLen mirrors the queue's length for the ora2gcs_queue_length gauge.
	queueLen sync.Mutex
	qlen     int
}

func (s *schedState) wakeCh() chan struct{} {
	s.once.Do(func() { s.wake = make(chan struct{}, 1) })
	return s.wake
}

// poke wakes the scheduler loop (if it runs) to look at the queue again.
func (m *Manager) poke() {
	select {
	case m.sched.wakeCh() <- struct{}{}:
	default:
	}
}

// initSchedule registers the scheduler's metrics; called by NewManager.
func (m *Manager) initSchedule() {
	m.sched.wakeCh()
	m.metrics.GetOrCreateGauge(`ora2gcs_queue_length`, func() float64 {
		m.sched.queueLen.Lock()
		defer m.sched.queueLen.Unlock()
		return float64(m.sched.qlen)
	})
	m.refreshQueueLen(m.base)
	// counters are shown at 0 before their first event
	m.metrics.GetOrCreateCounter(`ora2gcs_retention_deleted_objects_total`)
	for _, o := range []string{RunStarted, RunQueued, RunSkipped, RunFailed} {
		m.metrics.GetOrCreateCounter(fmt.Sprintf(`ora2gcs_scheduled_runs_total{outcome=%q}`, o))
	}
}

// SetSchedule sets (or replaces) a transport's schedule. Its first run is
// the first scheduled time after now: changing a schedule never runs the
// times before. Errors: *FieldError (ErrInvalid) naming "cron" or
// "timezone", ErrNotFound.
func (m *Manager) SetSchedule(ctx context.Context, transportID string, spec ScheduleSpec) (Transport, error) {
	if _, err := spec.parse(""); err != nil {
		return Transport{}, err
	}
	if err := m.store.PutSchedule(ctx, transportID, spec, m.now()); err != nil {
		return Transport{}, err
	}
	m.log.Info("schedule set", "transport_id", transportID, "cron", spec.Cron, "timezone", spec.Timezone)
	m.poke()
	return m.GetTransport(ctx, transportID)
}

// DeleteSchedule removes a transport's schedule (no error if it had none;
// ErrNotFound for an unknown transport). Runs it already queued stay queued.
func (m *Manager) DeleteSchedule(ctx context.Context, transportID string) error {
	if _, err := m.store.GetTransport(ctx, transportID); err != nil {
		return err
	}
	if err := m.store.DeleteSchedule(ctx, transportID); err != nil {
		return err
	}
	m.log.Info("schedule removed", "transport_id", transportID)
	return nil
}

// decorate fills the policy fields of transports (schedule, next run, last
// scheduled run) from the store.
func (m *Manager) decorate(ctx context.Context, ts []Transport) error {
	if len(ts) == 0 {
		return nil
	}
	now := m.now()
	for i := range ts {
		row, ok, err := m.store.getSchedule(ctx, ts[i].ID)
		if err != nil {
			return err
		}
		if ok {
			spec := ScheduleSpec{Cron: row.cron, Timezone: row.timezone}
			sc := &Schedule{Cron: row.cron, Timezone: row.timezone}
			if sched, err := spec.parse(""); err == nil {
				from := row.since
				if now.After(from) {
					from = now
				}
				if next := sched.Next(from); !next.IsZero() {
					next = next.UTC()
					sc.NextRun = &next
				}
			}
			ts[i].Schedule = sc
		}
		m.decorateWindows(ctx, &ts[i])
		if err := m.decorateRetention(ctx, &ts[i]); err != nil {
			return err
		}
		d, err := m.transportDistributed(ctx, ts[i].ID)
		if err != nil {
			return err
		}
		ts[i].Distributed = d
		run, ok, err := m.store.lastScheduledRun(ctx, ts[i].ID)
		if err != nil {
			return err
		}
		if ok {
			ts[i].LastScheduledRun = &run
		}
		if err := m.decorateIncremental(ctx, &ts[i]); err != nil {
			return err
		}
	}
	return nil
}

// StartScheduler starts the background loop that runs due schedules and
// starts queued runs when the slot frees (the server calls it; a CLI run
// does not). It ends when the Manager is closed. Tests drive Tick instead.
func (m *Manager) StartScheduler() {
	m.sched.wg.Add(1)
	go m.scheduleLoop()
}

// schedulePoll is the longest the loop sleeps between two looks (the clock
// may be changed, a schedule may be set by another process).
const schedulePoll = 30 * time.Second

func (m *Manager) scheduleLoop() {
	defer m.sched.wg.Done()
	wake := m.sched.wakeCh()
	for {
		next := m.Tick(m.base, m.now())
		wait := schedulePoll
		if !next.IsZero() {
			if d := next.Sub(m.now()); d < wait {
				wait = max(d, 0) + 10*time.Millisecond
			}
		}
		var done <-chan struct{}
		m.mu.Lock()
		if r := m.running; r != nil {
			done = r.done
		}
		m.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-m.base.Done():
			timer.Stop()
			return
		case <-timer.C:
		case <-done:
		case <-wake:
		}
		timer.Stop()
	}
}

// Tick handles every schedule due at or before now and starts the first
// startable queued run if no job runs. It returns the earliest time a
// schedule comes due after now (zero if none). At most one run per
// schedule per Tick: scheduled times missed while the server was down
// collapse into one run (or one skipped record), never a burst.
func (m *Manager) Tick(ctx context.Context, now time.Time) time.Time {
	m.sched.tickMu.Lock()
	defer m.sched.tickMu.Unlock()
	now = now.UTC()
	rows, err := m.store.listSchedules(ctx)
	if err != nil {
		m.log.Error("scheduler: list schedules", "error", err)
		return time.Time{}
	}
	m.closeWindows(ctx, now)
	m.maybeSweep(ctx, now)
	var earliest time.Time
	for _, row := range rows {
		spec := ScheduleSpec{Cron: row.cron, Timezone: row.timezone}
		sched, err := spec.parse("")
		if err != nil { // stored by a newer program, or a zone that went away
			m.log.Error("scheduler: invalid schedule", "transport_id", row.transportID, "error", err)
			continue
		}
		next := m.handleSchedule(ctx, row, sched, now)
		if !next.IsZero() && (earliest.IsZero() || next.Before(earliest)) {
			earliest = next
		}
	}
	m.Dispatch(ctx)
	return earliest
}

// handleSchedule runs (or queues, or records as skipped) the latest due
// time of one schedule and returns its next due time after now.
func (m *Manager) handleSchedule(ctx context.Context, row scheduleRow, sched cron.Schedule, now time.Time) time.Time {
	first := sched.Next(row.since)
	if first.IsZero() || first.After(now) {
		return first
	}
	due, n := first, 1
	for n < maxCatchUp {
		nx := sched.Next(due)
		if nx.IsZero() || nx.After(now) {
			break
		}
		due, n = nx, n+1
	}
	if n == maxCatchUp { // more times than walked: the latest is near now
		due = latestDue(sched, due, now)
	}
	due = due.UTC()
	missed := n > 1 || now.Sub(due) > MissedGrace
	log := m.log.With("transport_id", row.transportID, "due_at", due)
	run := ScheduledRun{DueAt: due, RecordedAt: now, Missed: missed}
	if missed {
		log.Warn("scheduler: missed scheduled run(s) while the server was not running", "missed_times", n, "first_missed", first.UTC())
	}
	if queued, err := m.store.queuedFor(ctx, row.transportID, TriggerSchedule); err != nil {
		log.Error("scheduler: look at the queue", "error", err)
		return sched.Next(now)
	} else if queued != "" {
		run.Outcome, run.Reason = RunSkipped, "a scheduled run of this transport is already queued ("+queued+")"
	} else {
		run = m.startScheduled(ctx, row.transportID, run, log)
		if run.Outcome == "" { // shutting down: leave the time owed
			return time.Time{}
		}
	}
	if err := m.store.recordScheduledRun(ctx, row.transportID, run, due); err != nil {
		log.Error("scheduler: record run", "error", err)
	}
	m.metrics.GetOrCreateCounter(fmt.Sprintf(`ora2gcs_scheduled_runs_total{outcome=%q}`, run.Outcome)).Inc()
	switch run.Outcome {
	case RunSkipped, RunFailed:
		log.Warn("scheduled run "+run.Outcome, "reason", run.Reason, "missed", missed)
	default:
		log.Info("scheduled run "+run.Outcome, "job_id", run.JobID, "queue_id", run.QueueID, "missed", missed)
	}
	return sched.Next(now)
}

// startScheduled starts a scheduled run now, or queues it behind the
// running job. An empty Outcome means the Manager is shutting down.
func (m *Manager) startScheduled(ctx context.Context, transportID string, run ScheduledRun, log interface {
	Error(string, ...any)
}) ScheduledRun {
	var j Job
	var err error
	if reason, closed := m.windowBlocks(ctx, transportID, run.RecordedAt); closed {
		if run.Missed {
			run.Outcome, run.Reason = RunSkipped, "missed while the server was down, and "+reason
			return run
		}
		err = fmt.Errorf("%s: %w", reason, errOutsideWindow) // on time: it waits in the queue for the window
	} else if n, qerr := m.store.queueLength(ctx); qerr == nil && n == 0 {
		j, err = m.Execute(WithTrigger(ctx, TriggerSchedule), transportID)
	} else {
		// others are waiting: keep their order
		err = &RunningError{}
		if r, ok := m.Running(); ok {
			err = &RunningError{JobID: r.ID, TransportID: r.TransportID}
		}
	}
	var re *RunningError
	switch {
	case err == nil:
		run.Outcome, run.JobID, run.JobStatus = RunStarted, j.ID, j.Status
	case errors.Is(err, ErrShutdown):
		run.Outcome = ""
	case errors.Is(err, errOutsideWindow):
		due := run.DueAt
		q, qerr := m.enqueue(ctx, transportID, TriggerSchedule, false, &due)
		if qerr != nil {
			log.Error("scheduler: queue run", "error", qerr)
			run.Outcome, run.Reason = RunFailed, "could not be queued: "+qerr.Error()
			return run
		}
		run.Outcome, run.QueueID, run.Reason = RunQueued, q.ID, "waiting for the window: "+strings.TrimPrefix(err.Error(), "jobs: ")
	case errors.As(err, &re):
		due := run.DueAt
		q, qerr := m.enqueue(ctx, transportID, TriggerSchedule, false, &due)
		if qerr != nil {
			log.Error("scheduler: queue run", "error", qerr)
			run.Outcome, run.Reason = RunFailed, "could not be queued: "+qerr.Error()
			return run
		}
		run.Outcome, run.QueueID = RunQueued, q.ID
		run.Reason = "other runs were waiting in the queue"
		if re.JobID != "" {
			run.Reason = "job " + re.JobID + " was running"
		}
	default:
		run.Outcome, run.Reason = RunFailed, err.Error()
	}
	return run
}
