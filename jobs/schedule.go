package jobs

import (
	"context"
	"fmt"
	"strings"
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
