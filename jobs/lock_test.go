package jobs

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestStoreLock: a second Manager on the same state database is refused
// with ErrLocked while the first is open, and admitted after it closed.
func TestStoreLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ora2gcs.db")
	l1, err := lockStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockStore(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	if err := l1.release(); err != nil {
		t.Fatal(err)
	}
	l2, err := lockStore(path)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.release()
	_ = context.Background()
}
