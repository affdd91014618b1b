package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// TestUnknownMethod: a method fasthttp parses but Fiber does not know gets
// the one JSON error body and a log line, like every other response.
func TestUnknownMethod(t *testing.T) {
	s, _, logs := newTestServer(t, nil)
	for _, m := range []string{"FOO", "PROPFIND", "get"} {
		r := call(t, s, m, "/api/v1/jobs", "", map[string]string{"X-API-Key": testKey, "X-Request-ID": "unknown-method-" + m})
		checkError(t, r, http.StatusMethodNotAllowed, CodeMethodNotAllowed)
		if !strings.Contains(logs.String(), `"request_id":"unknown-method-`+m+`"`) {
			t.Errorf("%s: no log line", m)
		}
	}
}

// TestNameLengthInCharacters: limits count characters, not bytes.
func TestNameLengthInCharacters(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	hangul80 := strings.Repeat("한", 80) // 240 bytes
	body, _ := json.Marshal(map[string]any{"name": hangul80, "tables": []string{"VBRK"}, "description": strings.Repeat("설", 1500)})
	if r := call(t, s, "POST", "/api/v1/transport", string(body), authed); r.status != http.StatusCreated {
		t.Fatalf("80-character Hangul name: %d %s", r.status, r.body)
	}
	for field, v := range map[string]map[string]any{
		"name":        {"name": strings.Repeat("한", 201), "tables": []string{"VBRK"}},
		"description": {"name": "x", "tables": []string{"VBRK"}, "description": strings.Repeat("설", 2001)},
	} {
		body, _ := json.Marshal(v)
		e := checkError(t, call(t, s, "POST", "/api/v1/transport", string(body), authed), 400, CodeValidation)
		if e["field"] != field {
			t.Errorf("%s: field %v", field, e["field"])
		}
	}
}

// TestStrictJSON: duplicate keys, keys in another case and invalid UTF-8 are
// refused naming the field; only application/json is accepted; no message
// names a Go type.
func TestStrictJSON(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	tests := []struct {
		name, body, field, code string
	}{
		{"duplicate key", `{"name":"a","tables":["VBRK"],"name":"b"}`, "name", CodeValidation},
		{"duplicate tables", `{"name":"a","tables":["VBRK"],"tables":["VBRP"]}`, "tables", CodeValidation},
		{"upper-case key", `{"NAME":"a","tables":["VBRK"]}`, "NAME", CodeValidation},
		{"mixed-case key", `{"name":"a","Tables":["VBRK"]}`, "Tables", CodeValidation},
		{"invalid UTF-8 in name", "{\"name\":\"a\xff\",\"tables\":[\"VBRK\"]}", "name", CodeValidation},
		{"invalid UTF-8 in a table", "{\"name\":\"a\",\"tables\":[\"VB\xc3RK\"]}", "tables", CodeValidation},
		{"invalid UTF-8 in description", "{\"name\":\"a\",\"tables\":[\"VBRK\"],\"description\":\"\xed\xa0\x80\"}", "description", CodeValidation},
		{"unknown field", `{"name":"a","tables":["VBRK"],"bucket":"y"}`, "bucket", CodeBadRequest},
		{"nested duplicate key", `{"name":"a","tables":["VBRK"],"schedule":{"cron":"0 1 * * *","cron":"0 2 * * *","timezone":"UTC"}}`, "schedule.cron", CodeValidation},
		{"nested wrong-case key", `{"name":"a","tables":["VBRK"],"schedule":{"Cron":"0 1 * * *","timezone":"UTC"}}`, "schedule.Cron", CodeValidation},
		{"nested invalid UTF-8", "{\"name\":\"a\",\"tables\":[\"VBRK\"],\"schedule\":{\"cron\":\"0 1 * * *\",\"timezone\":\"U\xffTC\"}}", "schedule.timezone", CodeValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := checkError(t, call(t, s, "POST", "/api/v1/transport", tt.body, authed), 400, tt.code)
			if e["field"] != tt.field {
				t.Errorf("field = %v, want %s (%v)", e["field"], tt.field, e["message"])
			}
			if msg, _ := e["message"].(string); !strings.Contains(msg, tt.field) {
				t.Errorf("message %q does not name %s", msg, tt.field)
			}
		})
	}
	t.Run("content type", func(t *testing.T) {
		ok := `{"name":"a","tables":["VBRK"]}`
		for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/jsonx"} {
			h := map[string]string{"X-API-Key": testKey, "Content-Type": ct}
			r := call(t, s, "POST", "/api/v1/transport", ok, h)
			if ct == "" {
				// call sets application/json for a body; send none at all.
				r = callRaw(t, s, "POST", "/api/v1/transport", ok, map[string]string{"X-API-Key": testKey})
			}
			checkError(t, r, http.StatusUnsupportedMediaType, CodeUnsupportedMedia)
		}
		for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"} {
			r := call(t, s, "POST", "/api/v1/transport", ok, map[string]string{"X-API-Key": testKey, "Content-Type": ct})
			if r.status != http.StatusCreated {
				t.Errorf("%q: %d %s", ct, r.status, r.body)
			}
		}
	})
	t.Run("no Go type names", func(t *testing.T) {
		for _, body := range []string{`[1]`, `"x"`, `{"name":1,"tables":["VBRK"]}`, `{"name":"a","tables":[1]}`,
			`{"name":"a","tables":["VBRK"],"table_parallelism":1e40}`, `{"name":"a","tables":["VBRK"],"table_parallelism":1.5}`,
			`{"name":"a","tables":{"a":1}}`, `null`, `{"name":null,"tables":["VBRK"]}`} {
			r := call(t, s, "POST", "/api/v1/transport", body, authed)
			if r.status != 400 {
				t.Errorf("%s: status %d", body, r.status)
			}
			for _, bad := range []string{"Go ", "jobs.", "NewTransport", "int64", "[]string", "struct"} {
				if strings.Contains(string(r.body), bad) {
					t.Errorf("%s: message names a Go type (%q): %s", body, bad, r.body)
				}
			}
		}
	})
}

// callRaw is call without the default Content-Type.
func callRaw(t testing.TB, s *Server, method, path, body string, header map[string]string) response {
	t.Helper()
	h := map[string]string{"Content-Type": ""}
	for k, v := range header {
		h[k] = v
	}
	return call(t, s, method, path, body, h)
}

// TestLocationIsRelative: Location never reflects the request's Host or
// X-Forwarded-Proto; it is relative, or built from Options.PublicBaseURL.
func TestLocationIsRelative(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	h := map[string]string{"X-API-Key": testKey, "X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "evil2.example"}
	r := call(t, s, "POST", "http://evil.example/api/v1/transport", `{"name":"a","tables":["VBRK"]}`, h)
	if r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	if loc := r.header.Get("Location"); loc != "/api/v1/transport/"+id {
		t.Errorf("Location = %q", loc)
	}
	r = call(t, s, "POST", "http://evil.example/api/transport/"+id+"/execute", "", h)
	if loc := r.header.Get("Location"); r.status != 202 || loc != "/api/jobs/"+r.json(t)["job_id"].(string) {
		t.Errorf("execute: %d, Location = %q", r.status, loc)
	}

	s2, _, _ := newTestServer(t, func(o *Options) { o.PublicBaseURL = "https://etl.example.com/base/" })
	r = call(t, s2, "POST", "/api/v1/transport", `{"name":"a","tables":["VBRK"]}`, h)
	if loc := r.header.Get("Location"); loc != "https://etl.example.com/base/api/v1/transport/"+r.json(t)["id"].(string) {
		t.Errorf("with PublicBaseURL: Location = %q", loc)
	}
	if _, err := New(newFakeService(), Options{APIKeys: []string{testKey}, PublicBaseURL: "etl.example.com"}); err == nil {
		t.Error("a PublicBaseURL without scheme was accepted")
	}
}

// ridService records the request id the service sees in Execute's context.
type ridService struct {
	*fakeService
	got chan string
}

func (s *ridService) Execute(ctx context.Context, id string) (jobs.Job, error) {
	s.got <- jobs.RequestIDFrom(ctx)
	return s.fakeService.Execute(ctx, id)
}

// TestExecutePassesRequestID: the service starts the job with the request's
// id in its context, so the job's log lines name the request (NFR-04.1).
func TestExecutePassesRequestID(t *testing.T) {
	s, svc, _ := newTestServer(t, nil)
	trp := createTransport(t, s, "VBRK")
	rs := &ridService{fakeService: svc, got: make(chan string, 1)}
	s.svc = rs
	r := call(t, s, "POST", "/api/v1/transport/"+trp+"/execute", "", map[string]string{"X-API-Key": testKey, "X-Request-ID": "exec-req-1"})
	if r.status != 202 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := <-rs.got; got != "exec-req-1" {
		t.Errorf("the service saw request id %q", got)
	}
}
