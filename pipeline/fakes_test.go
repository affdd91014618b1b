package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// fakeSource yields batches of rows (ID INT, NAME STRING, AMOUNT DECIMAL)
// and counts how many batches are alive (returned by Next, not yet
// released).
type fakeSource struct {
	batches  int // total; <0 means endless
	rowsPer  int //
	failAt   int // Next fails with errSource at this batch index; -1 never
	onNext   func(n int)
	badRowAt int // batch whose first row has a value the encoder refuses; -1 never

	next       int
	live, peak atomic.Int64
	calls      atomic.Int64
	closed     atomic.Int32
}

var errSource = errors.New("source exploded")

func newFakeSource(batches, rowsPer int) *fakeSource {
	return &fakeSource{batches: batches, rowsPer: rowsPer, failAt: -1, badRowAt: -1}
}

func (s *fakeSource) Columns() []pipeline.Column {
	return []pipeline.Column{
		{Name: "ID", Type: pipeline.TypeInt},
		{Name: "NAME", Type: pipeline.TypeString},
		{Name: "AMOUNT", Type: pipeline.TypeDecimal, Precision: 15, Scale: 2},
	}
}

func (s *fakeSource) Next(ctx context.Context) (*pipeline.Batch, error) {
	n := int(s.calls.Add(1)) - 1
	if s.onNext != nil {
		s.onNext(n)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.next == s.failAt {
		return nil, errSource
	}
	if s.batches >= 0 && s.next >= s.batches {
		return nil, io.EOF
	}
	seq := s.next
	s.next++
	rows := make([][]any, s.rowsPer)
	for i := range rows {
		id := seq*s.rowsPer + i
		rows[i] = []any{id, fmt.Sprintf("row \"%d\"\n", id), fmt.Sprintf("%d.%02d", id, id%100)}
	}
	if seq == s.badRowAt {
		rows[0][0] = "not a number"
	}
	if l := s.live.Add(1); l > s.peak.Load() {
		s.peak.Store(l) // only Next (one goroutine) raises it
	}
	var once sync.Once
	return &pipeline.Batch{Seq: int64(seq), Rows: rows, Release: func() {
		once.Do(func() { s.live.Add(-1) })
	}}, nil
}

func (s *fakeSource) Close() error { s.closed.Add(1); return nil }

// expectedLine is what the NDJSON encoder writes for row id of fakeSource.
func expectedLine(id int) string {
	return fmt.Sprintf(`{"ID":%d,"NAME":"row \"%d\"\n","AMOUNT":%d.%02d}`, id, id, id, id%100)
}

// memSink keeps committed objects in memory.
type memSink struct {
	failAfter int   // Write fails with errWrite once this many bytes were written; 0 never
	commitErr error // Commit fails with it
	lieCRC    bool  // Commit reports a wrong CRC32C
	slowWrite time.Duration

	mu        sync.Mutex
	objects   map[string][]byte
	created   int
	commits   int
	aborts    int
	firstGate chan struct{} // if set, the first Write waits for it
}

var errWrite = errors.New("disk on fire")

func newMemSink() *memSink { return &memSink{objects: map[string][]byte{}} }

func (s *memSink) Create(ctx context.Context, name string) (pipeline.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.created++
	return &memObject{sink: s, name: name, ctx: ctx}, nil
}

func (s *memSink) get(name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objects[name]
	return b, ok
}

type memObject struct {
	ctx   context.Context // a blocked Write gives up when it is canceled
	sink  *memSink
	name  string
	buf   bytes.Buffer
	gated bool
}

func (o *memObject) Write(p []byte) (int, error) {
	if g := o.sink.firstGate; g != nil && !o.gated {
		o.gated = true
		select {
		case <-g:
		case <-o.ctx.Done():
			return 0, o.ctx.Err()
		}
	}
	if o.sink.slowWrite > 0 {
		time.Sleep(o.sink.slowWrite)
	}
	if fa := o.sink.failAfter; fa > 0 && o.buf.Len()+len(p) > fa {
		n := fa - o.buf.Len()
		o.buf.Write(p[:n])
		return n, errWrite
	}
	return o.buf.Write(p)
}

func (o *memObject) Commit() (pipeline.ObjectInfo, error) {
	s := o.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits++
	if s.commitErr != nil {
		return pipeline.ObjectInfo{}, s.commitErr
	}
	b := bytes.Clone(o.buf.Bytes())
	crc := crc32.Checksum(b, pipeline.Castagnoli)
	if s.lieCRC {
		crc++
	}
	s.objects[o.name] = b
	return pipeline.ObjectInfo{Name: o.name, URI: "mem://" + o.name, Size: int64(len(b)), CRC32C: crc, CRC32CReported: true}, nil
}

func (o *memObject) Abort() error {
	o.sink.mu.Lock()
	defer o.sink.mu.Unlock()
	o.sink.aborts++
	return nil
}

// jitter is a Transform sleeping up to max so batches finish out of order.
func jitter(max time.Duration) pipeline.Transform {
	return func(ctx context.Context, _ []pipeline.Column, _ *pipeline.Batch) error {
		d := time.Duration(rand.Int64N(int64(max)))
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
