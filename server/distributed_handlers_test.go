package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/distributed"
	"github.com/ora2gcs/ora2gcs/jobs"
)

// TestDistributedBodiesUnknownKeys: a misspelt key inside the execute
// body's "distributed" object or the body of PUT …/distributed is refused
// with 400 and the structured error naming the key (a key differing only in
// case is named with the right spelling); nothing starts and the
// transport's setting is unchanged. The same requests spelt right run a
// distributed job (a real distributed.Runner on the synthetic source) and
// set the setting.
func TestDistributedBodiesUnknownKeys(t *testing.T) {
	clk := &schedClock{}
	clk.Set(time.Date(2026, 1, 19, 3, 0, 0, 0, time.UTC))
	s, m, _ := newManagerServer(t, clk, func(c *jobs.ManagerConfig) {
		c.Distributor = &distributed.Runner{Connector: c.Connector, Default: "local", Poll: 20 * time.Millisecond,
			Settings:  distributed.Settings{Compressor: c.Codec.Name(), GzipLevel: c.Codec.Level()},
			Executors: map[string]distributed.Executor{"local": distributed.InProcess{Connector: c.Connector}}}
	})
	r := call(t, s, "POST", "/api/v1/transport", `{"name":"d","tables":["VBRK"]}`, authed)
	id := r.json(t)["id"].(string)
	cases := []struct{ method, path, body, field, code, msg string }{
		{"POST", "/execute", `{"distributed":{"exectuor":"local"}}`, "distributed.exectuor", CodeBadRequest, "distributed.exectuor: unknown field"},
		{"POST", "/execute", `{"distributed":{"executor":"local","shard":4}}`, "distributed.shard", CodeBadRequest, "unknown field"},
		{"POST", "/execute", `{"distributed":{"Shards":4}}`, "distributed.Shards", CodeValidation, `did you mean "distributed.shards"?`},
		{"POST", "/execute", `{"distributed":{"local":{"mode":"processes"}}}`, "distributed.local", CodeBadRequest, "unknown field"},
		{"POST", "/execute", `{"distributd":{"executor":"local"}}`, "distributd", CodeBadRequest, "unknown field"},
		{"PUT", "/distributed", `{"executr":"local"}`, "executr", CodeBadRequest, "executr: unknown field"},
		{"PUT", "/distributed", `{"shards":4,"poll":"1s"}`, "poll", CodeBadRequest, "unknown field"},
	}
	for _, prefix := range []string{"/api/v1", "/api"} {
		for _, c := range cases {
			r := call(t, s, c.method, prefix+"/transport/"+id+c.path, c.body, authed)
			var body struct {
				Error struct{ Code, Field, Message string } `json:"error"`
			}
			if err := json.Unmarshal(r.body, &body); err != nil || r.status != http.StatusBadRequest ||
				body.Error.Code != c.code || body.Error.Field != c.field || !strings.Contains(body.Error.Message, c.msg) {
				t.Errorf("%s %s %s: %d %s; want 400 %s naming %s (%q)", c.method, c.path, c.body, r.status, r.body, c.code, c.field, c.msg)
			}
		}
	}
	r = call(t, s, "GET", "/api/v1/transport/"+id, "", authed)
	if b := string(r.body); strings.Contains(b, `"distributed"`) || strings.Contains(b, `"last_job_id"`) {
		t.Fatalf("the refused requests changed the transport: %s", b)
	}
	if _, ok := m.Running(); ok {
		t.Fatal("a refused request started a job")
	}

	// spelt right: the setting is stored and the job runs distributed
	if r := call(t, s, "PUT", "/api/v1/transport/"+id+"/distributed", `{"shards":2}`, authed); r.status != http.StatusOK ||
		!strings.Contains(string(r.body), `"distributed":{"shards":2}`) {
		t.Fatalf("PUT distributed: %d %s", r.status, r.body)
	}
	r = call(t, s, "POST", "/api/v1/transport/"+id+"/execute", `{"distributed":{"executor":"local","shards":2}}`, authed)
	if r.status != http.StatusAccepted {
		t.Fatalf("execute: %d %s", r.status, r.body)
	}
	waitJobs(t, m)
	j, err := m.GetJob(t.Context(), r.json(t)["job_id"].(string))
	if err != nil || j.Status != jobs.StatusCompleted || j.Distributed == nil || j.Distributed.Executor != "local" {
		t.Fatalf("job %+v %v", j, err)
	}
}
