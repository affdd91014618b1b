package jobs

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
)

// fileTarget makes the Manager write through the real file sink into root.
func fileTarget(root string, store string) func(*ManagerConfig) {
	return func(c *ManagerConfig) {
		c.Store = store
		c.Sinks = func(bucket string) (pipeline.Sink, error) { return file.New(root, bucket) }
		// the same day for both state databases: both number their first
		// transport TRP-20260118-001, as two `ora2gcs run` with different
		// --data-dir do
		c.Clock = func() time.Time { return time.Date(2026, 1, 18, 10, 0, 0, 0, time.UTC) }
	}
}

// snapshotTree reads every file below dir (path → bytes).
func snapshotTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSecondStateDatabaseNeverReusesAVersion: two managers with separate
// state databases write the same transport ID into one file target. The
// second job gets v002 (the target holds v001), and nothing of the first
// job is replaced.
func TestSecondStateDatabaseNeverReusesAVersion(t *testing.T) {
	root := t.TempDir()
	conn := newFakeConnector(&fakeTable{name: "A", rows: 25}, &fakeTable{name: "B", rows: 7})
	e1 := newEnv(t, conn, fileTarget(root, filepath.Join(t.TempDir(), "one", "ora2gcs.db")))
	e2 := newEnv(t, conn, fileTarget(root, filepath.Join(t.TempDir(), "two", "ora2gcs.db")))
	// both transports exist before the target holds anything (else the
	// second would get another id), and export the same tables (else the
	// second is refused: TestTransportIDOfOtherTablesRefused)
	tr1 := mustCreate(t, e1.m, "first", "A", "B")
	tr2 := mustCreate(t, e2.m, "second", "A", "B")
	j1 := runJob(t, e1.m, tr1.ID)
	if j1.Status != StatusCompleted || j1.Version != "v001" {
		t.Fatalf("first job %s %s %v", j1.Version, j1.Status, j1.Error)
	}
	first := snapshotTree(t, filepath.Join(root, "test-bucket", tr1.ID, "v001"))
	if len(first) != 5 { // 2 objects, 2 schemas, the manifest
		t.Fatalf("first job wrote %d files: %v", len(first), first)
	}

	if tr2.ID != tr1.ID {
		t.Fatalf("transport IDs %s and %s; the test needs the same ID from both databases", tr1.ID, tr2.ID)
	}
	j2 := runJob(t, e2.m, tr2.ID)
	if j2.Status != StatusCompleted || j2.Version != "v002" {
		t.Fatalf("second job got %s (%s, %v); want v002: the target holds v001", j2.Version, j2.Status, j2.Error)
	}
	for p, b := range snapshotTree(t, filepath.Join(root, "test-bucket", tr1.ID, "v001")) {
		if !bytes.Equal(b, first[p]) {
			t.Errorf("%s of the first job changed", p)
		}
		delete(first, p)
	}
	if len(first) != 0 {
		t.Errorf("files of the first job vanished: %v", first)
	}
	m := readManifest(t, filepath.Join(root, "test-bucket", tr2.ID, "v002", "_manifest.json"))
	if m.JobID != j2.ID || len(m.Tables) != 2 {
		t.Errorf("second manifest %+v", m)
	}

	// an explicit version that the target holds is refused, not overwritten
	if _, err := e2.m.ExecuteVersion(context.Background(), tr2.ID, "v001"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ExecuteVersion(v001) with v001 in the target: %v; want ErrInvalid", err)
	}
	// the first database continues above both
	if j3 := runJob(t, e1.m, tr1.ID); j3.Version != "v003" || j3.Status != StatusCompleted {
		t.Fatalf("third job %s %s %v", j3.Version, j3.Status, j3.Error)
	}
}

// TestCreateJobAvoiding: the next version is above the database's and the
// target's; an explicit version taken in either is refused.
func TestCreateJobAvoiding(t *testing.T) {
	ctx := context.Background()
	s, err := OpenStore(ctx, filepath.Join(t.TempDir(), "s.db"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr, err := s.CreateTransport(ctx, NewTransport{Name: "t", Tables: []string{"A"}, TargetBucket: "b"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		version  string
		inTarget []int
		want     string
		invalid  bool
	}{
		{"", nil, "v001", false},
		{"", []int{1, 5}, "v006", false},
		{"", []int{2}, "v007", false},
		{"v005", []int{5}, "", true},
		{"v006", nil, "", true},
		{"v004", []int{5}, "v004", false},
	} {
		j, err := s.CreateJobAvoiding(ctx, tr, "fake", c.version, c.inTarget, time.Now())
		switch {
		case c.invalid && !errors.Is(err, ErrInvalid):
			t.Errorf("version %q with %v in the target: %v; want ErrInvalid", c.version, c.inTarget, err)
		case !c.invalid && (err != nil || j.Version != c.want):
			t.Errorf("version %q with %v in the target: %s, %v; want %s", c.version, c.inTarget, j.Version, err, c.want)
		}
	}
}

// TestPreflight: a target that is not usable or a table that no longer
// resolves fail Execute before any version is assigned.
func TestPreflight(t *testing.T) {
	ctx := context.Background()
	t.Run("sink", func(t *testing.T) {
		e := newEnv(t, newFakeConnector(&fakeTable{name: "A", rows: 5}), func(c *ManagerConfig) {
			c.Sinks = func(string) (pipeline.Sink, error) { return nil, errors.New("fake: no credentials") }
		})
		tr := mustCreate(t, e.m, "s", "A")
		if _, err := e.m.Execute(ctx, tr.ID); !errors.Is(err, ErrTargetUnavailable) || !strings.Contains(err.Error(), "no credentials") {
			t.Fatalf("Execute: %v; want ErrTargetUnavailable", err)
		}
		assertNoJobs(t, e.m)
	})
	t.Run("not-writable", func(t *testing.T) {
		root := t.TempDir()
		e := newEnv(t, newFakeConnector(&fakeTable{name: "A", rows: 5}), fileTarget(root, filepath.Join(t.TempDir(), "s.db")))
		tr := mustCreate(t, e.m, "s", "A")
		// the bucket directory is a file: the sink cannot be used (creating
		// the transport opened the sink to list the ids in use: the
		// directory exists)
		if err := os.RemoveAll(filepath.Join(root, "test-bucket")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "test-bucket"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.Execute(ctx, tr.ID); !errors.Is(err, ErrTargetUnavailable) {
			t.Fatalf("Execute: %v; want ErrTargetUnavailable", err)
		}
		assertNoJobs(t, e.m)
	})
	t.Run("table-gone", func(t *testing.T) {
		conn := newFakeConnector(&fakeTable{name: "A", rows: 5}, &fakeTable{name: "B", rows: 5})
		e := newEnv(t, conn)
		tr := mustCreate(t, e.m, "s", "A", "B")
		conn.mu.Lock()
		delete(conn.tables, "B")
		conn.mu.Unlock()
		if _, err := e.m.Execute(ctx, tr.ID); !errors.Is(err, ErrUnknownTbl) {
			t.Fatalf("Execute: %v; want ErrUnknownTbl", err)
		}
		assertNoJobs(t, e.m)
	})
}

func assertNoJobs(t *testing.T, m *Manager) {
	t.Helper()
	p, err := m.ListJobs(context.Background(), JobFilter{})
	if err != nil || p.Total != 0 {
		t.Fatalf("jobs after a failed pre-flight: %+v, %v; want none", p.Items, err)
	}
}

// TestCrashLeftoversRemovedAtStart simulates a process killed mid-job: a
// table committed, another table half-written (temporary file), a split
// table with a committed and a half-written range segment, and a second
// crashed job that wrote nothing but temporary files. The next start
// removes every temporary file, every range segment and the version folder
// left empty, and touches no committed object.
func TestCrashLeftoversRemovedAtStart(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	db := filepath.Join(t.TempDir(), "ora2gcs.db")
	conn := newFakeConnector(&fakeTable{name: "A", rows: 5}, &fakeTable{name: "B", rows: 5})
	e1 := newEnv(t, conn, fileTarget(root, db))
	tr := mustCreate(t, e1.m, "crash", "A", "B")
	sink, err := file.New(root, "test-bucket")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, commit bool) {
		obj, err := sink.Create(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := obj.Write([]byte("bytes of " + name)); err != nil {
			t.Fatal(err)
		}
		if commit {
			if _, err := obj.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		// not committed: the process "dies" holding it
	}
	for range 2 { // v001 and v002, both left running
		if _, err := e1.m.Store().CreateJob(ctx, tr, "fake", "", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	p1, p2 := tr.ID+"/v001/", tr.ID+"/v002/"
	write(p1+"A.jsonl.gz", true)
	write(p1+"A.schema.json", true)
	write(p1+"B.jsonl.gz", false)
	write(p1+"_ranges/B/00000-a1.deflate", true)
	write(p1+"_ranges/B/00001-a1.deflate", false)
	write(p2+"A.jsonl.gz", false)
	write(p2+"_ranges/A/00000-a1.deflate", false)
	committed := snapshotTree(t, filepath.Join(root, "test-bucket", tr.ID, "v001"))
	for p := range committed {
		if strings.HasSuffix(p, file.TempSuffix) || strings.Contains(p, "_ranges") {
			delete(committed, p)
		}
	}
	if len(committed) != 2 {
		t.Fatalf("setup: %d committed objects", len(committed))
	}
	// the "crash": the store still says running; a new process opens it
	if err := e1.m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e1.m.Close(); err != nil {
		t.Fatal(err)
	}

	e2 := newEnv(t, conn, fileTarget(root, db))
	select {
	case <-e2.m.cleaned:
	case <-time.After(30 * time.Second): // a safety net, not an assertion on speed
		t.Fatal("start-up clean-up did not end")
	}
	after := snapshotTree(t, filepath.Join(root, "test-bucket"))
	for p, b := range committed {
		if !bytes.Equal(after[p], b) {
			t.Errorf("committed %s changed or vanished", p)
		}
		delete(after, p)
	}
	if len(after) != 0 {
		t.Errorf("left behind: %v", slices.Collect(maps.Keys(after)))
	}
	if _, err := os.Stat(filepath.Join(root, "test-bucket", tr.ID, "v002")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the version folder of the job that committed nothing is still there: %v", err)
	}
	if pend, err := e2.m.Store().PendingCleanups(ctx); err != nil || len(pend) != 0 {
		t.Errorf("pending clean-ups after the clean-up: %+v, %v", pend, err)
	}
	// later jobs continue above the crashed ones
	if j := runJob(t, e2.m, tr.ID); j.Version != "v003" || j.Status != StatusCompleted {
		t.Fatalf("next job %s %s %v", j.Version, j.Status, j.Error)
	}
}

// TestCleanupFailureRetriedAtNextStart: a clean-up that fails stays
// pending and is done at the next start.
func TestCleanupFailureRetriedAtNextStart(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	db := filepath.Join(t.TempDir(), "ora2gcs.db")
	conn := newFakeConnector(&fakeTable{name: "A", rows: 5})
	e1 := newEnv(t, conn, fileTarget(root, db))
	tr := mustCreate(t, e1.m, "crash", "A")
	if _, err := e1.m.Store().CreateJob(ctx, tr, "fake", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	sink, err := file.New(root, "test-bucket")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := sink.Create(ctx, tr.ID+"/v001/A.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = obj.Write([]byte("half"))
	_ = e1.m.Shutdown(ctx)
	if err := e1.m.Close(); err != nil {
		t.Fatal(err)
	}

	broken := func(c *ManagerConfig) {
		c.Sinks = func(string) (pipeline.Sink, error) { return nil, errors.New("fake: target down") }
	}
	e2 := newEnv(t, conn, fileTarget(root, db), broken)
	<-e2.m.cleaned
	if pend, err := e2.m.Store().PendingCleanups(ctx); err != nil || len(pend) != 1 {
		t.Fatalf("pending after a failed clean-up: %+v, %v; want the job", pend, err)
	}
	_ = e2.m.Shutdown(ctx)
	if err := e2.m.Close(); err != nil {
		t.Fatal(err)
	}

	e3 := newEnv(t, conn, fileTarget(root, db))
	<-e3.m.cleaned
	if left, _ := filepath.Glob(filepath.Join(root, "test-bucket", tr.ID, "v001", "*"+file.TempSuffix)); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if pend, err := e3.m.Store().PendingCleanups(ctx); err != nil || len(pend) != 0 {
		t.Fatalf("pending after the clean-up: %+v, %v", pend, err)
	}
}
