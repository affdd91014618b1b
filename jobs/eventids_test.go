package jobs

import (
	"context"
	"path/filepath"
	"testing"
)

// TestEventIDsStable: a subscriber that reconnects after the job ended gets
// the events with the ids it saw live (so Last-Event-ID resumes exactly),
// ending with complete; after a restart the store replay uses its own
// numbering above ReplayIDBase, stable across subscriptions.
func TestEventIDsStable(t *testing.T) {
	conn := newFakeConnector(&fakeTable{name: "A", rows: 40}, &fakeTable{name: "B", rows: 30})
	db := filepath.Join(t.TempDir(), "state", "ora2gcs.db")
	e := newEnv(t, conn, func(c *ManagerConfig) { c.Store = db; c.ParallelTables = 1 })
	tr := mustCreate(t, e.m, "ids", "A", "B")
	gate := make(chan struct{})
	conn.tables["A"].gate = gate
	j, err := e.m.Execute(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel, err := e.m.Subscribe(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	close(gate)
	live := collect(t, ch)
	cancel()
	if _, err := e.m.Wait(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	if len(live) == 0 || live[len(live)-1].Type != EventComplete {
		t.Fatalf("live stream did not end with complete: %+v", live)
	}
	liveIDs := map[int64]Event{}
	for _, ev := range live {
		if ev.ID <= 0 || ev.ID >= ReplayIDBase {
			t.Fatalf("live id %d out of the live numbering", ev.ID)
		}
		liveIDs[ev.ID] = ev
	}

	ch, cancel, err = e.m.Subscribe(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	replay := collect(t, ch)
	cancel()
	if len(replay) == 0 || replay[len(replay)-1].Type != EventComplete {
		t.Fatalf("replay did not end with complete: %+v", replay)
	}
	for _, ev := range replay {
		lv, ok := liveIDs[ev.ID]
		if !ok || lv.Type != ev.Type || lv.Table != ev.Table {
			t.Errorf("replayed %s %s has id %d; live that id was %+v", ev.Type, ev.Table, ev.ID, lv)
		}
	}
	if replay[len(replay)-1].ID != live[len(live)-1].ID {
		t.Errorf("complete: replay id %d, live id %d", replay[len(replay)-1].ID, live[len(live)-1].ID)
	}

	// Restart: the job is known only from the store.
	if err := e.m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, conn, func(c *ManagerConfig) { c.Store = db })
	var runs [2][]Event
	for i := range runs {
		ch, cancel, err := e2.m.Subscribe(context.Background(), tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = collect(t, ch)
		cancel()
	}
	if len(runs[0]) == 0 || len(runs[0]) != len(runs[1]) || runs[0][len(runs[0])-1].Type != EventComplete {
		t.Fatalf("store replays: %+v / %+v", runs[0], runs[1])
	}
	for i, ev := range runs[0] {
		if ev.ID <= ReplayIDBase || ev.ID != runs[1][i].ID || ev.Type != runs[1][i].Type {
			t.Errorf("store replay event %d: id %d (%s), again %d (%s)", i, ev.ID, ev.Type, runs[1][i].ID, runs[1][i].Type)
		}
	}

}
