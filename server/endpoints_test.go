package server

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

func TestTransportEndpoints(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	prefixes(t, func(t *testing.T, p string) {
		r := call(t, s, "POST", p+"/transport", `{"name":"  SAP Sales Data Export ","tables":["vbrp","VBRK","LIKP"],"target_bucket":"oracle-etl-data","description":"Monthly sales data extraction"}`, authed)
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		var tr jobs.Transport
		if err := json.Unmarshal(r.body, &tr); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tr.ID, "TRP-") || tr.Name != "SAP Sales Data Export" || !reflect.DeepEqual(tr.Tables, []string{"VBRP", "VBRK", "LIKP"}) ||
			tr.TargetBucket != "oracle-etl-data" || tr.Status != jobs.StatusCreated || tr.CreatedAt.IsZero() {
			t.Errorf("created = %+v", tr)
		}
		if loc := r.header.Get("Location"); !strings.HasSuffix(loc, p+"/transport/"+tr.ID) {
			t.Errorf("Location = %q", loc)
		}
		r = call(t, s, "GET", p+"/transport/"+tr.ID, "", authed)
		var got jobs.Transport
		if r.status != 200 || json.Unmarshal(r.body, &got) != nil || !reflect.DeepEqual(got, tr) {
			t.Errorf("get: %d %s", r.status, r.body)
		}
		r = call(t, s, "GET", p+"/transports?page=1&page_size=1", "", authed)
		var page jobs.Page[jobs.Transport]
		if r.status != 200 || json.Unmarshal(r.body, &page) != nil || len(page.Items) != 1 || page.Items[0].ID != tr.ID || page.PageSize != 1 || page.Total < 1 {
			t.Errorf("list: %d %s", r.status, r.body)
		}
	})
}

func TestExecuteAndJobs(t *testing.T) {
	s, svc, _ := newTestServer(t, nil)
	trp1 := createTransport(t, s, "VBRP")
	trp2 := createTransport(t, s, "VBRK", "LIKP")

	r := call(t, s, "POST", "/api/v1/transport/"+trp1+"/execute", "", authed)
	if r.status != 202 {
		t.Fatalf("execute: %d %s", r.status, r.body)
	}
	m := r.json(t)
	if !strings.HasPrefix(m["job_id"].(string), "JOB-") || m["version"] != "v001" || m["transport_id"] != trp1 || m["status"] != jobs.StatusRunning || len(m) != 4 {
		t.Errorf("execute body = %v", m)
	}
	job1 := m["job_id"].(string)
	svc.finish(jobs.StatusFailed)
	r = call(t, s, "POST", "/api/transport/"+trp1+"/execute", "", authed)
	if r.status != 202 || r.json(t)["version"] != "v002" {
		t.Fatalf("second execute: %d %s", r.status, r.body)
	}
	svc.finish(jobs.StatusCompleted)
	r = call(t, s, "POST", "/api/v1/transport/"+trp2+"/execute", "", authed)
	job3 := r.json(t)["job_id"].(string)

	prefixes(t, func(t *testing.T, p string) {
		list := func(q string) []string {
			t.Helper()
			r := call(t, s, "GET", p+"/jobs"+q, "", authed)
			var page jobs.Page[jobs.Job]
			if r.status != 200 || json.Unmarshal(r.body, &page) != nil {
				t.Fatalf("jobs%s: %d %s", q, r.status, r.body)
			}
			var ids []string
			for _, j := range page.Items {
				ids = append(ids, j.TransportID+"/"+j.Version+"/"+j.Status)
			}
			return ids
		}
		tests := map[string][]string{
			"":                      {trp2 + "/v001/running", trp1 + "/v002/completed", trp1 + "/v001/failed"},
			"?page_size=2":          {trp2 + "/v001/running", trp1 + "/v002/completed"},
			"?page=2&page_size=2":   {trp1 + "/v001/failed"},
			"?page=3&page_size=2":   nil,
			"?transport_id=" + trp1: {trp1 + "/v002/completed", trp1 + "/v001/failed"},
			"?status=failed":        {trp1 + "/v001/failed"},
			"?transport_id=" + trp1 + "&status=running": nil,
		}
		for _, q := range sortedKeys(tests) {
			if got := list(q); !reflect.DeepEqual(got, tests[q]) {
				t.Errorf("jobs%s = %v, want %v", q, got, tests[q])
			}
		}
		r := call(t, s, "GET", p+"/jobs?page=9", "", authed)
		if !strings.Contains(string(r.body), `"items":[]`) {
			t.Errorf("empty page renders %s", r.body)
		}
		r = call(t, s, "GET", p+"/jobs/"+job3, "", authed)
		var j jobs.Job
		if r.status != 200 || json.Unmarshal(r.body, &j) != nil || j.ID != job3 || len(j.Tables) != 2 || j.Tables[0].TableName != "VBRK" {
			t.Errorf("job: %d %s", r.status, r.body)
		}
		_ = job1
	})
}

func TestConcurrentExecuteOneWins(t *testing.T) {
	s, svc, _ := newTestServer(t, nil)
	trp := createTransport(t, s, "VBRK")
	const n = 8
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = call(t, s, "POST", "/api/v1/transport/"+trp+"/execute", "", authed)
		}()
	}
	wg.Wait()
	running, ok := svc.Running()
	if !ok {
		t.Fatal("no job running")
	}
	accepted := 0
	for _, r := range results {
		switch r.status {
		case 202:
			accepted++
			if r.json(t)["job_id"] != running.ID {
				t.Errorf("202 for another job: %s", r.body)
			}
		case 409:
			if e := checkError(t, r, 409, CodeJobRunning); e["job_id"] != running.ID {
				t.Errorf("409 names %v, running %s", e["job_id"], running.ID)
			}
		default:
			t.Errorf("status %d %s", r.status, r.body)
		}
	}
	if accepted != 1 {
		t.Errorf("%d executes accepted, want 1", accepted)
	}
}

func TestTables(t *testing.T) {
	s, svc, _ := newTestServer(t, nil)
	prefixes(t, func(t *testing.T, p string) {
		type page struct {
			Items []struct {
				Name      string `json:"name"`
				Rows      int64  `json:"rows"`
				RowsExact bool   `json:"rows_exact"`
			} `json:"items"`
			Total, Page, PageSize int
			Exact                 bool `json:"exact"`
		}
		get := func(q string) page {
			t.Helper()
			r := call(t, s, "GET", p+"/tables"+q, "", authed)
			var pg page
			if r.status != 200 || json.Unmarshal(r.body, &pg) != nil {
				t.Fatalf("tables%s: %d %s", q, r.status, r.body)
			}
			return pg
		}
		pg := get("")
		if pg.Total != 3 || len(pg.Items) != 3 || pg.Items[0].Name != "LIKP" || pg.Items[2].Name != "VBRP" || pg.Items[2].Rows != 250 || pg.Exact {
			t.Errorf("tables = %+v", pg)
		}
		pg = get("?exact=true")
		if !pg.Exact || !pg.Items[0].RowsExact || !svc.conn.lastExact {
			t.Errorf("exact not passed: %+v", pg)
		}
		if pg = get("?q=vbr"); pg.Total != 2 || pg.Items[0].Name != "VBRK" {
			t.Errorf("q=vbr: %+v", pg)
		}
		if pg = get("?page=2&page_size=2"); pg.Total != 3 || len(pg.Items) != 1 || pg.Items[0].Name != "VBRP" {
			t.Errorf("page 2: %+v", pg)
		}
	})
}

func TestSample(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	prefixes(t, func(t *testing.T, p string) {
		r := call(t, s, "GET", p+"/tables/vbrp/sample", "", authed)
		if r.status != 200 {
			t.Fatalf("sample: %d %s", r.status, r.body)
		}
		var body struct {
			Table   string            `json:"table"`
			Count   int               `json:"count"`
			Columns []pipeline.Column `json:"columns"`
			Rows    []json.RawMessage `json:"rows"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("%v: %s", err, r.body)
		}
		if body.Table != "VBRP" || body.Count != 100 || len(body.Rows) != 100 || len(body.Columns) != 7 || body.Columns[1].Type != pipeline.TypeDecimal {
			t.Fatalf("sample = %s %d %d %v", body.Table, body.Count, len(body.Rows), body.Columns)
		}
		want0 := `{"VBELN":"0090000000","NETWR":12345678901234567890.000,"POSNR":1,"ERDAT":"2024-01-02T03:04:05","TS":"2024-01-02T03:04:05.123456+09:00","RAW":"3q0AAA==","RATE":0}`
		if string(body.Rows[0]) != want0 {
			t.Errorf("row 0 =\n%s\nwant\n%s", body.Rows[0], want0)
		}
		if !strings.Contains(string(body.Rows[4]), `"NETWR":null`) || !strings.Contains(string(body.Rows[1]), `"RAW":null`) {
			t.Errorf("NULLs: %s %s", body.Rows[4], body.Rows[1])
		}
		r = call(t, s, "GET", p+"/tables/VBRK/sample", "", authed)
		if n := r.json(t)["count"]; n != float64(3) {
			t.Errorf("VBRK count = %v", n)
		}
	})
}

func TestEncodeSample(t *testing.T) {
	col := func(name string, typ pipeline.ColumnType, scale int) pipeline.Column {
		return pipeline.Column{Name: name, Type: typ, Scale: scale}
	}
	tz := time.FixedZone("", -5*3600)
	tests := []struct {
		name string
		col  pipeline.Column
		v    any
		want string
	}{
		{"nil", col("A", pipeline.TypeString, 0), nil, "null"},
		{"string", col("A", pipeline.TypeString, 0), "a\"b\n\x01", `"a\"b\n\u0001"`},
		{"bytes string", col("A", pipeline.TypeString, 0), []byte("héllo"), `"héllo"`},
		{"invalid utf8", col("A", pipeline.TypeString, 0), "a\xffb", `"a\ufffdb"`},
		{"decimal digits", col("A", pipeline.TypeDecimal, 3), "-12345678901234567890123456789.120", "-12345678901234567890123456789.120"},
		{"decimal exponent", col("A", pipeline.TypeDecimal, 0), []byte("1E+125"), "1E+125"},
		{"decimal NaN", col("A", pipeline.TypeDecimal, 0), "NaN", `"NaN"`},
		{"decimal leading dot", col("A", pipeline.TypeDecimal, 0), ".5", `0.5`},
		{"decimal int", col("A", pipeline.TypeDecimal, 0), int64(-7), "-7"},
		{"int uint64", col("A", pipeline.TypeInt, 0), uint64(18446744073709551615), "18446744073709551615"},
		{"int digits", col("A", pipeline.TypeInt, 0), "9223372036854775808", "9223372036854775808"},
		{"float", col("A", pipeline.TypeFloat, 0), 0.1, "0.1"},
		{"float32", col("A", pipeline.TypeFloat, 0), float32(0.1), "0.1"},
		{"float inf", col("A", pipeline.TypeFloat, 0), mathInf(), `"Infinity"`},
		{"bool", col("A", pipeline.TypeBool, 0), true, "true"},
		{"date", col("A", pipeline.TypeDate, 0), time.Date(2024, 2, 29, 23, 0, 0, 0, tz), `"2024-02-29"`},
		{"datetime keeps wall clock", col("A", pipeline.TypeDateTime, 0), time.Date(2024, 2, 29, 23, 1, 2, 0, tz), `"2024-02-29T23:01:02"`},
		{"timestamp scale 3", col("A", pipeline.TypeTimestamp, 3), time.Date(2024, 1, 1, 0, 0, 0, 987654321, time.UTC), `"2024-01-01T00:00:00.987"`},
		{"timestamptz", col("A", pipeline.TypeTimestampTZ, 0), time.Date(2024, 1, 1, 0, 0, 0, 5000, tz), `"2024-01-01T00:00:00.000005-05:00"`},
		{"bytes", col("A", pipeline.TypeBytes, 0), []byte{0, 1, 2, 255}, `"AAEC/w=="`},
		{"json raw", col("A", pipeline.TypeJSON, 0), pipeline.RawJSON(`{"a":[1,2]}`), `{"a":[1,2]}`},
		{"json map", col("A", pipeline.TypeJSON, 0), map[string]any{"k": 1}, `{"k":1}`},
		{"interval", col("A", pipeline.TypeInterval, 0), "+02 03:04:05.000000", `"+02 03:04:05.000000"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeSample([]pipeline.Column{tt.col}, [][]any{{tt.v}})
			if err != nil {
				t.Fatal(err)
			}
			want := `[{"A":` + tt.want + `}]`
			if string(got) != want {
				t.Errorf("got %s, want %s", got, want)
			}
			if !json.Valid(got) {
				t.Errorf("invalid JSON %s", got)
			}
		})
	}
	// Invalid JSON in a JSON column is an error, as in the export: never
	// invalid output, never a silent change of type.
	if _, err := encodeSample([]pipeline.Column{col("A", pipeline.TypeJSON, 0)}, [][]any{{"{oops"}}); err == nil {
		t.Error("invalid JSON text accepted")
	}
	if _, err := encodeSample([]pipeline.Column{col("A", pipeline.TypeInt, 0)}, [][]any{{1, 2}}); err == nil {
		t.Error("row wider than columns accepted")
	}
	got, err := encodeSample([]pipeline.Column{col("Z", pipeline.TypeInt, 0), col("A", pipeline.TypeInt, 0)}, [][]any{{1, 2}, {3, 4}})
	if err != nil || string(got) != `[{"Z":1,"A":2},{"Z":3,"A":4}]` {
		t.Errorf("column order: %s %v", got, err)
	}
}

func TestSourceStatus(t *testing.T) {
	s, svc, _ := newTestServer(t, nil)
	prefixes(t, func(t *testing.T, p string) {
		r := call(t, s, "GET", p+"/oracle/status", "", authed)
		m := r.json(t)
		pool, _ := m["pool"].(map[string]any)
		if r.status != 200 || m["reachable"] != true || m["latency_ms"] != 1.5 || m["current_snapshot"] != "SCN 123456789" || pool["max_open"] != float64(20) {
			t.Errorf("status: %d %s", r.status, r.body)
		}
	})
	svc.conn.mu.Lock()
	svc.conn.reachable = false
	svc.conn.mu.Unlock()
	r := call(t, s, "GET", "/api/v1/oracle/status", "", authed)
	if m := r.json(t); r.status != 503 || m["reachable"] != false || m["error"] == "" {
		t.Errorf("unreachable: %d %s", r.status, r.body)
	}
}

func TestRequestID(t *testing.T) {
	s, _, logs := newTestServer(t, nil)
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"valid", "req-123_abc.def:9", true},
		{"absent", "", false},
		{"too long", strings.Repeat("a", 129), false},
		{"unsafe chars", "bad id\"<x>", false},
		{"max length", strings.Repeat("b", 128), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"X-API-Key": testKey}
			if tt.sent != "" {
				h["X-Request-ID"] = tt.sent
			}
			for _, path := range []string{"/api/v1/jobs", "/api/v1/jobs/JOB-NONE"} {
				r := call(t, s, "GET", path, "", h)
				got := r.header.Get("X-Request-ID")
				if tt.kept && got != tt.sent || !tt.kept && (got == "" || got == tt.sent || !validRequestID(got)) {
					t.Errorf("%s: X-Request-ID %q for sent %q", path, got, tt.sent)
				}
				if r.status == 404 && r.json(t)["error"].(map[string]any)["request_id"] != got {
					t.Errorf("error body request_id differs from header %q", got)
				}
				if !strings.Contains(logs.String(), `"request_id":"`+got+`"`) {
					t.Errorf("log lacks request_id %q", got)
				}
			}
		})
	}
}

func TestLogLines(t *testing.T) {
	s, _, logs := newTestServer(t, nil)
	trp := createTransport(t, s, "VBRK")
	call(t, s, "GET", "/api/v1/transport/"+trp, "", map[string]string{"X-API-Key": testKey, "X-Request-ID": "log-test-1"})
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(l, `"request_id":"log-test-1"`) && strings.Contains(l, `"message":"request"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line == nil {
		t.Fatalf("no request line in\n%s", logs.String())
	}
	for k, want := range map[string]any{"level": "INFO", "message": "request", "transport_id": trp, "method": "GET",
		"path": "/api/v1/transport/" + trp, "route": "/api/v1/transport/:id", "status": float64(200)} {
		if line[k] != want {
			t.Errorf("%s = %v, want %v", k, line[k], want)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(line["timestamp"])); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms = %v", line["duration_ms"])
	}
	if _, ok := line["msg"]; ok {
		t.Error("slog's msg key not renamed")
	}
}

// TestLogsNeverContainSecrets sends keys, wrong keys and a password in every
// place a client can put them and scans this server's whole log output.
// (TestMain scans the output of all tests the same way.)
func TestLogsNeverContainSecrets(t *testing.T) {
	s, svc, logs := newTestServer(t, nil)
	body := `{"name":"x","tables":["VBRK"],"description":"password=` + fakePassword + `"}`
	headers := []map[string]string{
		{"X-API-Key": testKey, "X-Db-Password": fakePassword},
		{"Authorization": "Bearer " + secondKey, "Cookie": "pw=" + fakePassword},
		{"X-API-Key": fakePassword},
		{"Authorization": "Bearer " + fakePassword},
	}
	for _, h := range headers {
		call(t, s, "POST", "/api/v1/transport", body, h)
		call(t, s, "POST", "/api/v1/transport", `{"name":"`+fakePassword, h)
		call(t, s, "GET", "/api/v1/jobs?q="+fakePassword, "", h)
	}
	svc.panicOnList = true
	call(t, s, "GET", "/api/v1/transports", "", authed)
	out := logs.String()
	if !strings.Contains(out, `"status":401`) || !strings.Contains(out, `"status":500`) {
		t.Fatalf("expected 401 and 500 lines in the log:\n%s", out)
	}
	for _, secret := range []string{testKey, secondKey, fakePassword} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains secret %q", secret)
		}
	}
}

func TestEnsureAPIKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var logBuf testutil.LogBuffer
	log := NewLogger(&logBuf, slog.LevelDebug)

	keys, err := EnsureAPIKey(dir, []string{" ", ""}, log)
	if err != nil || len(keys) != 1 || len(keys[0]) < 32 {
		t.Fatalf("generate: %q %v", keys, err)
	}
	path := filepath.Join(dir, APIKeyFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	again, err := EnsureAPIKey(dir, nil, log)
	if err != nil || !reflect.DeepEqual(again, keys) {
		t.Errorf("reuse: %q %v, want %q", again, err, keys)
	}
	out := logBuf.String()
	if strings.Contains(out, keys[0]) || !strings.Contains(out, path) {
		t.Errorf("log must name the file and not the key:\n%s", out)
	}
	configured, err := EnsureAPIKey(filepath.Join(t.TempDir(), "other"), []string{" abc-configured-key-123 "}, log)
	if err != nil || !reflect.DeepEqual(configured, []string{"abc-configured-key-123"}) {
		t.Errorf("configured: %q %v", configured, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureAPIKey(dir, nil, log); err == nil || strings.Contains(err.Error(), keys[0]) {
		t.Errorf("world-readable key file: %v", err)
	}
	// The generated key works against a server.
	s, err := New(newFakeService(), Options{APIKeys: keys, Logger: NewLogger(&testLogs, slog.LevelInfo)})
	if err != nil {
		t.Fatal(err)
	}
	if r := call(t, s, "GET", "/api/v1/jobs", "", map[string]string{"Authorization": "Bearer " + keys[0]}); r.status != 200 {
		t.Errorf("generated key refused: %d", r.status)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	trp := createTransport(t, s, "VBRK")
	call(t, s, "GET", "/api/v1/transport/"+trp, "", authed)
	call(t, s, "GET", "/api/v1/transport/TRP-NONE", "", authed)
	call(t, s, "GET", "/some/random/path", "", nil)
	r := call(t, s, "GET", "/metrics", "", nil)
	out := string(r.body)
	for _, want := range []string{
		`ora2gcs_http_request_duration_seconds_bucket{method="GET",route="/api/v1/transport/:id",status="200",le=`,
		`ora2gcs_http_request_duration_seconds_count{method="GET",route="/api/v1/transport/:id",status="404"} 1`,
		`ora2gcs_http_request_duration_seconds_count{method="POST",route="/api/v1/transport",status="201"} 1`,
		`route="unmatched",status="404"`,
		"ora2gcs_jobs_running 0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s\n%s", want, out)
		}
	}
	if strings.Contains(out, "TRP-NONE") || strings.Contains(out, "random") {
		t.Error("metric labels carry raw paths")
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
	}
}

func TestShutdownRefusesNewRequests(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	checkError(t, call(t, s, "GET", "/api/v1/jobs", "", authed), 503, CodeShuttingDown)
}

func mathInf() float64 { return math.Inf(1) }
