package jobs

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestMetricsDropEndedJobs: per-job series exist while the job runs and are
// dropped when it ends; the per-transport totals add up every ended job, so
// /metrics does not grow with the job history.
func TestMetricsDropEndedJobs(t *testing.T) {
	conn := newFakeConnector(&fakeTable{name: "A", rows: 25})
	e := newEnv(t, conn)
	tr := mustCreate(t, e.m, "m", "A")
	scrape := func() string {
		var buf bytes.Buffer
		e.m.Metrics().WritePrometheus(&buf)
		return buf.String()
	}
	gate := make(chan struct{})
	conn.tables["A"].gate = gate
	j, err := e.m.Execute(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if out := scrape(); !strings.Contains(out, `ora2gcs_job_rows_total{transport_id="`+tr.ID+`",job_id="`+j.ID+`"}`) {
		t.Errorf("the running job has no series:\n%s", out)
	}
	close(gate)
	if _, err := e.m.Wait(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	conn.tables["A"].gate = nil
	var lines int
	for i := range 5 {
		runJob(t, e.m, tr.ID)
		out := scrape()
		if strings.Contains(out, "ora2gcs_job_rows_total") || strings.Contains(out, "ora2gcs_job_bytes_total") {
			t.Fatalf("after job %d, ended jobs' series remain:\n%s", i+2, out)
		}
		n := 0 // series, without the histogram's buckets (bounded by its ranges, not by jobs)
		for _, l := range strings.Split(out, "\n") {
			if l != "" && !strings.Contains(l, "_bucket{") {
				n++
			}
		}
		if i == 0 {
			lines = n
		} else if n != lines {
			t.Errorf("/metrics grew from %d to %d lines after %d more jobs:\n%s", lines, n, i, out)
		}
	}
	if out := scrape(); !strings.Contains(out, `ora2gcs_transport_rows_total{transport_id="`+tr.ID+`"} 150`) {
		t.Errorf("transport total is not 6 jobs × 25 rows:\n%s", out)
	}
}
