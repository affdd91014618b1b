package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// printResult prints a changed transport: its JSON as the API answers a
// PUT, or the human summary.
func (s *state) printResult(ctx context.Context, stdout io.Writer, o *options, t jobs.Transport) error {
	s.retentionState(ctx, &t, false)
	if o.json {
		return writeJSON(stdout, t)
	}
	printTransport(stdout, t)
	return nil
}

func printTransport(w io.Writer, t jobs.Transport) {
	line := func(k, v string) { fmt.Fprintf(w, "%-10s %s\n", k+":", v) }
	line("id", t.ID)
	line("name", t.Name)
	line("tables", strings.Join(t.Tables, ", "))
	line("bucket", t.TargetBucket)
	if t.Schedule != nil {
		line("schedule", t.Schedule.Cron+" ("+t.Schedule.Timezone+"), next run "+nextRunText(t.Schedule))
	} else {
		line("schedule", "none")
	}
	if r := t.LastScheduledRun; r != nil {
		v := r.DueAt.Format(time.RFC3339) + " " + r.Outcome
		if r.JobID != "" {
			v += " " + r.JobID
		}
		if r.JobStatus != "" {
			v += " (" + r.JobStatus + ")"
		}
		if r.Reason != "" {
			v += ": " + r.Reason
		}
		line("last run", v+" [scheduled]")
	}
	line("windows", windowsText(t.Windows))
	line("retention", retentionText(t))
	line("last job", lastJobText(t))
}

func nextRunText(s *jobs.Schedule) string {
	if s.NextRun == nil {
		return "never"
	}
	if loc, err := time.LoadLocation(s.Timezone); err == nil {
		return s.NextRun.In(loc).Format("2006-01-02 15:04 MST")
	}
	return s.NextRun.Format(time.RFC3339)
}

func windowsText(w *jobs.WindowSpec) string {
	if w == nil {
		return "always open"
	}
	parts := make([]string, 0, len(w.Allow))
	for _, r := range w.Allow {
		d := r.Days
		if d == "" {
			d = "*"
		}
		parts = append(parts, d+" "+r.From+"-"+r.To)
	}
	s := strings.Join(parts, ", ") + " " + w.Timezone
	if w.OnClose == jobs.OnCloseStop {
		s += " (on close: stop)"
	}
	return s
}

func retentionText(t jobs.Transport) string {
	s := strconv.Itoa(t.RetentionDays) + " days"
	r := t.Retention
	switch {
	case r == nil:
		return s + ", lifecycle rule not checked (--check)"
	case r.Enforced && r.By == "sweep":
		return s + ", by the server's daily sweep"
	case r.Enforced:
		return s + ", by the bucket's lifecycle rule"
	}
	return s + ", NOT enforced: " + firstLine(r.Reason)
}

// firstLine is s up to its first line break (the storage client's errors
// add "More details" lines).
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

func lastJobText(t jobs.Transport) string {
	if t.LastJobID == "" {
		return "-"
	}
	return t.LastJobVersion + " " + t.LastJobID + " " + t.Status
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
