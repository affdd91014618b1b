package sqlsource

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// hangSource delivers rows batches, then waits for its query context (the
// way a database/sql reader blocks in rows.Next) or Next's context (the
// way the COPY reader waits on its channel) to end.
type hangSource struct {
	qctx    context.Context
	batches int
	closed  bool
}

func (s *hangSource) Columns() []pipeline.Column { return nil }
func (s *hangSource) Close() error               { s.closed = true; return nil }
func (s *hangSource) Next(ctx context.Context) (*pipeline.Batch, error) {
	if s.batches > 0 {
		s.batches--
		return &pipeline.Batch{}, nil
	}
	select {
	case <-s.qctx.Done():
		return nil, s.qctx.Err()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type rawHangSource struct{ *hangSource }

func (rawHangSource) NewRowDecoder() pipeline.RowDecoder { return nil }

func TestWatchdog(t *testing.T) {
	const timeout = 100 * time.Millisecond
	for _, raw := range []bool{false, true} {
		var hs *hangSource
		src, err := watch(context.Background(), timeout, "fake", `"s"."t"`, func(ctx context.Context) (pipeline.Source, error) {
			hs = &hangSource{qctx: ctx, batches: 2}
			if raw {
				return rawHangSource{hs}, nil
			}
			return hs, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := src.(pipeline.RawSource); ok != raw {
			t.Fatalf("raw %v: the watched reader is a RawSource: %v", raw, ok)
		}
		for range 2 {
			if _, err := src.Next(context.Background()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * timeout) // the consumer's time is not the source's
		}
		_, err = src.Next(context.Background())
		if !errors.Is(err, ErrStalled) || !pipeline.IsTransient(err) {
			t.Fatalf("raw %v: %v, want a transient ErrStalled", raw, err)
		}
		if want := `fake: no rows for 100ms from "s"."t" (waiting for the next rows): the source stalled`; err.Error() != want {
			t.Fatalf("error %q, want %q", err, want)
		}
		if hs.qctx.Err() == nil {
			t.Fatal("the reader's query context was not cancelled")
		}
		if _, err := src.Next(context.Background()); !errors.Is(err, ErrStalled) {
			t.Fatalf("after a stall: %v", err)
		}
		src.Close()
		if !hs.closed {
			t.Fatal("Close did not reach the reader")
		}
	}

	// an open that never answers
	_, err := watch(context.Background(), timeout, "fake", `"s"."t"`, func(ctx context.Context) (pipeline.Source, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if !errors.Is(err, ErrStalled) || !pipeline.IsTransient(err) {
		t.Fatalf("open: %v, want a transient ErrStalled", err)
	}

	// the caller's cancellation is not a stall
	ctx, cancel := context.WithCancel(context.Background())
	src, err := watch(ctx, time.Hour, "fake", "t", func(ctx context.Context) (pipeline.Source, error) {
		return &hangSource{qctx: ctx}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := src.Next(ctx); errors.Is(err, ErrStalled) || pipeline.IsTransient(err) || err == io.EOF {
		t.Fatalf("cancelled: %v", err)
	}
	src.Close()
}

func TestSnapshotWithin(t *testing.T) {
	var held context.Context
	s, err := snapshotWithin(context.Background(), 100*time.Millisecond, "fake", func(ctx context.Context) (pipeline.Snapshot, error) {
		held = ctx
		return nil, nil
	})
	if err != nil || s != nil {
		t.Fatal(s, err)
	}
	time.Sleep(300 * time.Millisecond)
	if held.Err() != nil {
		t.Fatal("a timely snapshot's context was cancelled later: its transaction would end")
	}
	_, err = snapshotWithin(context.Background(), 100*time.Millisecond, "fake", func(ctx context.Context) (pipeline.Snapshot, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if !errors.Is(err, ErrSnapshotTimeout) {
		t.Fatalf("%v, want ErrSnapshotTimeout", err)
	}
}
