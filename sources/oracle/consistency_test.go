package oracle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/server"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/stages"
)

// godrorQueryErr is an Oracle error as godror's QueryContext returns it:
// ODPI-C's error info becomes a *godror.OraErr whose Error() is
// "ORA-%05d: %s" (godror v0.51.2 drv.go:1089-1097, built by fromErrorInfo,
// drv.go:1099), wrapped as "dpiStmt_execute: %w" (stmt.go:802) when the
// statement fails at execute, which is where Oracle parses it and checks
// the FLASHBACK privilege of an AS OF query. OraErr's fields are
// unexported, so the fake keeps its text: Code reads the code from it.
func godrorQueryErr(code int, msg string) error {
	return fmt.Errorf("dpiStmt_execute: %w", oraErr(code, msg))
}

// TestConnectorTableConsistency: the snapshot reports per table how it
// was read: VBRP AS OF the SCN, VBRK in a READ ONLY transaction because
// Oracle refused its AS OF read (ORA-01031 without FLASHBACK on it,
// ORA-08187 on an object Oracle allows no AS OF on), with the code and why.
// A table the snapshot never opened is not reported.
func TestConnectorTableConsistency(t *testing.T) {
	for _, tc := range []struct {
		code int
		msg  string
		why  string
	}{
		{1031, "insufficient privileges", "FLASHBACK"},
		{8187, "snapshot expression not allowed here", "allow"},
	} {
		t.Run(fmt.Sprintf("ORA-%05d", tc.code), func(t *testing.T) {
			fake, c := newFakeConnector(t, &oracleFake{rows: 3,
				asOfErrs: map[string]error{`"SAPSR3"."VBRK"`: godrorQueryErr(tc.code, tc.msg)}})
			ctx := context.Background()
			vbrp, err := c.Describe(ctx, "SAPSR3.VBRP")
			if err != nil {
				t.Fatal(err)
			}
			vbrk, err := c.Describe(ctx, "SAPSR3.VBRK")
			if err != nil {
				t.Fatal(err)
			}
			snap, err := c.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := snap.TableConsistency(vbrp); ok {
				t.Fatal("consistency reported before the table opened")
			}
			for _, ti := range []pipeline.TableInfo{vbrp, vbrk} {
				src, err := c.Open(ctx, ti, snap, pipeline.ReadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if rows, err := readAll(t, src); err != nil || len(rows) != 3 {
					t.Fatalf("%s: %d rows, %v", ti.Name, len(rows), err)
				}
			}
			got, ok := snap.TableConsistency(vbrp)
			if want := (pipeline.TableConsistency{Mode: pipeline.ConsistencyAsOfSCN, ID: "123456789", AtSnapshot: true}); !ok || got != want {
				t.Errorf("VBRP: %+v %v, want %+v", got, ok, want)
			}
			got, ok = snap.TableConsistency(vbrk)
			code := fmt.Sprintf("ORA-%05d", tc.code)
			if !ok || got.Mode != pipeline.ConsistencyReadOnlyTransaction || got.AtSnapshot || got.ID != "" || got.Code != code ||
				!strings.Contains(got.Reason, "123456789") || !strings.Contains(got.Reason, tc.why) {
				t.Errorf("VBRK: %+v %v, want read_only_transaction %s saying %q", got, ok, code, tc.why)
			}
			if note := snap.Info().Note; !strings.Contains(note, "SAPSR3.VBRK ("+code+") were read in READ ONLY transactions") || strings.Contains(note, "VBRP") {
				t.Errorf("note %q", note)
			}
			// VBRK really was read outside the SCN, in a READ ONLY transaction
			var roRead bool
			for _, call := range fake.Calls() {
				if strings.Contains(call.SQL, `FROM "SAPSR3"."VBRK"`) && strings.HasPrefix(call.SQL, `SELECT "MANDT"`) && !strings.Contains(call.SQL, "AS OF") {
					roRead = call.Tx == "ro"
				}
			}
			if !roRead {
				t.Errorf("VBRK not read in a READ ONLY transaction: %v", fake.SQLs())
			}
		})
	}

	// A snapshot the connector did not take (a distributed plan's SCN in a
	// shard process) cannot record a fallback: the refusal fails the open,
	// naming the table and why, and nothing is read outside the SCN.
	t.Run("foreign SCN snapshot", func(t *testing.T) {
		fake, c := newFakeConnector(t, &oracleFake{rows: 3,
			asOfErrs: map[string]error{`"SAPSR3"."VBRK"`: godrorQueryErr(1031, "insufficient privileges")}})
		ctx := context.Background()
		vbrk, err := c.Describe(ctx, "SAPSR3.VBRK")
		if err != nil {
			t.Fatal(err)
		}
		src, err := c.Open(ctx, vbrk, foreignSnap{SCNInfo("123456789")}, pipeline.ReadOptions{})
		if err == nil {
			src.Close()
			t.Fatal("opened a table refused AS OF a foreign snapshot's SCN")
		}
		t.Logf("open: %v", err)
		var oe *Error
		if !errors.As(err, &oe) || oe.Kind != KindPermission || oe.Code != 1031 ||
			!strings.Contains(err.Error(), "SAPSR3.VBRK cannot be read AS OF SCN 123456789") || !strings.Contains(err.Error(), "FLASHBACK") {
			t.Errorf("error %v", err)
		}
		for _, call := range fake.Calls() {
			if strings.Contains(call.SQL, `FROM "SAPSR3"."VBRK"`) && !strings.Contains(call.SQL, "AS OF") && strings.HasPrefix(call.SQL, `SELECT "MANDT"`) {
				t.Errorf("read outside the SCN: %s (tx %q)", call.SQL, call.Tx)
			}
		}
	})

	// One read outside the SCN makes the table's output not of it,
	// whichever read (retry, range) it was: a fallback after an AS OF read
	// replaces it, and an AS OF read after a fallback does not undo it.
	t.Run("fallback on a later open", func(t *testing.T) {
		o := &oracleFake{rows: 2}
		_, c := newFakeConnector(t, o)
		ctx := context.Background()
		vbrk, err := c.Describe(ctx, "SAPSR3.VBRK")
		if err != nil {
			t.Fatal(err)
		}
		snap, err := c.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		open := func() {
			t.Helper()
			src, err := c.Open(ctx, vbrk, snap, pipeline.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := readAll(t, src); err != nil {
				t.Fatal(err)
			}
		}
		open()
		if got, _ := snap.TableConsistency(vbrk); !got.AtSnapshot {
			t.Fatalf("first open: %+v", got)
		}
		o.asOfErrs = map[string]error{`"SAPSR3"."VBRK"`: godrorQueryErr(1031, "insufficient privileges")}
		open()
		o.asOfErrs = nil
		open()
		if got, ok := snap.TableConsistency(vbrk); !ok || got.AtSnapshot || got.Code != "ORA-01031" {
			t.Errorf("after a fallback between AS OF reads: %+v %v", got, ok)
		}
	})

	// A table split into ranges (its AS OF probe passed) whose range is
	// then refused AS OF (the grant revoked mid-job) fails: ranges read at
	// moments of their own are not one consistent table.
	t.Run("range of a split table", func(t *testing.T) {
		o := &oracleFake{rows: 2}
		fake, c := newFakeConnector(t, o)
		ctx := context.Background()
		vbrk, err := c.Describe(ctx, "SAPSR3.VBRK")
		if err != nil {
			t.Fatal(err)
		}
		snap, err := c.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		o.asOfErrs = map[string]error{`"SAPSR3"."VBRK"`: godrorQueryErr(1031, "insufficient privileges")}
		r := pipeline.Range{Index: 1, Total: 3, Lo: "AAASAVAAEAAAACAAAA", Hi: "AAASAVAAEAAAAD/H//"}
		src, err := c.Open(ctx, vbrk, snap, pipeline.ReadOptions{Range: &r})
		if err == nil {
			src.Close()
			t.Fatal("a range of a split table was read outside the SCN")
		}
		var oe *Error
		if !errors.As(err, &oe) || oe.Kind != KindPermission || !strings.Contains(err.Error(), "split into ranges") || !strings.Contains(err.Error(), "FLASHBACK") {
			t.Errorf("error %v", err)
		}
		for _, call := range fake.Calls() {
			if strings.Contains(call.SQL, `FROM "SAPSR3"."VBRK"`) && strings.HasPrefix(call.SQL, `SELECT "MANDT"`) && !strings.Contains(call.SQL, "AS OF") {
				t.Errorf("read outside the SCN: %s (tx %q)", call.SQL, call.Tx)
			}
		}
	})

	t.Run("no SCN at all", func(t *testing.T) {
		_, c := newFakeConnector(t, &oracleFake{rows: 1, scnErr: oraErr(1031, "x"), scnFbErr: oraErr(942, "y")})
		ti := describe(t, c)
		snap, err := c.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got, ok := snap.TableConsistency(ti)
		if !ok || got.Mode != pipeline.ConsistencyReadOnlyTransaction || got.AtSnapshot || got.Code != "ORA-00942" || got.Reason == "" {
			t.Errorf("%+v %v", got, ok)
		}
	})
}

// foreignSnap is a snapshot known only by its SnapshotInfo, as a shard
// process of a distributed job knows its plan's SCN.
type foreignSnap struct{ info pipeline.SnapshotInfo }

func (s foreignSnap) Info() pipeline.SnapshotInfo { return s.info }
func (s foreignSnap) TableConsistency(pipeline.TableInfo) (pipeline.TableConsistency, bool) {
	return pipeline.TableConsistency{}, false
}
func (s foreignSnap) Close() error { return nil }

// oracleJobEnv is the real job stack over the fake driver: a
// jobs.Manager reading through the Oracle Connector into a file sink,
// and the HTTP API on 127.0.0.1.
type oracleJobEnv struct {
	m      *jobs.Manager
	root   string
	url    string
	apiKey string
}

func newOracleJobEnv(t *testing.T, c *Connector) *oracleJobEnv {
	t.Helper()
	dir := t.TempDir()
	e := &oracleJobEnv{root: filepath.Join(dir, "buckets"), apiKey: "consistency-test-key-0123456789"}
	m, err := jobs.NewManager(context.Background(), jobs.ManagerConfig{
		Store:          filepath.Join(dir, "state.db"),
		Connector:      c,
		Sinks:          func(b string) (pipeline.Sink, error) { return file.New(e.root, b) },
		Encoder:        stages.NDJSON(stages.NDJSONOptions{}),
		Codec:          compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})),
		Pipeline:       pipeline.DefaultConfig(),
		ParallelTables: 2,
		DefaultBucket:  "ora-bucket",
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	srv, err := server.New(m, server.Options{APIKeys: []string{e.apiKey}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	e.url = "http://" + ln.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		if err := m.Shutdown(ctx); err != nil {
			t.Errorf("manager shutdown: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("manager close: %v", err)
		}
		if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return e
}

// TestJobTableConsistencyOracle: a job of VBRP and VBRK where the user
// lacks FLASHBACK on VBRK only. VBRP's table starts first and its read is
// held until VBRK has fallen back (the fallback happens after the job took
// its snapshot and after the first table started). The manifest, the job
// record and the API's job show per table how it was read, and none claims
// one point in time for both.
func TestJobTableConsistencyOracle(t *testing.T) {
	fellBack := make(chan struct{})
	var once sync.Once
	o := &oracleFake{rows: 25, asOfErrs: map[string]error{`"SAPSR3"."VBRK"`: godrorQueryErr(1031, "insufficient privileges")}}
	o.onSelect = func(q string) {
		switch {
		case strings.Contains(q, `"SAPSR3"."VBRK"`) && !strings.Contains(q, "AS OF"):
			once.Do(func() { close(fellBack) }) // VBRK's READ ONLY read: it fell back
		case strings.Contains(q, `"SAPSR3"."VBRP"`) && strings.Contains(q, "AS OF"):
			select {
			case <-fellBack:
			case <-time.After(30 * time.Second): // a safety net; the test then fails on the order below
			}
		}
	}
	_, c := newFakeConnector(t, o)
	e := newOracleJobEnv(t, c)
	ctx := context.Background()
	tr, err := e.m.CreateTransport(ctx, jobs.NewTransport{Name: "SAP", Tables: []string{"SAPSR3.VBRP", "SAPSR3.VBRK"}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.m.Execute(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	j, err = e.m.Wait(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.StatusCompleted {
		t.Fatalf("job %s: %v", j.Status, j.Error)
	}
	select {
	case <-fellBack:
	default:
		t.Fatal("VBRK never fell back to a READ ONLY read")
	}

	// the manifest
	b, err := os.ReadFile(filepath.Join(e.root, "ora-bucket", tr.ID, "v001", "_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man jobs.Manifest
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if man.Snapshot.Kind != "scn" || man.Snapshot.ID != "123456789" || !strings.Contains(man.Snapshot.Note, "SAPSR3.VBRK (ORA-01031) were read in READ ONLY transactions") {
		t.Errorf("manifest snapshot %+v", man.Snapshot)
	}
	if man.Consistency.OnePointInTime || strings.Join(man.Consistency.NotAtSnapshot, ",") != "SAPSR3.VBRK" {
		t.Errorf("manifest consistency %+v: must name SAPSR3.VBRK and not claim one point in time", man.Consistency)
	}
	checkOracleConsistency := func(where string, byTable map[string]*pipeline.TableConsistency) {
		t.Helper()
		if c := byTable["SAPSR3.VBRP"]; c == nil || c.Mode != "as_of_scn" || c.ID != "123456789" || !c.AtSnapshot {
			t.Errorf("%s: VBRP %+v, want as_of_scn 123456789", where, c)
		}
		if c := byTable["SAPSR3.VBRK"]; c == nil || c.Mode != "read_only_transaction" || c.AtSnapshot || c.Code != "ORA-01031" || !strings.Contains(c.Reason, "FLASHBACK") {
			t.Errorf("%s: VBRK %+v, want read_only_transaction ORA-01031", where, c)
		}
	}
	byTable := map[string]*pipeline.TableConsistency{}
	for _, mt := range man.Tables {
		byTable[mt.Table] = mt.Consistency
	}
	checkOracleConsistency("manifest", byTable)

	// the job record
	rec, err := e.m.GetJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	byTable = map[string]*pipeline.TableConsistency{}
	for _, te := range rec.Tables {
		byTable[te.TableName] = te.Consistency
	}
	checkOracleConsistency("job record", byTable)
	if rec.Consistency == nil || rec.Consistency.OnePointInTime || strings.Join(rec.Consistency.NotAtSnapshot, ",") != "SAPSR3.VBRK" {
		t.Errorf("job record consistency %+v", rec.Consistency)
	}

	// the API
	req, _ := http.NewRequest("GET", e.url+"/api/v1/jobs/"+j.ID, nil)
	req.Header.Set("X-API-Key", e.apiKey)
	httpc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var api struct {
		Consistency *jobs.Consistency `json:"consistency"`
		Tables      []struct {
			TableName   string                     `json:"table_name"`
			Consistency *pipeline.TableConsistency `json:"consistency"`
		} `json:"tables"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET job: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&api); err != nil {
		t.Fatal(err)
	}
	byTable = map[string]*pipeline.TableConsistency{}
	for _, te := range api.Tables {
		byTable[te.TableName] = te.Consistency
	}
	checkOracleConsistency("API", byTable)
	if api.Consistency == nil || api.Consistency.OnePointInTime || strings.Join(api.Consistency.NotAtSnapshot, ",") != "SAPSR3.VBRK" {
		t.Errorf("API consistency %+v", api.Consistency)
	}
}
