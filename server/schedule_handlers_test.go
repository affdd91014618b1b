package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

type schedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *schedClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *schedClock) Set(t time.Time)     { c.mu.Lock(); c.t = t.UTC(); c.mu.Unlock() }
func (c *schedClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// gateSink holds every object's Commit until the gate opens (a job that
// runs as long as the test wants).
type gateSink struct {
	pipeline.Sink
	gate chan struct{}
}

func (g gateSink) Create(ctx context.Context, name string) (pipeline.Object, error) {
	o, err := g.Sink.Create(ctx, name)
	if err != nil {
		return nil, err
	}
	return gateObject{Object: o, gate: g.gate, ctx: ctx}, nil
}

type gateObject struct {
	pipeline.Object
	gate chan struct{}
	ctx  context.Context
}

func (o gateObject) Commit() (pipeline.ObjectInfo, error) {
	select {
	case <-o.gate:
	case <-o.ctx.Done():
	}
	return o.Object.Commit()
}

// newManagerServer is a Server over a real jobs.Manager (synthetic source,
// file target) on a fake clock. Buckets named "gated" hold commits until
// the returned release is called. opts adjust the Manager's configuration.
func newManagerServer(t *testing.T, clk *schedClock, opts ...func(*jobs.ManagerConfig)) (*Server, *jobs.Manager, func()) {
	t.Helper()
	dir := t.TempDir()
	conn, err := synth.New(synth.Config{DefaultRows: 50})
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	cfg := jobs.ManagerConfig{
		Store:     filepath.Join(dir, "state.db"),
		Connector: conn,
		Sinks: func(b string) (pipeline.Sink, error) {
			s, err := file.New(filepath.Join(dir, "target"), b)
			if err != nil {
				return nil, err
			}
			if b == "gated" {
				return gateSink{Sink: s, gate: gate}, nil
			}
			return s, nil
		},
		Encoder:       stages.NDJSON(stages.NDJSONOptions{}),
		Codec:         compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})),
		Pipeline:      pipeline.DefaultConfig(),
		DefaultBucket: "bucket",
		Clock:         clk.Now,
		Logger:        NewLogger(&testLogs, slog.LevelInfo),
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := jobs.NewManager(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(m, Options{APIKeys: []string{testKey}, Logger: NewLogger(io.MultiWriter(&testLogs), slog.LevelDebug)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		release()
		_ = m.Shutdown(context.Background())
		_ = m.Close()
	})
	return s, m, release
}

func waitJobs(t *testing.T, m *jobs.Manager) {
	t.Helper()
	if j, ok := m.Running(); ok {
		if _, err := m.Wait(context.Background(), j.ID); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScheduleEndpoints(t *testing.T) {
	clk := &schedClock{}
	clk.Set(time.Date(2026, 1, 18, 10, 30, 0, 0, time.UTC))
	s, _, _ := newManagerServer(t, clk)
	r := call(t, s, "POST", "/api/v1/transport", `{"name":"n","tables":["VBRK"],"schedule":{"cron":"0 1 * * *","timezone":"Asia/Seoul"}}`, authed)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	body := r.json(t)
	id := body["id"].(string)
	sc, _ := body["schedule"].(map[string]any)
	if sc["cron"] != "0 1 * * *" || sc["timezone"] != "Asia/Seoul" || sc["next_run"] != "2026-01-18T16:00:00Z" {
		t.Fatalf("schedule in create answer: %s", r.body)
	}
	for _, prefix := range []string{"/api/v1", "/api"} {
		r = call(t, s, "PUT", prefix+"/transport/"+id+"/schedule", `{"cron":"30 22 * * 1-5","timezone":"Europe/Berlin"}`, authed)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"next_run":"2026-01-19T21:30:00Z"`) {
			t.Fatalf("%s PUT: %d %s", prefix, r.status, r.body)
		}
	}
	bad := []struct{ body, field string }{
		{`{"cron":"0 25 * * *","timezone":"UTC"}`, "cron"},
		{`{"cron":"0 1 * * *","timezone":"Asia/Nowhere"}`, "timezone"},
		{`{"cron":"0 1 * * *"}`, "timezone"},
		{`{"cron":"0 1 * * *","timezone":"UTC","tz":"x"}`, "tz"},
	}
	for _, b := range bad {
		r = call(t, s, "PUT", "/api/v1/transport/"+id+"/schedule", b.body, authed)
		e := r.json(t)["error"].(map[string]any)
		if r.status != http.StatusBadRequest || e["field"] != b.field {
			t.Fatalf("%s: %d %s", b.body, r.status, r.body)
		}
	}
	r = call(t, s, "POST", "/api/v1/transport", `{"name":"n","tables":["VBRK"],"schedule":{"cron":"bad","timezone":"UTC"}}`, authed)
	if e := r.json(t)["error"].(map[string]any); r.status != http.StatusBadRequest || e["field"] != "schedule.cron" {
		t.Fatalf("create with bad schedule: %d %s", r.status, r.body)
	}
	if r = call(t, s, "PUT", "/api/v1/transport/TRP-NONE/schedule", `{"cron":"0 1 * * *","timezone":"UTC"}`, authed); r.status != http.StatusNotFound {
		t.Fatalf("unknown transport: %d %s", r.status, r.body)
	}
	if r = call(t, s, "PUT", "/api/v1/transport/"+id+"/schedule", `{"cron":"0 1 * * *","timezone":"UTC"}`, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("without key: %d", r.status)
	}
	if r = call(t, s, "DELETE", "/api/v1/transport/"+id+"/schedule", "", authed); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r = call(t, s, "GET", "/api/v1/transport/"+id, "", authed); strings.Contains(string(r.body), `"schedule"`) {
		t.Fatalf("schedule after DELETE: %s", r.body)
	}
}

// TestScheduledServerEndToEnd: a server with a transport scheduled every
// minute of a fake clock runs three scheduled jobs, queues one behind a
// manual job ({"queue": true} while a job runs; without it 409), shows
// the queue, cancels nothing, and starts the queued run when the slot frees.
func TestScheduledServerEndToEnd(t *testing.T) {
	clk := &schedClock{}
	clk.Set(time.Date(2026, 1, 18, 10, 0, 30, 0, time.UTC))
	s, m, release := newManagerServer(t, clk)
	ctx := context.Background()
	r := call(t, s, "POST", "/api/v1/transport", `{"name":"every minute","tables":["VBRK"],"schedule":{"cron":"* * * * *","timezone":"Asia/Seoul"}}`, authed)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	sched := r.json(t)["id"].(string)
	r = call(t, s, "POST", "/api/v1/transport", `{"name":"manual","tables":["LIKP"],"target_bucket":"gated"}`, authed)
	manual := r.json(t)["id"].(string)
	for i := 0; i < 3; i++ {
		clk.Add(time.Minute)
		m.Tick(ctx, clk.Now())
		waitJobs(t, m)
	}
	r = call(t, s, "GET", "/api/v1/jobs?transport_id="+sched, "", authed)
	if n := int(r.json(t)["total"].(float64)); n != 3 || strings.Count(string(r.body), `"trigger":"schedule"`) != 3 {
		t.Fatalf("scheduled jobs: %s", r.body)
	}
	// a manual job holds the slot
	r = call(t, s, "POST", "/api/v1/transport/"+manual+"/execute", "", authed)
	if r.status != http.StatusAccepted {
		t.Fatalf("manual execute: %d %s", r.status, r.body)
	}
	if r = call(t, s, "POST", "/api/v1/transport/"+sched+"/execute", "", authed); r.status != http.StatusConflict {
		t.Fatalf("execute while running: %d %s", r.status, r.body)
	}
	// the next minute comes due while it runs: queued
	clk.Add(time.Minute)
	m.Tick(ctx, clk.Now())
	r = call(t, s, "GET", "/api/v1/queue", "", authed)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"transport_id":"`+sched+`"`) || !strings.Contains(string(r.body), `"trigger":"schedule"`) {
		t.Fatalf("queue: %d %s", r.status, r.body)
	}
	// a manual {"queue": true} goes behind it; then it is cancelled
	r = call(t, s, "POST", "/api/v1/transport/"+sched+"/execute", `{"queue":true}`, authed)
	q, _ := r.json(t)["queued"].(map[string]any)
	if r.status != http.StatusAccepted || q == nil || q["position"] != float64(2) {
		t.Fatalf("queued execute: %d %s", r.status, r.body)
	}
	if r = call(t, s, "DELETE", "/api/v1/queue/"+q["id"].(string), "", authed); r.status != http.StatusNoContent {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if r = call(t, s, "DELETE", "/api/v1/queue/"+q["id"].(string), "", authed); r.status != http.StatusNotFound {
		t.Fatalf("second cancel: %d %s", r.status, r.body)
	}
	r = call(t, s, "GET", "/api/v1/transport/"+sched, "", authed)
	if !strings.Contains(string(r.body), `"outcome":"queued"`) {
		t.Fatalf("last scheduled run: %s", r.body)
	}
	release()
	waitJobs(t, m)
	if !m.Dispatch(ctx) {
		t.Fatal("queued run did not start")
	}
	waitJobs(t, m)
	r = call(t, s, "GET", "/api/v1/jobs?transport_id="+sched, "", authed)
	if n := int(r.json(t)["total"].(float64)); n != 4 {
		t.Fatalf("%d scheduled jobs after the queued one, want 4: %s", n, r.body)
	}
	r = call(t, s, "GET", "/api/v1/transport/"+sched, "", authed)
	if !strings.Contains(string(r.body), `"outcome":"started"`) || !strings.Contains(string(r.body), `"job_status":"completed"`) {
		t.Fatalf("last scheduled run after the slot freed: %s", r.body)
	}
	if r = call(t, s, "GET", "/api/v1/queue", "", authed); !strings.Contains(string(r.body), `"total":0`) {
		t.Fatalf("queue at the end: %s", r.body)
	}
	// retention: one day; two days later the daily sweep expires every
	// version but the newest completed one
	if r = call(t, s, "PUT", "/api/v1/transport/"+sched+"/retention", `{"retention_days":1}`, authed); r.status != http.StatusOK {
		t.Fatalf("retention: %d %s", r.status, r.body)
	}
	if r = call(t, s, "DELETE", "/api/v1/transport/"+sched+"/schedule", "", authed); r.status != http.StatusNoContent {
		t.Fatalf("unschedule: %d", r.status)
	}
	clk.Add(50 * time.Hour)
	m.Tick(ctx, clk.Now())
	r = call(t, s, "GET", "/api/v1/jobs?transport_id="+sched, "", authed)
	var page struct {
		Items []struct {
			ID        string     `json:"id"`
			Version   string     `json:"version"`
			ExpiredAt *time.Time `json:"expired_at"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil || len(page.Items) != 4 {
		t.Fatalf("jobs after the sweep: %v %s", err, r.body)
	}
	for _, j := range page.Items { // newest first
		if (j.Version == "v004") != (j.ExpiredAt == nil) {
			t.Fatalf("after the sweep %s expired_at %v: %s", j.Version, j.ExpiredAt, r.body)
		}
	}
}

func TestWindowEndpoints(t *testing.T) {
	clk := &schedClock{}
	clk.Set(time.Date(2026, 1, 19, 3, 0, 0, 0, time.UTC)) // Monday 12:00 KST
	s, m, _ := newManagerServer(t, clk)
	r := call(t, s, "POST", "/api/v1/transport", `{"name":"w","tables":["VBRK"]}`, authed)
	id := r.json(t)["id"].(string)
	win := `{"timezone":"Asia/Seoul","allow":[{"days":"mon-fri","from":"22:00","to":"06:00"},{"days":"sat,sun","from":"00:00","to":"24:00"}]}`
	if r = call(t, s, "PUT", "/api/v1/transport/"+id+"/windows", win, authed); r.status != http.StatusOK || !strings.Contains(string(r.body), `"on_close":"finish"`) {
		t.Fatalf("PUT windows: %d %s", r.status, r.body)
	}
	r = call(t, s, "PUT", "/api/transport/"+id+"/windows", `{"timezone":"Asia/Seoul","allow":[{"days":"mon","from":"9:00","to":"10:00"}]}`, authed)
	if e := r.json(t)["error"].(map[string]any); r.status != http.StatusBadRequest || e["field"] != "allow[0].from" {
		t.Fatalf("bad window: %d %s", r.status, r.body)
	}
	r = call(t, s, "POST", "/api/v1/transport/"+id+"/execute", "", authed)
	// the next opening is named in the message and, for programs, in next_open
	if e := r.json(t)["error"].(map[string]any); r.status != http.StatusConflict || e["code"] != CodeOutsideWindow ||
		!strings.Contains(e["message"].(string), "2026-01-19T13:00:00Z") || e["next_open"] != "2026-01-19T13:00:00Z" ||
		e["transport_id"] != id || !strings.Contains(e["message"].(string), `"force": true`) {
		t.Fatalf("execute outside the window: %d %s", r.status, r.body)
	}
	// also under /api, and {"queue": true} alone does not bypass the window
	r = call(t, s, "POST", "/api/transport/"+id+"/execute", `{"queue":true}`, authed)
	if e, _ := r.json(t)["error"].(map[string]any); r.status != http.StatusConflict || e["code"] != CodeOutsideWindow || e["next_open"] != "2026-01-19T13:00:00Z" {
		t.Fatalf("queued execute outside the window under /api: %d %s", r.status, r.body)
	}
	if r = call(t, s, "POST", "/api/v1/transport/"+id+"/execute", `{"force":true}`, authed); r.status != http.StatusAccepted {
		t.Fatalf("forced execute: %d %s", r.status, r.body)
	}
	waitJobs(t, m)
	if r = call(t, s, "DELETE", "/api/v1/transport/"+id+"/windows", "", authed); r.status != http.StatusNoContent {
		t.Fatalf("DELETE windows: %d %s", r.status, r.body)
	}
	if r = call(t, s, "POST", "/api/v1/transport/"+id+"/execute", "", authed); r.status != http.StatusAccepted {
		t.Fatalf("execute without windows: %d %s", r.status, r.body)
	}
	waitJobs(t, m)
}

func TestRetentionEndpoints(t *testing.T) {
	clk := &schedClock{}
	clk.Set(time.Date(2026, 1, 19, 3, 0, 0, 0, time.UTC))
	s, _, _ := newManagerServer(t, clk)
	r := call(t, s, "POST", "/api/v1/transport", `{"name":"r","tables":["VBRK"],"retention_days":30}`, authed)
	if r.status != http.StatusCreated || r.json(t)["retention_days"] != float64(30) {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	r = call(t, s, "POST", "/api/v1/transport", `{"name":"r","tables":["VBRK"],"retention_days":-5}`, authed)
	if e := r.json(t)["error"].(map[string]any); r.status != http.StatusBadRequest || e["field"] != "retention_days" {
		t.Fatalf("create with bad retention: %d %s", r.status, r.body)
	}
	if r = call(t, s, "PUT", "/api/v1/transport/"+id+"/retention", `{"retention_days":0}`, authed); r.status != http.StatusOK || r.json(t)["retention_days"] != float64(jobs.DefaultRetentionDays) {
		t.Fatalf("PUT retention: %d %s", r.status, r.body)
	}
	if r = call(t, s, "PUT", "/api/transport/"+id+"/retention", `{}`, authed); r.status != http.StatusBadRequest {
		t.Fatalf("PUT without retention_days: %d %s", r.status, r.body)
	}
}

// TestWindowState: the transport's representation says whether its window
// is open at the server's now and, when closed, when it opens next, and
// whether the windows are the server's default (the dashboard shows both).
func TestWindowState(t *testing.T) {
	clk := &schedClock{}
	clk.Set(time.Date(2026, 1, 19, 3, 0, 0, 0, time.UTC)) // Monday 12:00 KST
	dflt := &jobs.WindowSpec{Timezone: "UTC", Allow: []jobs.WindowRule{{Days: "mon-sun", From: "00:00", To: "24:00"}}}
	s, _, _ := newManagerServer(t, clk, func(c *jobs.ManagerConfig) { c.DefaultWindows = dflt })
	type state struct {
		Open     bool       `json:"open"`
		NextOpen *time.Time `json:"next_open"`
		Default  bool       `json:"default"`
	}
	get := func(id string) *state {
		t.Helper()
		r := call(t, s, "GET", "/api/v1/transport/"+id, "", authed)
		var tr struct {
			WindowState *state `json:"window_state"`
		}
		if err := json.Unmarshal(r.body, &tr); err != nil || r.status != http.StatusOK {
			t.Fatalf("GET transport: %d %v %s", r.status, err, r.body)
		}
		return tr.WindowState
	}
	r := call(t, s, "POST", "/api/v1/transport", `{"name":"w","tables":["VBRK"]}`, authed)
	id := r.json(t)["id"].(string)
	if st := get(id); st == nil || !st.Open || !st.Default || st.NextOpen != nil {
		t.Fatalf("with the server's default window: %+v, want open and default", st)
	}
	win := `{"timezone":"Asia/Seoul","allow":[{"days":"mon-fri","from":"22:00","to":"06:00"}]}`
	if r = call(t, s, "PUT", "/api/v1/transport/"+id+"/windows", win, authed); r.status != http.StatusOK {
		t.Fatalf("PUT windows: %d %s", r.status, r.body)
	}
	if ws, _ := r.json(t)["window_state"].(map[string]any); ws["open"] != false || ws["next_open"] != "2026-01-19T13:00:00Z" || ws["default"] != false {
		t.Fatalf("PUT answer's window_state: %s", r.body)
	}
	clk.Set(time.Date(2026, 1, 19, 13, 0, 0, 0, time.UTC)) // 22:00 KST: opens
	if st := get(id); st == nil || !st.Open || st.Default || st.NextOpen != nil {
		t.Fatalf("at the opening: %+v, want open, own", st)
	}
	clk.Set(time.Date(2026, 1, 23, 21, 0, 0, 0, time.UTC)) // Saturday 06:00 KST: closed until Monday 22:00
	if st := get(id); st == nil || st.Open || st.NextOpen == nil || !st.NextOpen.Equal(time.Date(2026, 1, 26, 13, 0, 0, 0, time.UTC)) {
		t.Fatalf("on the weekend: %+v, want closed until 2026-01-26T13:00Z", st)
	}
	if r = call(t, s, "GET", "/api/v1/transports", "", authed); !strings.Contains(string(r.body), `"window_state":{"open":false,"next_open":"2026-01-26T13:00:00Z","default":false}`) {
		t.Fatalf("the list lacks the window state: %s", r.body)
	}
}

// TestScheduleBodiesWrongTypes: a body field of the wrong JSON type in the
// schedule, windows, retention and execute requests is a 400
// validation_failed naming that field (also under /api), and changes nothing.
func TestScheduleBodiesWrongTypes(t *testing.T) {
	clk := &schedClock{}
	clk.Set(time.Date(2026, 1, 19, 3, 0, 0, 0, time.UTC))
	s, _, _ := newManagerServer(t, clk)
	r := call(t, s, "POST", "/api/v1/transport", `{"name":"w","tables":["VBRK"]}`, authed)
	id := r.json(t)["id"].(string)
	cases := []struct{ method, path, body, field string }{
		{"PUT", "/transport/" + id + "/schedule", `{"cron":5,"timezone":"UTC"}`, "cron"},
		{"PUT", "/transport/" + id + "/schedule", `{"cron":"0 1 * * *","timezone":["UTC"]}`, "timezone"},
		{"PUT", "/transport/" + id + "/retention", `{"retention_days":"90"}`, "retention_days"},
		{"PUT", "/transport/" + id + "/retention", `{"retention_days":1.5}`, "retention_days"},
		{"PUT", "/transport/" + id + "/windows", `{"timezone":"UTC","allow":{"days":"mon"}}`, "allow"},
		{"PUT", "/transport/" + id + "/windows", `{"timezone":"UTC","allow":[{"days":"mon","from":"22:00","to":"06:00"}],"on_close":"explode"}`, "on_close"},
		{"POST", "/transport/" + id + "/execute", `{"force":"yes"}`, "force"},
		{"POST", "/transport/" + id + "/execute", `{"queue":1}`, "queue"},
		{"POST", "/transport", `{"name":"x","tables":["VBRK"],"retention_days":"30"}`, "retention_days"},
		{"POST", "/transport", `{"name":"x","tables":["VBRK"],"schedule":"0 1 * * *"}`, "schedule"},
	}
	for _, prefix := range []string{"/api/v1", "/api"} {
		for _, c := range cases {
			r := call(t, s, c.method, prefix+c.path, c.body, authed)
			var body struct {
				Error struct{ Code, Field, Message string } `json:"error"`
			}
			if err := json.Unmarshal(r.body, &body); err != nil || r.status != http.StatusBadRequest ||
				body.Error.Code != CodeValidation || body.Error.Field != c.field {
				t.Errorf("%s %s %s: %d %s, want 400 naming %s", c.method, prefix+c.path, c.body, r.status, r.body, c.field)
			}
		}
	}
	r = call(t, s, "GET", "/api/v1/transport/"+id, "", authed)
	if b := string(r.body); strings.Contains(b, `"schedule"`) || !strings.Contains(b, fmt.Sprintf(`"retention_days":%d`, jobs.DefaultRetentionDays)) {
		t.Fatalf("transport after refused requests: %s", r.body)
	}
	if r = call(t, s, "GET", "/api/v1/transports", "", authed); int(r.json(t)["total"].(float64)) != 1 {
		t.Fatalf("refused creates stored a transport: %s", r.body)
	}
}
