package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// errOutsideWindow: a run may not start now, the transport's window is closed.
var errOutsideWindow = errors.New("outside the allowed window")

// OutsideWindowError refuses a manual execute outside the transport's
// allowed window (409 outside_window); NextOpen is when it opens next.
type OutsideWindowError struct {
	TransportID string
	NextOpen    time.Time
}

func (e *OutsideWindowError) Error() string {
	return "jobs: " + e.TransportID + " is outside its allowed window; it opens at " + e.NextOpen.UTC().Format(time.RFC3339)
}
func (e *OutsideWindowError) Unwrap() error { return errOutsideWindow }

// What happens to a job still running when its window closes.
const (
	OnCloseFinish = "finish" // it runs to its end (default)
	OnCloseStop   = "stop"   // it is interrupted: failed "interrupted", nothing at a final name
)

// WindowSpec declares when a transport's jobs may run (spec BC-01): in
// Timezone, each rule allows From–To on its Days ("mon-fri", "sat,sun",
// "*"); To at or before From runs past midnight into the next day (the
// window belongs to the day it opens), "00:00"-"24:00" is all day. Outside
// every rule, scheduled runs wait and manual executes are refused unless
// forced.
type WindowSpec struct {
	Timezone string       `json:"timezone"`
	Allow    []WindowRule `json:"allow"`
	OnClose  string       `json:"on_close,omitempty"` // finish (default) or stop
}

// WindowRule is one allowed period, e.g. {"days":"mon-fri","from":"22:00","to":"06:00"}.
type WindowRule struct {
	Days string `json:"days"`
	From string `json:"from"`
	To   string `json:"to"`
}

// windows is a parsed WindowSpec.
type windows struct {
	loc     *time.Location
	rules   []window
	onClose string
}

type window struct {
	days     [7]bool // by time.Weekday
	from, to int     // minutes of the day; to may be 1440
}

var dayNames = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// parse validates w (prefix names the field in errors, e.g. "windows.").
func (w *WindowSpec) parse(prefix string) (*windows, error) {
	w.Timezone = strings.TrimSpace(w.Timezone)
	if w.Timezone == "" || w.Timezone == "Local" {
		return nil, &FieldError{prefix + "timezone", `required: an IANA time zone such as "Asia/Seoul"`}
	}
	loc, err := time.LoadLocation(w.Timezone)
	if err != nil {
		return nil, &FieldError{prefix + "timezone", fmt.Sprintf("%q is not a known IANA time zone", w.Timezone)}
	}
	switch w.OnClose {
	case "":
		w.OnClose = OnCloseFinish
	case OnCloseFinish, OnCloseStop:
	default:
		return nil, &FieldError{prefix + "on_close", fmt.Sprintf("%q is not finish or stop", w.OnClose)}
	}
	if len(w.Allow) == 0 || len(w.Allow) > 50 {
		return nil, &FieldError{prefix + "allow", "must list 1 to 50 periods"}
	}
	out := &windows{loc: loc, onClose: w.OnClose}
	for i, r := range w.Allow {
		f := fmt.Sprintf("%sallow[%d].", prefix, i)
		var win window
		if err := parseDays(strings.ToLower(strings.TrimSpace(r.Days)), &win.days); err != nil {
			return nil, &FieldError{f + "days", err.Error()}
		}
		var ok bool
		if win.from, ok = parseClock(r.From); !ok || win.from == 1440 {
			return nil, &FieldError{f + "from", fmt.Sprintf("%q is not a time HH:MM", r.From)}
		}
		if win.to, ok = parseClock(r.To); !ok {
			return nil, &FieldError{f + "to", fmt.Sprintf("%q is not a time HH:MM (24:00 for the end of the day)", r.To)}
		}
		if win.to == win.from {
			return nil, &FieldError{f + "to", "equals from: the period would be empty (use 00:00-24:00 for all day)"}
		}
		out.rules = append(out.rules, win)
	}
	return out, nil
}

func parseDays(s string, days *[7]bool) error {
	if s == "" || s == "*" || s == "daily" {
		*days = [7]bool{true, true, true, true, true, true, true}
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		a, b, isRange := strings.Cut(part, "-")
		from, ok1 := dayNames[a]
		to := from
		ok2 := true
		if isRange {
			to, ok2 = dayNames[b]
		}
		if !ok1 || !ok2 {
			return fmt.Errorf("%q: want day names mon…sun, ranges (mon-fri) or lists (sat,sun)", s)
		}
		for d := from; ; d = (d + 1) % 7 {
			days[d] = true
			if d == to {
				break
			}
		}
	}
	return nil
}

func parseClock(s string) (int, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return hh*60 + mm, true
}

// open says whether t is inside a period.
func (w *windows) open(t time.Time) bool {
	l := t.In(w.loc)
	mins := l.Hour()*60 + l.Minute()
	today, yesterday := int(l.Weekday()), (int(l.Weekday())+6)%7
	for _, r := range w.rules {
		if r.to > r.from { // same day
			if r.days[today] && mins >= r.from && mins < r.to {
				return true
			}
			continue
		}
		// past midnight: today's evening part, or yesterday's morning part
		if r.days[today] && mins >= r.from || r.days[yesterday] && mins < r.to {
			return true
		}
	}
	return false
}

// nextOpen is the first minute at or after t inside a period (zero if none
// within two weeks, which a valid spec cannot give).
func (w *windows) nextOpen(t time.Time) time.Time {
	if w.open(t) {
		return t
	}
	best := time.Time{}
	l := t.In(w.loc)
	for d := 0; d <= 8; d++ {
		day := time.Date(l.Year(), l.Month(), l.Day()+d, 0, 0, 0, 0, w.loc)
		for _, r := range w.rules {
			if !r.days[int(day.Weekday())] {
				continue
			}
			start := time.Date(day.Year(), day.Month(), day.Day(), r.from/60, r.from%60, 0, 0, w.loc)
			if start.After(t) && (best.IsZero() || start.Before(best)) {
				best = start
			}
		}
		if !best.IsZero() {
			break
		}
	}
	return best.UTC()
}

// SetWindows sets (spec non-nil) or removes (nil) a transport's allowed
// windows. Errors: *FieldError naming the field, ErrNotFound.
func (m *Manager) SetWindows(ctx context.Context, transportID string, spec *WindowSpec) (Transport, error) {
	raw := ""
	if spec != nil {
		if _, err := spec.parse(""); err != nil {
			return Transport{}, err
		}
		b, err := json.Marshal(spec)
		if err != nil {
			return Transport{}, fmt.Errorf("jobs: windows of %s: %w", transportID, err)
		}
		raw = string(b)
	}
	if _, err := m.store.GetTransport(ctx, transportID); err != nil {
		return Transport{}, err
	}
	if _, err := m.store.db.ExecContext(ctx, `INSERT INTO transport_policies(transport_id, windows) VALUES (?, ?)
		ON CONFLICT(transport_id) DO UPDATE SET windows = excluded.windows`, transportID, raw); err != nil {
		return Transport{}, fmt.Errorf("jobs: set windows of %s: %w", transportID, err)
	}
	m.log.Info("windows set", "transport_id", transportID, "windows", raw)
	m.poke()
	return m.GetTransport(ctx, transportID)
}

// transportWindows is the transport's own windows, else the Manager's
// default (ManagerConfig.DefaultWindows), else nil (always open).
func (m *Manager) transportWindows(ctx context.Context, transportID string) (*WindowSpec, *windows) {
	spec, w, _ := m.resolveWindows(ctx, transportID)
	return spec, w
}

// resolveWindows is transportWindows and whether the windows are the
// Manager's default.
func (m *Manager) resolveWindows(ctx context.Context, transportID string) (*WindowSpec, *windows, bool) {
	var raw string
	err := m.store.db.QueryRowContext(ctx, `SELECT windows FROM transport_policies WHERE transport_id = ?`, transportID).Scan(&raw)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		m.log.Error("windows: read", "transport_id", transportID, "error", err)
	}
	var spec *WindowSpec
	if raw != "" {
		spec = &WindowSpec{}
		if err := json.Unmarshal([]byte(raw), spec); err != nil {
			m.log.Error("windows: stored spec unreadable", "transport_id", transportID, "error", err)
			spec = nil
		}
	}
	dflt := false
	if spec == nil && m.cfg.DefaultWindows != nil {
		d := *m.cfg.DefaultWindows
		d.Allow = append([]WindowRule(nil), d.Allow...)
		spec, dflt = &d, true
	}
	if spec == nil {
		return nil, nil, false
	}
	w, err := spec.parse("")
	if err != nil {
		m.log.Error("windows: invalid", "transport_id", transportID, "error", err)
		return nil, nil, false
	}
	return spec, w, dflt
}

// windowBlocks says whether the transport's window is closed at now, and
// why. Transports without windows are always open.
func (m *Manager) windowBlocks(ctx context.Context, transportID string, now time.Time) (string, bool) {
	_, w := m.transportWindows(ctx, transportID)
	if w == nil || w.open(now) {
		return "", false
	}
	return "outside the allowed window (opens " + w.nextOpen(now).Format(time.RFC3339) + ")", true
}

// checkWindow returns an *OutsideWindowError if the transport's window is
// closed at now.
func (m *Manager) checkWindow(ctx context.Context, transportID string, now time.Time) error {
	_, w := m.transportWindows(ctx, transportID)
	if w == nil || w.open(now) {
		return nil
	}
	return &OutsideWindowError{TransportID: transportID, NextOpen: w.nextOpen(now)}
}

// closeWindows interrupts the running job if its transport's window has
// closed on it at now and its policy is stop (Tick calls it): the window
// was open at the job's start or at a tick since. A job forced outside its
// window runs on until the window has opened and closed again.
func (m *Manager) closeWindows(ctx context.Context, now time.Time) {
	m.mu.Lock()
	r := m.running
	m.mu.Unlock()
	if r == nil {
		return
	}
	_, w := m.transportWindows(ctx, r.job.TransportID)
	if w == nil || w.open(now) {
		r.windowOpened.Store(true)
		return
	}
	if w.onClose != OnCloseStop || !r.windowOpened.Load() {
		return // finish, or forced outside the window and it never opened
	}
	r.log.Warn("window closed: interrupting the job (on_close: stop)")
	r.cancel()
}

// WindowState is a transport's window at the time of its representation
// ("window_state"): open now, or when it opens next; and whether the
// windows are the server's default (config.yaml) rather than its own.
type WindowState struct {
	Open     bool       `json:"open"`
	NextOpen *time.Time `json:"next_open,omitempty"` // when closed
	Default  bool       `json:"default"`
}

// decorateWindows fills the transport's windows (its own or the default)
// and their state at the Manager's now.
func (m *Manager) decorateWindows(ctx context.Context, t *Transport) {
	spec, w, dflt := m.resolveWindows(ctx, t.ID)
	t.Windows = spec
	t.WindowState = nil
	if w == nil {
		return
	}
	now := m.now()
	st := &WindowState{Open: w.open(now), Default: dflt}
	if !st.Open {
		if next := w.nextOpen(now); !next.IsZero() {
			st.NextOpen = &next
		}
	}
	t.WindowState = st
}
