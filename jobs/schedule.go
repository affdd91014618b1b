package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // IANA zones for schedules also where the system has none (slim images)

	"github.com/robfig/cron/v3"
)

// What started a job (Job.Trigger).
const (
	TriggerSchedule = "schedule"
	TriggerAPI      = "api"
	TriggerCLI      = "cli"
)

// Outcomes of a scheduled run (ScheduledRun.Outcome).
const (
	RunStarted = "started" // a job was started (JobID)
	RunQueued  = "queued"  // queued behind a running job (QueueID); JobID once it starts
	RunSkipped = "skipped" // not run; Reason says why
	RunFailed  = "failed"  // the job could not be started; Reason says why
)

// MissedGrace is how late a scheduled time may be handled and still count
// as on time; later, the server was down (or stalled) at that time and the
// run is a missed one.
const MissedGrace = 2 * time.Minute

// maxCatchUp bounds the scheduled times walked forward when collapsing
// missed runs; past it (e.g. a schedule every minute over weeks of
// downtime) the latest missed time is found from now backwards
// (latestDue), so the run is still one, at the latest time.
const maxCatchUp = 10000

// latestDue is the latest time of sched in (floor, now], found by looking
// back from now over doubling spans (floor itself if none is later). The
// walk forward from the found time covers at most the span, in which the
// half nearer now held none.
func latestDue(sched cron.Schedule, floor, now time.Time) time.Time {
	for span := time.Minute; ; span *= 2 {
		from := now.Add(-span)
		if !from.After(floor) {
			from = floor
		}
		if t := sched.Next(from); !t.IsZero() && !t.After(now) {
			for {
				nx := sched.Next(t)
				if nx.IsZero() || nx.After(now) {
					return t
				}
				t = nx
			}
		}
		if from.Equal(floor) {
			return floor
		}
	}
}

type triggerKey struct{}

// WithTrigger returns ctx carrying what starts the jobs Execute starts
// under it (TriggerSchedule, TriggerAPI, TriggerCLI). Without it a job's
// trigger is TriggerAPI.
func WithTrigger(ctx context.Context, trigger string) context.Context {
	return context.WithValue(ctx, triggerKey{}, trigger)
}

func triggerOf(ctx context.Context) string {
	if t, ok := ctx.Value(triggerKey{}).(string); ok && t != "" {
		return t
	}
	return TriggerAPI
}

// FieldError is a validation error naming the request field at fault (for
// nested fields with dots: "schedule.cron"). It wraps ErrInvalid.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return "jobs: " + e.Field + ": " + e.Message }
func (e *FieldError) Unwrap() error { return ErrInvalid }

// ScheduleSpec is a schedule as set: a cron expression (five fields,
// minute hour day-of-month month day-of-week, or a descriptor such as
// @daily) read in an IANA time zone, so "0 1 * * *" in "Asia/Seoul" is
// 01:00 KST every day whatever the server's zone.
type ScheduleSpec struct {
	Cron     string `json:"cron"`
	Timezone string `json:"timezone"`
}

// Schedule is a transport's schedule as shown: the spec and the next time
// it is due (nil if it never is).
type Schedule struct {
	Cron     string     `json:"cron"`
	Timezone string     `json:"timezone"`
	NextRun  *time.Time `json:"next_run"`
}

// ScheduledRun is one scheduled time the server handled.
type ScheduledRun struct {
	DueAt      time.Time `json:"due_at"`
	RecordedAt time.Time `json:"recorded_at"`
	Outcome    string    `json:"outcome"` // started, queued, skipped, failed
	// Missed: the server was not running at DueAt and handled it later.
	Missed    bool   `json:"missed,omitempty"`
	JobID     string `json:"job_id,omitempty"`
	JobStatus string `json:"job_status,omitempty"`
	QueueID   string `json:"queue_id,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parse validates s (trimmed) and returns its schedule, due in its zone.
// Errors are *FieldError naming prefix+"cron" or prefix+"timezone".
func (s *ScheduleSpec) parse(prefix string) (cron.Schedule, error) {
	s.Cron = strings.Join(strings.Fields(s.Cron), " ")
	s.Timezone = strings.TrimSpace(s.Timezone)
	if s.Cron == "" {
		return nil, &FieldError{prefix + "cron", `required: a cron expression such as "0 1 * * *"`}
	}
	if len(s.Cron) > 200 {
		return nil, &FieldError{prefix + "cron", "longer than 200 characters"}
	}
	if strings.HasPrefix(s.Cron, "TZ=") || strings.HasPrefix(s.Cron, "CRON_TZ=") {
		return nil, &FieldError{prefix + "cron", "give the time zone in timezone, not in the expression"}
	}
	if s.Timezone == "" {
		return nil, &FieldError{prefix + "timezone", `required: an IANA time zone such as "Asia/Seoul" or "UTC"`}
	}
	if s.Timezone == "Local" || strings.HasPrefix(s.Timezone, "/") || strings.Contains(s.Timezone, "..") {
		return nil, &FieldError{prefix + "timezone", fmt.Sprintf("%q is not an IANA time zone name", s.Timezone)}
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return nil, &FieldError{prefix + "timezone", fmt.Sprintf("%q is not a known IANA time zone", s.Timezone)}
	}
	sched, err := cronParser.Parse(s.Cron)
	if err != nil {
		return nil, &FieldError{prefix + "cron", fmt.Sprintf("%q: %v", s.Cron, err)}
	}
	var wall cron.Schedule = sched
	switch c := sched.(type) {
	case *cron.SpecSchedule:
		w := *c
		w.Location = time.UTC // read on wall-clock readings, see zonedSchedule
		wall = &w
		c.Location = loc
	case cron.ConstantDelaySchedule:
		return nil, &FieldError{prefix + "cron", "@every is not supported: give the times of day (e.g. \"0 */6 * * *\")"}
	}
	z := zonedSchedule{inner: sched, wall: wall, loc: loc}
	if f := strings.Fields(s.Cron); s.Cron == "@hourly" || len(f) == 5 && strings.HasPrefix(f[1], "*") {
		z.byElapsed = true
	}
	if z.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, &FieldError{prefix + "cron", fmt.Sprintf("%q never comes due", s.Cron)}
	}
	return z, nil
}

// zonedSchedule is a cron schedule read in loc. A schedule at fixed times
// of day ("0 1 * * *", "30 2 * * 1-5") is evaluated on wall-clock
// readings and then placed in loc, so it runs once per scheduled day
// across DST changes: when the clocks go back, the repeated time runs once
// (its first occurrence; robfig/cron alone runs it twice), and a time the
// clocks skip when they go forward runs once that day at the same offset
// from before the change (02:30 in New York on the spring-forward night
// runs at 03:30 EDT; robfig/cron alone skips the day). Schedules with a
// wildcard hour ("*/15 * * * *", "0 * * * *") run by elapsed time
// (robfig/cron in loc).
type zonedSchedule struct {
	inner     cron.Schedule // in loc
	wall      cron.Schedule // the same spec in UTC, applied to wall-clock readings
	loc       *time.Location
	byElapsed bool
}

func (z zonedSchedule) Next(t time.Time) time.Time {
	if z.byElapsed {
		return z.inner.Next(t)
	}
	w := wallClock(t, z.loc)
	for i := 0; i < 4; i++ {
		nw := z.wall.Next(w)
		if nw.IsZero() {
			return nw
		}
		r, exists := firstInstant(nw, z.loc)
		if !exists {
			// skipped by the clocks going forward: the wall-clock time at
			// the offset in effect before the change
			_, before := r.Add(-12 * time.Hour).Zone()
			r = nw.Add(-time.Duration(before) * time.Second)
		}
		if r.After(t) {
			return r
		}
		w = nw // its first occurrence has been: not again in the repeated hour
	}
	return time.Time{}
}

// firstInstant is the earliest instant whose wall-clock reading in loc is
// w (a UTC time, see wallClock), and whether there is one (false: the
// clocks skip w; the instant is then time.Date's normalisation). In the
// hour the clocks repeat there are two; time.Date picks either (the later
// one in zones east of UTC), this the first.
func firstInstant(w time.Time, loc *time.Location) (time.Time, bool) {
	r := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
	if !wallClock(r, loc).Equal(w) {
		return r, false
	}
	for _, probe := range []time.Duration{-12 * time.Hour, 12 * time.Hour} {
		_, off := r.Add(probe).Zone()
		if c := w.Add(-time.Duration(off) * time.Second); c.Before(r) && wallClock(c, loc).Equal(w) {
			r = c
		}
	}
	return r, true
}

// wallClock is t's wall-clock reading in loc, as a UTC time for comparing.
func wallClock(t time.Time, loc *time.Location) time.Time {
	w := t.In(loc)
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
}

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

// scheduleRow is a stored schedule; since is the last scheduled time
// handled (or when the schedule was set): times after it are owed.
type scheduleRow struct {
	transportID, cron, timezone string
	since                       time.Time
}

// PutSchedule stores a transport's schedule; its first run is after now.
func (s *Store) PutSchedule(ctx context.Context, transportID string, spec ScheduleSpec, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM transports WHERE id = ?`, transportID).Scan(&n); err != nil {
			return fmt.Errorf("jobs: set schedule of %s: %w", transportID, err)
		}
		if n == 0 {
			return fmt.Errorf("jobs: transport %s: %w", transportID, ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schedules(transport_id, cron, timezone, since, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(transport_id) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone,
			since = excluded.since, updated_at = excluded.updated_at`,
			transportID, spec.Cron, spec.Timezone, now.UnixNano(), now.UnixNano()); err != nil {
			return fmt.Errorf("jobs: set schedule of %s: %w", transportID, err)
		}
		return nil
	})
}

// DeleteSchedule removes a transport's schedule, if any.
func (s *Store) DeleteSchedule(ctx context.Context, transportID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM schedules WHERE transport_id = ?`, transportID); err != nil {
		return fmt.Errorf("jobs: remove schedule of %s: %w", transportID, err)
	}
	return nil
}

func (s *Store) getSchedule(ctx context.Context, transportID string) (scheduleRow, bool, error) {
	r := scheduleRow{transportID: transportID}
	var since int64
	err := s.db.QueryRowContext(ctx, `SELECT cron, timezone, since FROM schedules WHERE transport_id = ?`, transportID).
		Scan(&r.cron, &r.timezone, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("jobs: schedule of %s: %w", transportID, err)
	}
	r.since = fromNanos(since)
	return r, true, nil
}

func (s *Store) listSchedules(ctx context.Context) ([]scheduleRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT transport_id, cron, timezone, since FROM schedules ORDER BY transport_id`)
	if err != nil {
		return nil, fmt.Errorf("jobs: list schedules: %w", err)
	}
	defer rows.Close()
	var out []scheduleRow
	for rows.Next() {
		var r scheduleRow
		var since int64
		if err := rows.Scan(&r.transportID, &r.cron, &r.timezone, &since); err != nil {
			return nil, fmt.Errorf("jobs: list schedules: %w", err)
		}
		r.since = fromNanos(since)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: list schedules: %w", err)
	}
	return out, nil
}

// recordScheduledRun stores how a scheduled time was handled and moves the
// schedule past it, in one transaction.
func (s *Store) recordScheduledRun(ctx context.Context, transportID string, r ScheduledRun, due time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO scheduled_runs(transport_id, due_at, recorded_at, outcome, missed, job_id, queue_id, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, transportID, r.DueAt.UnixNano(), r.RecordedAt.UnixNano(), r.Outcome, r.Missed,
			r.JobID, r.QueueID, r.Reason); err != nil {
			return fmt.Errorf("jobs: record scheduled run of %s: %w", transportID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schedules SET since = ? WHERE transport_id = ? AND since < ?`,
			due.UnixNano(), transportID, due.UnixNano()); err != nil {
			return fmt.Errorf("jobs: advance schedule of %s: %w", transportID, err)
		}
		return nil
	})
}

// lastScheduledRun is the newest handled scheduled time of a transport,
// with its job's status.
func (s *Store) lastScheduledRun(ctx context.Context, transportID string) (ScheduledRun, bool, error) {
	var r ScheduledRun
	var due, rec int64
	var status sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT r.due_at, r.recorded_at, r.outcome, r.missed, r.job_id, r.queue_id, r.reason, j.status
		FROM scheduled_runs r LEFT JOIN jobs j ON j.id = r.job_id
		WHERE r.transport_id = ? ORDER BY r.id DESC LIMIT 1`, transportID).
		Scan(&due, &rec, &r.Outcome, &r.Missed, &r.JobID, &r.QueueID, &r.Reason, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("jobs: last scheduled run of %s: %w", transportID, err)
	}
	r.DueAt, r.RecordedAt, r.JobStatus = fromNanos(due), fromNanos(rec), status.String
	return r, true, nil
}

// ScheduledRuns lists the handled scheduled times of a transport, oldest first.
func (s *Store) ScheduledRuns(ctx context.Context, transportID string) ([]ScheduledRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.due_at, r.recorded_at, r.outcome, r.missed, r.job_id, r.queue_id, r.reason, COALESCE(j.status, '')
		FROM scheduled_runs r LEFT JOIN jobs j ON j.id = r.job_id WHERE r.transport_id = ? ORDER BY r.id`, transportID)
	if err != nil {
		return nil, fmt.Errorf("jobs: scheduled runs of %s: %w", transportID, err)
	}
	defer rows.Close()
	var out []ScheduledRun
	for rows.Next() {
		var r ScheduledRun
		var due, rec int64
		if err := rows.Scan(&due, &rec, &r.Outcome, &r.Missed, &r.JobID, &r.QueueID, &r.Reason, &r.JobStatus); err != nil {
			return nil, fmt.Errorf("jobs: scheduled runs of %s: %w", transportID, err)
		}
		r.DueAt, r.RecordedAt = fromNanos(due), fromNanos(rec)
		out = append(out, r)
	}
	return out, rows.Err()
}

// setJobTrigger records what started a job.
func (s *Store) setJobTrigger(ctx context.Context, jobID, trigger string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE jobs SET trigger_kind = ? WHERE id = ?`, trigger, jobID); err != nil {
		return fmt.Errorf("jobs: record trigger of %s: %w", jobID, err)
	}
	return nil
}
