package integration

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/gcstest"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

// TestServerSynthToGCS drives the whole spec flow over HTTP: create a
// transport, execute it, follow the SSE stream to the end, then check the
// job record against the objects the GCS emulator holds.
func TestServerSynthToGCS(t *testing.T) {
	emu := gcstest.Start(t, "oracle-etl-data")
	rows := map[string]int64{"VBRP": 3000, "VBRK": 5000, "LIKP": 4000}
	conn, err := synth.New(synth.Config{Rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	s := startStack(t, t.TempDir(), conn, func(b string) (pipeline.Sink, error) {
		return gcs.NewWithClient(emu.Client, gcs.Config{Bucket: b, ChunkSize: 256 << 10})
	}, nil)

	var tr jobs.Transport
	if code := s.do("POST", "/transport", map[string]any{"name": "SAP Sales Data Export", "tables": []string{"vbrp", "VBRK", "likp"},
		"target_bucket": "oracle-etl-data", "description": "Monthly sales data extraction"}, &tr); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if !regexp.MustCompile(`^TRP-\d{8}-\d{3}$`).MatchString(tr.ID) || tr.Status != "created" || strings.Join(tr.Tables, ",") != "VBRP,VBRK,LIKP" {
		t.Fatalf("transport %+v", tr)
	}
	var started map[string]any
	if code := s.do("POST", "/transport/"+tr.ID+"/execute", nil, &started); code != 202 || started["version"] != "v001" {
		t.Fatalf("execute: %d %v", code, started)
	}
	var conflict map[string]map[string]any
	if code := s.do("POST", "/transport/"+tr.ID+"/execute", nil, &conflict); code != 409 || conflict["error"]["job_id"] != started["job_id"] {
		t.Fatalf("second execute while running: %d %v", code, conflict)
	}

	events := s.stream(tr.ID, 60*time.Second)
	if len(events) < 7 {
		t.Fatalf("%d events", len(events))
	}
	last := events[len(events)-1]
	if last.Type != "complete" || last.Data["status"] != "completed" || num(last.Data["total_rows"]) != 12000 || last.Data["job_version"] != "v001" {
		t.Fatalf("last event %+v", last)
	}
	startedT, completed := map[string]bool{}, map[string]int64{}
	seen := map[string]int64{}
	for _, e := range events {
		table, _ := e.Data["table"].(string)
		switch e.Type {
		case "table_start":
			startedT[table] = true
		case "progress":
			if !startedT[table] {
				t.Fatalf("progress of %s before table_start", table)
			}
			r := num(e.Data["rows_processed"])
			if r < seen[table] || r > rows[table] || e.Data["progress_percent"].(float64) > 100 {
				t.Fatalf("progress %v after %d rows", e.Data, seen[table])
			}
			seen[table] = r
		case "table_complete":
			completed[table] = num(e.Data["total_rows"])
		case "error":
			t.Fatalf("error event %v", e.Data)
		}
	}
	for name, n := range rows {
		if !startedT[name] || completed[name] != n {
			t.Fatalf("table %s: started %v, completed with %d rows, want %d", name, startedT[name], completed[name], n)
		}
	}

	var job jobs.Job
	if code := s.do("GET", "/jobs/"+started["job_id"].(string), nil, &job); code != 200 || job.Status != "completed" || job.TotalRows != 12000 {
		t.Fatalf("job %d %+v", code, job)
	}
	for _, te := range job.Tables {
		name := tr.ID + "/v001/" + te.TableName + ".jsonl.gz"
		if te.GCSPath != "gs://oracle-etl-data/"+name || te.Attempts != 1 || te.Status != "completed" {
			t.Fatalf("table extraction %+v", te)
		}
		b, ok := emu.Read(t, "oracle-etl-data", name)
		if !ok {
			t.Fatalf("object %s missing", name)
		}
		if got := stages.CRC32CBase64(pipeline.CRC32C(b)); got != te.CRC32C || int64(len(b)) != te.BytesTransferred {
			t.Fatalf("%s: stored crc %s size %d, job says %s %d", name, got, len(b), te.CRC32C, te.BytesTransferred)
		}
		lines := strings.Split(strings.TrimSuffix(string(testutil.GunzipOne(t, b)), "\n"), "\n")
		if int64(len(lines)) != rows[te.TableName] || int64(len(lines)) != te.RowCount {
			t.Fatalf("%s: %d lines, job says %d", name, len(lines), te.RowCount)
		}
		var first map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
			t.Fatal(err)
		}
		if te.TableName == "VBRP" && len(first) != 274 {
			t.Fatalf("VBRP line has %d keys", len(first))
		}
	}
	man, ok := emu.Read(t, "oracle-etl-data", tr.ID+"/v001/_manifest.json")
	if !ok {
		t.Fatal("no manifest")
	}
	var manifest map[string]any
	if err := json.Unmarshal(man, &manifest); err != nil {
		t.Fatal(err)
	}
	if _, ok := emu.Read(t, "oracle-etl-data", tr.ID+"/v001/VBRP.schema.json"); !ok {
		t.Fatal("no BigQuery schema for VBRP")
	}

	// A late subscriber gets the finished job's replay, ending in complete.
	replay := s.stream(tr.ID, 10*time.Second)
	if len(replay) == 0 || replay[len(replay)-1].Type != "complete" {
		t.Fatalf("late replay %+v", replay)
	}
	// The next execution is v002 and writes next to v001.
	var second map[string]any
	if code := s.do("POST", "/transport/"+tr.ID+"/execute", nil, &second); code != 202 || second["version"] != "v002" {
		t.Fatalf("execute v002: %d %v", code, second)
	}
	if ev := s.stream(tr.ID, 60*time.Second); ev[len(ev)-1].Data["job_version"] != "v002" || ev[len(ev)-1].Data["status"] != "completed" {
		t.Fatalf("v002 ended %+v", ev[len(ev)-1])
	}
	if _, ok := emu.Read(t, "oracle-etl-data", tr.ID+"/v002/VBRK.jsonl.gz"); !ok {
		t.Fatal("v002 object missing")
	}
	var page jobs.Page[jobs.Job]
	if code := s.do("GET", "/jobs?transport_id="+tr.ID, nil, &page); code != 200 || page.Total != 2 || page.Items[0].Version != "v002" {
		t.Fatalf("history %d %+v", code, page)
	}
}

// TestRestartKeepsHistory stops the server and the manager and starts them
// again on the same data directory: transports and jobs are all there and
// the next execution continues the version sequence.
func TestRestartKeepsHistory(t *testing.T) {
	dir := t.TempDir()
	conn, err := synth.New(synth.Config{DefaultRows: 2000})
	if err != nil {
		t.Fatal(err)
	}
	sinks := func(b string) (pipeline.Sink, error) { return file.New(dir, b) }
	s := startStack(t, dir, conn, sinks, nil)
	var tr jobs.Transport
	if code := s.do("POST", "/transport", map[string]any{"name": "restart", "tables": []string{"VBRK"}}, &tr); code != 201 {
		t.Fatalf("create %d", code)
	}
	var started map[string]any
	s.do("POST", "/transport/"+tr.ID+"/execute", nil, &started)
	if ev := s.stream(tr.ID, 30*time.Second); ev[len(ev)-1].Data["status"] != "completed" {
		t.Fatalf("job ended %+v", ev[len(ev)-1])
	}
	s.stop()

	s2 := startStack(t, dir, conn, sinks, nil)
	var again jobs.Transport
	if code := s2.do("GET", "/transport/"+tr.ID, nil, &again); code != 200 || again.Name != "restart" || again.Status != "completed" || again.LastJobVersion != "v001" {
		t.Fatalf("after restart: %d %+v", code, again)
	}
	var job jobs.Job
	if code := s2.do("GET", "/jobs/"+started["job_id"].(string), nil, &job); code != 200 || job.Status != "completed" || job.TotalRows != 2000 || len(job.Tables) != 1 {
		t.Fatalf("job after restart: %d %+v", code, job)
	}
	var next map[string]any
	if code := s2.do("POST", "/transport/"+tr.ID+"/execute", nil, &next); code != 202 || next["version"] != "v002" {
		t.Fatalf("execute after restart: %d %v", code, next)
	}
	s2.stream(tr.ID, 30*time.Second)
}
