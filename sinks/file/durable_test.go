package file_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
)

// fsyncRecorder replaces the sink's fsync: it records every directory
// synced and fails the calls that fail says should fail.
type fsyncRecorder struct {
	mu   sync.Mutex
	dirs []string
	fail func(path string, isDir bool) bool
}

func (r *fsyncRecorder) install(t *testing.T) {
	t.Helper()
	restore := file.SetFsync(func(f *os.File) error {
		st, err := f.Stat()
		if err != nil {
			return err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if st.IsDir() {
			r.dirs = append(r.dirs, f.Name())
		}
		if r.fail != nil && r.fail(f.Name(), st.IsDir()) {
			return errors.New("injected fsync failure")
		}
		return f.Sync()
	})
	t.Cleanup(restore)
}

func (r *fsyncRecorder) synced(dir string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.dirs, dir)
}

func writeObject(s *file.Sink, name, data string) (pipeline.ObjectInfo, error) {
	obj, err := s.Create(context.Background(), name)
	if err != nil {
		return pipeline.ObjectInfo{}, err
	}
	if _, err := obj.Write([]byte(data)); err != nil {
		_ = obj.Abort()
		return pipeline.ObjectInfo{}, err
	}
	return obj.Commit()
}

// TestCommitSyncsDirectories: a committed object's directory and every
// directory the sink created for it (up to the bucket directory, and the
// parents New created) have been fsynced when Commit returns.
func TestCommitSyncsDirectories(t *testing.T) {
	var rec fsyncRecorder
	rec.install(t)
	base := t.TempDir()
	s, err := file.New(filepath.Join(base, "deep", "dir"), "bkt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writeObject(s, "TRP/v001/VBRP.jsonl.gz", "x"); err != nil {
		t.Fatal(err)
	}
	root := s.Root()
	for _, dir := range []string{
		base, filepath.Join(base, "deep"), filepath.Join(base, "deep", "dir"), // New created deep, deep/dir, deep/dir/bkt
		root, filepath.Join(root, "TRP"), // Create made TRP and TRP/v001
		filepath.Join(root, "TRP", "v001"), // the rename
	} {
		if !rec.synced(dir) {
			t.Errorf("directory %s was never fsynced; synced: %q", dir, rec.dirs)
		}
	}
}

// TestFsyncFailures: every fsync failure fails the operation, and a failed
// Commit leaves nothing visible and no temporary file.
func TestFsyncFailures(t *testing.T) {
	const name = "TRP/v001/VBRP.jsonl.gz"
	cases := []struct {
		what string
		fail func(root string) func(string, bool) bool
	}{
		{"file", func(string) func(string, bool) bool {
			return func(_ string, isDir bool) bool { return !isDir }
		}},
		{"final-directory", func(root string) func(string, bool) bool {
			return func(p string, isDir bool) bool { return isDir && p == filepath.Join(root, "TRP", "v001") }
		}},
		{"created-directory", func(root string) func(string, bool) bool {
			return func(p string, isDir bool) bool { return isDir && p == filepath.Join(root, "TRP") }
		}},
		{"bucket-directory", func(root string) func(string, bool) bool {
			return func(p string, isDir bool) bool { return isDir && p == root }
		}},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			s := newSink(t)
			rec := fsyncRecorder{fail: c.fail(s.Root())}
			rec.install(t)
			_, err := writeObject(s, name, "data")
			if err == nil || !strings.Contains(err.Error(), "injected fsync failure") {
				t.Fatalf("write with a failing %s fsync: %v; want the fsync error", c.what, err)
			}
			if _, err := os.Stat(filepath.Join(s.Root(), filepath.FromSlash(name))); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("object visible after a failed commit: %v", err)
			}
			assertNoTemps(t, s.Root())
		})
	}
	t.Run("compose", func(t *testing.T) {
		s := newSink(t)
		if _, err := writeObject(s, "TRP/v001/_ranges/T/0", "ab"); err != nil {
			t.Fatal(err)
		}
		rec := fsyncRecorder{fail: func(p string, isDir bool) bool { return isDir && p == filepath.Join(s.Root(), "TRP", "v001") }}
		rec.install(t)
		if _, err := s.Compose(context.Background(), name, []string{"TRP/v001/_ranges/T/0"}); err == nil || !strings.Contains(err.Error(), "injected fsync failure") {
			t.Fatalf("compose with a failing directory fsync: %v", err)
		}
		if _, err := os.Stat(filepath.Join(s.Root(), filepath.FromSlash(name))); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("composed object visible after a failed compose: %v", err)
		}
		assertNoTemps(t, s.Root())
	})
	t.Run("new", func(t *testing.T) {
		base := t.TempDir()
		rec := fsyncRecorder{fail: func(p string, isDir bool) bool { return isDir && p == base }}
		rec.install(t)
		if _, err := file.New(filepath.Join(base, "d"), "bkt"); err == nil || !strings.Contains(err.Error(), "injected fsync failure") {
			t.Fatalf("New with a failing fsync of the directory it created d in: %v", err)
		}
	})
}

// TestTempNamesReserved: temporary files carry TempSuffix, live in the
// object's own directory, and no object can be named like one.
func TestTempNamesReserved(t *testing.T) {
	s := newSink(t)
	for _, name := range []string{"TRP/v001/x" + file.TempSuffix, "TRP/a" + file.TempSuffix + "/x"} {
		if obj, err := s.Create(context.Background(), name); err == nil {
			_ = obj.Abort()
			t.Errorf("Create(%q) succeeded; the suffix is reserved for temporary files", name)
		}
	}
	// 250 bytes, a two-byte rune across the cut of the temporary name: the
	// temporary name must stay below the 255-byte limit of a file name
	long := "a" + strings.Repeat("é", 120) + ".jsonl.gz"
	obj, err := s.Create(context.Background(), "TRP/v001/"+long)
	if err != nil {
		t.Fatalf("Create of a %d-byte base name: %v", len(long), err)
	}
	_ = obj.Abort()
}

// TestClean: after a "crash" (objects written but neither committed nor
// aborted) Clean removes every temporary file and the directories left
// empty, and touches no committed object.
func TestClean(t *testing.T) {
	s := newSink(t)
	ctx := context.Background()
	keep := map[string]string{"TRP/v001/A.jsonl.gz": "a", "TRP/v002/B.jsonl.gz": "b"}
	for n, d := range keep {
		if _, err := writeObject(s, n, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"TRP/v001/C.jsonl.gz", "TRP/v001/_ranges/C/00000-a1.deflate", "TRP/v003/D.jsonl.gz", "TRP/v002/E.jsonl.gz"} {
		obj, err := s.Create(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := obj.Write([]byte("partial")); err != nil {
			t.Fatal(err)
		}
		// the process "dies": no Commit, no Abort (Abort at the end only
		// closes the file; the temporary file is gone by then)
		t.Cleanup(func() { _ = obj.Abort() })
	}
	// a temporary file named the way earlier versions of the sink did
	legacy := filepath.Join(s.Root(), "TRP", "v001", "C.jsonl.gz.123456789.tmp")
	if err := os.WriteFile(legacy, []byte("old partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"TRP/v001/", "TRP/v003/"} {
		if _, err := s.Clean(ctx, prefix); err != nil {
			t.Fatalf("Clean(%s): %v", prefix, err)
		}
	}
	for n, d := range keep {
		b, err := os.ReadFile(filepath.Join(s.Root(), filepath.FromSlash(n)))
		if err != nil || string(b) != d {
			t.Errorf("committed %s: %q, %v", n, b, err)
		}
	}
	for _, gone := range []string{"TRP/v001/_ranges", "TRP/v003"} {
		if _, err := os.Stat(filepath.Join(s.Root(), filepath.FromSlash(gone))); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("empty directory %s left: %v", gone, err)
		}
	}
	if _, err := os.Stat(legacy); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary file of an earlier version left: %v", err)
	}
	var temps []string
	_ = filepath.WalkDir(filepath.Join(s.Root(), "TRP", "v001"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, file.TempSuffix) {
			temps = append(temps, p)
		}
		return nil
	})
	if len(temps) != 0 {
		t.Errorf("temporary files left in the cleaned version: %q", temps)
	}
	// v002 was not cleaned: its writer's temporary file is still there
	if got, _ := filepath.Glob(filepath.Join(s.Root(), "TRP", "v002", "*"+file.TempSuffix)); len(got) != 1 {
		t.Errorf("v002 temporary files %q; Clean touched a prefix it was not given", got)
	}
	// a version holding only a crashed writer's directory goes entirely
	if _, err := s.Clean(ctx, "TRP/nothing/"); err != nil {
		t.Errorf("Clean of a missing prefix: %v", err)
	}
}

// TestCreateAfterDirectoryRemoved: a directory the sink created and
// synced, removed behind its back (by another process's clean-up, say), is
// created again.
func TestCreateAfterDirectoryRemoved(t *testing.T) {
	s := newSink(t)
	if _, err := writeObject(s, "TRP/v001/A", "a"); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(s.Root(), "TRP")); err != nil {
		t.Fatal(err)
	}
	if _, err := writeObject(s, "TRP/v001/B", "b"); err != nil {
		t.Fatalf("Create after the directory was removed: %v", err)
	}
}

// TestCheck: a writable root passes; a root that vanished does not.
func TestCheck(t *testing.T) {
	s := newSink(t)
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	assertNoTemps(t, s.Root())
	if err := os.RemoveAll(s.Root()); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(context.Background()); err == nil {
		t.Fatal("Check of a removed root succeeded")
	}
}

// TestLinkNoReplace: the move used where renameat2 is missing refuses an
// existing name too.
func TestLinkNoReplace(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for p, d := range map[string]string{a: "new", b: "old"} {
		if err := os.WriteFile(p, []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := file.LinkNoReplace(a, b); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("link over an existing file: %v", err)
	}
	if got, _ := os.ReadFile(b); string(got) != "old" {
		t.Fatalf("existing file now holds %q", got)
	}
	c := filepath.Join(dir, "c")
	if err := file.LinkNoReplace(a, c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("source still there: %v", err)
	}
	if got, _ := os.ReadFile(c); string(got) != "new" {
		t.Fatalf("moved file holds %q", got)
	}
}

// TestCreateWhilePruning: objects created in a folder that a concurrent
// Remove prunes (it removes directories left empty up to the root) are
// created anyway: the sink creates a pruned directory again.
func TestCreateWhilePruning(t *testing.T) {
	s := newSink(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 300 {
				name := filepath.ToSlash(filepath.Join("TRP", "v001", "_ranges", string(rune('A'+w)), "seg"))
				if _, err := writeObject(s, name, "x"); err != nil {
					errs <- err
					return
				}
				if err := s.Remove(ctx, name); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("create beside a concurrent prune: %v", err)
	}
}
