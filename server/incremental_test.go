package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
	"github.com/ora2gcs/ora2gcs/stages"
)

// TestIncrementalEndpoints (real PostgreSQL): POST /transport takes table
// modes, PUT /transport/:id/incremental changes them (a bad field is 400
// naming it), the job record shows each table's mode and window, GET
// /transport/:id/watermarks lists the state, {"full": true} reads in full,
// and POST …/watermarks/rebuild rebuilds the state from the manifests.
func TestIncrementalEndpoints(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	pg, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	schema := fmt.Sprintf("inc_api_%d", rand.Uint32())
	for _, q := range []string{"CREATE SCHEMA " + schema,
		"CREATE TABLE " + schema + ".t (id int PRIMARY KEY, seq bigint)",
		"INSERT INTO " + schema + ".t VALUES (1, 1), (2, 2)"} {
		if _, err := pg.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	defer pg.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	conn, err := postgres.Open(ctx, dsn, postgres.Options{MaxOpen: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dir := t.TempDir()
	m, err := jobs.NewManager(ctx, jobs.ManagerConfig{
		Store: filepath.Join(dir, "state.db"), Connector: conn,
		Sinks:   func(b string) (pipeline.Sink, error) { return file.New(filepath.Join(dir, "target"), b) },
		Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})), Pipeline: pipeline.DefaultConfig(),
		DefaultBucket: "bucket", Logger: NewLogger(io.Discard, slog.LevelInfo),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer m.Shutdown(ctx)
	s, err := New(m, Options{APIKeys: []string{testKey}, Logger: NewLogger(&testLogs, slog.LevelDebug)})
	if err != nil {
		t.Fatal(err)
	}
	tab := schema + ".t"
	r := call(t, s, "POST", "/api/v1/transport", `{"name":"n","tables":["`+tab+`"],
		"incremental":{"tables":[{"table":"`+tab+`","mode":"incremental","watermark_column":"nope"}]}}`, authed)
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "watermark_column") {
		t.Fatalf("create with an unknown column: %d %s", r.status, r.body)
	}
	r = call(t, s, "POST", "/api/v1/transport", `{"name":"n","tables":["`+tab+`"],
		"incremental":{"tables":[{"table":"`+tab+`","mode":"incremental","watermark_column":"seq"}]}}`, authed)
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), `"key_columns":["id"]`) {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	bad := []struct{ body, field string }{
		{`{"tables":[{"table":"` + tab + `","mode":"sometimes"}]}`, "incremental.tables[0].mode"},
		{`{"tables":[{"table":"` + tab + `","mode":"incremental","watermark_column":"seq","overlap":"10m"}]}`, "incremental.tables[0].overlap"},
		{`{"tables":[{"table":"` + tab + `","mode":"incremental","watermark_column":"seq","key_columns":["x"]}]}`, "incremental.tables[0].key_columns[0]"},
		{`{"tables":[{"table":"public.other","mode":"incremental","watermark_column":"seq"}]}`, "incremental.tables[0].table"},
		{`{"tables":[],"full_schedule":{"cron":"0 0 * * 0"}}`, "incremental.full_schedule.timezone"},
		{`{"tables":[{"table":"` + tab + `","mode":"incremental","watermark_column":"seq","overlap":"1.5"}]}`, "incremental.tables[0].overlap"},
	}
	for _, b := range bad {
		r = call(t, s, "PUT", "/api/v1/transport/"+id+"/incremental", b.body, authed)
		e, _ := r.json(t)["error"].(map[string]any)
		if r.status != http.StatusBadRequest || e["field"] != b.field {
			t.Fatalf("%s: %d %s", b.body, r.status, r.body)
		}
	}
	r = call(t, s, "PUT", "/api/v1/transport/"+id+"/incremental",
		`{"tables":[{"table":"`+tab+`","mode":"incremental","watermark_column":"seq","overlap":"1"}],"full_schedule":{"cron":"0 0 * * 0","timezone":"UTC"}}`, authed)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"overlap":"1"`) || !strings.Contains(string(r.body), `"full_schedule"`) {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	run := func(body string) map[string]any {
		t.Helper()
		r := call(t, s, "POST", "/api/v1/transport/"+id+"/execute", body, authed)
		if r.status != http.StatusAccepted {
			t.Fatalf("execute %s: %d %s", body, r.status, r.body)
		}
		j, err := m.Wait(ctx, r.json(t)["job_id"].(string))
		if err != nil || j.Status != jobs.StatusCompleted {
			t.Fatalf("job: %v %+v", err, j)
		}
		return call(t, s, "GET", "/api/v1/jobs/"+j.ID, "", authed).json(t)
	}
	first := run("")
	te := first["tables"].([]any)[0].(map[string]any)
	if te["mode"] != "full" || te["window"].(map[string]any)["high"] != "2" {
		t.Fatalf("first job's table: %v", te)
	}
	if _, err := pg.Exec(ctx, "INSERT INTO "+tab+" VALUES (3, 3)"); err != nil {
		t.Fatal(err)
	}
	second := run("")
	te = second["tables"].([]any)[0].(map[string]any)
	w := te["window"].(map[string]any)
	if te["mode"] != "incremental" || w["low"] != "1" || w["high"] != "3" || te["row_count"].(float64) != 2 {
		t.Fatalf("second job's table: %v", te)
	}
	if r = call(t, s, "POST", "/api/v1/transport/"+id+"/execute", `{"full":true,"queue":true}`, authed); r.status != http.StatusBadRequest {
		t.Fatalf("full and queued: %d %s", r.status, r.body)
	}
	full := run(`{"full":true}`)
	if te = full["tables"].([]any)[0].(map[string]any); te["mode"] != "full" || te["row_count"].(float64) != 3 {
		t.Fatalf("full job's table: %v", te)
	}
	r = call(t, s, "GET", "/api/v1/transport/"+id+"/watermarks", "", authed)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"high":"3"`) || !strings.Contains(string(r.body), `"full_job_id":"`+full["id"].(string)+`"`) {
		t.Fatalf("watermarks: %d %s", r.status, r.body)
	}
	before := string(r.body)
	if r = call(t, s, "POST", "/api/v1/transport/"+id+"/watermarks/rebuild", "", authed); r.status != http.StatusOK || string(r.body) != before {
		t.Fatalf("rebuild: %d %s\nwant %s", r.status, r.body, before)
	}
	if r = call(t, s, "GET", "/api/v1/transport/TRP-NONE/watermarks", "", authed); r.status != http.StatusNotFound {
		t.Fatalf("unknown transport: %d %s", r.status, r.body)
	}
}
