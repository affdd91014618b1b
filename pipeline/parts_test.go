package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
)

func TestPartName(t *testing.T) {
	for in, want := range map[string]string{
		"TRP-1/v001/VBRP.jsonl.gz": "TRP-1/v001/VBRP.part-00003.jsonl.gz",
		"VBRP":                     "VBRP.part-00003",
		"a.b/c/T.x":                "a.b/c/T.part-00003.x",
		// a qualified table: the schema's dot is not the extension
		"TRP-1/v001/public.vbrp.jsonl.gz": "TRP-1/v001/public.vbrp.part-00003.jsonl.gz",
		"TRP-1/v001/s.t%2Ex.jsonl.gz":     "TRP-1/v001/s.t%2Ex.part-00003.jsonl.gz",
		"TRP-1/v001/public.vbrp.tar.bz2":  "TRP-1/v001/public.vbrp.tar.part-00003.bz2",
		"TRP-1/v001/.hidden":              "TRP-1/v001/.hidden.part-00003",
	} {
		if got := pipeline.PartName(in, 3); got != want {
			t.Errorf("PartName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRunParts splits a table into parts at batch boundaries: every part is
// a complete gzip file, the parts in order give every line once, and the
// stats describe each part as stored.
func TestRunParts(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			sink, err := file.New(dir, "bkt")
			if err != nil {
				t.Fatal(err)
			}
			const batches, per = 120, 2000
			src := newFakeSource(batches, per)
			p := newPipelineMode(mode, src, sink, pipeline.Config{PartBytes: 1 << 20, EncodeWorkers: 3})
			st, err := p.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Parts) < 2 {
				t.Fatalf("%d parts, want several (compressed %d bytes)", len(st.Parts), st.CompressedBytes)
			}
			if st.Rows != batches*per {
				t.Fatalf("rows %d", st.Rows)
			}
			var all bytes.Buffer
			var rows, size int64
			for i, pt := range st.Parts {
				if want := pipeline.PartName(p.Name, i+1); pt.Object.Name != want {
					t.Fatalf("part %d named %q, want %q", i, pt.Object.Name, want)
				}
				b, err := os.ReadFile(filepath.Join(dir, "bkt", pt.Object.Name))
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(b)) != pt.Object.Size || pipeline.CRC32C(b) != pt.Object.CRC32C {
					t.Fatalf("part %d: stored %d bytes crc %08x, stats say %d %08x", i, len(b), pipeline.CRC32C(b), pt.Object.Size, pt.Object.CRC32C)
				}
				lines := testutil.GunzipOne(t, b)
				if pipeline.CRC32C(lines) != pt.RawCRC32C || int64(len(lines)) != pt.RawBytes {
					t.Fatalf("part %d raw crc/size mismatch", i)
				}
				if n := int64(bytes.Count(lines, []byte("\n"))); n != pt.Rows || n%per != 0 {
					t.Fatalf("part %d has %d lines, stats %d (not at a batch boundary?)", i, n, pt.Rows)
				}
				rows += pt.Rows
				size += pt.Object.Size
				all.Write(lines)
			}
			if rows != st.Rows || size != st.CompressedBytes || pipeline.CRC32C(all.Bytes()) != st.RawCRC32C {
				t.Fatal("parts do not add up to the stats")
			}
			got := strings.Split(strings.TrimSuffix(all.String(), "\n"), "\n")
			for i, l := range got {
				if l != expectedLine(i) {
					t.Fatalf("line %d = %s, want %s", i, l, expectedLine(i))
				}
			}
			if st.Object.Name != p.Name || len(st.Object.Parts) != len(st.Parts) {
				t.Fatalf("object %+v", st.Object)
			}
			if _, err := os.Stat(filepath.Join(dir, "bkt", p.Name)); !os.IsNotExist(err) {
				t.Fatal("an unsplit object exists besides the parts")
			}
		})
	}
}

// TestRunPartsFailureRemovesParts: a table that fails after some parts were
// committed leaves none of them.
func TestRunPartsFailureRemovesParts(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			sink, err := file.New(dir, "bkt")
			if err != nil {
				t.Fatal(err)
			}
			src := newFakeSource(200, 2000)
			src.failAt = 150
			p := newPipelineMode(mode, src, sink, pipeline.Config{PartBytes: 1 << 20})
			if _, err := p.Run(context.Background()); !errors.Is(err, errSource) {
				t.Fatalf("err %v, want the source error", err)
			}
			var left []string
			filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					left = append(left, path)
				}
				return nil
			})
			if len(left) != 0 {
				t.Fatalf("files left after a failed split table: %v", left)
			}
		})
	}
}

func TestRunPartsEmptyTable(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			sink, _ := file.New(dir, "bkt")
			st, err := newPipelineMode(mode, newFakeSource(0, 10), sink, pipeline.Config{PartBytes: 1 << 20}).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Parts) != 1 || st.Parts[0].Rows != 0 {
				t.Fatalf("parts %+v, want one empty part", st.Parts)
			}
		})
	}
}
