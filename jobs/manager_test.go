package jobs

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/testutil"

	"go.uber.org/goleak"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type testEnv struct {
	m     *Manager
	conn  *fakeConnector
	sinks map[string]*dirSink
	root  string
	db    string
}

func (e *testEnv) sink(bucket string) *dirSink { return e.sinks[bucket] }

// newEnv starts a Manager over conn with a directory sink per bucket under a
// temp dir; it is shut down and closed when the test ends.
func newEnv(t *testing.T, conn *fakeConnector, mod ...func(*ManagerConfig)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	e := &testEnv{conn: conn, sinks: map[string]*dirSink{}, root: filepath.Join(dir, "buckets"), db: filepath.Join(dir, "state", "ora2gcs.db")}
	e.start(t, mod...)
	return e
}

// start opens a Manager on e's state database, connector and buckets (a
// new one per call: reopen uses it for a restart).
func (e *testEnv) start(t *testing.T, mod ...func(*ManagerConfig)) {
	t.Helper()
	var mu sync.Mutex
	cfg := ManagerConfig{
		Store:     e.db,
		Connector: e.conn,
		Sinks: func(bucket string) (pipeline.Sink, error) {
			mu.Lock()
			defer mu.Unlock()
			if s, ok := e.sinks[bucket]; ok {
				return s, nil
			}
			root := filepath.Join(e.root, bucket)
			if err := os.MkdirAll(root, 0o755); err != nil {
				return nil, err
			}
			s := &dirSink{root: root}
			e.sinks[bucket] = s
			return s, nil
		},
		Encoder:          newJSONEncoder,
		Codec:            compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})),
		Pipeline:         pipeline.Config{ChunkRows: 10, EncodeWorkers: 2, Retry: pipeline.Retry{Attempts: 3, Backoff: time.Millisecond}},
		DefaultBucket:    "test-bucket",
		ProgressInterval: time.Nanosecond,
	}
	for _, f := range mod {
		f(&cfg)
	}
	m, err := NewManager(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	e.m = m
	t.Cleanup(func() {
		_ = m.Shutdown(context.Background())
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// collect reads ch until it is closed.
func collect(t *testing.T, ch <-chan Event) []Event {
	t.Helper()
	var out []Event
	timeout := time.After(30 * time.Second) // a safety net, not an assertion on speed
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, e)
		case <-timeout:
			t.Fatalf("event stream did not end; got %d events", len(out))
		}
	}
}

func mustCreate(t *testing.T, m *Manager, name string, tables ...string) Transport {
	t.Helper()
	tr, err := m.CreateTransport(context.Background(), NewTransport{Name: name, Tables: tables})
	if err != nil {
		t.Fatalf("CreateTransport: %v", err)
	}
	return tr
}

func runJob(t *testing.T, m *Manager, trp string) Job {
	t.Helper()
	ctx := context.Background()
	j, err := m.Execute(ctx, trp)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	done, err := m.Wait(ctx, j.ID)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return done
}

// readObject returns the NDJSON lines of a gzip object of the sink.
func readObject(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open object: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatalf("decode line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read object: %v", err)
	}
	return out
}

// checkRows asserts the object holds rows 0..n-1 of a fake table exactly once, in order.
func checkRows(t *testing.T, path, table string, n int) {
	t.Helper()
	rows := readObject(t, path)
	if len(rows) != n {
		t.Fatalf("%s: %d rows, want %d", table, len(rows), n)
	}
	for i, r := range rows {
		if got := r["ID"].(json.Number).String(); got != itoa(i) {
			t.Fatalf("%s row %d: ID %s", table, i, got)
		}
		if i%7 != 0 && r["NAME"] != table+"-"+itoa(i) {
			t.Fatalf("%s row %d: NAME %v", table, i, r["NAME"])
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func objectPath(e *testEnv, bucket, name string) string {
	return filepath.Join(e.root, bucket, filepath.FromSlash(name))
}

func TestCreateTransportValidation(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "VBRP", rows: 5}, &fakeTable{name: "VBRK", rows: 5}))
	many := make([]string, MaxTables+1)
	for i := range many {
		many[i] = "VBRP"
	}
	tests := []struct {
		name    string
		in      NewTransport
		want    error
		message string
	}{
		{"empty name", NewTransport{Tables: []string{"VBRP"}}, ErrInvalid, "name is required"},
		{"long name", NewTransport{Name: strings.Repeat("x", 201), Tables: []string{"VBRP"}}, ErrInvalid, "longer than 200"},
		{"no tables", NewTransport{Name: "n"}, ErrInvalid, "at least one table"},
		{"too many tables", NewTransport{Name: "n", Tables: many}, ErrInvalid, "at most 500"},
		{"unknown table", NewTransport{Name: "n", Tables: []string{"VBRP", "NOPE"}}, ErrUnknownTbl, `"NOPE"`},
		{"duplicate by case", NewTransport{Name: "n", Tables: []string{"vbrp", "VBRP"}}, ErrTableConflict, `same table "FAKE"."VBRP"`},
		{"bad bucket", NewTransport{Name: "n", Tables: []string{"VBRP"}, TargetBucket: "Bad_Bucket"}, ErrInvalid, "target_bucket"},
		{"parallelism", NewTransport{Name: "n", Tables: []string{"VBRP"}, TableParallelism: 65}, ErrInvalid, "table_parallelism"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.m.CreateTransport(context.Background(), tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("err %q does not say %q", err, tc.message)
			}
		})
	}
	t.Run("canonical names and default bucket", func(t *testing.T) {
		tr, err := e.m.CreateTransport(context.Background(), NewTransport{Name: " Sales ", Tables: []string{"vbrk", "fake.vbrp"}, Description: "d"})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Name != "Sales" || tr.TargetBucket != "test-bucket" || tr.Status != StatusCreated || tr.Description != "d" {
			t.Fatalf("transport = %+v", tr)
		}
		if got := strings.Join(tr.Tables, ","); got != "VBRK,FAKE.VBRP" {
			t.Fatalf("tables = %s", got)
		}
		got, err := e.m.GetTransport(context.Background(), tr.ID)
		if err != nil || strings.Join(got.Tables, ",") != "VBRK,FAKE.VBRP" {
			t.Fatalf("GetTransport = %+v, %v", got, err)
		}
	})
	t.Run("a table in many transports", func(t *testing.T) {
		a := mustCreate(t, e.m, "a", "VBRP")
		b := mustCreate(t, e.m, "b", "VBRP", "VBRK")
		if a.ID == b.ID {
			t.Fatal("same id")
		}
	})
	t.Run("not found", func(t *testing.T) {
		if _, err := e.m.GetTransport(context.Background(), "TRP-19990101-001"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
		if _, err := e.m.Execute(context.Background(), "TRP-19990101-001"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
		if _, _, err := e.m.Subscribe(context.Background(), "TRP-19990101-001"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestIDsAndVersions(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 18, 23, 59, 0, 0, time.FixedZone("KST", 9*3600)) // 14:59 UTC
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T1", rows: 3}), func(c *ManagerConfig) { c.Clock = clock })
	a := mustCreate(t, e.m, "a", "T1")
	b := mustCreate(t, e.m, "b", "T1")
	if a.ID != "TRP-20260118-001" || b.ID != "TRP-20260118-002" {
		t.Fatalf("ids %s %s", a.ID, b.ID)
	}
	j1 := runJob(t, e.m, a.ID)
	j2 := runJob(t, e.m, a.ID)
	j3 := runJob(t, e.m, b.ID)
	for _, c := range []struct{ got, id, ver string }{
		{j1.ID + " " + j1.Version, "JOB-20260118-001", "v001"},
		{j2.ID + " " + j2.Version, "JOB-20260118-002", "v002"},
		{j3.ID + " " + j3.Version, "JOB-20260118-003", "v001"},
	} {
		if c.got != c.id+" "+c.ver {
			t.Errorf("job %s, want %s %s", c.got, c.id, c.ver)
		}
	}
	mu.Lock()
	now = time.Date(2026, 1, 19, 0, 0, 1, 0, time.UTC)
	mu.Unlock()
	c := mustCreate(t, e.m, "c", "T1")
	if c.ID != "TRP-20260119-001" {
		t.Fatalf("next day id %s", c.ID)
	}
	j4 := runJob(t, e.m, a.ID)
	if j4.ID != "JOB-20260119-001" || j4.Version != "v003" {
		t.Fatalf("job %s %s", j4.ID, j4.Version)
	}
	tr, _ := e.m.GetTransport(context.Background(), a.ID)
	if tr.LastJobID != j4.ID || tr.LastJobVersion != "v003" || tr.Status != StatusCompleted {
		t.Fatalf("transport %+v", tr)
	}
	// the objects are versioned
	for _, v := range []string{"v001", "v002", "v003"} {
		checkRows(t, objectPath(e, "test-bucket", a.ID+"/"+v+"/T1.jsonl.gz"), "T1", 3)
	}
}

func TestIDsConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// two handles on one file, as two processes would have
	s1, err := OpenStore(context.Background(), path, now)
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := OpenStore(context.Background(), path, now)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	const n = 40
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := s.CreateTransport(context.Background(), NewTransport{Name: "x", Tables: []string{"T"}, TargetBucket: "b"}, now)
			if err != nil {
				t.Error(err)
				return
			}
			ids <- tr.ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("TRP-20260301-%03d", i)
		if !seen[id] {
			t.Fatalf("missing %s (have %v)", id, seen)
		}
	}
}

func TestExecuteEvents(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "A", rows: 95}, &fakeTable{name: "B", rows: 40}, &fakeTable{name: "C", rows: 0, estimate: -1}),
		func(c *ManagerConfig) { c.ParallelTables = 2 })
	tr := mustCreate(t, e.m, "events", "A", "B", "C")
	j, err := e.m.Execute(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Version != "v001" || j.Status != StatusRunning || len(j.Tables) != 3 || j.Tables[0].Status != StatusPending {
		t.Fatalf("execute returned %+v", j)
	}
	ch, cancel, err := e.m.Subscribe(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	events := collect(t, ch)
	if len(events) == 0 {
		t.Fatal("no events")
	}
	last := events[len(events)-1]
	if last.Type != EventComplete || last.Status != StatusCompleted || last.TotalRows != 135 || last.ProgressPercent != 100 {
		t.Fatalf("last event %+v", last)
	}
	if last.JobID != j.ID || last.TransportID != tr.ID || last.JobVersion != "v001" || last.BytesTransferred <= 0 {
		t.Fatalf("complete ids %+v", last)
	}
	started, completed := map[string]int{}, map[string]int{}
	progress := 0
	var prevID int64
	for i, ev := range events {
		if ev.ID <= prevID {
			t.Fatalf("event %d id %d after %d", i, ev.ID, prevID)
		}
		prevID = ev.ID
		switch ev.Type {
		case EventTableStart:
			started[ev.Table] = i
		case EventProgress:
			progress++
			if _, ok := started[ev.Table]; !ok {
				t.Fatalf("progress of %s before its table_start", ev.Table)
			}
			if ev.Overall == nil || ev.Overall.TablesTotal != 3 || ev.ProgressPercent > 99 || ev.Overall.ProgressPercent > 99 {
				t.Fatalf("progress %+v overall %+v", ev, ev.Overall)
			}
			if ev.RowsProcessed < 0 || ev.BytesTransferred < 0 || ev.CurrentTable != ev.Table {
				t.Fatalf("progress fields %+v", ev)
			}
		case EventTableComplete:
			if _, ok := started[ev.Table]; !ok {
				t.Fatalf("table_complete of %s before its table_start", ev.Table)
			}
			completed[ev.Table] = i
			want := map[string]int64{"A": 95, "B": 40, "C": 0}[ev.Table]
			if ev.TotalRows != want || ev.GCSPath == "" || ev.CRC32C == "" || ev.ProgressPercent != 100 || ev.BytesTransferred <= 0 {
				t.Fatalf("table_complete %+v", ev)
			}
		case EventError:
			t.Fatalf("unexpected error event %+v", ev)
		}
	}
	if len(started) != 3 || len(completed) != 3 {
		t.Fatalf("started %v completed %v", started, completed)
	}
	if progress == 0 {
		t.Fatal("no progress events")
	}
	got, err := e.m.GetJob(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusCompleted || got.TotalRows != 135 || got.CompletedAt == nil || got.Error != nil || got.Snapshot.ID != "12345" || got.Source != "fake" {
		t.Fatalf("job %+v", got)
	}
	if !strings.HasSuffix(got.Manifest, tr.ID+"/v001/_manifest.json") {
		t.Fatalf("manifest %q", got.Manifest)
	}
	for _, te := range got.Tables {
		if te.Status != StatusCompleted || te.Attempts != 1 || te.CompletedAt == nil || te.StartedAt.IsZero() || te.CRC32C == "" {
			t.Fatalf("table %+v", te)
		}
	}
	if n := e.conn.snapshots.Load(); n != 1 {
		t.Fatalf("%d snapshots, want 1 per job", n)
	}
	checkRows(t, objectPath(e, "test-bucket", tr.ID+"/v001/A.jsonl.gz"), "A", 95)
	checkRows(t, objectPath(e, "test-bucket", tr.ID+"/v001/B.jsonl.gz"), "B", 40)
	checkRows(t, objectPath(e, "test-bucket", tr.ID+"/v001/C.jsonl.gz"), "C", 0)
}

func TestOneJobAtATime(t *testing.T) {
	gate := make(chan struct{})
	e := newEnv(t, newFakeConnector(&fakeTable{name: "SLOW", rows: 50, gate: gate}, &fakeTable{name: "T", rows: 5}))
	a := mustCreate(t, e.m, "a", "SLOW")
	b := mustCreate(t, e.m, "b", "T")
	j, err := e.m.Execute(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a.ID, b.ID} {
		_, err := e.m.Execute(context.Background(), id)
		var re *RunningError
		if !errors.As(err, &re) || !errors.Is(err, ErrJobRunning) || re.JobID != j.ID || re.TransportID != a.ID {
			t.Fatalf("second execute: %v", err)
		}
	}
	run, ok := e.m.Running()
	if !ok || run.ID != j.ID || run.Status != StatusRunning {
		t.Fatalf("Running = %+v %v", run, ok)
	}
	if tr, _ := e.m.GetTransport(context.Background(), a.ID); tr.Status != StatusRunning {
		t.Fatalf("transport status %s", tr.Status)
	}
	close(gate)
	if done, _ := e.m.Wait(context.Background(), j.ID); done.Status != StatusCompleted {
		t.Fatalf("job %+v", done)
	}
	if _, ok := e.m.Running(); ok {
		t.Fatal("still running")
	}
	if j2 := runJob(t, e.m, b.ID); j2.Status != StatusCompleted {
		t.Fatalf("next job %+v", j2)
	}
}

func TestTableFailsPermanently(t *testing.T) {
	e := newEnv(t, newFakeConnector(
		&fakeTable{name: "GOOD", rows: 30},
		&fakeTable{name: "BAD", rows: 30, failures: []error{errors.New("fake: ORA-01555 snapshot too old")}},
		&fakeTable{name: "ALSO", rows: 12},
	))
	tr := mustCreate(t, e.m, "f", "GOOD", "BAD", "ALSO")
	j := runJob(t, e.m, tr.ID)
	if j.Status != StatusFailed || j.Error == nil || !strings.Contains(*j.Error, "BAD") || strings.Contains(*j.Error, "GOOD") {
		t.Fatalf("job %+v err %v", j, j.Error)
	}
	if j.TotalRows != 42 {
		t.Fatalf("total rows %d, want the 42 of the tables that succeeded", j.TotalRows)
	}
	for _, te := range j.Tables {
		switch te.TableName {
		case "BAD":
			if te.Status != StatusFailed || te.Error == nil || !strings.Contains(*te.Error, "ORA-01555") || te.Attempts != 1 || te.GCSPath != "" {
				t.Fatalf("BAD %+v", te)
			}
		default:
			if te.Status != StatusCompleted || te.RowCount == 0 || te.CRC32C == "" {
				t.Fatalf("%s %+v", te.TableName, te)
			}
		}
	}
	if _, err := os.Stat(objectPath(e, "test-bucket", tr.ID+"/v001/BAD.jsonl.gz")); !os.IsNotExist(err) {
		t.Fatalf("failed table left an object: %v", err)
	}
	checkRows(t, objectPath(e, "test-bucket", tr.ID+"/v001/GOOD.jsonl.gz"), "GOOD", 30)
	if got, _ := e.m.GetTransport(context.Background(), tr.ID); got.Status != StatusFailed {
		t.Fatalf("transport status %s", got.Status)
	}
	ch, cancel, err := e.m.Subscribe(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	evs := collect(t, ch)
	var sawErr bool
	for _, ev := range evs {
		if ev.Type == EventError && ev.Table == "BAD" && !ev.Retrying && strings.Contains(ev.Error, "ORA-01555") {
			sawErr = true
		}
	}
	if !sawErr || evs[len(evs)-1].Type != EventComplete || evs[len(evs)-1].Status != StatusFailed {
		t.Fatalf("events %+v", evs)
	}
	// the manifest records the failure
	man := readManifest(t, objectPath(e, "test-bucket", tr.ID+"/v001/_manifest.json"))
	if man.Status != StatusFailed || !strings.Contains(man.Error, "BAD") || man.Tables[1].Status != StatusFailed || man.Tables[1].Object != "" {
		t.Fatalf("manifest %+v", man)
	}
}

func TestTransientFailureRetried(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "FLAKY", rows: 57, failures: []error{transientErr}}))
	tr := mustCreate(t, e.m, "r", "FLAKY")
	j, err := e.m.Execute(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel, err := e.m.Subscribe(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	evs := collect(t, ch)
	done, _ := e.m.GetJob(context.Background(), j.ID)
	if done.Status != StatusCompleted || done.Tables[0].Attempts != 2 || done.Tables[0].RowCount != 57 {
		t.Fatalf("job %+v tables %+v", done, done.Tables)
	}
	var retry *Event
	for i, ev := range evs {
		if ev.Type == EventError {
			retry = &evs[i]
		}
	}
	if retry == nil || !retry.Retrying || retry.Attempt != 1 || retry.Table != "FLAKY" || !strings.Contains(retry.Error, "connection reset") {
		t.Fatalf("retry event %+v", retry)
	}
	checkRows(t, objectPath(e, "test-bucket", tr.ID+"/v001/FLAKY.jsonl.gz"), "FLAKY", 57)
	if n := e.sink("test-bucket").aborted.Load(); n != 1 {
		t.Fatalf("%d objects aborted, want the failed attempt's 1", n)
	}
	left, _ := filepath.Glob(filepath.Join(e.root, "test-bucket", ".tmp-*"))
	if len(left) != 0 {
		t.Fatalf("temp objects left: %v", left)
	}
}

func readManifest(t *testing.T, path string) Manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManifestAndSchema(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "VBRP", rows: 33}, &fakeTable{name: "LIKP", rows: 8}))
	tr := mustCreate(t, e.m, "Sales", "VBRP", "LIKP")
	j := runJob(t, e.m, tr.ID)
	man := readManifest(t, objectPath(e, "test-bucket", tr.ID+"/v001/_manifest.json"))
	if man.Format != ManifestFormat || man.JobID != j.ID || man.JobVersion != "v001" || man.TransportID != tr.ID || man.TransportName != "Sales" ||
		man.Status != StatusCompleted || man.Source != "fake" || man.Snapshot.Kind != "scn" || man.Snapshot.ID != "12345" ||
		man.Bucket != "test-bucket" || man.TotalRows != 41 || len(man.Tables) != 2 {
		t.Fatalf("manifest %+v", man)
	}
	for _, mt := range man.Tables {
		path := objectPath(e, "test-bucket", mt.Object)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		crc := crc32.Checksum(data, pipeline.Castagnoli)
		if mt.CRC32C != CRC32CBase64(crc) || mt.Bytes != int64(len(data)) || mt.Object != tr.ID+"/v001/"+mt.Table+".jsonl.gz" ||
			mt.URI != "file://"+filepath.ToSlash(path) || mt.Attempts != 1 {
			t.Fatalf("table %+v, object crc %08x size %d", mt, crc, len(data))
		}
		if len(mt.CRC32CHex) != 8 || mt.RawCRC32C == "" || mt.RawBytes <= mt.Bytes/2 {
			t.Fatalf("table checksums %+v", mt)
		}
		// raw CRC is over the uncompressed NDJSON
		zr, _ := gzip.NewReader(bytes.NewReader(data))
		var raw bytes.Buffer
		if _, err := raw.ReadFrom(zr); err != nil {
			t.Fatal(err)
		}
		if mt.RawCRC32C != CRC32CBase64(crc32.Checksum(raw.Bytes(), pipeline.Castagnoli)) || mt.RawBytes != int64(raw.Len()) {
			t.Fatalf("raw checksum %+v", mt)
		}
		if len(mt.Columns) != 5 || mt.Columns[2] != (ManifestColumn{Name: "AMOUNT", Type: "DECIMAL", SourceType: "NUMBER(13,2)", Precision: 13, Scale: 2, Nullable: true}) {
			t.Fatalf("columns %+v", mt.Columns)
		}
		if mt.Schema != tr.ID+"/v001/"+mt.Table+".schema.json" {
			t.Fatalf("schema name %s", mt.Schema)
		}
		b, err := os.ReadFile(objectPath(e, "test-bucket", mt.Schema))
		if err != nil {
			t.Fatal(err)
		}
		var fields []stages.BigQueryField
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatal(err)
		}
		want := []stages.BigQueryField{
			{Name: "ID", Type: "INT64", Mode: "REQUIRED", Description: "NUMBER(10)"},
			{Name: "NAME", Type: "STRING", Mode: "NULLABLE", Description: "VARCHAR2(40)"},
			{Name: "AMOUNT", Type: "NUMERIC", Mode: "NULLABLE", Description: "NUMBER(13,2)"},
			{Name: "CREATED", Type: "DATETIME", Mode: "REQUIRED", Description: "TIMESTAMP(6)"},
			{Name: "FLAG", Type: "BOOL", Mode: "NULLABLE", Description: "BOOLEAN"},
		}
		if len(fields) != len(want) {
			t.Fatalf("schema %+v", fields)
		}
		for i := range want {
			if fields[i] != want[i] {
				t.Fatalf("field %d = %+v, want %+v", i, fields[i], want[i])
			}
		}
	}
}

func TestSlowSubscriberDoesNotBlock(t *testing.T) {
	tables := []*fakeTable{{name: "A", rows: 600}, {name: "B", rows: 500}, {name: "C", rows: 400, failures: []error{transientErr}}}
	e := newEnv(t, newFakeConnector(tables...), func(c *ManagerConfig) { c.Pipeline.ChunkRows = 2 })
	tr := mustCreate(t, e.m, "slow", "A", "B", "C")
	j, err := e.m.Execute(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel, err := e.m.Subscribe(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	// Nobody reads ch while the job runs: it must still finish.
	done, err := e.m.Wait(context.Background(), j.ID)
	if err != nil || done.Status != StatusCompleted {
		t.Fatalf("job %+v %v", done, err)
	}
	evs := collect(t, ch)
	count := map[string]int{}
	for _, ev := range evs {
		count[ev.Type]++
	}
	if count[EventTableStart] != 3 || count[EventTableComplete] != 3 || count[EventError] != 1 || count[EventComplete] != 1 {
		t.Fatalf("counts %v", count)
	}
	if evs[len(evs)-1].Type != EventComplete || evs[len(evs)-1].TotalRows != 1500 {
		t.Fatalf("last %+v", evs[len(evs)-1])
	}
	// 1500 rows in batches of 2 give hundreds of progress callbacks; the
	// reader got at most its buffer plus one coalesced event per table.
	if count[EventProgress] > subscriberBuffer+3 {
		t.Fatalf("%d progress events reached a reader that never read during the job", count[EventProgress])
	}
}

func TestLateSubscriberReplay(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "A", rows: 20}, &fakeTable{name: "B", rows: 10}))
	tr := mustCreate(t, e.m, "late", "A", "B")
	j := runJob(t, e.m, tr.ID)
	check := func(t *testing.T, m *Manager) {
		ch, cancel, err := m.Subscribe(context.Background(), tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer cancel()
		evs := collect(t, ch)
		var types []string
		for _, ev := range evs {
			if ev.JobID != j.ID || ev.JobVersion != "v001" {
				t.Fatalf("event of another job %+v", ev)
			}
			if ev.Type != EventProgress {
				types = append(types, ev.Type+":"+ev.Table)
			}
		}
		if len(types) != 5 || types[4] != "complete:" {
			t.Fatalf("replay %v", types)
		}
		last := evs[len(evs)-1]
		if last.Status != StatusCompleted || last.TotalRows != 30 {
			t.Fatalf("complete %+v", last)
		}
	}
	t.Run("from the store", func(t *testing.T) { check(t, e.m) })
	t.Run("no job yet", func(t *testing.T) {
		other := mustCreate(t, e.m, "other", "A")
		if _, _, err := e.m.Subscribe(context.Background(), other.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("while running, replay then live", func(t *testing.T) {
		gate := make(chan struct{})
		e.conn.tables["A"].gate = gate
		j2, err := e.m.Execute(context.Background(), tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		// wait until A has started, then subscribe: the replay has its table_start
		for {
			r, _ := e.m.Running()
			if r.Tables[0].Status == StatusRunning && r.Tables[0].RowCount > 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		ch, cancel, err := e.m.Subscribe(context.Background(), tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer cancel()
		first := <-ch
		if first.Type != EventTableStart || first.JobID != j2.ID {
			t.Fatalf("first replayed event %+v", first)
		}
		live, err := e.m.GetJob(context.Background(), j2.ID)
		if err != nil || live.Tables[0].RowCount == 0 {
			t.Fatalf("GetJob of running job shows no live rows: %+v %v", live.Tables, err)
		}
		close(gate)
		evs := collect(t, ch)
		if last := evs[len(evs)-1]; last.Type != EventComplete || last.JobVersion != "v002" {
			t.Fatalf("last %+v", last)
		}
		e.conn.tables["A"].gate = nil
	})
}

func TestShutdownInterruptsJob(t *testing.T) {
	gate := make(chan struct{}) // never opened
	e := newEnv(t, newFakeConnector(&fakeTable{name: "LONG", rows: 100, gate: gate}, &fakeTable{name: "LATER", rows: 10}),
		func(c *ManagerConfig) { c.ParallelTables = 1 })
	tr := mustCreate(t, e.m, "long", "LONG", "LATER")
	j, err := e.m.Execute(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel, err := e.m.Subscribe(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	var evs []Event
	collected := make(chan struct{})
	go func() { evs = collect(t, ch); close(collected) }()

	ctx, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	if err := e.m.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
	<-collected
	last := evs[len(evs)-1]
	if last.Type != EventComplete || last.Status != StatusFailed || last.Error != "interrupted" {
		t.Fatalf("last event %+v", last)
	}
	got, err := e.m.GetJob(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusFailed || got.Error == nil || *got.Error != "interrupted" {
		t.Fatalf("job %+v", got)
	}
	for _, te := range got.Tables {
		if te.Status != StatusFailed || te.Error == nil || *te.Error != "interrupted" {
			t.Fatalf("table %+v", te)
		}
	}
	var objects []string
	filepath.WalkDir(e.root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			objects = append(objects, p)
		}
		return nil
	})
	if len(objects) != 0 {
		t.Fatalf("objects left behind: %v", objects)
	}
	if _, err := e.m.Execute(context.Background(), tr.ID); !errors.Is(err, ErrShutdown) {
		t.Fatalf("execute after shutdown: %v", err)
	}
}

func TestRestart(t *testing.T) {
	conn := newFakeConnector(&fakeTable{name: "A", rows: 15})
	dir := t.TempDir()
	db := filepath.Join(dir, "data", "ora2gcs.db")
	cfg := func(c *ManagerConfig) { c.Store = db }
	e := newEnv(t, conn, cfg)
	tr := mustCreate(t, e.m, "keep", "A")
	j := runJob(t, e.m, tr.ID)
	// a job a crashed process left running
	crashed := mustCreate(t, e.m, "crash", "A")
	cj, err := e.m.Store().CreateJob(context.Background(), crashed, "fake", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}

	e2 := newEnv(t, conn, cfg)
	got, err := e2.m.GetTransport(context.Background(), tr.ID)
	if err != nil || got.Name != "keep" || got.Status != StatusCompleted || got.LastJobID != j.ID || len(got.Tables) != 1 {
		t.Fatalf("transport after restart %+v %v", got, err)
	}
	gj, err := e2.m.GetJob(context.Background(), j.ID)
	if err != nil || gj.Status != StatusCompleted || gj.TotalRows != 15 || len(gj.Tables) != 1 || gj.Tables[0].CRC32C == "" {
		t.Fatalf("job after restart %+v %v", gj, err)
	}
	cgot, err := e2.m.GetJob(context.Background(), cj.ID)
	if err != nil || cgot.Status != StatusFailed || cgot.Error == nil || *cgot.Error != "interrupted" || cgot.CompletedAt == nil {
		t.Fatalf("crashed job %+v %v", cgot, err)
	}
	if cgot.Tables[0].Status != StatusFailed || *cgot.Tables[0].Error != "interrupted" {
		t.Fatalf("crashed table %+v", cgot.Tables[0])
	}
	if ct, _ := e2.m.GetTransport(context.Background(), crashed.ID); ct.Status != StatusFailed {
		t.Fatalf("crashed transport status %s", ct.Status)
	}
	list, err := e2.m.ListJobs(context.Background(), JobFilter{})
	if err != nil || list.Total != 2 || len(list.Items) != 2 || list.Items[0].ID != cj.ID {
		t.Fatalf("jobs %+v %v", list, err)
	}
	// versions continue after restart
	if j2 := runJob(t, e2.m, tr.ID); j2.Version != "v002" || j2.Status != StatusCompleted {
		t.Fatalf("job after restart %+v", j2)
	}
	if v, _ := e2.m.Store().SchemaVersion(context.Background()); v != len(migrations) {
		t.Fatalf("schema version %d", v)
	}
}

func TestListings(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "A", rows: 3}, &fakeTable{name: "BAD", rows: 30, failures: []error{errors.New("boom")}}))
	a := mustCreate(t, e.m, "a", "A")
	b := mustCreate(t, e.m, "b", "BAD")
	var ids []string
	for range 3 {
		ids = append(ids, runJob(t, e.m, a.ID).ID)
	}
	ids = append(ids, runJob(t, e.m, b.ID).ID)
	tests := []struct {
		name string
		f    JobFilter
		want []string
		tot  int
	}{
		{"all newest first", JobFilter{}, []string{ids[3], ids[2], ids[1], ids[0]}, 4},
		{"page 2 of 3", JobFilter{Page: 2, PageSize: 3}, []string{ids[0]}, 4},
		{"by transport", JobFilter{TransportID: a.ID, PageSize: 2}, []string{ids[2], ids[1]}, 3},
		{"by status", JobFilter{Status: StatusFailed}, []string{ids[3]}, 1},
		{"none", JobFilter{TransportID: "TRP-X"}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.m.ListJobs(context.Background(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range p.Items {
				got = append(got, j.ID)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") || p.Total != tc.tot {
				t.Fatalf("got %v total %d, want %v total %d", got, p.Total, tc.want, tc.tot)
			}
		})
	}
	tp, err := e.m.ListTransports(context.Background(), 1, 1)
	if err != nil || tp.Total != 2 || len(tp.Items) != 1 || tp.Items[0].ID != b.ID || tp.Items[0].Tables[0] != "BAD" || tp.Items[0].Status != StatusFailed {
		t.Fatalf("transports %+v %v", tp, err)
	}
	if found, err := e.m.FindTransportByName(context.Background(), "a"); err != nil || found.ID != a.ID {
		t.Fatalf("find %+v %v", found, err)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "A", rows: 25}, &fakeTable{name: "BAD", rows: 30, failures: []error{errors.New("boom")}}))
	tr := mustCreate(t, e.m, "m", "A", "BAD")
	j := runJob(t, e.m, tr.ID)
	var buf bytes.Buffer
	e.m.Metrics().WritePrometheus(&buf)
	out := buf.String()
	for _, want := range []string{
		`ora2gcs_rows_total{table="A"} 25`,
		`ora2gcs_transport_rows_total{transport_id="` + tr.ID + `"} 25`,
		`ora2gcs_failed_tables_total 1`,
		`ora2gcs_table_failures_total{table="BAD"} 1`,
		`ora2gcs_jobs_total{status="failed"} 1`,
		`ora2gcs_job_duration_seconds_count{status="failed"} 1`,
		`ora2gcs_jobs_running 0`,
		`ora2gcs_source_pool_max_open 7`,
		`ora2gcs_source_pool_in_use 1`,
		`ora2gcs_source_up 1`,
		`ora2gcs_bytes_total{table="A"} `,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, j.ID) {
		t.Errorf("the ended job's series are still there:\n%s", out)
	}
}

func TestManagerConfigValidate(t *testing.T) {
	if _, err := NewManager(context.Background(), ManagerConfig{}); err == nil || !strings.Contains(err.Error(), "connector is required") {
		t.Fatalf("err = %v", err)
	}
	cfg := ManagerConfig{Connector: newFakeConnector(), Sinks: func(string) (pipeline.Sink, error) { return nil, nil },
		Encoder: newJSONEncoder, Codec: compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})), ParallelTables: 65}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "parallel_tables") {
		t.Fatalf("err = %v", err)
	}
}

func TestJobLevelFailures(t *testing.T) {
	t.Run("snapshot", func(t *testing.T) {
		conn := newFakeConnector(&fakeTable{name: "A", rows: 5})
		conn.snapErr = errors.New("fake: ORA-12541 no listener")
		e := newEnv(t, conn)
		tr := mustCreate(t, e.m, "s", "A")
		j := runJob(t, e.m, tr.ID)
		if j.Status != StatusFailed || j.Error == nil || !strings.Contains(*j.Error, "snapshot: fake: ORA-12541") {
			t.Fatalf("job %+v", j)
		}
		if j.Tables[0].Status != StatusFailed || j.Tables[0].Error == nil {
			t.Fatalf("table %+v", j.Tables[0])
		}
	})
	t.Run("manifest", func(t *testing.T) {
		e := newEnv(t, newFakeConnector(&fakeTable{name: "A", rows: 5}))
		tr := mustCreate(t, e.m, "s", "A")
		if _, err := e.m.cfg.Sinks("test-bucket"); err != nil {
			t.Fatal(err)
		}
		e.sink("test-bucket").failOn = "_manifest.json"
		j := runJob(t, e.m, tr.ID)
		if j.Status != StatusFailed || j.Error == nil || !strings.Contains(*j.Error, "manifest") || j.Manifest != "" {
			t.Fatalf("job %+v", j)
		}
		if j.Tables[0].Status != StatusCompleted || j.TotalRows != 5 {
			t.Fatalf("table %+v", j.Tables[0])
		}
	})
}

func TestLogFields(t *testing.T) {
	var buf testutil.LogBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	e := newEnv(t, newFakeConnector(&fakeTable{name: "A", rows: 5}), func(c *ManagerConfig) { c.Logger = logger })
	tr := mustCreate(t, e.m, "logs", "A")
	j := runJob(t, e.m, tr.ID)
	var sawTable, sawJob bool
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "table completed" && rec["table"] == "A" && rec["job_id"] == j.ID && rec["transport_id"] == tr.ID {
			sawTable = true
		}
		if rec["msg"] == "job completed" && rec["job_id"] == j.ID && rec["transport_id"] == tr.ID && rec["job_version"] == "v001" {
			sawJob = true
		}
	}
	if !sawTable || !sawJob {
		t.Fatalf("log lacks fields:\n%s", buf.String())
	}
}
