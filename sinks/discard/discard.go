package discard

import (
	"context"
	"fmt"
	"hash/crc32"
	"sync/atomic"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/internal/objname"
)

// Sink discards everything. It is safe for concurrent use.
type Sink struct {
	objects atomic.Int64
	bytes   atomic.Int64
}

// New returns a discard sink.
func New() *Sink { return &Sink{} }

// Committed reports how many objects were committed and their total size.
func (s *Sink) Committed() (objects, bytes int64) { return s.objects.Load(), s.bytes.Load() }

// Create starts an object that counts what is written to it.
func (s *Sink) Create(ctx context.Context, name string) (pipeline.Object, error) {
	if err := objname.Validate(name); err != nil {
		return nil, fmt.Errorf("discard: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("discard: create %s: %w", name, err)
	}
	return &object{ctx: ctx, s: s, name: name}, nil
}

type object struct {
	ctx  context.Context
	s    *Sink
	name string
	size int64
	crc  uint32
	done bool
}

func (o *object) Write(p []byte) (int, error) {
	if o.done {
		return 0, fmt.Errorf("discard: write %s: object already committed or aborted", o.name)
	}
	if err := o.ctx.Err(); err != nil {
		return 0, fmt.Errorf("discard: write %s: %w", o.name, err)
	}
	o.crc = crc32.Update(o.crc, pipeline.Castagnoli, p)
	o.size += int64(len(p))
	return len(p), nil
}

func (o *object) Commit() (pipeline.ObjectInfo, error) {
	if o.done {
		return pipeline.ObjectInfo{}, fmt.Errorf("discard: commit %s: object already committed or aborted", o.name)
	}
	o.done = true
	if err := o.ctx.Err(); err != nil {
		return pipeline.ObjectInfo{}, fmt.Errorf("discard: commit %s: %w", o.name, err)
	}
	o.s.objects.Add(1)
	o.s.bytes.Add(o.size)
	return pipeline.ObjectInfo{Name: o.name, URI: "null:///" + o.name, Size: o.size, CRC32C: o.crc}, nil
}

// Abort is a no-op after Commit.
func (o *object) Abort() error {
	o.done = true
	return nil
}
