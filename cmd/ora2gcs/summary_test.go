package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// TestSummaryAbsentTimes: a table that failed before it started, and a job
// without an end, show "-" as their duration, never Go's saturated
// 9223372036.85 seconds.
func TestSummaryAbsentTimes(t *testing.T) {
	start := time.Date(2026, 1, 18, 10, 0, 0, 0, time.UTC)
	end := start.Add(3 * time.Second)
	msg := "snapshot failed"
	job := jobs.Job{ID: "JOB-1", TransportID: "TRP-1", Version: "v001", Status: jobs.StatusFailed, StartedAt: start, CompletedAt: &end,
		Tables: []jobs.TableExtraction{
			{TableName: "VBRP", Status: jobs.StatusFailed, CompletedAt: &end, Error: &msg}, // never started
			{TableName: "VBRK", Status: jobs.StatusCompleted, StartedAt: start, CompletedAt: &end, RowCount: 5},
			{TableName: "LIKP", Status: jobs.StatusPending},
		}}
	var b strings.Builder
	printSummary(&b, job)
	out := b.String()
	if strings.Contains(out, "9223372036") {
		t.Fatalf("saturated duration:\n%s", out)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	for table, want := range map[string]string{"VBRP": " - ", "LIKP": " - ", "VBRK": " 3.00 ", "TOTAL": " 3.00 "} {
		if !strings.Contains(lines[table]+" ", want) {
			t.Errorf("%s: want %q in %q", table, want, lines[table])
		}
	}
	job.CompletedAt = nil
	b.Reset()
	printSummary(&b, job)
	if l := b.String(); !strings.Contains(l, "TOTAL") || strings.Contains(l, "9223372036") {
		t.Errorf("running job:\n%s", l)
	}
}
