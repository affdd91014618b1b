package jobs

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// lateNoteConnector's snapshot learns how each table is read only when the
// table opens, as the Oracle connector's does: a table in fallBack falls
// back to a READ ONLY transaction (no FLASHBACK on it), and the snapshot's
// note says so from then on.
type lateNoteConnector struct {
	*fakeConnector
	snap     *lateNoteSnap
	fallBack map[string]bool
	opened   map[string]chan struct{} // closed when the table opened
	after    map[string]string        // table → the table it opens after
}

type lateNoteSnap struct {
	mu     sync.Mutex
	note   string
	tables map[string]pipeline.TableConsistency
}

func (s *lateNoteSnap) Info() pipeline.SnapshotInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return pipeline.SnapshotInfo{Kind: "scn", ID: "777", Note: s.note}
}

func (s *lateNoteSnap) TableConsistency(t pipeline.TableInfo) (pipeline.TableConsistency, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.tables[t.Schema+"."+t.Name]
	return c, ok
}

func (s *lateNoteSnap) Close() error { return nil }

func (c *lateNoteConnector) Snapshot(ctx context.Context) (pipeline.Snapshot, error) {
	return c.snap, nil
}

func (c *lateNoteConnector) Open(ctx context.Context, info pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	if w, ok := c.after[info.Name]; ok {
		select {
		case <-c.opened[w]:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c.snap.mu.Lock()
	key := info.Schema + "." + info.Name
	if c.fallBack[info.Name] {
		c.snap.note = key + " was read in a READ ONLY transaction, not AS OF SCN 777"
		c.snap.tables[key] = pipeline.TableConsistency{Mode: pipeline.ConsistencyReadOnlyTransaction, Code: "ORA-01031",
			Reason: "the user lacks FLASHBACK on the table"}
	} else {
		c.snap.tables[key] = pipeline.TableConsistency{Mode: pipeline.ConsistencyAsOfSCN, ID: "777", AtSnapshot: true}
	}
	c.snap.mu.Unlock()
	src, err := c.fakeConnector.Open(ctx, info, snap, opts)
	if ch, ok := c.opened[info.Name]; ok {
		close(ch)
	}
	return src, err
}

// TestTableConsistencyFallbackAfterFirstTable: VBRP opens AS OF the SCN
// and runs; only then does VBRK open and fall back to a READ ONLY
// transaction; VBRP ends after that. The snapshot's state and every
// table's consistency are read again before the manifest is written, so
// the manifest, the job record and the table_complete event say per table
// how it was read, and neither the manifest nor the job claims one point in
// time for both tables.
func TestTableConsistencyFallbackAfterFirstTable(t *testing.T) {
	gate := make(chan struct{})
	conn := newFakeConnector(&fakeTable{name: "VBRP", rows: 30, gate: gate}, &fakeTable{name: "VBRK", rows: 5})
	late := &lateNoteConnector{fakeConnector: conn, snap: &lateNoteSnap{tables: map[string]pipeline.TableConsistency{}},
		fallBack: map[string]bool{"VBRK": true}, opened: map[string]chan struct{}{"VBRP": make(chan struct{})},
		after: map[string]string{"VBRK": "VBRP"}}
	e := newEnv(t, conn, func(cfg *ManagerConfig) { cfg.Connector = late; cfg.ParallelTables = 2 })
	tr := mustCreate(t, e.m, "Late", "VBRP", "VBRK")

	ctx := context.Background()
	j, err := e.m.Execute(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	events, cancel, err := e.m.Subscribe(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	// VBRP is open (AS OF the SCN) and held after its first batch; VBRK
	// opens after it, falls back and completes; then VBRP may finish.
	var completeEvents []Event
	timeout := time.After(30 * time.Second)
	for open := true; open; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("stream ended early")
			}
			if ev.Type == EventTableComplete {
				completeEvents = append(completeEvents, ev)
				if ev.Table == "VBRK" {
					open = false
				} else {
					t.Fatalf("%s completed before VBRK", ev.Table)
				}
			}
		case <-timeout:
			t.Fatal("VBRK never completed")
		}
	}
	close(gate)
	for ev := range events {
		if ev.Type == EventTableComplete {
			completeEvents = append(completeEvents, ev)
		}
		if ev.Type == EventComplete {
			break
		}
	}
	done, err := e.m.Wait(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != StatusCompleted {
		t.Fatalf("job %s: %v", done.Status, done.Error)
	}

	wantNote := "FAKE.VBRK was read in a READ ONLY transaction"
	man := readManifest(t, objectPath(e, "test-bucket", tr.ID+"/v001/_manifest.json"))
	if !strings.Contains(man.Snapshot.Note, wantNote) || man.Snapshot.ID != "777" {
		t.Errorf("manifest snapshot %+v lacks the note %q", man.Snapshot, wantNote)
	}
	if man.Consistency.OnePointInTime || len(man.Consistency.NotAtSnapshot) != 1 || man.Consistency.NotAtSnapshot[0] != "VBRK" {
		t.Errorf("manifest consistency %+v: must not claim one point in time, and must name VBRK", man.Consistency)
	}
	byName := map[string]*pipeline.TableConsistency{}
	for _, mt := range man.Tables {
		byName[mt.Table] = mt.Consistency
	}
	if c := byName["VBRP"]; c == nil || c.Mode != pipeline.ConsistencyAsOfSCN || c.ID != "777" || !c.AtSnapshot {
		t.Errorf("manifest VBRP consistency %+v, want as_of_scn 777", c)
	}
	if c := byName["VBRK"]; c == nil || c.Mode != pipeline.ConsistencyReadOnlyTransaction || c.AtSnapshot || c.Code != "ORA-01031" || c.Reason == "" {
		t.Errorf("manifest VBRK consistency %+v, want read_only_transaction with ORA-01031 and a reason", c)
	}

	got, err := e.m.GetJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Snapshot.Note, wantNote) {
		t.Errorf("job record snapshot %+v lacks the note", got.Snapshot)
	}
	if got.Consistency == nil || got.Consistency.OnePointInTime || strings.Join(got.Consistency.NotAtSnapshot, ",") != "VBRK" {
		t.Errorf("job record consistency %+v", got.Consistency)
	}
	for _, te := range got.Tables {
		if te.Consistency == nil || *te.Consistency != *byName[te.TableName] {
			t.Errorf("job record %s consistency %+v, manifest %+v", te.TableName, te.Consistency, byName[te.TableName])
		}
	}
	if len(completeEvents) != 2 {
		t.Fatalf("%d table_complete events", len(completeEvents))
	}
	for _, ev := range completeEvents {
		if ev.Consistency == nil || *ev.Consistency != *byName[ev.Table] {
			t.Errorf("table_complete of %s carries %+v, manifest %+v", ev.Table, ev.Consistency, byName[ev.Table])
		}
	}
}

// TestJobConsistencyAllAtSnapshot: a job whose tables were all read at the
// snapshot says one point in time, in the manifest and the job record.
func TestJobConsistencyAllAtSnapshot(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "VBRP", rows: 5}, &fakeTable{name: "VBRK", rows: 3}))
	tr := mustCreate(t, e.m, "Whole", "VBRP", "VBRK")
	j := runJob(t, e.m, tr.ID)
	man := readManifest(t, objectPath(e, "test-bucket", tr.ID+"/v001/_manifest.json"))
	if !man.Consistency.OnePointInTime || len(man.Consistency.NotAtSnapshot)+len(man.Consistency.Unreported) != 0 {
		t.Errorf("manifest consistency %+v", man.Consistency)
	}
	for _, mt := range man.Tables {
		if mt.Consistency == nil || !mt.Consistency.AtSnapshot {
			t.Errorf("manifest %s consistency %+v", mt.Table, mt.Consistency)
		}
	}
	got, err := e.m.GetJob(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Consistency == nil || !got.Consistency.OnePointInTime {
		t.Errorf("job consistency %+v", got.Consistency)
	}
}
