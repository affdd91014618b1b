package jobs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// TestTransportIDOfOtherTablesRefused: two state databases that gave the
// same generated id to transports of different tables, writing to one
// bucket. The first to run claims {trpid}/; the other's job is refused
// (ErrTransportClaimed) before a version is assigned and writes nothing
// there, so the two never mix under one prefix (where one's retention sweep
// would delete the other's versions). A transport created after the folder
// exists gets an id the target does not use.
func TestTransportIDOfOtherTablesRefused(t *testing.T) {
	root := t.TempDir()
	conn := newFakeConnector(&fakeTable{name: "A", rows: 25}, &fakeTable{name: "B", rows: 7})
	e1 := newEnv(t, conn, fileTarget(root, filepath.Join(t.TempDir(), "one", "ora2gcs.db")))
	e2 := newEnv(t, conn, fileTarget(root, filepath.Join(t.TempDir(), "two", "ora2gcs.db")))
	tr1 := mustCreate(t, e1.m, "first", "A", "B")
	tr2 := mustCreate(t, e2.m, "second", "A")
	if tr1.ID != tr2.ID {
		t.Fatalf("transport ids %s and %s; the test needs one id from both databases", tr1.ID, tr2.ID)
	}
	if j := runJob(t, e1.m, tr1.ID); j.Status != StatusCompleted {
		t.Fatalf("first job %s %v", j.Status, j.Error)
	}
	folder := filepath.Join(root, "test-bucket", tr1.ID)
	before := snapshotTree(t, folder)
	_, err := e2.m.Execute(context.Background(), tr2.ID)
	if !errors.Is(err, ErrTransportClaimed) {
		t.Fatalf("second database's job: %v; want ErrTransportClaimed", err)
	}
	for _, want := range []string{tr1.ID, "another transport", "create this transport again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	after := snapshotTree(t, folder)
	if len(after) != len(before) {
		t.Errorf("the refused job changed the folder: %d files, had %d", len(after), len(before))
	}
	for p, b := range before {
		if !bytes.Equal(after[p], b) {
			t.Errorf("%s changed", p)
		}
	}
	if jobs, err := e2.m.ListJobs(context.Background(), JobFilter{TransportID: tr2.ID}); err != nil || jobs.Total != 0 {
		t.Errorf("the refused execute recorded a job: %+v %v", jobs, err)
	}

	// the first database keeps running; a third database creating a
	// transport now skips the id the target uses
	if j := runJob(t, e1.m, tr1.ID); j.Status != StatusCompleted || j.Version != "v002" {
		t.Fatalf("first database's second job %s %s %v", j.Version, j.Status, j.Error)
	}
	e3 := newEnv(t, conn, fileTarget(root, filepath.Join(t.TempDir(), "three", "ora2gcs.db")))
	tr3 := mustCreate(t, e3.m, "third", "A")
	if tr3.ID == tr1.ID {
		t.Fatalf("third database reused %s, which the target holds", tr3.ID)
	}
	if j := runJob(t, e3.m, tr3.ID); j.Status != StatusCompleted || j.Version != "v001" {
		t.Fatalf("third database's job %s %s %v", j.Version, j.Status, j.Error)
	}
}

// raceSink commits another transport's claim marker just before its
// wrapped sink commits the first claim marker it is asked to write: two
// state databases claiming one id at the same instant.
type raceSink struct {
	pipeline.Sink
	foreign string
	done    bool
}

func (s *raceSink) List(ctx context.Context, prefix string) ([]string, error) {
	return s.Sink.(pipeline.Lister).List(ctx, prefix)
}

func (s *raceSink) Create(ctx context.Context, name string) (pipeline.Object, error) {
	if !s.done && strings.Contains(name, "/"+claimMarker) {
		s.done = true
		o, err := s.Sink.Create(ctx, s.foreign)
		if err != nil {
			return nil, err
		}
		if _, err := o.Write([]byte("{}\n")); err != nil {
			return nil, err
		}
		if _, err := o.Commit(); err != nil {
			return nil, err
		}
	}
	return s.Sink.Create(ctx, name)
}

// TestTransportClaimRace: when another database's marker appears between
// our listing and our claim, the job is refused (both see each other).
func TestTransportClaimRace(t *testing.T) {
	root := t.TempDir()
	conn := newFakeConnector(&fakeTable{name: "A", rows: 5})
	var rs *raceSink
	e := newEnv(t, conn, fileTarget(root, filepath.Join(t.TempDir(), "s", "ora2gcs.db")), func(c *ManagerConfig) {
		orig := c.Sinks
		c.Sinks = func(bucket string) (pipeline.Sink, error) {
			s, err := orig(bucket)
			if err != nil || rs != nil {
				if rs != nil {
					rs.Sink = s
				}
				return rs, err
			}
			return s, nil
		}
	})
	tr := mustCreate(t, e.m, "t", "A")
	rs = &raceSink{foreign: tr.ID + "/" + claimMarker + "0123456789abcdef.json"}
	_, err := e.m.Execute(context.Background(), tr.ID)
	if !errors.Is(err, ErrTransportClaimed) {
		t.Fatalf("Execute while another database claims the id: %v; want ErrTransportClaimed", err)
	}
	if _, err := os.Stat(filepath.Join(root, "test-bucket", tr.ID, "v001")); !os.IsNotExist(err) {
		t.Errorf("a version folder was written: %v", err)
	}
}

// TestTransportClaimSameTables: the same id over the same tables (the CLI's
// TRP-LOCAL from several data directories) shares the folder; the marker is
// written once and rewritten if the bucket's lifecycle removed it.
func TestTransportClaimSameTables(t *testing.T) {
	root := t.TempDir()
	conn := newFakeConnector(&fakeTable{name: "A", rows: 5})
	e := newEnv(t, conn, fileTarget(root, filepath.Join(t.TempDir(), "s", "ora2gcs.db")))
	tr := mustCreate(t, e.m, "t", "A")
	runJob(t, e.m, tr.ID)
	markers, _ := filepath.Glob(filepath.Join(root, "test-bucket", tr.ID, claimMarker+"*.json"))
	if len(markers) != 1 {
		t.Fatalf("claim markers %v; want one", markers)
	}
	b, err := os.ReadFile(markers[0])
	if err != nil || !bytes.Contains(b, []byte(`"transport_id": "`+tr.ID+`"`)) {
		t.Fatalf("marker %s: %s %v", markers[0], b, err)
	}
	if err := os.Remove(markers[0]); err != nil { // as a lifecycle Delete rule would
		t.Fatal(err)
	}
	if j := runJob(t, e.m, tr.ID); j.Status != StatusCompleted || j.Version != "v002" {
		t.Fatalf("job after the marker expired: %s %s %v", j.Version, j.Status, j.Error)
	}
	if again, _ := filepath.Glob(filepath.Join(root, "test-bucket", tr.ID, claimMarker+"*.json")); len(again) != 1 || again[0] != markers[0] {
		t.Errorf("markers after the next job: %v; want %s again", again, markers[0])
	}
}
