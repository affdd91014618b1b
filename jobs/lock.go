package jobs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrLocked is returned by NewManager when another process holds the state
// database (an `ora2gcs serve` and an `ora2gcs run` on one data directory
// would otherwise mark each other's running job "interrupted").
var ErrLocked = errors.New("state database in use by another process")

// storeLock is an exclusive advisory lock on "{store}.lock", held for the
// Manager's life and released by the kernel if the process dies.
type storeLock struct{ f *os.File }

func lockStore(store string) (*storeLock, error) {
	path := store + ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("jobs: lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jobs: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		holder := strings.TrimSpace(string(b[:n]))
		if _, perr := strconv.Atoi(holder); perr != nil {
			holder = "unknown"
		}
		return nil, fmt.Errorf("jobs: %s: %w (pid %s): stop it, or use another --data-dir", store, ErrLocked, holder)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &storeLock{f: f}, nil
}

func (l *storeLock) release() error {
	if l == nil {
		return nil
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return l.f.Close()
}
