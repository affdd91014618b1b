package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/gcstest"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/jobs"
)

// apiClient talks to a test server with its key.
type apiClient struct {
	t    *testing.T
	base string
	key  string
}

// createTransport creates a transport of one table with the given table
// parallelism through the API.
func (c apiClient) createTransport(name, table, bucket string, par int) jobs.Transport {
	c.t.Helper()
	code, b := c.do("POST", "/transport", map[string]any{"name": name, "tables": []string{table}, "target_bucket": bucket, "table_parallelism": par})
	if code != 201 {
		c.t.Fatalf("create %s: %d %s", name, code, b)
	}
	var tr jobs.Transport
	if err := json.Unmarshal(b, &tr); err != nil {
		c.t.Fatal(err)
	}
	return tr
}

func (c apiClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+"/api/v1"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("X-API-Key", c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c apiClient) job(id string) jobs.Job {
	c.t.Helper()
	code, b := c.do("GET", "/jobs/"+id, nil)
	if code != 200 {
		c.t.Fatalf("GET /jobs/%s: %d %s", id, code, b)
	}
	var j jobs.Job
	if err := json.Unmarshal(b, &j); err != nil {
		c.t.Fatal(err)
	}
	return j
}

// waitJob waits for a job to end.
func (c apiClient) waitJob(id string) jobs.Job {
	c.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if j := c.job(id); j.Status != jobs.StatusRunning {
			return j
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("job %s did not end", id)
	return jobs.Job{}
}

type sseEvent struct {
	Type string
	Data jobs.Event
}

// stream reads a transport's status stream until the complete event of
// job jobID ("" any job) and sends the events of that job on the channel
// it returns.
func (c apiClient) stream(ctx context.Context, transportID string, jobID func() string) <-chan []sseEvent {
	out := make(chan []sseEvent, 1)
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/transport/"+transportID+"/status", nil)
	req.Header.Set("X-API-Key", c.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	go func() {
		defer resp.Body.Close()
		var evs []sseEvent
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var typ string
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "event: "):
				typ = strings.TrimPrefix(l, "event: ")
			case strings.HasPrefix(l, "data: "):
				var e jobs.Event
				if json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &e) != nil || e.JobID != jobID() {
					continue
				}
				evs = append(evs, sseEvent{typ, e})
				if typ == jobs.EventComplete {
					out <- evs
					return
				}
			}
		}
		out <- evs
	}()
	return out
}

// TestServeDistributedJob runs `ora2gcs serve` with the local executor on
// the tests' PostgreSQL and the GCS emulator (through the fault proxy) and
// drives it through the API:
//   - a job executed with {"distributed": {"shards": 4}} writes objects byte
//     for byte those of the single-machine job of another transport (4
//     parallel ranges), is recorded like any job (version, trigger, table
//     figures, manifest, plan) and leaves nothing below _shards/;
//   - its status stream shows per-table progress from the shards' records;
//   - while it runs, another transport's execute answers 409 job_running
//     and {"queue": true} queues the run, which starts once it ends;
//   - with the transport's distributed setting (PUT …/distributed) the next
//     execute runs distributed; a shard whose result cannot be stored (503
//     on every write of its done.json) fails the job loudly naming that
//     shard (error, failed_shards, error events with code shard_failed), and
//     nothing is at a final name nor below _shards/.
func TestServeDistributedJob(t *testing.T) {
	const rows = 10000 // a job of seconds: long enough to be running when the next execute asks
	src, table := distPostgres(t, rows)
	const bucket = "dist-serve"
	emu := gcstest.Start(t, bucket)
	proxy := emu.Proxy(t, nil, gcstest.Rule{Kind: gcstest.Upload, Suffix: "/v002/_shards/00002/done.json", Fault: gcstest.Fail503})
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(proxy.URL, "http://"))
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf(`source: %q
target: gcs
gcs: {default_bucket: %s}
data_dir: %q
etl: {range_min_rows: 1, retry_attempts: 2, retry_backoff: 10ms}
distributed:
  default_shards: 4
  poll: 50ms
  local: {parallel: 4}
`, src, bucket, dir)
	api, logs := startServeAPI(t, cfgPath, cfg)

	single, dist := api.createTransport("single", table, bucket, 4), api.createTransport("dist", table, bucket, 1)
	execute := func(id string, body any) (int, map[string]any) {
		code, b := api.do("POST", "/transport/"+id+"/execute", body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return code, m
	}

	// the single-machine job: 4 parallel ranges
	code, res := execute(single.ID, nil)
	if code != 202 {
		t.Fatalf("execute single: %d %v", code, res)
	}
	if j := api.waitJob(res["job_id"].(string)); j.Status != jobs.StatusCompleted {
		t.Fatalf("single job: %+v", j)
	}

	// the distributed job, with its status stream
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer scancel()
	var jobID string
	started := make(chan struct{})
	events := api.stream(sctx, dist.ID, func() string { <-started; return jobID })
	code, res = execute(dist.ID, map[string]any{"distributed": map[string]any{"executor": "local", "shards": 4}})
	if code != 202 {
		t.Fatalf("execute distributed: %d %v", code, res)
	}
	jobID = res["job_id"].(string)
	close(started)
	// one job at a time: another transport waits, or queues
	if code, res := execute(single.ID, nil); code != 409 || !strings.Contains(fmt.Sprint(res), "job_running") {
		t.Fatalf("execute while the distributed job runs: %d %v", code, res)
	}
	code, res = execute(single.ID, map[string]any{"queue": true})
	if code != 202 || res["status"] != "queued" {
		t.Fatalf("queue while the distributed job runs: %d %v", code, res)
	}
	j := api.waitJob(jobID)
	if j.Status != jobs.StatusCompleted {
		t.Fatalf("distributed job: %s %v\n%s", j.Status, deref(j.Error), logs.String())
	}
	want := "gs://" + bucket + "/" + dist.ID + "/v001/_plan.json"
	if d := j.Distributed; d == nil || d.Executor != "local" || d.Shards != 4 || d.PlannedShards != 4 || d.Plan != want || len(d.FailedShards) != 0 {
		t.Fatalf("job's distributed record %+v, want local, 4 shards, plan %s", d, want)
	}
	if j.Trigger != jobs.TriggerAPI || j.Version != "v001" || j.Manifest != "gs://"+bucket+"/"+dist.ID+"/v001/_manifest.json" ||
		len(j.Tables) != 1 || j.Tables[0].RowCount != rows || j.TotalRows != rows || j.Tables[0].CRC32C == "" || j.Snapshot.ID == "" {
		t.Fatalf("distributed job record: %+v", j)
	}

	evs := <-events
	progress := 0
	var last jobs.Event
	for _, e := range evs {
		if e.Type == jobs.EventProgress && e.Data.JobID == jobID {
			if e.Data.Table != table || e.Data.ShardsTotal != 4 || e.Data.ShardsDone < 1 || e.Data.RowsProcessed <= 0 {
				t.Fatalf("progress event %+v", e.Data)
			}
			if e.Data.RowsProcessed < last.RowsProcessed || e.Data.ShardsDone < last.ShardsDone {
				t.Fatalf("progress went back: %+v after %+v", e.Data, last)
			}
			last = e.Data
			progress++
		}
	}
	if progress == 0 || last.ShardsDone != 4 || last.RowsProcessed != rows {
		t.Fatalf("the stream showed %d progress events, last %+v; events %+v", progress, last, evs)
	}
	if e := evs[len(evs)-1]; e.Type != jobs.EventComplete || e.Data.Status != jobs.StatusCompleted || e.Data.TotalRows != rows {
		t.Fatalf("last event %+v", e)
	}

	// the objects are the single-machine job's
	obj := strings.TrimPrefix(j.Tables[0].GCSPath, "gs://"+bucket+"/"+dist.ID+"/v001/")
	for _, name := range []string{obj, strings.TrimSuffix(obj, ".jsonl.gz") + ".schema.json"} {
		a, okA := emu.Read(t, bucket, single.ID+"/v001/"+name)
		b, okB := emu.Read(t, bucket, dist.ID+"/v001/"+name)
		if !okA || !okB || !bytes.Equal(a, b) {
			t.Fatalf("%s: single-machine (%v, %d bytes) and distributed (%v, %d bytes) differ", name, okA, len(a), okB, len(b))
		}
	}
	var man jobs.Manifest
	mb, _ := emu.Read(t, bucket, dist.ID+"/v001/_manifest.json")
	if err := json.Unmarshal(mb, &man); err != nil || man.JobID != jobID || man.Status != jobs.StatusCompleted || len(man.Tables) != 1 || man.Tables[0].Rows != rows {
		t.Fatalf("manifest %s (%v)", mb, err)
	}
	for _, n := range emu.Objects(t, bucket) {
		if strings.Contains(n, "/_shards/") {
			t.Fatalf("left below _shards/: %s", n)
		}
	}

	// the queued run of the other transport started once the job ended
	deadline := time.Now().Add(time.Minute)
	for {
		code, b := api.do("GET", "/transport/"+single.ID, nil)
		var tr jobs.Transport
		_ = json.Unmarshal(b, &tr)
		if code == 200 && tr.LastJobVersion == "v002" {
			api.waitJob(tr.LastJobID)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queued run did not start: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// the transport's setting: the next execute runs distributed; shard 2
	// cannot store its result
	code, b := api.do("PUT", "/transport/"+dist.ID+"/distributed", map[string]any{"executor": "nope"})
	if code != 400 || !strings.Contains(string(b), "distributed.executor") {
		t.Fatalf("unknown executor: %d %s", code, b)
	}
	if code, b := api.do("PUT", "/transport/"+dist.ID+"/distributed", map[string]any{"shards": 4}); code != 200 || !strings.Contains(string(b), `"distributed":{"shards":4}`) {
		t.Fatalf("PUT distributed: %d %s", code, b)
	}
	code, res = execute(dist.ID, nil)
	if code != 202 {
		t.Fatalf("execute: %d %v", code, res)
	}
	failedID := res["job_id"].(string)
	// its own deadline: the first stream's may be spent on a loaded machine
	fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer fcancel()
	events = api.stream(fctx, dist.ID, func() string { return failedID })
	j = api.waitJob(failedID)
	if j.Status != jobs.StatusFailed || j.Error == nil || !strings.Contains(*j.Error, "shard 2 ("+table+", range 3 of 4)") {
		t.Fatalf("job with a failing shard: %s %v", j.Status, deref(j.Error))
	}
	if d := j.Distributed; d == nil || d.Executor != "local" || len(d.FailedShards) != 1 || d.FailedShards[0].Shard != 2 ||
		d.FailedShards[0].Table != table || d.FailedShards[0].Range != 3 || d.FailedShards[0].Error == "" {
		t.Fatalf("failed shards %+v", j.Distributed)
	}
	if j.Tables[0].Status != jobs.StatusFailed {
		t.Fatalf("table %+v", j.Tables[0])
	}
	evs = <-events
	var sawErr bool
	for _, e := range evs {
		if e.Type == jobs.EventError && e.Data.ErrorCode == "shard_failed" && strings.Contains(e.Data.Error, "shard 2") {
			sawErr = true
		}
	}
	if !sawErr || evs[len(evs)-1].Data.Status != jobs.StatusFailed {
		t.Fatalf("events of the failed job: %+v", evs)
	}
	for _, n := range emu.Objects(t, bucket) {
		if strings.HasPrefix(n, dist.ID+"/v002/") && n != dist.ID+"/v002/_plan.json" {
			t.Fatalf("the failed job left %s", n)
		}
	}
	if code, _ := api.do("DELETE", "/transport/"+dist.ID+"/distributed", nil); code != 204 {
		t.Fatalf("DELETE distributed: %d", code)
	}
	if code, b := api.do("GET", "/transport/"+dist.ID, nil); code != 200 || strings.Contains(string(b), `"distributed"`) {
		t.Fatalf("transport after DELETE: %s", b)
	}
}

// startServeAPI writes cfg to cfgPath (its data_dir the file's directory),
// runs `ora2gcs serve --config cfgPath` in this process until the test
// ends and returns a client holding the generated API key, and the
// server's log.
func startServeAPI(t *testing.T, cfgPath, cfg string) (apiClient, *testutil.LogBuffer) {
	t.Helper()
	dir := filepath.Dir(cfgPath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testutil.LogBuffer{}
	done := make(chan error, 1)
	go func() { done <- cmdServe(ctx, []string{"--config", cfgPath, "--listen", addr}, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Error("serve did not stop")
		}
	})
	api := apiClient{t: t, base: "http://" + addr}
	for i := 0; ; i++ {
		if r, err := http.Get(api.base + "/api/health"); err == nil {
			r.Body.Close()
			break
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve returned %v: %s", err, logs.String())
		default:
		}
		if i > 1200 {
			t.Fatalf("server did not start: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	key, err := os.ReadFile(filepath.Join(dir, "api_key"))
	if err != nil {
		t.Fatal(err)
	}
	api.key = strings.TrimSpace(string(key))
	return api, logs
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestServeRefusesDistributedTypos: serve does not start with a misspelt
// key in the config file's distributed section (exit 1, bad configuration,
// with the file, line and key named), nor with a mode it does not know.
func TestServeRefusesDistributedTypos(t *testing.T) {
	dir := t.TempDir()
	for body, want := range map[string]string{
		"distributed:\n  default_shards: 4\n  local: {parallel: 2, retires: 1}\n": `line 6: unknown key "distributed.local.retires"`,
		"distributed:\n  defualt_executor: beam\n":                                `line 5: unknown key "distributed.defualt_executor"`,
		"distributed:\n  local: {mode: process}\n":                                `config.yaml:4: distributed.local.mode: "process" is not goroutines or processes`,
	} {
		cfgPath := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(cfgPath, []byte("source: synth\ntarget: file://"+dir+"\ndata_dir: "+dir+"\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errs := cli(t, "serve", "--config", cfgPath, "--listen", freeAddr(t))
		if code != exitFailure || !strings.Contains(errs, cfgPath) || !strings.Contains(errs, want) {
			t.Errorf("%q: exit %d, stderr %q; want 1 naming %s", body, code, errs, want)
		}
		if out != "" {
			t.Errorf("stdout %q", out)
		}
	}
}

// buildBeamCommand builds cmd/ora2gcs-beam into the test's directory.
func buildBeamCommand(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ora2gcs-beam")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/ora2gcs/ora2gcs/cmd/ora2gcs-beam").CombinedOutput(); err != nil {
		t.Fatalf("go build ora2gcs-beam: %v\n%s", err, out)
	}
	return bin
}

// TestServeDistributedExecutors drives `ora2gcs serve` through the API
// with the two executors that run outside the server process, on the
// tests' PostgreSQL and the GCS emulator (through the fault proxy):
//   - local with mode: processes: one `ora2gcs shard` process per shard
//     (this test binary as the CLI), started with the server's config file;
//   - beam: the ora2gcs-beam command, built here, running the plan on Prism
//     in its own process (it extracts and finalizes; the server reads the
//     result back).
//
// Each executes {"distributed": {"executor": …, "shards": 3}} to
// completion: the object is byte for byte the single-machine job's (3
// parallel ranges), the schema too, the manifest is the job's, the job is
// in the history with its distributed record, its status stream shows
// per-table progress from the shards' records and ends with the complete
// event, and nothing is left below _shards/. Then, for each executor, a
// job whose shard 1 cannot store its result (503 on every write of its
// done.json, also from the executor's processes) fails, naming shard 1
// (error, failed_shards, an error event with code shard_failed), and
// leaves nothing but the plan below its version.
func TestServeDistributedExecutors(t *testing.T) {
	const rows = 6000
	src, table := distPostgres(t, rows)
	const bucket = "dist-exec"
	emu := gcstest.Start(t, bucket)
	proxy := emu.Proxy(t, nil,
		gcstest.Rule{Kind: gcstest.Upload, Suffix: "/v003/_shards/00001/done.json", Fault: gcstest.Fail503},
		gcstest.Rule{Kind: gcstest.Upload, Suffix: "/v004/_shards/00001/done.json", Fault: gcstest.Fail503})
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(proxy.URL, "http://"))
	// the local executor starts os.Executable(), this test binary: as the CLI
	t.Setenv("ORA2GCS_TEST_CLI", "1")
	beamBin := buildBeamCommand(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	api, logs := startServeAPI(t, cfgPath, fmt.Sprintf(`source: %q
target: gcs
gcs: {default_bucket: %s}
data_dir: %q
etl: {range_min_rows: 1, retry_attempts: 2, retry_backoff: 10ms}
distributed:
  poll: 50ms
  local: {mode: processes, parallel: 3, retries: 1}
  beam:
    command: [%q, --runner, prism, --source, %q, --attempts, "2"]
`, src, bucket, dir, beamBin, src))

	single, dist := api.createTransport("single", table, bucket, 3), api.createTransport("dist", table, bucket, 1)
	// start executes a job on transport id and follows its status stream
	// (a transport's stream shows its running job: it is opened once the
	// job has started)
	start := func(id string, body any) (string, <-chan []sseEvent) {
		t.Helper()
		code, b := api.do("POST", "/transport/"+id+"/execute", body)
		var res map[string]any
		_ = json.Unmarshal(b, &res)
		if code != 202 {
			t.Fatalf("execute %v: %d %s", body, code, b)
		}
		jobID := res["job_id"].(string)
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Minute)
		t.Cleanup(scancel)
		return jobID, api.stream(sctx, id, func() string { return jobID })
	}
	singleID, _ := start(single.ID, nil)
	if j := api.waitJob(singleID); j.Status != jobs.StatusCompleted {
		t.Fatalf("single job: %+v", j)
	}
	obj := table + ".jsonl.gz"
	want, ok := emu.Read(t, bucket, single.ID+"/v001/"+obj)
	wantSchema, ok2 := emu.Read(t, bucket, single.ID+"/v001/"+table+".schema.json")
	if !ok || !ok2 {
		t.Fatal("the single-machine job wrote no object")
	}

	for i, executor := range []string{"local", "beam"} {
		version := fmt.Sprintf("v%03d", i+1)
		prefix := dist.ID + "/" + version + "/"
		jobID, events := start(dist.ID, map[string]any{"distributed": map[string]any{"executor": executor, "shards": 3}})
		j := api.waitJob(jobID)
		if j.Status != jobs.StatusCompleted {
			t.Fatalf("%s: job %s %v\n%s", executor, j.Status, deref(j.Error), logs.String())
		}
		if d := j.Distributed; d == nil || d.Executor != executor || d.PlannedShards != 3 || d.Plan != "gs://"+bucket+"/"+prefix+"_plan.json" {
			t.Fatalf("%s: distributed record %+v", executor, j.Distributed)
		}
		if j.Version != version || j.Manifest != "gs://"+bucket+"/"+prefix+"_manifest.json" || j.TotalRows != rows ||
			len(j.Tables) != 1 || j.Tables[0].RowCount != rows || j.Tables[0].GCSPath != "gs://"+bucket+"/"+prefix+obj {
			t.Fatalf("%s: job record %+v", executor, j)
		}
		if got, _ := emu.Read(t, bucket, prefix+obj); !bytes.Equal(got, want) {
			t.Fatalf("%s: the object (%d bytes) is not the single-machine job's (%d bytes)", executor, len(got), len(want))
		}
		if got, _ := emu.Read(t, bucket, prefix+table+".schema.json"); !bytes.Equal(got, wantSchema) {
			t.Fatalf("%s: the schema differs", executor)
		}
		var man jobs.Manifest
		mb, _ := emu.Read(t, bucket, prefix+"_manifest.json")
		if err := json.Unmarshal(mb, &man); err != nil || man.JobID != jobID || man.JobVersion != version || man.Status != jobs.StatusCompleted ||
			man.TotalRows != rows || len(man.Tables) != 1 || len(man.Tables[0].Ranges) != 3 || !man.Consistency.OnePointInTime {
			t.Fatalf("%s: manifest %s (%v)", executor, mb, err)
		}
		code, b := api.do("GET", "/jobs?transport_id="+dist.ID, nil)
		var hist jobs.Page[jobs.Job]
		if err := json.Unmarshal(b, &hist); code != 200 || err != nil || len(hist.Items) != i+1 || hist.Items[0].ID != jobID ||
			hist.Items[0].Status != jobs.StatusCompleted || hist.Items[0].Distributed == nil || hist.Items[0].Distributed.Executor != executor {
			t.Fatalf("%s: job history %d %s", executor, code, b)
		}
		evs := <-events
		var progress []jobs.Event
		for _, e := range evs {
			if e.Type == jobs.EventProgress {
				if e.Data.Table != table || e.Data.ShardsTotal != 3 || e.Data.ShardsDone < 1 || e.Data.RowsProcessed <= 0 {
					t.Fatalf("%s: progress event %+v", executor, e.Data)
				}
				if n := len(progress); n > 0 && (e.Data.ShardsDone < progress[n-1].ShardsDone || e.Data.RowsProcessed < progress[n-1].RowsProcessed) {
					t.Fatalf("%s: progress went back: %+v after %+v", executor, e.Data, progress[n-1])
				}
				progress = append(progress, e.Data)
			}
		}
		if len(progress) == 0 || len(evs) == 0 {
			t.Fatalf("%s: no progress in the status stream: %+v", executor, evs)
		}
		if last := evs[len(evs)-1]; last.Type != jobs.EventComplete || last.Data.Status != jobs.StatusCompleted || last.Data.TotalRows != rows {
			t.Fatalf("%s: last event %+v", executor, last)
		}
		if last := progress[len(progress)-1]; executor == "local" && (last.ShardsDone != 3 || last.RowsProcessed != rows) {
			t.Fatalf("%s: last progress %+v", executor, last)
		}
		t.Logf("%s: %d progress events, last %d of 3 shards", executor, len(progress), progress[len(progress)-1].ShardsDone)
		for _, n := range emu.Objects(t, bucket) {
			if strings.HasPrefix(n, prefix+"_shards/") {
				t.Fatalf("%s: left below _shards/: %s", executor, n)
			}
		}
	}

	// shard 1 cannot store its result, from whichever process runs it
	for i, executor := range []string{"local", "beam"} {
		version := fmt.Sprintf("v%03d", i+3)
		jobID, events := start(dist.ID, map[string]any{"distributed": map[string]any{"executor": executor, "shards": 3}})
		j := api.waitJob(jobID)
		if j.Status != jobs.StatusFailed || j.Error == nil || !strings.Contains(*j.Error, "shard 1 ("+table+", range 2 of 3)") {
			t.Fatalf("%s: job with a failing shard: %s %v", executor, j.Status, deref(j.Error))
		}
		if d := j.Distributed; d == nil || d.Executor != executor || len(d.FailedShards) != 1 || d.FailedShards[0].Shard != 1 ||
			d.FailedShards[0].Table != table || d.FailedShards[0].Range != 2 {
			t.Fatalf("%s: failed shards %+v", executor, j.Distributed)
		}
		evs := <-events
		var sawErr bool
		for _, e := range evs {
			if e.Type == jobs.EventError && e.Data.ErrorCode == "shard_failed" && strings.Contains(e.Data.Error, "shard 1") {
				sawErr = true
			}
		}
		if !sawErr || len(evs) == 0 || evs[len(evs)-1].Type != jobs.EventComplete || evs[len(evs)-1].Data.Status != jobs.StatusFailed {
			t.Fatalf("%s: events of the failed job: %+v", executor, evs)
		}
		for _, n := range emu.Objects(t, bucket) {
			if strings.HasPrefix(n, dist.ID+"/"+version+"/") && n != dist.ID+"/"+version+"/_plan.json" {
				t.Fatalf("%s: the failed job left %s", executor, n)
			}
		}
		if executor == "local" && !strings.Contains(*j.Error, "process 2 of 2") {
			t.Fatalf("local: the failed shard's process was not started again (retries: 1): %s", *j.Error)
		}
		if pw := os.Getenv("PGPASSWORD"); pw != "" && (strings.Contains(*j.Error, pw) || strings.Contains(logs.String(), pw)) {
			t.Fatalf("%s: the database password is in the job's error or the server's log", executor)
		}
		t.Logf("%s: failed as expected: %s", executor, *j.Error)
	}
}
