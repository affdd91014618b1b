package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

// faultSink wraps the file sink: Create fails for names the create hook
// refuses, Remove for names the remove hook refuses.
type faultSink struct {
	*file.Sink
	create func(name string) error
	remove func(name string) error
}

func (s *faultSink) Create(ctx context.Context, name string) (pipeline.Object, error) {
	if s.create != nil {
		if err := s.create(name); err != nil {
			return nil, err
		}
	}
	return s.Sink.Create(ctx, name)
}

func (s *faultSink) Remove(ctx context.Context, name string) error {
	if s.remove != nil {
		if err := s.remove(name); err != nil {
			return err
		}
	}
	return s.Sink.Remove(ctx, name)
}

func synthConn(t *testing.T, rows map[string]int64) *synth.Connector {
	t.Helper()
	c, err := synth.New(synth.Config{Rows: rows, DefaultRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// manifestOf reads the job's _manifest.json from the file sink.
func manifestOf(t *testing.T, root string, j Job) Manifest {
	t.Helper()
	return readManifest(t, filepath.Join(root, j.TransportID, j.Version, "_manifest.json"))
}

// mustExist fails unless the object name exists below root.
func mustExist(t *testing.T, root, name string) {
	t.Helper()
	if name == "" {
		t.Fatal("empty object name in the manifest")
	}
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(name))); err != nil {
		t.Fatalf("the manifest names %s: %v", name, err)
	}
}

// TestManifestSchemaWriteFails: when a schema object cannot be written, the
// job fails and the manifest says so: status failed, an error naming the
// schema, and no table naming a schema that is not stored. Every object the
// manifest names exists.
func TestManifestSchemaWriteFails(t *testing.T) {
	c := synthConn(t, map[string]int64{"VBRK": 50, "LIKP": 40})
	var fs *faultSink
	boom := errors.New("quota exceeded")
	e := newRangeEnv(t, c, func(cfg *ManagerConfig) {
		inner := cfg.Sinks
		cfg.Sinks = func(b string) (pipeline.Sink, error) {
			s, err := inner(b)
			if err != nil {
				return nil, err
			}
			fs = &faultSink{Sink: s.(*file.Sink), create: func(name string) error {
				if strings.HasSuffix(name, "/VBRK.schema.json") {
					return boom
				}
				return nil
			}}
			return fs, nil
		}
	})
	tr, err := e.m.CreateTransport(context.Background(), NewTransport{Name: "schema", Tables: []string{"VBRK", "LIKP"}})
	if err != nil {
		t.Fatal(err)
	}
	j := runJob(t, e.m, tr.ID)
	if j.Status != StatusFailed || !strings.Contains(derefErr(j.Error), "VBRK.schema.json") {
		t.Fatalf("job %s: %q, want failed naming the schema", j.Status, derefErr(j.Error))
	}
	man := manifestOf(t, e.sink.Root(), j)
	if man.Status != StatusFailed || !strings.Contains(man.Error, "VBRK.schema.json") || !strings.Contains(man.Error, boom.Error()) {
		t.Fatalf("manifest status %s error %q, want failed naming the schema and the cause", man.Status, man.Error)
	}
	for _, mt := range man.Tables {
		switch mt.Table {
		case "VBRK":
			if mt.Schema != "" {
				t.Fatalf("manifest names the schema %s that was not written", mt.Schema)
			}
		case "LIKP":
			mustExist(t, e.sink.Root(), mt.Schema)
		}
		mustExist(t, e.sink.Root(), mt.Object)
	}
}

// TestManifestParts: a table split into parts names its first part as the
// object (README: "Object and URI then name the first part") and lists
// every part, each stored with the size and CRC32C the manifest gives.
func TestManifestParts(t *testing.T) {
	c := synthConn(t, map[string]int64{"VBRP": 5000})
	e := newRangeEnv(t, c, func(cfg *ManagerConfig) {
		cfg.Pipeline.ChunkRows = 100
		cfg.Pipeline.PartBytes = 1 << 20
	})
	j := e.runTransport(t, "parts", 1, "VBRP")
	man := manifestOf(t, e.sink.Root(), j)
	mt := man.Tables[0]
	if len(mt.Parts) < 2 {
		t.Fatalf("%d parts, want a split table", len(mt.Parts))
	}
	if mt.Object != mt.Parts[0].Object || mt.URI != mt.Parts[0].URI {
		t.Fatalf("object %s uri %s, want the first part %s %s", mt.Object, mt.URI, mt.Parts[0].Object, mt.Parts[0].URI)
	}
	mustExist(t, e.sink.Root(), mt.Object)
	var rows int64
	for _, p := range mt.Parts {
		mustExist(t, e.sink.Root(), p.Object)
		b, err := os.ReadFile(filepath.Join(e.sink.Root(), filepath.FromSlash(p.Object)))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != p.Bytes || CRC32CBase64(pipeline.CRC32C(b)) != p.CRC32C {
			t.Fatalf("part %s: %d bytes, manifest %d / %s", p.Object, len(b), p.Bytes, p.CRC32C)
		}
		rows += p.Rows
	}
	if rows != 5000 || mt.Rows != 5000 {
		t.Fatalf("parts hold %d rows, table %d", rows, mt.Rows)
	}
	if got := tableOf(t, j, "VBRP").GCSPath; got != mt.Parts[0].URI {
		t.Fatalf("job gcs_path %s, want the first part", got)
	}
}

// TestRangeCleanupFailureRecorded: a table read in ranges whose temporary
// objects cannot be removed completes (its object is complete and
// verified), and every object left behind is reported: in the manifest's
// cleanup_errors, in the job's table record (warnings), never silently.
func TestRangeCleanupFailureRecorded(t *testing.T) {
	c := synthConn(t, map[string]int64{"LIKP": 2000})
	refused := errors.New("delete refused")
	e := newRangeEnv(t, c, func(cfg *ManagerConfig) {
		cfg.RangeMinRows, cfg.RangeRows, cfg.Pipeline.ChunkRows = 1, 500, 100
		inner := cfg.Sinks
		cfg.Sinks = func(b string) (pipeline.Sink, error) {
			s, err := inner(b)
			if err != nil {
				return nil, err
			}
			return &faultSink{Sink: s.(*file.Sink), remove: func(string) error { return refused }}, nil
		}
	})
	j := e.runTransport(t, "cleanup", 2, "LIKP")
	te := tableOf(t, j, "LIKP")
	if len(te.Ranges) != 4 {
		t.Fatalf("%d ranges, want 4", len(te.Ranges))
	}
	// 4 segments, header and trailer
	if len(te.Warnings) != 6 {
		t.Fatalf("job record warnings %q, want one per temporary object", te.Warnings)
	}
	man := manifestOf(t, e.sink.Root(), j)
	mt := man.Tables[0]
	if len(mt.CleanupErrors) != 6 {
		t.Fatalf("manifest cleanup_errors %q", mt.CleanupErrors)
	}
	for _, msg := range mt.CleanupErrors {
		if !strings.Contains(msg, "_ranges/") || !strings.Contains(msg, refused.Error()) {
			t.Fatalf("cleanup error %q does not name the object and the cause", msg)
		}
	}
}

// TestSchemaDecimalsAsStrings: --decimals-as-strings quotes the decimals but
// keeps them NUMERIC/BIGNUMERIC in the schema (BigQuery reads quoted
// decimals); it used to turn them into STRING.
func TestSchemaDecimalsAsStrings(t *testing.T) {
	c := synthConn(t, map[string]int64{"VBRP": 20})
	e := newRangeEnv(t, c, func(cfg *ManagerConfig) {
		cfg.DecimalAsString = true
		cfg.Encoder = stages.NDJSON(stages.NDJSONOptions{DecimalAsString: true, BigQuery: true})
	})
	j := e.runTransport(t, "dec", 1, "VBRP")
	b, err := os.ReadFile(filepath.Join(e.sink.Root(), j.TransportID, j.Version, "VBRP.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fields []stages.BigQueryField
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	info, err := c.Describe(context.Background(), "VBRP")
	if err != nil {
		t.Fatal(err)
	}
	decimals := 0
	for i, col := range info.Columns {
		if col.Type != pipeline.TypeDecimal {
			continue
		}
		decimals++
		if f := fields[i]; f.Type != "NUMERIC" && f.Type != "BIGNUMERIC" {
			t.Errorf("decimal column %s (%s) is %s in the schema", col.Name, col.SourceType, f.Type)
		}
	}
	if decimals == 0 {
		t.Fatal("VBRP has no decimal column")
	}
	line := bytes.SplitN(testutil.GunzipOne(t, mustRead(t, filepath.Join(e.sink.Root(), j.TransportID, j.Version, "VBRP.jsonl.gz"))), []byte("\n"), 2)[0]
	if !bytes.Contains(line, []byte(`":"`)) {
		t.Fatalf("first row %s", line)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
