// Package testutil holds small helpers shared by the tests of several
// packages. It is imported only by _test.go files.
package testutil

import (
	"bytes"
	"sync"
)

// LogBuffer collects output (usually a logger's) from concurrent writers,
// so a test can scan everything that was logged, e.g. for secrets.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
