package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// lazyConnector is the source of `serve`: it connects on first use and,
// while the source is down, again on each later use (at most once per
// retryEvery), so the server starts and serves everything that does not need
// the source (job history, dashboard, health) during a database outage and
// reads again once it is back. Every attempt is bounded by its caller's
// context (request and health deadlines).
type lazyConnector struct {
	kind string
	open func(ctx context.Context) (pipeline.Connector, error)

	attempt chan struct{} // one attempt at a time; waiting for it honours the caller's context
	mu      sync.Mutex    // guards the fields below
	conn    pipeline.Connector
	lastErr error
	lastTry time.Time
}

func newLazyConnector(kind string, open func(ctx context.Context) (pipeline.Connector, error)) *lazyConnector {
	return &lazyConnector{kind: kind, open: open, attempt: make(chan struct{}, 1)}
}

// retryEvery spaces connection attempts while the source is down;
// attemptTimeout bounds one attempt however long its caller waits.
const (
	retryEvery     = time.Second
	attemptTimeout = time.Minute
)

var (
	_ pipeline.Connector     = (*lazyConnector)(nil)
	_ pipeline.RangeSplitter = (*lazyConnector)(nil)
)

// errSourceDown wraps the last failed attempt.
var errSourceDown = errors.New("source unavailable")

// get returns the connected source, connecting first if needed. A caller
// whose context ends while another caller's attempt is under way gets its
// context's error at once: an attempt the driver does not cut short (a
// connect to a database that never answers) holds nobody but its caller.
func (l *lazyConnector) get(ctx context.Context) (pipeline.Connector, error) {
	l.mu.Lock()
	c := l.conn
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	select {
	case l.attempt <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w: waiting for a connection attempt: %w", l.kind, errSourceDown, ctx.Err())
	}
	l.mu.Lock()
	c, lastErr, lastTry := l.conn, l.lastErr, l.lastTry
	l.mu.Unlock()
	if c != nil || lastErr != nil && time.Since(lastTry) < retryEvery {
		<-l.attempt
		return c, lastErr
	}
	// The attempt runs on its own goroutine with a context that outlives
	// the caller's: drivers do not always cut a connect short when its
	// context ends (pgxpool waits for the connect timeout), so the caller
	// returns at its deadline and the attempt finishes in the background,
	// keeping its result for the next caller.
	done := make(chan struct{})
	go func() {
		defer func() { <-l.attempt }()
		defer close(done)
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), attemptTimeout)
		defer cancel()
		c, err := l.open(actx)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lastTry = time.Now()
		if err != nil {
			l.lastErr = fmt.Errorf("%s: %w: %w", l.kind, errSourceDown, err)
			return
		}
		l.conn, l.lastErr = c, nil
	}()
	select {
	case <-done:
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.conn != nil {
			return l.conn, nil
		}
		return nil, l.lastErr
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w: the source did not answer: %w", l.kind, errSourceDown, ctx.Err())
	}
}

func (l *lazyConnector) Kind() string { return l.kind }

func (l *lazyConnector) FoldCase(s string) string {
	l.mu.Lock()
	c := l.conn
	l.mu.Unlock()
	if c != nil {
		return c.FoldCase(s)
	}
	if l.kind == "postgres" {
		return strings.ToLower(s)
	}
	return strings.ToUpper(s)
}

func (l *lazyConnector) Tables(ctx context.Context, exact bool) ([]pipeline.TableInfo, error) {
	c, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.Tables(ctx, exact)
}

func (l *lazyConnector) Describe(ctx context.Context, name string) (pipeline.TableInfo, error) {
	c, err := l.get(ctx)
	if err != nil {
		return pipeline.TableInfo{}, err
	}
	return c.Describe(ctx, name)
}

func (l *lazyConnector) Snapshot(ctx context.Context) (pipeline.Snapshot, error) {
	c, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.Snapshot(ctx)
}

func (l *lazyConnector) Open(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, o pipeline.ReadOptions) (pipeline.Source, error) {
	c, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.Open(ctx, t, snap, o)
}

// Ranges splits through the connected source (PostgreSQL and Oracle both
// split); a source without splitting runs the table as one range.
func (l *lazyConnector) Ranges(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, n int) ([]pipeline.Range, error) {
	c, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	rs, ok := c.(pipeline.RangeSplitter)
	if !ok {
		return nil, fmt.Errorf("%s: tables cannot be split into ranges", l.kind)
	}
	return rs.Ranges(ctx, t, snap, n)
}

func (l *lazyConnector) Status(ctx context.Context) pipeline.Status {
	c, err := l.get(ctx)
	if err != nil {
		return pipeline.Status{Kind: l.kind, Error: err.Error()}
	}
	return c.Status(ctx)
}

func (l *lazyConnector) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	err := l.conn.Close()
	l.conn = nil
	return err
}
