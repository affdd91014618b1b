package server

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// openStreamFrom is openStream with a Last-Event-ID.
func openStreamFrom(t testing.TB, base, trpID, lastID string) []sseMessage {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/transport/"+trpID+"/status", nil)
	req.Header.Set("X-API-Key", testKey)
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	msgs := make(chan sseMessage, 100)
	errc := make(chan error, 1)
	go func() { errc <- readSSE(resp.Body, msgs) }()
	var out []sseMessage
	for m := range msgs {
		out = append(out, m)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSSEResumeAfterJobEnded: Last-Event-ID resumes exactly after the event
// it names and the stream always ends with complete, also when the client
// saw complete already or names another job.
func TestSSEResumeAfterJobEnded(t *testing.T) {
	s, svc, _ := newTestServer(t, nil)
	base := serve(t, s)
	trpID := createTransport(t, s, "VBRK", "LIKP")
	job, err := svc.Execute(context.Background(), trpID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ev := range jobEvents() {
		ev = svc.publish(trpID, ev)
		ids = append(ids, fmt.Sprintf("%s:%d", job.ID, ev.ID))
	}
	svc.finish(jobs.StatusCompleted)
	all := openStreamFrom(t, base, trpID, "")
	if len(all) != len(ids) {
		t.Fatalf("full replay: %d events", len(all))
	}
	for i := range all {
		if all[i].id != ids[i] {
			t.Fatalf("event %d id %q, want %q", i, all[i].id, ids[i])
		}
	}
	types := func(ms []sseMessage) string {
		var b []string
		for _, m := range ms {
			b = append(b, m.event)
		}
		return strings.Join(b, ",")
	}
	for _, tc := range []struct {
		last string
		want []sseMessage
	}{
		{ids[2], all[3:]},
		{ids[5], all[6:]},
		{ids[6], all[6:]},                   // saw complete: gets it again, never an empty stream
		{"JOB-19990101-001:5", all},         // another job: the whole replay
		{job.ID + ":999999999999", all[6:]}, // beyond the end
		{"garbage", all},
	} {
		got := openStreamFrom(t, base, trpID, tc.last)
		if types(got) != types(tc.want) || len(got) == 0 || got[len(got)-1].event != jobs.EventComplete {
			t.Errorf("Last-Event-ID %q: got %s, want %s", tc.last, types(got), types(tc.want))
			continue
		}
		for i := range got {
			if got[i].id != tc.want[i].id {
				t.Errorf("Last-Event-ID %q: event %d id %s, want %s", tc.last, i, got[i].id, tc.want[i].id)
			}
		}
	}
}

func TestLastEventIDCovers(t *testing.T) {
	ev := func(id int64, typ string) jobs.Event { return jobs.Event{ID: id, Type: typ, JobID: "JOB-1"} }
	for _, tc := range []struct {
		last string
		ev   jobs.Event
		want bool
	}{
		{"JOB-1:20", ev(20, jobs.EventProgress), true},
		{"JOB-1:20", ev(21, jobs.EventProgress), false},
		{"JOB-1:20", ev(3, jobs.EventComplete), false},
		{"JOB-2:20", ev(3, jobs.EventTableStart), false},
		{"20", ev(3, jobs.EventTableStart), true},
		// a live id against the store replay's numbering and back
		{"JOB-1:20", ev(jobs.ReplayIDBase+3, jobs.EventTableStart), false},
		{fmt.Sprintf("JOB-1:%d", jobs.ReplayIDBase+5), ev(7, jobs.EventTableStart), false},
		{fmt.Sprintf("JOB-1:%d", jobs.ReplayIDBase+5), ev(jobs.ReplayIDBase+5, jobs.EventTableStart), true},
		{"", ev(1, jobs.EventTableStart), false},
		{":5", ev(1, jobs.EventTableStart), false},
	} {
		if got := parseLastEventID(tc.last).covers(tc.ev); got != tc.want {
			t.Errorf("%q covers %d %s = %v", tc.last, tc.ev.ID, tc.ev.Type, got)
		}
	}
}

// TestSSEWaitsForFirstJob: a stream opened on a transport that has not run
// yet stays open with heartbeat comments and delivers the job executed
// after it, ending with complete.
func TestSSEWaitsForFirstJob(t *testing.T) {
	s, svc, _ := newTestServer(t, func(o *Options) {
		o.SSEHeartbeat = 20 * time.Millisecond
		o.SSEPoll = 10 * time.Millisecond
	})
	base := serve(t, s)
	trpID := createTransport(t, s, "VBRK", "LIKP")
	req, _ := http.NewRequest("GET", base+"/api/v1/transport/"+trpID+"/status", nil)
	req.Header.Set("X-API-Key", testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream before the first job: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	for pings := 0; pings < 2; {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream closed while waiting: %v", err)
		}
		if strings.HasPrefix(line, "event:") || strings.HasPrefix(line, "data:") {
			t.Fatalf("event before any job: %q", line)
		}
		if line == ": ping\n" {
			pings++
		}
	}
	job, err := svc.Execute(context.Background(), trpID)
	if err != nil {
		t.Fatal(err)
	}
	msgs, errc := make(chan sseMessage, 100), make(chan error, 1)
	go func() { errc <- readSSE(br, msgs) }()
	waitFor(t, func() bool { return svc.liveSubscribers(trpID) == 1 })
	var got []sseMessage
	for _, ev := range jobEvents() {
		svc.publish(trpID, ev)
	}
	for m := range msgs {
		got = append(got, m)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	checkSequence(t, got, trpID, job.ID)
}
