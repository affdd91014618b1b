package file_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sinks/sinktest"
)

func newSink(t testing.TB) *file.Sink {
	s, err := file.New(t.TempDir(), "oracle-etl-data")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	var cur *file.Sink
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T) pipeline.Sink {
			cur = newSink(t)
			t.Cleanup(func() { assertNoTemps(t, cur.Root()) })
			return cur
		},
		Read: func(t *testing.T, name string) ([]byte, bool) {
			rc, err := cur.Open(name)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, false
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("read %s: %v", name, err)
			}
			return b, true
		},
		URI: func(name string) string { return "file://" + filepath.ToSlash(filepath.Join(cur.Root(), name)) },
	})
}

// assertNoTemps fails if any temporary file is left below root once a
// subtest ends.
func assertNoTemps(t *testing.T, root string) {
	t.Helper()
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, ".tmp") || strings.HasSuffix(p, file.TempSuffix)) {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := file.New(dir, "bkt")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Create(context.Background(), sinktest.SpecName)
	if err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(dir, "bkt", "TRP-20260118-001", "v001", "VBRP.jsonl.gz")
	entries, err := os.ReadDir(filepath.Dir(final))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), ".VBRP.jsonl.gz.") || !strings.HasSuffix(entries[0].Name(), file.TempSuffix) {
		t.Fatalf("while writing, directory holds %v; want one .VBRP.jsonl.gz.*%s in the version folder", entries, file.TempSuffix)
	}
	if _, err := obj.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	info, err := obj.Commit()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(final)
	if err != nil || string(b) != "x" {
		t.Fatalf("final file = %q, %v", b, err)
	}
	abs, _ := filepath.Abs(final)
	if info.URI != "file://"+filepath.ToSlash(abs) {
		t.Errorf("URI = %q", info.URI)
	}
	if got, _ := filepath.Abs(filepath.Join(dir, "bkt")); s.Root() != got {
		t.Errorf("Root = %q, want %q", s.Root(), got)
	}
}

func TestTwoWritersSameName(t *testing.T) {
	s := newSink(t)
	a, err := s.Create(context.Background(), "x/y.gz")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Create(context.Background(), "x/y.gz")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("aaaa")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write([]byte("bb")); err != nil {
		t.Fatal(err)
	}
	if err := b.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(s.Root(), "x", "y.gz"))
	if err != nil || string(got) != "aaaa" {
		t.Fatalf("got %q, %v; want the committed writer's bytes", got, err)
	}
	assertNoTemps(t, s.Root())
}

func TestNewRejectsBadBucket(t *testing.T) {
	for _, b := range []string{"", "a/b", "..", `a\b`} {
		if _, err := file.New(t.TempDir(), b); err == nil {
			t.Errorf("New(dir, %q) succeeded", b)
		}
	}
}

func TestDoubleCommit(t *testing.T) {
	s := newSink(t)
	obj, err := s.Create(context.Background(), "a.gz")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Commit(); err == nil {
		t.Fatal("second Commit succeeded")
	}
	if _, err := obj.Write([]byte("x")); err == nil {
		t.Fatal("Write after Commit succeeded")
	}
}

func BenchmarkWrite(b *testing.B) {
	s := newSink(b)
	const size = 64 << 20
	chunk := sinktest.Random(1<<20, 1)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		obj, err := s.Create(context.Background(), fmt.Sprintf("TRP-B/v%03d/VBRP.jsonl.gz", i+1)) // never replaced: a new name each time
		if err != nil {
			b.Fatal(err)
		}
		for w := 0; w < size; w += len(chunk) {
			if _, err := obj.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := obj.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
