package integration

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
)

// readRows gunzips one object and decodes every line.
func readRows(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(string(testutil.GunzipOne(t, b)), "\n"), "\n") {
		if line == "" {
			continue
		}
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		out = append(out, row)
	}
	return out
}

// TestPostgresTableIdentity: a transport stores each table as its exact
// catalog identity, so a quoted mixed-case table is exported, never its
// case-folded namesake; names holding dots, quotes or only dots run and are
// stored under escaped object names; the same table twice and an ambiguous
// unquoted name are refused with 422 naming both; and a table dropped after
// the transport was created fails the job instead of exporting a namesake.
func TestPostgresTableIdentity(t *testing.T) {
	dsn := pgtest.DSN(t)
	pgExec(t, dsn, `DROP SCHEMA IF EXISTS it_names CASCADE`, `DROP TABLE IF EXISTS public.it_names_dup`,
		`CREATE SCHEMA it_names`,
		`CREATE TABLE it_names."Mixed" AS SELECT 1 AS a`,
		`CREATE TABLE it_names.mixed AS SELECT 2 AS b`,
		`CREATE TABLE it_names."Q""uote" AS SELECT 3 AS c`,
		`CREATE TABLE it_names."t.part-00001" AS SELECT 4 AS d`,
		`CREATE TABLE it_names."..." AS SELECT 5 AS e`,
		`CREATE TABLE it_names."t" AS SELECT 6 AS f`,
		`CREATE TABLE public.it_names_dup AS SELECT 7 AS g`)
	t.Cleanup(func() {
		pgExec(t, dsn, `DROP SCHEMA IF EXISTS it_names CASCADE`, `DROP TABLE IF EXISTS public.it_names_dup`)
	})
	s, dir := pgStack(t, dsn, 2)

	var tr jobs.Transport
	in := map[string]any{"name": "names", "tables": []string{
		`it_names."Mixed"`, `it_names.mixed`, `it_names."Q""uote"`, `it_names."t.part-00001"`, `it_names."..."`, `IT_NAMES.T`,
	}}
	if code := s.do(http.MethodPost, "/transport", in, &tr); code != http.StatusCreated {
		t.Fatalf("create: %d %+v", code, tr)
	}
	wantTables := []string{`it_names."Mixed"`, `it_names.mixed`, `it_names."Q""uote"`, `it_names."t.part-00001"`, `it_names."..."`, `it_names.t`}
	if !reflect.DeepEqual(tr.Tables, wantTables) {
		t.Fatalf("tables %q, want %q", tr.Tables, wantTables)
	}
	wantRefs := []jobs.TableRef{
		{Schema: "it_names", Name: "Mixed", Object: "it_names.Mixed"},
		{Schema: "it_names", Name: "mixed", Object: "it_names.mixed"},
		{Schema: "it_names", Name: `Q"uote`, Object: "it_names.Q%22uote"},
		{Schema: "it_names", Name: "t.part-00001", Object: "it_names.t%2Epart-00001"},
		{Schema: "it_names", Name: "...", Object: "it_names.%2E%2E%2E"},
		{Schema: "it_names", Name: "t", Object: "it_names.t"},
	}
	if !reflect.DeepEqual(tr.TableRefs, wantRefs) {
		t.Fatalf("resolved tables %+v, want %+v", tr.TableRefs, wantRefs)
	}
	// What the API returns is what a later GET (from the store) returns.
	var got jobs.Transport
	if code := s.do(http.MethodGet, "/transport/"+tr.ID, nil, &got); code != http.StatusOK || !reflect.DeepEqual(got.TableRefs, wantRefs) {
		t.Fatalf("get: %d %+v", code, got.TableRefs)
	}

	job, err := s.m.Execute(context.Background(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.m.Wait(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != jobs.StatusCompleted {
		t.Fatalf("job %+v (error %v)", done, done.Error)
	}
	prefix := filepath.Join(dir, "oracle-etl-data", tr.ID, "v001")
	for i, want := range []map[string]any{{"a": 1.0}, {"b": 2.0}, {"c": 3.0}, {"d": 4.0}, {"e": 5.0}, {"f": 6.0}} {
		obj := filepath.Join(prefix, wantRefs[i].Object+".jsonl.gz")
		rows := readRows(t, obj)
		if len(rows) != 1 || !reflect.DeepEqual(rows[0], want) {
			t.Errorf("%s (%s): rows %v, want [%v]", tr.Tables[i], obj, rows, want)
		}
		if _, err := os.Stat(filepath.Join(prefix, wantRefs[i].Object+".schema.json")); err != nil {
			t.Errorf("%s: schema: %v", tr.Tables[i], err)
		}
	}

	// Refused at creation, 422 naming both entries or both candidates.
	for _, tc := range []struct {
		tables []string
		says   []string
	}{
		{[]string{"it_names_dup", "public.it_names_dup"}, []string{`"it_names_dup"`, `"public.it_names_dup"`, `same table`}},
		{[]string{"it_names.mixed", `"it_names"."mixed"`}, []string{`"it_names.mixed"`, `same table`}},
		{[]string{"it_names.Mixed"}, []string{`"it_names"."Mixed"`, `"it_names"."mixed"`, "quote the name"}},
	} {
		var e struct {
			Error struct{ Code, Message string }
		}
		code := s.do(http.MethodPost, "/transport", map[string]any{"name": "bad", "tables": tc.tables}, &e)
		if code != http.StatusUnprocessableEntity || e.Error.Code != "table_conflict" {
			t.Errorf("%q: %d %+v, want 422 table_conflict", tc.tables, code, e)
		}
		for _, w := range tc.says {
			if !strings.Contains(e.Error.Message, w) {
				t.Errorf("%q: message %q does not say %s", tc.tables, e.Error.Message, w)
			}
		}
	}

	// The exact table goes away; its case-folded namesake stays. The next
	// execute must fail on that table, not export it.mixed's rows as
	// "Mixed": the pre-flight refuses it before a version is assigned.
	pgExec(t, dsn, `DROP TABLE it_names."Mixed"`)
	before, err := s.m.ListJobs(context.Background(), jobs.JobFilter{TransportID: tr.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.m.Execute(context.Background(), tr.ID); !errors.Is(err, pipeline.ErrTableNotFound) || !strings.Contains(err.Error(), `"Mixed"`) {
		t.Fatalf("execute after drop: %v; want table not found naming it_names.\"Mixed\"", err)
	}
	after, err := s.m.ListJobs(context.Background(), jobs.JobFilter{TransportID: tr.ID})
	if err != nil || after.Total != before.Total {
		t.Fatalf("jobs after the refused execute: %d, before %d (%v)", after.Total, before.Total, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "oracle-etl-data", tr.ID, "v002")); !os.IsNotExist(err) {
		t.Fatalf("a version folder exists for the refused execute: %v", err)
	}
}
