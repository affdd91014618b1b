package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrCompression is wrapped by the error of a compression check that found
// a segment which does not decompress to its input (package compression, Spec.Verify). It is
// not transient: the same input would fail the same way.
var ErrCompression = errors.New("compressed data does not decompress to its input")

// transientError marks an error worth retrying from the start of the table.
type transientError struct{ err error }

func (e *transientError) Error() string   { return e.err.Error() }
func (e *transientError) Unwrap() error   { return e.err }
func (e *transientError) Transient() bool { return true }

// Transient wraps err so that IsTransient reports true. Sources wrap lost
// connections, resets and similar errors with it.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &transientError{err: err}
}

// IsTransient reports whether any error in err's chain says it is transient
// (has a method Transient() bool returning true). Cancellation never is.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var t interface{ Transient() bool }
	return errors.As(err, &t) && t.Transient()
}

// Do runs fn up to r.Attempts times while it fails with a transient error,
// sleeping with exponential backoff in between. fn gets the attempt number
// (1-based). It returns the number of attempts made and the last error.
func (r Retry) Do(ctx context.Context, fn func(attempt int) error) (int, error) {
	attempts := r.Attempts
	if attempts < 1 {
		attempts = 1
	}
	delay := r.Backoff
	var err error
	for a := 1; a <= attempts; a++ {
		err = fn(a)
		if err == nil || !IsTransient(err) || a == attempts {
			if err != nil && a > 1 {
				err = fmt.Errorf("after %d attempts: %w", a, err)
			}
			return a, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return a, errors.Join(err, ctx.Err())
		case <-t.C:
		}
		delay *= 2
	}
	return attempts, err
}
