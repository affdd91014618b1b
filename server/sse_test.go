package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// serve starts s on a real listener on 127.0.0.1 and returns its base URL;
// the server is shut down when the test ends.
func serve(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

type sseMessage struct {
	id, event string
	data      map[string]any
}

// readSSE parses messages from r until EOF, sending each to out.
func readSSE(r io.Reader, out chan<- sseMessage) error {
	defer close(out)
	sc := bufio.NewScanner(r)
	var m sseMessage
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if m.event != "" {
				out <- m
			}
			m = sseMessage{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			m.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			m.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[6:]), &m.data); err != nil {
				return fmt.Errorf("data %q: %w", line, err)
			}
		default:
			return fmt.Errorf("unexpected line %q", line)
		}
	}
	return sc.Err()
}

func openStream(t testing.TB, ctx context.Context, base, trpID string) (*http.Response, chan sseMessage, chan error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/transport/"+trpID+"/status", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("status stream: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	msgs, errc := make(chan sseMessage, 100), make(chan error, 1)
	go func() { errc <- readSSE(resp.Body, msgs) }()
	return resp, msgs, errc
}

func next(t testing.TB, msgs <-chan sseMessage) (sseMessage, bool) {
	t.Helper()
	select {
	case m, ok := <-msgs:
		return m, ok
	case <-time.After(20 * time.Second):
		t.Fatal("no SSE message within 20s")
		return sseMessage{}, false
	}
}

// jobEvents is the event sequence of a two-table job.
func jobEvents() []jobs.Event {
	return []jobs.Event{
		{Type: jobs.EventTableStart, Table: "VBRK", CurrentTable: "VBRK"},
		{Type: jobs.EventProgress, Table: "VBRK", RowsProcessed: 50000, RowsPerSecond: 105234, ProgressPercent: 20, CurrentTable: "VBRK",
			Overall: &jobs.Overall{RowsProcessed: 50000, ProgressPercent: 10, TablesTotal: 2}},
		{Type: jobs.EventError, Table: "VBRK", Error: "connection reset", Retrying: true, Attempt: 1, ErrorCode: "transient"},
		{Type: jobs.EventTableComplete, Table: "VBRK", TotalRows: 250000, BytesTransferred: 45678901, DurationSeconds: 2.4, GCSPath: "gs://b/x/v001/VBRK.jsonl.gz"},
		{Type: jobs.EventTableStart, Table: "LIKP", CurrentTable: "LIKP"},
		{Type: jobs.EventTableComplete, Table: "LIKP", TotalRows: 500000},
		{Type: jobs.EventComplete, TotalRows: 750000, TotalDurationSeconds: 7.5, Status: jobs.StatusCompleted},
	}
}

func checkSequence(t *testing.T, got []sseMessage, trpID, jobID string) {
	t.Helper()
	want := jobEvents()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(got), len(want), got)
	}
	prev := 0
	for i, m := range got {
		if m.event != want[i].Type {
			t.Errorf("event %d = %s, want %s", i, m.event, want[i].Type)
		}
		var id int
		num, ok := strings.CutPrefix(m.id, jobID+":")
		if _, err := fmt.Sscan(num, &id); !ok || err != nil || id <= prev {
			t.Errorf("event %d id %q not increasing after %d", i, m.id, prev)
		}
		prev = id
		if m.data["transport_id"] != trpID || m.data["job_id"] != jobID || m.data["job_version"] != "v001" || m.data["timestamp"] == nil {
			t.Errorf("event %d common fields: %v", i, m.data)
		}
	}
	if p := got[1].data; p["rows_processed"] != float64(50000) || p["rows_per_second"] != float64(105234) || p["progress_percent"] != float64(20) ||
		p["current_table"] != "VBRK" || p["overall"].(map[string]any)["tables_total"] != float64(2) {
		t.Errorf("progress = %v", p)
	}
	if e := got[2].data; e["error"] != "connection reset" || e["retrying"] != true || e["attempt"] != float64(1) {
		t.Errorf("error = %v", e)
	}
	if c := got[3].data; c["total_rows"] != float64(250000) || c["bytes_transferred"] != float64(45678901) || c["duration_seconds"] != 2.4 {
		t.Errorf("table_complete = %v", c)
	}
	if c := got[6].data; c["total_rows"] != float64(750000) || c["total_duration_seconds"] != 7.5 || c["status"] != "completed" {
		t.Errorf("complete = %v", c)
	}
}

func TestSSEStream(t *testing.T) {
	s, svc, _ := newTestServer(t, func(o *Options) { o.SSEHeartbeat = 20 * time.Millisecond })
	base := serve(t, s)
	trpID := createTransport(t, s, "VBRK", "LIKP")
	job, err := svc.Execute(context.Background(), trpID)
	if err != nil {
		t.Fatal(err)
	}
	resp, msgs, errc := openStream(t, context.Background(), base, trpID)
	defer resp.Body.Close()
	if resp.Header.Get("X-Request-ID") == "" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("headers = %v", resp.Header)
	}
	waitFor(t, func() bool { return svc.liveSubscribers(trpID) == 1 })

	var got []sseMessage
	for _, ev := range jobEvents() {
		svc.publish(trpID, ev)
		m, ok := next(t, msgs)
		if !ok {
			t.Fatal("stream ended early")
		}
		got = append(got, m)
	}
	// The stream ends after complete.
	if m, ok := next(t, msgs); ok {
		t.Fatalf("event after complete: %+v", m)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	checkSequence(t, got, trpID, job.ID)
	waitFor(t, func() bool { return svc.released.Load() == svc.subscribed.Load() })

	t.Run("late subscriber gets the replay", func(t *testing.T) {
		resp, msgs, errc := openStream(t, context.Background(), base, trpID)
		defer resp.Body.Close()
		var replay []sseMessage
		for m := range msgs {
			replay = append(replay, m)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		checkSequence(t, replay, trpID, job.ID)
	})
}

func TestSSELateSubscriberMidJob(t *testing.T) {
	s, svc, _ := newTestServer(t, nil)
	base := serve(t, s)
	trpID := createTransport(t, s, "VBRK", "LIKP")
	job, _ := svc.Execute(context.Background(), trpID)
	evs := jobEvents()
	for _, ev := range evs[:3] {
		svc.publish(trpID, ev)
	}
	resp, msgs, errc := openStream(t, context.Background(), base, trpID)
	defer resp.Body.Close()
	var got []sseMessage
	for range 3 {
		m, _ := next(t, msgs)
		got = append(got, m)
	}
	waitFor(t, func() bool { return svc.liveSubscribers(trpID) == 1 })
	for _, ev := range evs[3:] {
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

func TestSSEClientDisconnectReleasesSubscription(t *testing.T) {
	s, svc, logs := newTestServer(t, func(o *Options) { o.SSEHeartbeat = 10 * time.Millisecond })
	base := serve(t, s)
	trpID := createTransport(t, s, "VBRK")
	svc.Execute(context.Background(), trpID)
	svc.publish(trpID, jobEvents()[0])

	ctx, cancel := context.WithCancel(context.Background())
	resp, msgs, _ := openStream(t, ctx, base, trpID)
	if m, _ := next(t, msgs); m.event != jobs.EventTableStart {
		t.Fatalf("first event %+v", m)
	}
	if svc.released.Load() != 0 {
		t.Fatal("released before the client left")
	}
	cancel() // the client goes away mid-job
	resp.Body.Close()
	waitFor(t, func() bool { return svc.released.Load() == 1 && svc.liveSubscribers(trpID) == 0 })
	waitFor(t, func() bool { return strings.Contains(logs.String(), `"reason":"client gone"`) })
}

func TestSSEShutdownSendsFinalEvent(t *testing.T) {
	s, svc, _ := newTestServer(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	trpID := createTransport(t, s, "VBRK")
	svc.Execute(context.Background(), trpID)
	resp, msgs, _ := openStream(t, context.Background(), "http://"+ln.Addr().String(), trpID)
	defer resp.Body.Close()
	waitFor(t, func() bool { return svc.liveSubscribers(trpID) == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	m, ok := next(t, msgs)
	if !ok || m.event != jobs.EventError || m.data["code"] != CodeShuttingDown {
		t.Errorf("final event = %+v %v", m, ok)
	}
	if _, ok := next(t, msgs); ok {
		t.Error("stream continues after shutdown")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if svc.released.Load() != 1 {
		t.Errorf("released = %d", svc.released.Load())
	}
}

func TestRealListenerErrors(t *testing.T) {
	s, _, _ := newTestServer(t, func(o *Options) { o.BodyLimit = 4096 })
	base := serve(t, s)
	t.Run("body too large", func(t *testing.T) {
		body := `{"name":"x","tables":["VBRK"],"description":"` + strings.Repeat("a", 8192) + `"}`
		req, _ := http.NewRequest("POST", base+"/api/v1/transport", strings.NewReader(body))
		req.Header.Set("X-API-Key", testKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		checkError(t, response{status: resp.StatusCode, header: resp.Header, body: b}, 413, CodeBodyTooLarge)
	})
	t.Run("status of a transport without jobs", func(t *testing.T) {
		// An open stream waiting for the first job (TestSSEWaitsForFirstJob).
		trpID := createTransport(t, s, "VBRK")
		req, _ := http.NewRequest("GET", base+"/api/transport/"+trpID+"/status", nil)
		req.Header.Set("X-API-Key", testKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}

// waitFor polls cond until it holds; it fails the test after 20 s (a hang,
// not a timing assertion).
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 20s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkAPILatency measures GET /api/v1/transport/:id and GET
// /api/v1/jobs through a real listener while a job streams progress events
// to an SSE subscriber; it reports p50 and p99 in milliseconds.
func BenchmarkAPILatency(b *testing.B) {
	s, svc, _ := newTestServer(b, nil)
	base := serve(b, s)
	trpID := createTransport(b, s, "VBRP", "VBRK", "LIKP")
	for range 50 { // some history to list
		svc.Execute(context.Background(), trpID)
		svc.finish(jobs.StatusCompleted)
	}
	svc.Execute(context.Background(), trpID)
	ctx, cancel := context.WithCancel(context.Background())
	resp, msgs, _ := openStream(b, ctx, base, trpID)
	go func() {
		for range msgs {
		}
	}()
	stop := make(chan struct{})
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := int64(0); ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				svc.publish(trpID, jobs.Event{Type: jobs.EventProgress, Table: "VBRP", RowsProcessed: i * 1000, CurrentTable: "VBRP"})
			}
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	paths := []string{"/api/v1/transport/" + trpID, "/api/v1/jobs"}
	lat := make([][]time.Duration, len(paths))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := i % len(paths)
		req, _ := http.NewRequest("GET", base+paths[p], nil)
		req.Header.Set("X-API-Key", testKey)
		start := time.Now()
		r, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		lat[p] = append(lat[p], time.Since(start))
		if r.StatusCode != 200 {
			b.Fatalf("%s: %d", paths[p], r.StatusCode)
		}
	}
	b.StopTimer()
	close(stop)
	<-streamed
	cancel()
	resp.Body.Close()
	client.CloseIdleConnections()
	for p, name := range []string{"transport", "jobs"} {
		if len(lat[p]) == 0 {
			continue
		}
		sort.Slice(lat[p], func(i, j int) bool { return lat[p][i] < lat[p][j] })
		q := func(f float64) float64 { return float64(lat[p][int(f*float64(len(lat[p])-1))].Microseconds()) / 1000 }
		b.ReportMetric(q(0.50), name+"_p50_ms")
		b.ReportMetric(q(0.99), name+"_p99_ms")
	}
}

// TestSSEOutlivesWriteTimeout keeps a stream open for several write
// timeouts; every event must still arrive.
func TestSSEOutlivesWriteTimeout(t *testing.T) {
	s, svc, _ := newTestServer(t, func(o *Options) {
		o.WriteTimeout = 100 * time.Millisecond
		o.SSEHeartbeat = 20 * time.Millisecond
	})
	base := serve(t, s)
	trpID := createTransport(t, s, "VBRK", "LIKP")
	job, _ := svc.Execute(context.Background(), trpID)
	resp, msgs, errc := openStream(t, context.Background(), base, trpID)
	defer resp.Body.Close()
	var got []sseMessage
	for _, ev := range jobEvents() {
		time.Sleep(60 * time.Millisecond) // 7×60 ms: the stream lives 4× the write timeout
		svc.publish(trpID, ev)
		m, ok := next(t, msgs)
		if !ok {
			t.Fatalf("stream cut after %d events", len(got))
		}
		got = append(got, m)
	}
	if _, ok := next(t, msgs); ok {
		t.Fatal("event after complete")
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	checkSequence(t, got, trpID, job.ID)
}
