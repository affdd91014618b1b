package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/jobs"
)

// TestServeRetentionLifecycle: `serve` on a GCS target (the emulator, the
// bucket's metadata in a recording stand-in) applies a transport's
// retention as the bucket's lifecycle rule when it is created or changed,
// keeping the bucket's other rules as they were; without
// storage.buckets.update the transport is created and its jobs run, and its
// status says retention is not enforced and why; at start-up a rule changed
// behind its back is reported as drift in the transport's status.
func TestServeRetentionLifecycle(t *testing.T) {
	rec := startBucketRecorder(t, "bkt", foreignRules)
	foreign, foreignOurs := rec.rules(t), rec.ours(t)
	rec.mu.Lock()
	rec.denyPatch = true
	rec.mu.Unlock()
	si := startServe(t, "30", "--target", "gcs", "--bucket", "bkt")

	retention := func(tr map[string]any) (enforced bool, reason string) {
		t.Helper()
		r, _ := tr["retention"].(map[string]any)
		if r == nil || r["by"] != "lifecycle" {
			t.Fatalf("transport's retention: %v", tr)
		}
		reason, _ = r["reason"].(string)
		return r["enforced"] == true, reason
	}
	code, tr := si.do(t, "POST", "/api/v1/transport", map[string]any{"name": "kept 30 days", "tables": []string{"VBRK"}, "retention_days": 30})
	if code != http.StatusCreated {
		t.Fatalf("create without storage.buckets.update: %d %v", code, tr)
	}
	id := tr["id"].(string)
	if enf, why := retention(tr); enf || !strings.Contains(why, "storage.buckets.update") || tr["retention_days"] != float64(30) {
		t.Fatalf("without permission: enforced %v, reason %q", enf, why)
	}
	if got := rec.rules(t); !equalStrings(got, foreign) {
		t.Fatalf("rules changed without permission: %v", got)
	}
	// the transport still works
	code, ex := si.do(t, "POST", "/api/v1/transport/"+id+"/execute", nil)
	if code != http.StatusAccepted {
		t.Fatalf("execute: %d %v", code, ex)
	}
	waitJobStatus(t, si, ex["job_id"].(string), jobs.StatusCompleted)

	// with the permission, a change of retention (also under /api) sets our rule only
	rec.mu.Lock()
	rec.denyPatch = false
	rec.mu.Unlock()
	code, tr = si.do(t, "PUT", "/api/transport/"+id+"/retention", map[string]any{"retention_days": 20})
	if enf, why := retention(tr); code != http.StatusOK || !enf || why != "" {
		t.Fatalf("retention change: %d enforced %v %q", code, enf, why)
	}
	got := rec.ours(t)
	if got[id+"/"] != 20 || len(got) != len(foreignOurs)+1 {
		t.Fatalf("our rules: %v", got)
	}
	for p, age := range foreignOurs {
		if got[p] != age {
			t.Fatalf("rule of %s changed: %v", p, got)
		}
	}
	if got := rec.rules(t); len(got) != len(foreign)+1 || !equalStrings(got[:len(foreign)], foreign) {
		t.Fatalf("the bucket's other rules changed: %v\nwas %v", got, foreign)
	}
	if !strings.Contains(si.logs.String(), `"transport_id":"`+id+`"`) || !strings.Contains(si.logs.String(), "retention: lifecycle rule applied") {
		t.Fatalf("no log line of the lifecycle change naming the transport:\n%s", si.logs.String())
	}

	// someone sets our rule to 7 days; the next start reports the drift
	rec.mu.Lock()
	rec.lifecycle = json.RawMessage(strings.Replace(string(rec.lifecycle), `"age":20`, `"age":7`, 1))
	rec.mu.Unlock()
	if got := rec.ours(t); got[id+"/"] != 7 {
		t.Fatalf("tampered rules: %v", got)
	}
	si.cancel()
	select {
	case err := <-si.done:
		si.done <- err // for startServe's cleanup
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
	again := restartServe(t, si, "--target", "gcs", "--bucket", "bkt")
	var enf bool
	var why string
	for i := 0; ; i++ { // the start-up check runs at the scheduler's first tick
		_, tr = again.do(t, "GET", "/api/v1/transport/"+id, nil)
		if tr["retention"] != nil { // shown once checked
			if enf, why = retention(tr); strings.HasPrefix(why, "drift:") {
				break
			}
		}
		if i == 100 {
			t.Fatalf("after a restart with a tampered rule: %v", tr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if enf || !strings.HasPrefix(why, "drift:") {
		t.Fatalf("after a restart with a tampered rule: enforced %v, reason %q", enf, why)
	}
	if got := rec.ours(t); got[id+"/"] != 7 {
		t.Fatalf("the start-up check changed the rule: %v", got)
	}
}

// restartServe starts `ora2gcs serve` again on si's data directory (and API
// key) after si stopped.
func restartServe(t *testing.T, si *serveInstance, extra ...string) *serveInstance {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	n := &serveInstance{base: "http://" + addr, dir: si.dir, key: si.key, cancel: cancel, done: make(chan error, 1), logs: &testutil.LogBuffer{}}
	args := append([]string{"--listen", addr, "--data-dir", si.dir, "--target", "file://" + si.dir, "--rows", "30"}, extra...)
	go func() { n.done <- cmdServe(ctx, args, io.Discard, n.logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-n.done:
		case <-time.After(60 * time.Second):
			t.Error("serve did not stop")
		}
	})
	for i := 0; ; i++ {
		r, err := http.Get(n.base + "/api/v1/health/live")
		if err == nil {
			r.Body.Close()
			break
		}
		if i == 200 {
			t.Fatalf("serve did not start again: %v\n%s", err, n.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

func waitJobStatus(t *testing.T, si *serveInstance, jobID, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, j := si.do(t, "GET", "/api/v1/jobs/"+jobID, nil)
		if j["status"] == want {
			return
		}
		if s, _ := j["status"].(string); s != jobs.StatusRunning && s != "" && s != "pending" {
			t.Fatalf("job %s: %v", jobID, j)
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s did not reach %s: %v", jobID, want, j)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
