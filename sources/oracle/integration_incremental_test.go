package oracle

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/stages"
)

// TestOracleIncrementalReal runs incremental jobs against a real Oracle
// (gated on ORA2GCS_TEST_ORACLE_DSN like TestOracleIntegration): one table
// per watermark type — DATE, TIMESTAMP, TIMESTAMP WITH TIME ZONE and
// NUMBER — each with rows below, at and above the first job's high and
// NULL watermarks. The first job reads everything and records the maximum
// AS OF its SCN; the second reads exactly the rows above it (a row equal
// to the high is not read again: low is exclusive; the same instant
// written in another offset is equal; 10 > 9.5 as numbers), counts the
// NULLs, and takes its low from the first job's high. The primary key
// gives the key columns (ALL_CONSTRAINTS) and the watermark columns without
// an index (ALL_IND_COLUMNS) get the warning, the indexed DATE column none.
func TestOracleIncrementalReal(t *testing.T) {
	dsn := os.Getenv(EnvTestDSN)
	if dsn == "" {
		t.Skip(EnvTestDSN + " is not set: see TestOracleIntegration")
	}
	if dsn == "atp" {
		dsn = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg, err := NewConfig(dsn, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	db := c.DB()
	exec := func(q string) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	prefix := "ORA2GCS_INC_" + strings.ToUpper(hex.EncodeToString(rnd[:])) + "_"
	type tableCase struct {
		suffix, typ, overlap string
		// below, at (the first high), above it; equal: the high written
		// otherwise (read as equal, so not read again)
		below, at, equal, above string
		high                    string // the first job's high as recorded ("" not checked)
	}
	cases := []tableCase{
		{"D", "DATE", "0s", "TO_DATE('2024-03-01 09:00:00', 'YYYY-MM-DD HH24:MI:SS')", "TO_DATE('2024-03-01 10:00:00', 'YYYY-MM-DD HH24:MI:SS')",
			"TO_DATE('2024-03-01 10:00:00', 'YYYY-MM-DD HH24:MI:SS')", "TO_DATE('2024-03-01 10:00:01', 'YYYY-MM-DD HH24:MI:SS')", "2024-03-01T10:00:00"},
		{"TS", "TIMESTAMP(6)", "0s", "TO_TIMESTAMP('2024-03-01 09:59:59.999999', 'YYYY-MM-DD HH24:MI:SS.FF6')",
			"TO_TIMESTAMP('2024-03-01 10:00:00.000001', 'YYYY-MM-DD HH24:MI:SS.FF6')", "TO_TIMESTAMP('2024-03-01 10:00:00.000001', 'YYYY-MM-DD HH24:MI:SS.FF6')",
			"TO_TIMESTAMP('2024-03-01 10:00:00.000002', 'YYYY-MM-DD HH24:MI:SS.FF6')", ""},
		{"TZ", "TIMESTAMP(6) WITH TIME ZONE", "0s", "TO_TIMESTAMP_TZ('2024-03-01 09:00:00 +00:00', 'YYYY-MM-DD HH24:MI:SS TZH:TZM')",
			"TO_TIMESTAMP_TZ('2024-03-01 10:00:00 +00:00', 'YYYY-MM-DD HH24:MI:SS TZH:TZM')", "TO_TIMESTAMP_TZ('2024-03-01 19:00:00 +09:00', 'YYYY-MM-DD HH24:MI:SS TZH:TZM')",
			"TO_TIMESTAMP_TZ('2024-03-01 01:00:00.000001 -09:00', 'YYYY-MM-DD HH24:MI:SS.FF6 TZH:TZM')", "2024-03-01T10:00:00Z"},
		{"N", "NUMBER(12,2)", "0", "8", "9.5", "9.50", "10", "9.5"},
	}
	var tables []string
	for _, tc := range cases {
		name := prefix + tc.suffix
		tables = append(tables, name)
		exec(fmt.Sprintf("CREATE TABLE %s (ID NUMBER(10) PRIMARY KEY, W %s)", name, tc.typ))
		t.Cleanup(func() { _, _ = db.ExecContext(context.Background(), "DROP TABLE "+name+" PURGE") })
		if tc.suffix == "D" {
			exec(fmt.Sprintf("CREATE INDEX %sI ON %s (W)", name, name))
		}
		exec(fmt.Sprintf("INSERT INTO %s VALUES (1, %s)", name, tc.below))
		exec(fmt.Sprintf("INSERT INTO %s VALUES (2, %s)", name, tc.at))
		exec(fmt.Sprintf("INSERT INTO %s VALUES (3, NULL)", name))
	}

	dir := t.TempDir()
	sink, err := file.New(filepath.Join(dir, "out"), "bucket")
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.LogBuffer{}
	m, err := jobs.NewManager(ctx, jobs.ManagerConfig{
		Store: filepath.Join(dir, "state.db"), Connector: c,
		Sinks:   func(string) (pipeline.Sink, error) { return sink, nil },
		Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})), Pipeline: pipeline.DefaultConfig(),
		DefaultBucket: "bucket", ParallelTables: 2, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer m.Shutdown(context.Background())
	var modes []jobs.TableMode
	for i, tc := range cases {
		modes = append(modes, jobs.TableMode{Table: tables[i], Mode: jobs.ModeIncremental, WatermarkColumn: "w", Overlap: tc.overlap})
	}
	tr, err := m.CreateTransport(ctx, jobs.NewTransport{Name: "oracle incremental", Tables: tables, Incremental: &jobs.IncrementalSpec{Tables: modes}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range tr.Incremental.Tables {
		if tm.WatermarkColumn != "W" || !slices.Equal(tm.KeyColumns, []string{"ID"}) {
			t.Fatalf("stored mode %+v: want column W and the primary key ID", tm)
		}
	}
	run := func() (jobs.Job, jobs.Manifest) {
		t.Helper()
		j, err := m.Execute(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j, err = m.Wait(ctx, j.ID); err != nil || j.Status != jobs.StatusCompleted {
			t.Fatalf("job %+v: %v", j, err)
		}
		b, err := os.ReadFile(filepath.Join(sink.Root(), j.TransportID, j.Version, "_manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		var man jobs.Manifest
		if err := json.Unmarshal(b, &man); err != nil {
			t.Fatal(err)
		}
		return j, man
	}
	ids := func(man jobs.Manifest, mt jobs.ManifestTable) []string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(sink.Root(), mt.Object))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(zr)
		dec.UseNumber()
		var out []string
		for {
			var r map[string]any
			if err := dec.Decode(&r); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(r["ID"]))
		}
		slices.Sort(out)
		return out
	}
	table := func(man jobs.Manifest, i int) jobs.ManifestTable {
		t.Helper()
		for _, mt := range man.Tables {
			if sameTable(mt.Table, tables[i]) {
				return mt
			}
		}
		t.Fatalf("no %s in the manifest", tables[i])
		return jobs.ManifestTable{}
	}

	_, man1 := run()
	highs := make([]string, len(cases))
	for i, tc := range cases {
		mt := table(man1, i)
		if got := ids(man1, mt); mt.Mode != jobs.ModeFull || !slices.Equal(got, []string{"1", "2", "3"}) || mt.Window == nil ||
			mt.Window.NullWatermarks != 1 || mt.Window.High == "" || (tc.high != "" && mt.Window.High != tc.high) {
			t.Fatalf("%s, first job: mode %s, ids %v, window %+v", tc.typ, mt.Mode, got, mt.Window)
		}
		highs[i] = mt.Window.High
		exec(fmt.Sprintf("INSERT INTO %s VALUES (4, %s)", tables[i], tc.equal))
		exec(fmt.Sprintf("INSERT INTO %s VALUES (5, %s)", tables[i], tc.above))
		exec(fmt.Sprintf("INSERT INTO %s VALUES (6, NULL)", tables[i]))
	}
	_, man2 := run()
	for i, tc := range cases {
		mt := table(man2, i)
		if got := ids(man2, mt); mt.Mode != jobs.ModeIncremental || !slices.Equal(got, []string{"5"}) || mt.Window.Low != highs[i] ||
			mt.Window.NullWatermarks != 2 || mt.Rows != 1 {
			t.Fatalf("%s, second job: mode %s, ids %v (want only 5: above the high %s), window %+v", tc.typ, mt.Mode, got, highs[i], mt.Window)
		}
	}
	warned := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && strings.HasPrefix(fmt.Sprint(rec["msg"]), "watermark column has no index") {
			for _, name := range tables {
				if sameTable(fmt.Sprint(rec["table"]), name) {
					warned[name]++
				}
			}
		}
	}
	for i, tc := range cases {
		if want := map[bool]int{true: 0, false: 2}[tc.suffix == "D"]; warned[tables[i]] != want {
			t.Errorf("%s: %d warnings about a missing index, want %d", tables[i], warned[tables[i]], want)
		}
	}
}

// sameTable: the transport's name of a table (as given, or with its
// owner) is name.
func sameTable(listed, name string) bool {
	return strings.EqualFold(listed, name) || strings.HasSuffix(strings.ToUpper(listed), "."+name)
}
