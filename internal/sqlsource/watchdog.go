package sqlsource

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Defaults of Options.FetchTimeout and Options.SnapshotTimeout.
const (
	DefaultFetchTimeout    = 5 * time.Minute
	DefaultSnapshotTimeout = 2 * time.Minute
)

// ErrStalled is wrapped (inside a pipeline.Transient) by the error of a
// reader that got no rows for Options.FetchTimeout: the source accepted the
// query but stopped answering (a lock, a hung server, a dead network path).
var ErrStalled = fmt.Errorf("the source stalled")

// watchdog bounds the open and every Next of a reader: when one of them
// waits longer than timeout for the source, it cancels the reader's query
// context and the Next context, and the call fails with a transient error
// wrapping ErrStalled, so the table's retry policy applies and, after its
// attempts, the table fails loudly. Time the consumer takes between Next
// calls is not counted: then the reader waits for the consumer, not for
// the database.
type watchdog struct {
	pipeline.Source
	timeout time.Duration
	what    string // "public.t" or "public.t range 2 of 4"
	kind    string
	cancel  context.CancelFunc // cancels the reader's query context
	stalled atomic.Bool
}

// rawWatchdog keeps the pipeline.RawSource of a raw reader visible.
type rawWatchdog struct{ *watchdog }

func (w rawWatchdog) NewRowDecoder() pipeline.RowDecoder {
	return w.Source.(pipeline.RawSource).NewRowDecoder()
}

func (w *watchdog) stallErr(waiting string) error {
	return pipeline.Transient(fmt.Errorf("%s: no rows for %s from %s (waiting for %s): %w",
		w.kind, w.timeout, w.what, waiting, ErrStalled))
}

// watch opens a reader through open with the watchdog around it; timeout
// <= 0 opens it unwatched.
func watch(ctx context.Context, timeout time.Duration, kind, what string, open func(context.Context) (pipeline.Source, error)) (pipeline.Source, error) {
	if timeout <= 0 {
		return open(ctx)
	}
	qctx, cancel := context.WithCancel(ctx)
	w := &watchdog{timeout: timeout, what: what, kind: kind, cancel: cancel}
	t := time.AfterFunc(timeout, func() { w.stalled.Store(true); cancel() })
	src, err := open(qctx)
	fired := !t.Stop()
	if fired || w.stalled.Load() {
		if src != nil {
			src.Close()
		}
		cancel()
		return nil, w.stallErr("the query to start")
	}
	if err != nil {
		cancel()
		return nil, err
	}
	w.Source = src
	if _, ok := src.(pipeline.RawSource); ok {
		return rawWatchdog{w}, nil
	}
	return w, nil
}

func (w *watchdog) Next(ctx context.Context) (*pipeline.Batch, error) {
	if w.stalled.Load() {
		return nil, w.stallErr("the next rows")
	}
	nctx, ncancel := context.WithCancel(ctx)
	defer ncancel()
	t := time.AfterFunc(w.timeout, func() { w.stalled.Store(true); w.cancel(); ncancel() })
	b, err := w.Source.Next(nctx)
	if !t.Stop() || w.stalled.Load() {
		if b != nil && b.Release != nil {
			b.Release()
		}
		return nil, w.stallErr("the next rows")
	}
	return b, err
}

func (w *watchdog) Close() error {
	err := w.Source.Close()
	w.cancel()
	return err
}

// snapshotWithin runs take with a deadline of timeout (<= 0: none). The
// context take gets stays valid after a timely answer (a snapshot may hold
// a transaction bound to it) until ctx ends.
func snapshotWithin(ctx context.Context, timeout time.Duration, kind string, take func(context.Context) (pipeline.Snapshot, error)) (pipeline.Snapshot, error) {
	if timeout <= 0 {
		return take(ctx)
	}
	sctx, cancel := context.WithCancel(ctx)
	var late atomic.Bool
	t := time.AfterFunc(timeout, func() { late.Store(true); cancel() })
	s, err := take(sctx)
	if !t.Stop() || late.Load() {
		if s != nil {
			s.Close()
		}
		cancel()
		return nil, fmt.Errorf("no answer within %s while opening the job's snapshot (is the %s database hanging or a lock held?): %w", timeout, kind, ErrSnapshotTimeout)
	}
	if err != nil {
		cancel()
	}
	return s, err
}

// ErrSnapshotTimeout is wrapped by Snapshot's error when the database did
// not answer within Options.SnapshotTimeout.
var ErrSnapshotTimeout = fmt.Errorf("snapshot timed out")

var errBound = fmt.Errorf("fetch timeout")

// bounded runs fn, a short request to the source (describe, ranges), with a deadline of Options.FetchTimeout; running out of it is
// a transient error wrapping ErrStalled that says what was waited for.
func (c *Connector) bounded(ctx context.Context, waiting string, fn func(context.Context) error) error {
	if c.opts.FetchTimeout <= 0 {
		return fn(ctx)
	}
	bctx, cancel := context.WithTimeoutCause(ctx, c.opts.FetchTimeout, errBound)
	defer cancel()
	err := fn(bctx)
	if err != nil && ctx.Err() == nil && context.Cause(bctx) == errBound {
		return pipeline.Transient(fmt.Errorf("%s: no answer for %s (waiting for %s): %w", c.d.Kind(), c.opts.FetchTimeout, waiting, ErrStalled))
	}
	return err
}
