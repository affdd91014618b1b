package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/jobs"
)

// serveInstance is `ora2gcs serve` in-process on a free port.
type serveInstance struct {
	base, key, dir string
	cancel         context.CancelFunc
	done           chan error
	logs           *testutil.LogBuffer
}

func startServe(t *testing.T, rows string, extra ...string) *serveInstance {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	si := &serveInstance{base: "http://" + addr, dir: dir, cancel: cancel, done: make(chan error, 1), logs: &testutil.LogBuffer{}}
	args := append([]string{"--listen", addr, "--data-dir", dir, "--target", "file://" + dir, "--rows", rows}, extra...)
	go func() { si.done <- cmdServe(ctx, args, io.Discard, si.logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-si.done:
		case <-time.After(60 * time.Second):
			t.Error("serve did not stop")
		}
	})
	for i := 0; ; i++ {
		r, err := http.Get(si.base + "/api/v1/health/live")
		if err == nil {
			r.Body.Close()
			break
		}
		if i == 200 {
			t.Fatalf("serve did not start: %v\n%s", err, si.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	key, err := os.ReadFile(filepath.Join(dir, "api_key"))
	if err != nil {
		t.Fatal(err)
	}
	si.key = strings.TrimSpace(string(key))
	return si
}

func (si *serveInstance) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, si.base+path, rd)
	req.Header.Set("X-API-Key", si.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// startJob creates a transport of the three synthetic tables, executes it
// and waits until it has read rows.
func (si *serveInstance) startJob(t *testing.T) (trpID, jobID string) {
	t.Helper()
	code, tr := si.do(t, "POST", "/api/v1/transport", map[string]any{"name": "shutdown", "tables": []string{"VBRP", "VBRK", "LIKP"}})
	if code != 201 {
		t.Fatalf("create: %d %v", code, tr)
	}
	trpID = tr["id"].(string)
	code, ex := si.do(t, "POST", "/api/v1/transport/"+trpID+"/execute", nil)
	if code != 202 {
		t.Fatalf("execute: %d %v", code, ex)
	}
	jobID = ex["job_id"].(string)
	for {
		_, j := si.do(t, "GET", "/api/v1/jobs/"+jobID, nil)
		if j["status"] != jobs.StatusRunning {
			t.Fatalf("job ended before the shutdown began: %v", j)
		}
		if rows, _ := j["total_rows"].(float64); rows > 0 || anyTableRows(j) {
			return trpID, jobID
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func anyTableRows(j map[string]any) bool {
	ts, _ := j["tables"].([]any)
	for _, x := range ts {
		if m, _ := x.(map[string]any); m != nil {
			if n, _ := m["row_count"].(float64); n > 0 {
				return true
			}
		}
	}
	return false
}

func storedJob(t *testing.T, dir, id string) jobs.Job {
	t.Helper()
	st, err := jobs.OpenStore(context.Background(), filepath.Join(dir, "ora2gcs.db"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	j, err := st.GetJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestServeShutdownFinishesJob: on SIGTERM the server finishes the running
// job (no maximum by default), refuses new work with 503 shutting_down
// meanwhile while reads keep working, then exits.
func TestServeShutdownFinishesJob(t *testing.T) {
	si := startServe(t, "100000")
	trpID, jobID := si.startJob(t)
	si.cancel() // SIGTERM
	for !strings.Contains(si.logs.String(), "shutting down") {
		time.Sleep(10 * time.Millisecond)
	}
	code, body := si.do(t, "POST", "/api/v1/transport/"+trpID+"/execute", nil)
	if e, _ := body["error"].(map[string]any); code != 503 || e["code"] != "shutting_down" {
		t.Errorf("execute during shutdown: %d %v", code, body)
	}
	if code, j := si.do(t, "GET", "/api/v1/jobs/"+jobID, nil); code != 200 || j["status"] != jobs.StatusRunning {
		t.Errorf("job read during shutdown: %d %v (the test needs the job still running here)", code, j["status"])
	}
	if code, _ := si.do(t, "GET", "/api/v1/health/ready", nil); code != 503 {
		t.Errorf("ready during shutdown: %d", code)
	}
	select {
	case err := <-si.done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(5 * time.Minute): // a safety net, not a speed assertion
		t.Fatal("serve did not stop after the job")
	}
	si.done <- nil // for the cleanup
	if j := storedJob(t, si.dir, jobID); j.Status != jobs.StatusCompleted {
		t.Fatalf("job after shutdown: %s %v; logs:\n%s", j.Status, j.Error, si.logs.String())
	}
}

// TestServeSecondSignalInterrupts: a second signal interrupts the running
// job at once; it is recorded failed "interrupted".
func TestServeSecondSignalInterrupts(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	orig := notifySignals
	notifySignals = func() (<-chan os.Signal, func()) { return sigs, func() {} }
	defer func() { notifySignals = orig }()
	si := startServe(t, "5000000")
	_, jobID := si.startJob(t)
	si.cancel()
	for !strings.Contains(si.logs.String(), "shutting down") {
		time.Sleep(10 * time.Millisecond)
	}
	sigs <- os.Interrupt
	select {
	case err := <-si.done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop after the second signal")
	}
	si.done <- nil
	j := storedJob(t, si.dir, jobID)
	if j.Status != jobs.StatusFailed || j.Error == nil || !strings.Contains(*j.Error, "interrupted") {
		t.Fatalf("job after the second signal: %s %v", j.Status, j.Error)
	}
}
