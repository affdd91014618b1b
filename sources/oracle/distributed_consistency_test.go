package oracle

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/distributed"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
)

// oracleDistEnv plans VBRP and VBRK of the fake Oracle into a file store.
type oracleDistEnv struct {
	c     *Connector
	store distributed.Store
	dir   string
}

func newOracleDistEnv(t *testing.T, c *Connector) *oracleDistEnv {
	t.Helper()
	dir := t.TempDir()
	fs, err := file.New(dir, "bkt")
	if err != nil {
		t.Fatal(err)
	}
	st, err := distributed.NewStore(fs)
	if err != nil {
		t.Fatal(err)
	}
	return &oracleDistEnv{c: c, store: st, dir: dir}
}

func (e *oracleDistEnv) plan(t *testing.T, version string) *distributed.Plan {
	t.Helper()
	ctx := context.Background()
	var pts []distributed.PlanTable
	for _, n := range []string{"SAPSR3.VBRP", "SAPSR3.VBRK"} {
		info, err := e.c.Describe(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		pts = append(pts, distributed.PlanTable{Info: info, Table: n, ObjectBase: n})
	}
	pl := distributed.Planner{Connector: e.c, Store: e.store, TransportID: "TRP-O", JobVersion: version, Bucket: "bkt",
		Tables: pts, Settings: distributed.Settings{Compressor: "lines", GzipLevel: 1}, ShardRows: 1 << 40, // one shard per table
		Attempts: distributed.AttemptPolicy{Attempts: 3, BackoffSeconds: 0.001}}
	p, snap, err := pl.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = snap.Close() })
	if len(p.Shards) != 2 {
		t.Fatalf("%d shards, want one per table", len(p.Shards))
	}
	return p
}

// TestDistributedConsistencyOracle: a distributed job reads every table at
// the plan's SCN or fails. A shard of a table Oracle refuses AS OF that SCN
// (ORA-01031, no FLASHBACK on it; godror's error as in godrorQueryErr)
// fails at once, naming the table and the grant, without retrying and
// without reading the table in a READ ONLY transaction of its own; finalize
// then writes no manifest. With the privilege, every table of the
// finalized manifest is as_of_scn at the plan's SCN and the manifest says
// one point in time.
func TestDistributedConsistencyOracle(t *testing.T) {
	ctx := context.Background()
	t.Run("refused", func(t *testing.T) {
		fake, c := newFakeConnector(t, &oracleFake{rows: 3,
			asOfErrs: map[string]error{`"SAPSR3"."VBRK"`: godrorQueryErr(1031, "insufficient privileges")}})
		e := newOracleDistEnv(t, c)
		p := e.plan(t, "v001")
		if p.Snapshot.Kind != "scn" || p.Snapshot.ID != "123456789" {
			t.Fatalf("plan snapshot %+v", p.Snapshot)
		}
		var failed int
		for i, sh := range p.Shards {
			table := p.Tables[sh.Table].Table
			tries := 0
			_, err := (&distributed.ShardRun{Plan: p, Store: e.store, Connector: c, Index: i,
				BeforeRead: func(int) error { tries++; return nil }}).Run(ctx)
			switch table {
			case "SAPSR3.VBRP":
				if err != nil {
					t.Fatalf("VBRP's shard: %v", err)
				}
			case "SAPSR3.VBRK":
				failed = i
				var oe *Error
				if err == nil || !errors.As(err, &oe) || oe.Kind != KindPermission ||
					!strings.Contains(err.Error(), "SAPSR3.VBRK cannot be read AS OF SCN 123456789") || !strings.Contains(err.Error(), "FLASHBACK") {
					t.Fatalf("VBRK's shard: %v", err)
				}
				if tries != 1 {
					t.Errorf("VBRK's shard read %d times, want once (a refusal is not transient)", tries)
				}
				t.Logf("VBRK's shard: %v", err)
			}
		}
		for _, call := range fake.Calls() {
			if strings.Contains(call.SQL, `FROM "SAPSR3"."VBRK"`) && strings.HasPrefix(call.SQL, `SELECT "MANDT"`) && !strings.Contains(call.SQL, "AS OF") {
				t.Errorf("VBRK read outside the plan's SCN: %s (tx %q)", call.SQL, call.Tx)
			}
		}
		_, err := (&distributed.Finalizer{Plan: p, Store: e.store}).Run(ctx)
		if err == nil || !strings.Contains(err.Error(), "FLASHBACK") {
			t.Fatalf("finalize with shard %d failed: %v", failed, err)
		}
		if _, err := os.Stat(filepath.Join(e.dir, "bkt", filepath.FromSlash(p.ManifestName()))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a manifest was written: %v", err)
		}
	})

	t.Run("granted", func(t *testing.T) {
		_, c := newFakeConnector(t, &oracleFake{rows: 3})
		e := newOracleDistEnv(t, c)
		p := e.plan(t, "v001")
		for i := range p.Shards {
			if _, err := (&distributed.ShardRun{Plan: p, Store: e.store, Connector: c, Index: i}).Run(ctx); err != nil {
				t.Fatalf("shard %d: %v", i, err)
			}
		}
		res, err := (&distributed.Finalizer{Plan: p, Store: e.store}).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(e.dir, "bkt", filepath.FromSlash(p.ManifestName())))
		if err != nil {
			t.Fatal(err)
		}
		var man struct {
			Consistency struct {
				OnePointInTime bool     `json:"one_point_in_time"`
				NotAtSnapshot  []string `json:"tables_not_at_snapshot"`
				Unreported     []string `json:"tables_unreported"`
			} `json:"consistency"`
			Tables []struct {
				Table       string                     `json:"table"`
				Consistency *pipeline.TableConsistency `json:"consistency"`
			} `json:"tables"`
		}
		if err := json.Unmarshal(b, &man); err != nil {
			t.Fatal(err)
		}
		if !man.Consistency.OnePointInTime || len(man.Consistency.NotAtSnapshot)+len(man.Consistency.Unreported) != 0 || !res.Manifest.Consistency.OnePointInTime {
			t.Errorf("manifest consistency %+v", man.Consistency)
		}
		if len(man.Tables) != 2 {
			t.Fatalf("%d tables in the manifest", len(man.Tables))
		}
		want := pipeline.TableConsistency{Mode: pipeline.ConsistencyAsOfSCN, ID: "123456789", AtSnapshot: true}
		for _, mt := range man.Tables {
			if mt.Consistency == nil || *mt.Consistency != want {
				t.Errorf("%s: %+v, want %+v", mt.Table, mt.Consistency, want)
			}
		}
	})
}
