package integration

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/gcstest"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

// TestGCSLeftoversAndVersions runs against the GCS emulator: a job killed
// mid-way leaves a committed table, range segments and a compose
// intermediate under _ranges/ and an unfinished upload; the next start
// removes everything under _ranges/ and keeps the committed table. A second
// state database writing the same transport ID into the bucket then gets
// the next version, not v001 again.
func TestGCSLeftoversAndVersions(t *testing.T) {
	ctx := context.Background()
	const bucket = "oracle-etl-data"
	emu := gcstest.Start(t, bucket)
	sinks := func(b string) (pipeline.Sink, error) {
		return gcs.NewWithClient(emu.Client, gcs.Config{Bucket: b, ChunkSize: 256 << 10})
	}
	conn, err := synth.New(synth.Config{Rows: map[string]int64{"VBRK": 500}})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 1, 18, 9, 0, 0, 0, time.UTC)
	open := func(db string) *jobs.Manager {
		m, err := jobs.NewManager(ctx, jobs.ManagerConfig{
			Store: db, Connector: conn, Sinks: sinks,
			Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})),
			DefaultBucket: bucket, Clock: func() time.Time { return day },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Shutdown(ctx); _ = m.Close() })
		return m
	}
	db1 := filepath.Join(t.TempDir(), "one.db")
	m1 := open(db1)
	tr, err := m1.CreateTransport(ctx, jobs.NewTransport{Name: "crash", Tables: []string{"VBRK"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m1.Store().CreateJob(ctx, tr, "synth", "", day); err != nil { // v001, left running
		t.Fatal(err)
	}
	sink, _ := sinks(bucket)
	put := func(name string, commit bool) {
		obj, err := sink.Create(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := obj.Write([]byte("bytes of " + name)); err != nil {
			t.Fatal(err)
		}
		if !commit {
			_ = obj.Abort() // the upload never finalizes: nothing to list
			return
		}
		if _, err := obj.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	p := tr.ID + "/v001/"
	put(p+"LIKP.jsonl.gz", true)
	put(p+"_ranges/VBRK/00000-a1.deflate", true)
	put(p+"_ranges/VBRK/00001-a2.deflate", true)
	put(p+"_ranges/VBRK/_compose.VBRK.jsonl.gz.1.00000", true)
	put(p+"VBRK.jsonl.gz", false)
	before, _ := emu.Read(t, bucket, p+"LIKP.jsonl.gz")
	_ = m1.Shutdown(ctx)
	if err := m1.Close(); err != nil { // the store still says running: as after a crash
		t.Fatal(err)
	}

	m2 := open(db1)
	deadline := time.Now().Add(30 * time.Second) // a safety net, not an assertion on speed
	for {
		pend, err := m2.Store().PendingCleanups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(pend) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("clean-up still pending: %+v", pend)
		}
		time.Sleep(20 * time.Millisecond)
	}
	objs := emu.Objects(t, bucket)
	if i := slices.IndexFunc(objs, func(n string) bool { return strings.Contains(n, "/_ranges/") }); i >= 0 {
		t.Fatalf("range objects left after the restart: %q", objs)
	}
	if after, ok := emu.Read(t, bucket, p+"LIKP.jsonl.gz"); !ok || string(after) != string(before) {
		t.Fatalf("the committed object of the crashed job changed or vanished")
	}
	_ = m2.Shutdown(ctx)
	_ = m2.Close()

	// a second state database: the same transport (id and tables, as the
	// CLI's --transport-id from another data directory), the bucket holds v001
	m3 := open(filepath.Join(t.TempDir(), "two.db"))
	tr3, err := m3.CreateTransport(ctx, jobs.NewTransport{ID: tr.ID, Name: "other", Tables: []string{"VBRK"}})
	if err != nil || tr3.ID != tr.ID {
		t.Fatalf("transport %s, %v; the test needs the ID %s again", tr3.ID, err, tr.ID)
	}
	j, err := m3.Execute(ctx, tr3.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Version != "v002" {
		t.Fatalf("second database got %s; want v002", j.Version)
	}
	done, err := m3.Wait(ctx, j.ID)
	if err != nil || done.Status != jobs.StatusCompleted {
		t.Fatalf("job %+v, %v", done, err)
	}
}
