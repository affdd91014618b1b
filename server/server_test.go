package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/ora2gcs/ora2gcs/jobs"
)

const (
	testKey      = "test-key-0123456789abcdef"
	secondKey    = "second-key-fedcba9876543210"
	fakePassword = "fake-db-password-9f8e7d"
)

// testLogs receives the log output of every server the tests start; TestMain
// scans it for secrets after all tests ran.
var testLogs testutil.LogBuffer

func TestMain(m *testing.M) {
	code := m.Run()
	logs := testLogs.String()
	for _, secret := range []string{testKey, secondKey, fakePassword} {
		if strings.Contains(logs, secret) {
			fmt.Fprintf(os.Stderr, "FAIL: a secret appears in the server's log output\n")
			code = 1
		}
	}
	if !strings.Contains(logs, `"message":"request"`) {
		fmt.Fprintf(os.Stderr, "FAIL: the log scan saw no request lines\n")
		code = 1
	}
	if code == 0 {
		// fasthttp starts one process-wide date updater on first use.
		if err := goleak.Find(goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
			// fasthttp's worker-pool cleaner sleeps out its interval after Shutdown.
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2")); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: leaked goroutines: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// newTestServer builds a Server over a fresh fake service, logging into
// testLogs (and into the returned buffer for tests that read their own lines).
func newTestServer(t testing.TB, mutate func(*Options)) (*Server, *fakeService, *testutil.LogBuffer) {
	t.Helper()
	svc := newFakeService()
	own := &testutil.LogBuffer{}
	opts := Options{
		APIKeys: []string{testKey, secondKey},
		Logger:  NewLogger(io.MultiWriter(&testLogs, own), slog.LevelDebug),
		Version: "1.2.3-test",
		Metrics: func(w io.Writer) { io.WriteString(w, "ora2gcs_jobs_running 0\n") },
	}
	if mutate != nil {
		mutate(&opts)
	}
	s, err := New(svc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, svc, own
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// call sends one request through app.Test; with auth it carries X-API-Key.
func call(t testing.TB, s *Server, method, path, body string, header map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.App().Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

var authed = map[string]string{"X-API-Key": testKey}

// checkError asserts the one error shape, status and code.
func checkError(t testing.TB, r response, status int, code string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	var body struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Error == nil {
		t.Fatalf("not the error shape: %v %s", err, r.body)
	}
	e := body.Error
	if e["code"] != code {
		t.Errorf("code = %v, want %s (body %s)", e["code"], code, r.body)
	}
	if m, _ := e["message"].(string); m == "" {
		t.Errorf("empty message: %s", r.body)
	}
	rid, _ := e["request_id"].(string)
	if rid == "" || rid != r.header.Get("X-Request-ID") {
		t.Errorf("request_id = %q, header %q", rid, r.header.Get("X-Request-ID"))
	}
	return e
}

func prefixes(t *testing.T, f func(t *testing.T, prefix string)) {
	for _, p := range []string{"/api/v1", "/api"} {
		t.Run(p, func(t *testing.T) { f(t, p) })
	}
}

// createTransport makes a transport through the API and returns its id.
func createTransport(t testing.TB, s *Server, tables ...string) string {
	t.Helper()
	b, _ := json.Marshal(jobs.NewTransport{Name: "SAP Sales Data Export", Tables: tables, TargetBucket: "oracle-etl-data", Description: "Monthly"})
	r := call(t, s, "POST", "/api/v1/transport", string(b), authed)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	return r.json(t)["id"].(string)
}

func TestNewRequiresKeys(t *testing.T) {
	if _, err := New(newFakeService(), Options{}); err == nil {
		t.Error("New without keys succeeded")
	}
	if _, err := New(newFakeService(), Options{APIKeys: []string{""}}); err == nil {
		t.Error("New with an empty key succeeded")
	}
	if _, err := New(nil, Options{APIKeys: []string{testKey}}); err == nil {
		t.Error("New without service succeeded")
	}
}

func TestHealth(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	prefixes(t, func(t *testing.T, p string) {
		r := call(t, s, "GET", p+"/health", "", nil)
		if r.status != 200 {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		m := r.json(t)
		if m["status"] != "ok" || m["version"] != "1.2.3-test" || m["timestamp"] == "" {
			t.Errorf("health = %v", m)
		}
	})
}

// routes lists every authenticated route with a request that would succeed
// with a key (the auth matrix checks only 401 vs not 401).
func authRoutes(trpID, jobID string) [][3]string {
	return [][3]string{
		{"GET", "/oracle/status", ""},
		{"GET", "/tables", ""},
		{"GET", "/tables/VBRK/sample", ""},
		{"POST", "/transport", `{"name":"x","tables":["VBRK"]}`},
		{"GET", "/transports", ""},
		{"GET", "/transport/" + trpID, ""},
		{"POST", "/transport/" + trpID + "/execute", ""},
		{"GET", "/transport/" + trpID + "/status", ""},
		{"GET", "/jobs", ""},
		{"GET", "/jobs/" + jobID, ""},
	}
}

func TestAuthMatrix(t *testing.T) {
	s, svc, _ := newTestServer(t, nil)
	trpID := createTransport(t, s, "VBRK")
	job, err := svc.Execute(context.Background(), trpID)
	if err != nil {
		t.Fatal(err)
	}
	svc.publish(trpID, jobs.Event{Type: jobs.EventComplete, Status: jobs.StatusCompleted}) // status streams end at once
	svc.finish(jobs.StatusCompleted)

	cases := []struct {
		name   string
		header map[string]string
		ok     bool
	}{
		{"no key", nil, false},
		{"wrong X-API-Key", map[string]string{"X-API-Key": "wrong-key-0123456789abcdef"}, false},
		{"wrong Bearer", map[string]string{"Authorization": "Bearer wrong-key-0123456789abcdef"}, false},
		{"key prefix", map[string]string{"X-API-Key": testKey[:10]}, false},
		{"Basic scheme", map[string]string{"Authorization": "Basic " + testKey}, false},
		{"Bearer without token", map[string]string{"Authorization": "Bearer "}, false},
		{"X-API-Key", map[string]string{"X-API-Key": testKey}, true},
		{"second X-API-Key", map[string]string{"X-API-Key": secondKey}, true},
		{"Bearer", map[string]string{"Authorization": "Bearer " + testKey}, true},
		{"bearer lower-case", map[string]string{"Authorization": "bearer " + secondKey}, true},
	}
	for _, prefix := range []string{"/api/v1", "/api"} {
		for _, rt := range authRoutes(trpID, job.ID) {
			for _, tc := range cases {
				t.Run(prefix+rt[1]+"/"+tc.name, func(t *testing.T) {
					if rt[0] == "POST" && strings.HasSuffix(rt[1], "/execute") && tc.ok {
						// Every authorised execute starts a job; complete it so
						// that later status streams end.
						defer func() {
							svc.publish(trpID, jobs.Event{Type: jobs.EventComplete, Status: jobs.StatusCompleted})
							svc.finish(jobs.StatusCompleted)
						}()
					}
					r := call(t, s, rt[0], prefix+rt[1], rt[2], tc.header)
					if tc.ok {
						if r.status == http.StatusUnauthorized || r.status >= 400 {
							t.Fatalf("authorised request got %d %s", r.status, r.body)
						}
						return
					}
					checkError(t, r, http.StatusUnauthorized, CodeUnauthorized)
					if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
					}
				})
			}
		}
	}
	t.Run("open routes", func(t *testing.T) {
		for _, p := range []string{"/api/v1/health", "/api/health", "/metrics"} {
			if r := call(t, s, "GET", p, "", nil); r.status != 200 {
				t.Errorf("%s without key: %d", p, r.status)
			}
		}
	})
	t.Run("bearer disabled", func(t *testing.T) {
		s2, _, _ := newTestServer(t, func(o *Options) { o.DisableBearer = true })
		checkError(t, call(t, s2, "GET", "/api/v1/jobs", "", map[string]string{"Authorization": "Bearer " + testKey}), 401, CodeUnauthorized)
		if r := call(t, s2, "GET", "/api/v1/jobs", "", authed); r.status != 200 {
			t.Errorf("X-API-Key with bearer disabled: %d", r.status)
		}
	})
}

func TestErrorShapes(t *testing.T) {
	s, svc, _ := newTestServer(t, func(o *Options) { o.BodyLimit = 4096 })
	trpID := createTransport(t, s, "VBRP", "VBRK")
	job, err := svc.Execute(context.Background(), trpID)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"bad JSON", "POST", "/transport", `{"name":`, 400, CodeBadRequest},
		{"empty body", "POST", "/transport", "", 400, CodeBadRequest},
		{"array body", "POST", "/transport", `[1]`, 400, CodeBadRequest},
		{"unknown field", "POST", "/transport", `{"name":"x","tables":["VBRK"],"bucket":"y"}`, 400, CodeBadRequest},
		{"trailing data", "POST", "/transport", `{"name":"x","tables":["VBRK"]} {}`, 400, CodeBadRequest},
		{"wrong type", "POST", "/transport", `{"name":"x","tables":"VBRK"}`, 400, CodeValidation},
		{"no name", "POST", "/transport", `{"tables":["VBRK"]}`, 400, CodeValidation},
		{"no tables", "POST", "/transport", `{"name":"x","tables":[]}`, 400, CodeValidation},
		{"bad bucket", "POST", "/transport", `{"name":"x","tables":["VBRK"],"target_bucket":"Bad Bucket"}`, 400, CodeValidation},
		{"bad page", "GET", "/jobs?page=0", "", 400, CodeBadRequest},
		{"page size too large", "GET", "/jobs?page_size=1000", "", 400, CodeBadRequest},
		{"bad status filter", "GET", "/jobs?status=done", "", 400, CodeBadRequest},
		{"bad exact", "GET", "/tables?exact=maybe", "", 400, CodeBadRequest},
		{"no key", "GET", "/jobs", "", 401, CodeUnauthorized},
		{"unknown route", "GET", "/nope", "", 404, CodeNotFound},
		{"unknown transport", "GET", "/transport/TRP-19990101-001", "", 404, CodeNotFound},
		{"unknown job", "GET", "/jobs/JOB-19990101-001", "", 404, CodeNotFound},
		{"execute unknown transport", "POST", "/transport/TRP-19990101-001/execute", "", 404, CodeNotFound},
		{"status of unknown transport", "GET", "/transport/TRP-19990101-001/status", "", 404, CodeNotFound},
		{"sample of unknown table", "GET", "/tables/NOPE/sample", "", 404, CodeTableNotFound},
		{"method not allowed", "DELETE", "/jobs", "", 405, CodeMethodNotAllowed},
		{"job running", "POST", "/transport/" + trpID + "/execute", "", 409, CodeJobRunning},
		{"unknown table", "POST", "/transport", `{"name":"x","tables":["VBRK","NOPE"]}`, 422, CodeUnknownTable},
		{"unsupported column", "POST", "/transport", `{"name":"x","tables":["VBRK","GEOM"]}`, 422, CodeUnsupportedColumn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefixes(t, func(t *testing.T, p string) {
				h := authed
				if tt.code == CodeUnauthorized {
					h = nil
				}
				path := p + tt.path
				if tt.path == "/nope" {
					path = "/nope"
				}
				e := checkError(t, call(t, s, tt.method, path, tt.body, h), tt.status, tt.code)
				if tt.status == 409 && (e["job_id"] != job.ID || e["transport_id"] != trpID) {
					t.Errorf("409 body lacks the running job: %v", e)
				}
			})
		})
	}
	t.Run("field names", func(t *testing.T) {
		for body, field := range map[string]string{
			`{"tables":["VBRK"]}`:                                    "name",
			`{"name":"x"}`:                                           "tables",
			`{"name":"x","tables":["VBRK",""]}`:                      "tables[1]",
			`{"name":"x","tables":["VBRK","vbrk"]}`:                  "tables[1]",
			`{"name":"x","tables":["VBRK"],"target_bucket":"goog1"}`: "target_bucket",
			`{"name":"x","tables":["VBRK"],"table_parallelism":100}`: "table_parallelism",
			`{"name":"x","tables":["VBRK"],"table_parallelism":"2"}`: "table_parallelism",
		} {
			e := checkError(t, call(t, s, "POST", "/api/v1/transport", body, authed), 400, CodeValidation)
			if e["field"] != field || !strings.HasPrefix(e["message"].(string), field+":") {
				t.Errorf("%s: field %v, message %v; want %s", body, e["field"], e["message"], field)
			}
		}
	})
	t.Run("panic", func(t *testing.T) {
		svc.panicOnList = true
		defer func() { svc.panicOnList = false }()
		e := checkError(t, call(t, s, "GET", "/api/v1/transports", "", authed), 500, CodeInternal)
		if strings.Contains(fmt.Sprint(e), "secret") || strings.Contains(fmt.Sprint(e), "exploded") {
			t.Errorf("500 leaks internals: %v", e)
		}
		if r := call(t, s, "GET", "/api/v1/health", "", nil); r.status != 200 {
			t.Errorf("server unusable after panic: %d", r.status)
		}
	})
	t.Run("internal error", func(t *testing.T) {
		svc.getErr = errors.New("sqlite: disk I/O error at /secret/path")
		defer func() { svc.getErr = nil }()
		e := checkError(t, call(t, s, "GET", "/api/v1/transport/"+trpID, "", authed), 500, CodeInternal)
		if strings.Contains(fmt.Sprint(e), "sqlite") {
			t.Errorf("500 leaks internals: %v", e)
		}
	})
	t.Run("shutting down from service", func(t *testing.T) {
		svc.getErr = fmt.Errorf("jobs: %w", jobs.ErrShutdown)
		defer func() { svc.getErr = nil }()
		checkError(t, call(t, s, "GET", "/api/v1/transport/"+trpID, "", authed), 503, CodeShuttingDown)
	})
	t.Run("invalid from service", func(t *testing.T) {
		svc.getErr = fmt.Errorf("jobs: id: malformed: %w", jobs.ErrInvalid)
		defer func() { svc.getErr = nil }()
		checkError(t, call(t, s, "GET", "/api/v1/transport/x", "", authed), 400, CodeValidation)
	})
	t.Run("transport folder claimed by another transport", func(t *testing.T) {
		svc.getErr = fmt.Errorf("jobs: transport TRP-1: the folder TRP-1/ of target b belongs to another transport: %w", jobs.ErrTransportClaimed)
		defer func() { svc.getErr = nil }()
		e := checkError(t, call(t, s, "GET", "/api/v1/transport/"+trpID, "", authed), 409, CodeTransportClaimed)
		if !strings.Contains(fmt.Sprint(e), "another transport") {
			t.Errorf("409 does not say why: %v", e)
		}
	})
	t.Run("source unavailable", func(t *testing.T) {
		svc.conn.mu.Lock()
		svc.conn.tablesErr = errors.New("dial tcp: connection refused")
		svc.conn.mu.Unlock()
		defer func() { svc.conn.mu.Lock(); svc.conn.tablesErr = nil; svc.conn.mu.Unlock() }()
		e := checkError(t, call(t, s, "GET", "/api/v1/tables", "", authed), 503, CodeUnavailable)
		if strings.Contains(fmt.Sprint(e), "refused") {
			t.Errorf("503 leaks the cause: %v", e)
		}
	})
}
