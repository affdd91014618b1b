package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// modes are the ways a pipeline compresses: pgzip after the encoders
// (the pgzip codec), or DEFLATE segments in the encoders (the blocks and
// lines codecs' BlockMode) by flate or by the line compressor.
var modes = []string{"pgzip", "blocks", "lines"}

// newPipeline is newPipelineMode with pgzip.
func newPipeline(src pipeline.Source, sink pipeline.Sink, cfg pipeline.Config) *pipeline.Pipeline {
	return newPipelineMode("pgzip", src, sink, cfg)
}

func newPipelineMode(mode string, src pipeline.Source, sink pipeline.Sink, cfg pipeline.Config) *pipeline.Pipeline {
	return newPipelineLevel(mode, 1, src, sink, cfg)
}

// newPipelineLevel is a pipeline compressing with package compression's
// codec mode (pgzip, blocks, lines) at level.
func newPipelineLevel(mode string, level int, src pipeline.Source, sink pipeline.Sink, cfg pipeline.Config) *pipeline.Pipeline {
	return &pipeline.Pipeline{
		Source: src, Sink: sink, Name: "TRP-001/v001/T.jsonl.gz",
		Encoder: stages.NDJSON(stages.NDJSONOptions{}),
		Codec:   compression.Must(compression.New(compression.Spec{Name: mode, Level: level})),
		Config:  cfg,
	}
}

// progressSum collects observer calls.
type progressSum struct {
	mu  sync.Mutex
	sum pipeline.Progress
	n   int
}

func (p *progressSum) observe(q pipeline.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sum.Rows += q.Rows
	p.sum.Batches += q.Batches
	p.sum.RawBytes += q.RawBytes
	p.sum.CompressedBytes += q.CompressedBytes
	p.n++
}

func TestRunEndToEnd(t *testing.T) {
	cases := []struct {
		name    string
		batches int
		rowsPer int
		cfg     pipeline.Config
		jitter  time.Duration
		level   int
	}{
		{"one worker", 40, 50, pipeline.Config{EncodeWorkers: 1}, 0, 1},
		{"four workers out of order", 120, 37, pipeline.Config{EncodeWorkers: 4, BatchQueue: 1, EncodedQueue: 1}, 2 * time.Millisecond, 1},
		{"many small batches, small gzip blocks", 300, 3, pipeline.Config{EncodeWorkers: 3, GzipBlockSize: 64 << 10, GzipBlocks: 1}, 200 * time.Microsecond, 6},
		{"empty table", 0, 10, pipeline.Config{}, 0, 1},
		{"large batches", 4, 20000, pipeline.Config{EncodeWorkers: 2, GzipBlockSize: 64 << 10}, 0, 1},
	}
	for _, tc := range cases {
		for _, mode := range modes {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				src := newFakeSource(tc.batches, tc.rowsPer)
				sink := newMemSink()
				level := tc.level
				if mode == "lines" {
					level = 1 // the line compressor is level 1 only; another level is refused, never changed
				}
				p := newPipelineLevel(mode, level, src, sink, tc.cfg)
				if tc.jitter > 0 {
					p.Transforms = []pipeline.Transform{jitter(tc.jitter)}
				}
				var prog progressSum
				p.Observer = prog.observe
				st, err := p.Run(context.Background())
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				obj, ok := sink.get(p.Name)
				if !ok {
					t.Fatal("object not committed")
				}
				raw := testutil.GunzipOne(t, obj)
				var want strings.Builder
				for id := range tc.batches * tc.rowsPer {
					want.WriteString(expectedLine(id))
					want.WriteByte('\n')
				}
				if string(raw) != want.String() {
					t.Fatalf("content differs: got %d bytes, want %d", len(raw), want.Len())
				}
				wantStats := pipeline.Stats{
					Rows: int64(tc.batches * tc.rowsPer), Batches: int64(tc.batches),
					RawBytes: int64(len(raw)), RawCRC32C: crc32.Checksum(raw, pipeline.Castagnoli),
					CompressedBytes: int64(len(obj)), CRC32C: stages.CRC32C(obj),
				}
				got := st
				got.Duration, got.Object = 0, pipeline.ObjectInfo{}
				if !reflect.DeepEqual(got, wantStats) {
					t.Fatalf("stats %+v, want %+v", got, wantStats)
				}
				if st.Object.Name != p.Name || st.Object.Size != int64(len(obj)) {
					t.Fatalf("object info %+v", st.Object)
				}
				if prog.sum != (pipeline.Progress{Rows: st.Rows, Batches: st.Batches, RawBytes: st.RawBytes, CompressedBytes: st.CompressedBytes}) {
					t.Fatalf("observer total %+v, stats %+v", prog.sum, st)
				}
				if sink.commits != 1 || sink.aborts != 0 || src.closed.Load() != 1 {
					t.Fatalf("commits %d aborts %d source closes %d", sink.commits, sink.aborts, src.closed.Load())
				}
				if l := src.live.Load(); l != 0 {
					t.Fatalf("%d batches never released", l)
				}
			})
		}
	}
}

func TestRunErrors(t *testing.T) {
	errTransform := errors.New("transform refused")
	errCommit := errors.New("commit refused")
	cases := []struct {
		name   string
		setup  func(*fakeSource, *memSink, *pipeline.Pipeline)
		is     error  // errors.Is target, if any
		substr string // in the message
		commit bool   // Commit was attempted (and failed)
	}{
		{"source", func(s *fakeSource, _ *memSink, _ *pipeline.Pipeline) { s.failAt = 7 }, errSource, "read", false},
		{"source first batch", func(s *fakeSource, _ *memSink, _ *pipeline.Pipeline) { s.failAt = 0 }, errSource, "read", false},
		{"transform", func(_ *fakeSource, _ *memSink, p *pipeline.Pipeline) {
			p.Transforms = []pipeline.Transform{func(_ context.Context, _ []pipeline.Column, b *pipeline.Batch) error {
				if b.Seq == 5 {
					return errTransform
				}
				return nil
			}}
		}, errTransform, "transform batch 5", false},
		{"encoder", func(s *fakeSource, _ *memSink, _ *pipeline.Pipeline) { s.badRowAt = 9 }, nil, `encode batch 9: row 0: stages: column "ID" (INT): invalid integer`, false},
		{"encoder factory", func(_ *fakeSource, _ *memSink, p *pipeline.Pipeline) {
			p.Encoder = func([]pipeline.Column) (pipeline.RowEncoder, error) { return nil, errTransform }
		}, errTransform, "encoder", false},
		{"sink writer after N bytes", func(_ *fakeSource, k *memSink, _ *pipeline.Pipeline) { k.failAfter = 1000 }, errWrite, "", false},
		{"sink writer first byte", func(_ *fakeSource, k *memSink, _ *pipeline.Pipeline) { k.failAfter = 1 }, errWrite, "", false},
		{"commit", func(_ *fakeSource, k *memSink, _ *pipeline.Pipeline) { k.commitErr = errCommit }, errCommit, "commit", true},
		{"storage reports wrong CRC32C", func(_ *fakeSource, k *memSink, _ *pipeline.Pipeline) { k.lieCRC = true }, nil, "storage reports CRC32C", true},
		{"invalid config", func(_ *fakeSource, _ *memSink, p *pipeline.Pipeline) { p.Config.ChunkRows = -1 }, nil, "chunk_size", false},
	}
	for _, tc := range cases {
		for _, mode := range modes {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				src := newFakeSource(30, 200)
				sink := newMemSink()
				p := newPipelineMode(mode, src, sink, pipeline.Config{EncodeWorkers: 2, GzipBlockSize: 64 << 10})
				tc.setup(src, sink, p)
				_, err := p.Run(context.Background())
				if err == nil {
					t.Fatal("Run succeeded")
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Fatalf("error %v is not %v", err, tc.is)
				}
				if !strings.Contains(err.Error(), tc.substr) || !strings.HasPrefix(err.Error(), "pipeline: ") {
					t.Fatalf("error %q does not start with \"pipeline: \" or lacks %q", err, tc.substr)
				}
				if tc.name != "storage reports wrong CRC32C" {
					if _, ok := sink.get(p.Name); ok {
						t.Fatal("an object is visible after a failed run")
					}
				}
				wantCommits, wantAborts := 0, 1
				if tc.commit {
					wantCommits, wantAborts = 1, 0 // a failed Commit leaves nothing by the Object contract
				}
				if sink.created > 0 && (sink.commits != wantCommits || sink.aborts != wantAborts) {
					t.Fatalf("commits %d aborts %d, want %d and %d", sink.commits, sink.aborts, wantCommits, wantAborts)
				}
				if src.closed.Load() != 1 {
					t.Fatalf("source closed %d times", src.closed.Load())
				}
			})
		}
	}
}

func TestRunCancel(t *testing.T) {
	cases := []struct {
		name string
		at   int // cancel when Next is called for the at-th time
		gate bool
	}{
		{"while running", 25, false},
		{"before the first batch", 0, false},
		{"while the sink is blocked", 8, true},
	}
	for _, tc := range cases {
		for _, mode := range modes {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				src := newFakeSource(-1, 100) // endless
				sink := newMemSink()
				if tc.gate {
					sink.firstGate = make(chan struct{})
				}
				src.onNext = func(n int) {
					if n == tc.at {
						cancel()
					}
				}
				p := newPipelineMode(mode, src, sink, pipeline.Config{EncodeWorkers: 2, GzipBlockSize: 64 << 10, GzipBlocks: 1})
				p.Transforms = []pipeline.Transform{jitter(time.Millisecond)}
				_, err := p.Run(ctx)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("error %v, want context.Canceled", err)
				}
				if _, ok := sink.get(p.Name); ok || sink.commits != 0 || sink.aborts != 1 {
					t.Fatalf("after cancel: commits %d aborts %d", sink.commits, sink.aborts)
				}
			})
		}
	}
}

// TestRunBoundedBatches blocks the sink until the source stops being asked
// for more, then checks that no more than Config.InFlight batches were alive.
func TestRunBoundedBatches(t *testing.T) {
	cfgs := []pipeline.Config{
		{EncodeWorkers: 1, BatchQueue: 1, EncodedQueue: 1, GzipBlockSize: 64 << 10, GzipBlocks: 1},
		{EncodeWorkers: 3, BatchQueue: 2, EncodedQueue: 5, GzipBlockSize: 64 << 10, GzipBlocks: 1},
	}
	for _, cfg := range cfgs {
		t.Run(fmt.Sprintf("workers=%d", cfg.EncodeWorkers), func(t *testing.T) {
			src := newFakeSource(200, 500)
			sink := newMemSink()
			sink.firstGate = make(chan struct{})
			stop := make(chan struct{})
			go func() { // open the gate once the source has been idle for a while
				defer close(stop)
				last := int64(-1)
				for {
					time.Sleep(20 * time.Millisecond)
					if c := src.calls.Load(); c == last {
						close(sink.firstGate)
						return
					} else {
						last = c
					}
				}
			}()
			p := newPipeline(src, sink, cfg)
			p.Transforms = []pipeline.Transform{jitter(100 * time.Microsecond)}
			if _, err := p.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			<-stop
			bound := int64(cfg.WithDefaults().InFlight())
			if peak := src.peak.Load(); peak > bound || peak < 2 {
				t.Fatalf("peak live batches %d, bound %d", peak, bound)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  pipeline.Config
		key  string // "" means valid
	}{
		{"zero is defaults", pipeline.Config{}, ""},
		{"defaults", pipeline.DefaultConfig(), ""},
		{"negative chunk", pipeline.Config{ChunkRows: -1}, "chunk_size"},
		{"huge chunk", pipeline.Config{ChunkRows: 1000001}, "chunk_size"},
		{"fetch size", pipeline.Config{FetchArraySize: 100001}, "fetch_array_size"},
		{"workers", pipeline.Config{EncodeWorkers: 257}, "encode_workers"},
		{"small gzip block", pipeline.Config{GzipBlockSize: 1024}, "gzip_block_size"},
		{"gzip blocks", pipeline.Config{GzipBlocks: -3}, "gzip_blocks"},
		{"batch queue", pipeline.Config{BatchQueue: 5000}, "batch_queue"},
		{"encoded queue", pipeline.Config{EncodedQueue: -1}, "encoded_queue"},
		{"retry attempts", pipeline.Config{Retry: pipeline.Retry{Attempts: 21}}, "retry_attempts"},
		{"retry backoff", pipeline.Config{Retry: pipeline.Retry{Backoff: time.Hour}}, "retry_backoff"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("valid config rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.key) || !strings.HasPrefix(err.Error(), "pipeline: invalid config") {
				t.Fatalf("error %v, want one naming %s", err, tc.key)
			}
		})
	}
	// Several bad fields are all reported.
	err := pipeline.Config{EncodeWorkers: 999, ChunkRows: -5}.Validate()
	if err == nil || !strings.Contains(err.Error(), "encode_workers") || !strings.Contains(err.Error(), "chunk_size") {
		t.Fatalf("error %v, want both keys", err)
	}
	d := pipeline.DefaultConfig()
	if d.FetchArraySize != 1000 || d.ChunkRows != 10000 || d.Retry.Attempts != 3 || d.InFlight() != d.EncodeWorkers*(d.BatchQueue+1)+1 {
		t.Fatalf("defaults %+v", d)
	}
}

func TestRetryDo(t *testing.T) {
	errPerm := errors.New("permanent")
	errTrans := pipeline.Transient(errors.New("connection reset"))
	cases := []struct {
		name      string
		attempts  int
		fails     []error // error of each attempt; beyond the end nil
		wantCalls int
		wantErr   error
		substr    string
	}{
		{"first try", 3, nil, 1, nil, ""},
		{"transient then ok", 3, []error{errTrans, errTrans}, 3, nil, ""},
		{"permanent stops", 3, []error{errPerm}, 1, errPerm, ""},
		{"transient then permanent", 3, []error{errTrans, errPerm}, 2, errPerm, "after 2 attempts"},
		{"transient exhausted", 3, []error{errTrans, errTrans, errTrans, errTrans}, 3, errTrans, "after 3 attempts"},
		{"wrapped transient", 2, []error{fmt.Errorf("read: %w", errTrans)}, 2, nil, ""},
		{"zero attempts means one", 0, []error{errTrans}, 1, errTrans, ""},
		{"canceled is never transient", 3, []error{pipeline.Transient(context.Canceled)}, 1, context.Canceled, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := pipeline.Retry{Attempts: tc.attempts, Backoff: time.Microsecond}
			calls := 0
			n, err := r.Do(context.Background(), func(a int) error {
				calls++
				if a != calls {
					t.Fatalf("attempt %d on call %d", a, calls)
				}
				if a <= len(tc.fails) {
					return tc.fails[a-1]
				}
				return nil
			})
			if calls != tc.wantCalls || n != calls {
				t.Fatalf("calls %d, returned %d, want %d", calls, n, tc.wantCalls)
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if tc.substr != "" && (err == nil || !strings.Contains(err.Error(), tc.substr)) {
				t.Fatalf("error %v lacks %q", err, tc.substr)
			}
		})
	}
	t.Run("cancel during backoff", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := pipeline.Retry{Attempts: 5, Backoff: time.Hour}
		n, err := r.Do(ctx, func(int) error { cancel(); return errTrans })
		if n != 1 || !errors.Is(err, context.Canceled) || !errors.Is(err, errTrans) {
			t.Fatalf("n %d err %v", n, err)
		}
	})
	t.Run("IsTransient", func(t *testing.T) {
		if pipeline.Transient(nil) != nil || pipeline.IsTransient(nil) || pipeline.IsTransient(errPerm) || !pipeline.IsTransient(errTrans) {
			t.Fatal("IsTransient misclassifies")
		}
	})
}
