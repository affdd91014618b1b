package jobs

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// lateNoteConnector's snapshot gains a note while tables are read, as the
// Oracle connector's does when a table falls back to a READ ONLY
// transaction (no FLASHBACK on it) or cannot be split.
type lateNoteConnector struct {
	*fakeConnector
	snap *lateNoteSnap
}

type lateNoteSnap struct {
	mu   sync.Mutex
	note string
}

func (s *lateNoteSnap) Info() pipeline.SnapshotInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return pipeline.SnapshotInfo{Kind: "scn", ID: "777", Note: s.note}
}
func (s *lateNoteSnap) Close() error { return nil }

func (c *lateNoteConnector) Snapshot(ctx context.Context) (pipeline.Snapshot, error) {
	return c.snap, nil
}

func (c *lateNoteConnector) Open(ctx context.Context, info pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	c.snap.mu.Lock()
	c.snap.note = "FAKE." + info.Name + " was read in a READ ONLY transaction, not AS OF SCN 777"
	c.snap.mu.Unlock()
	return c.fakeConnector.Open(ctx, info, snap, opts)
}

// TestManifestSnapshotNoteAfterTables: the snapshot's state is read again
// after the tables, so a per-table consistency fallback noted while
// reading reaches the manifest and the job record.
func TestManifestSnapshotNoteAfterTables(t *testing.T) {
	conn := newFakeConnector(&fakeTable{name: "VBRP", rows: 5})
	late := &lateNoteConnector{fakeConnector: conn, snap: &lateNoteSnap{}}
	e := newEnv(t, conn, func(cfg *ManagerConfig) { cfg.Connector = late })
	tr := mustCreate(t, e.m, "Late", "VBRP")
	j := runJob(t, e.m, tr.ID)
	want := "FAKE.VBRP was read in a READ ONLY transaction"
	man := readManifest(t, objectPath(e, "test-bucket", tr.ID+"/v001/_manifest.json"))
	if !strings.Contains(man.Snapshot.Note, want) || man.Snapshot.ID != "777" {
		t.Errorf("manifest snapshot %+v lacks the note %q", man.Snapshot, want)
	}
	got, err := e.m.GetJob(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Snapshot.Note, want) {
		t.Errorf("job record snapshot %+v lacks the note", got.Snapshot)
	}
}
