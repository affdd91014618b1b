package jobs

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestTransportTableIdentityOracleFolding is the Oracle shape of the
// mixed-case defect (upper-case folding): a quoted lower-case table next to
// its upper-case namesake. The transport stores the exact identity, the job
// reads that table (its own row count) into its own object, and an unquoted
// name matching both spellings is refused by the SQL connectors' resolver
// (sqlsource TestPick, integration TestPostgresTableIdentity).
func TestTransportTableIdentityOracleFolding(t *testing.T) {
	conn := newFakeConnector(&fakeTable{name: "VBRP", rows: 3}, &fakeTable{name: "vbrp", rows: 5})
	e := newEnv(t, conn)
	ctx := context.Background()
	tr, err := e.m.CreateTransport(ctx, NewTransport{Name: "fold", Tables: []string{`"vbrp"`, `FAKE.VBRP`}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`"vbrp"`, `FAKE.VBRP`}; !reflect.DeepEqual(tr.Tables, want) {
		t.Fatalf("tables %q, want %q", tr.Tables, want)
	}
	wantRefs := []TableRef{{Schema: "FAKE", Name: "vbrp", Object: "vbrp"}, {Schema: "FAKE", Name: "VBRP", Object: "FAKE.VBRP"}}
	if !reflect.DeepEqual(tr.TableRefs, wantRefs) {
		t.Fatalf("refs %+v, want %+v", tr.TableRefs, wantRefs)
	}
	// A fresh manager on the same state database reads the identity back.
	got, err := e.m.GetTransport(ctx, tr.ID)
	if err != nil || !reflect.DeepEqual(got.TableRefs, wantRefs) {
		t.Fatalf("stored refs %+v, %v", got.TableRefs, err)
	}
	j, err := e.m.Execute(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.m.Wait(ctx, j.ID)
	if err != nil || done.Status != StatusCompleted {
		t.Fatalf("job %+v %v", done, err)
	}
	if done.Tables[0].RowCount != 5 || done.Tables[1].RowCount != 3 {
		t.Fatalf("rows %d and %d, want 5 (vbrp) and 3 (VBRP)", done.Tables[0].RowCount, done.Tables[1].RowCount)
	}
	for _, obj := range []string{"vbrp.jsonl.gz", "FAKE.VBRP.jsonl.gz", "vbrp.schema.json", "FAKE.VBRP.schema.json"} {
		if _, err := os.Stat(filepath.Join(e.root, "test-bucket", tr.ID, done.Version, obj)); err != nil {
			t.Errorf("%s: %v", obj, err)
		}
	}
}

// TestJobDescribesEachTableOnce: Execute's pre-flight describes every table
// (it must resolve before a version is assigned) and the job reads those
// descriptions instead of asking the catalog a second time.
func TestJobDescribesEachTableOnce(t *testing.T) {
	conn := newFakeConnector(&fakeTable{name: "A", rows: 3}, &fakeTable{name: "B", rows: 4}, &fakeTable{name: "C", rows: 5})
	e := newEnv(t, conn)
	ctx := context.Background()
	tr, err := e.m.CreateTransport(ctx, NewTransport{Name: "once", Tables: []string{"A", "B", "C"}})
	if err != nil {
		t.Fatal(err)
	}
	before := conn.describes.Load()
	j, err := e.m.Execute(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.m.Wait(ctx, j.ID)
	if err != nil || done.Status != StatusCompleted || done.TotalRows != 12 {
		t.Fatalf("job %+v %v", done, err)
	}
	if n := conn.describes.Load() - before; n != 3 {
		t.Fatalf("%d Describe calls for a job of 3 tables, want 3", n)
	}
}
