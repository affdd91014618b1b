package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestAbsentTimesAreNull: a table that has not started and a job that has
// not ended show null, never "0001-01-01T00:00:00Z".
func TestAbsentTimesAreNull(t *testing.T) {
	s, svc, _ := newTestServer(t, nil)
	trp := createTransport(t, s, "VBRP", "VBRK")
	job, err := svc.Execute(context.Background(), trp)
	if err != nil {
		t.Fatal(err)
	}
	svc.mu.Lock()
	svc.jobs[0].Tables[1].StartedAt = time.Time{} // not started yet
	done := fakeDay.Add(time.Minute)
	svc.jobs[0].Tables[0].CompletedAt = &done
	svc.mu.Unlock()

	r := call(t, s, "GET", "/api/v1/jobs/"+job.ID, "", authed)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "0001-01-01") {
		t.Errorf("zero time rendered: %s", r.body)
	}
	var got struct {
		StartedAt   *string `json:"started_at"`
		CompletedAt *string `json:"completed_at"`
		Tables      []map[string]json.RawMessage
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.StartedAt == nil || got.CompletedAt != nil || !strings.Contains(string(r.body), `"completed_at":null`) {
		t.Errorf("job times: %s", r.body)
	}
	if len(got.Tables) != 2 {
		t.Fatalf("tables: %s", r.body)
	}
	if string(got.Tables[1]["started_at"]) != "null" || string(got.Tables[1]["completed_at"]) != "null" {
		t.Errorf("unstarted table: started_at %s completed_at %s", got.Tables[1]["started_at"], got.Tables[1]["completed_at"])
	}
	if string(got.Tables[0]["completed_at"]) != `"`+done.Format(time.RFC3339)+`"` || string(got.Tables[0]["table_name"]) != `"VBRP"` {
		t.Errorf("completed table: %v", got.Tables[0])
	}
	r = call(t, s, "GET", "/api/v1/jobs", "", authed)
	if !strings.Contains(string(r.body), `"completed_at":null`) || strings.Contains(string(r.body), "0001-01-01") {
		t.Errorf("job list: %s", r.body)
	}
}
