package sqlsource

import (
	"sync/atomic"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Batches hands out row storage for the batches of one reader and takes it
// back through Batch.Release, so a steady-state reader allocates no row
// slices. Values are overwritten, never cleared: after Release the pipeline
// must not read the rows (the pipeline.Batch contract).
type Batches struct {
	cols, rows int
	seq        int64
	free       chan [][]any
	clear      bool
}

// ClearOnRelease makes Release clear the values of a batch's rows before
// its storage waits for reuse, so a released batch does not keep large
// values (LOBs) alive; for readers whose values are large, at the cost of
// one pass over the batch.
func (b *Batches) ClearOnRelease() { b.clear = true }

// NewBatches returns storage for batches of up to rows rows of cols columns.
// It keeps up to keep released batches for reuse.
func NewBatches(cols, rows, keep int) *Batches {
	if keep < 1 {
		keep = 1
	}
	return &Batches{cols: cols, rows: rows, free: make(chan [][]any, keep)}
}

// Rows returns rows of storage, each with len == cols: a recycled set when
// one was released, else a new one.
func (b *Batches) Rows() [][]any {
	select {
	case r := <-b.free:
		return r[:b.rows]
	default:
	}
	flat := make([]any, b.rows*b.cols)
	r := make([][]any, b.rows)
	for i := range r {
		r[i] = flat[i*b.cols : (i+1)*b.cols : (i+1)*b.cols]
	}
	return r
}

// Batch wraps the first n rows of storage from Rows as the next batch in
// sequence; its Release gives the storage back.
func (b *Batches) Batch(rows [][]any, n int) *pipeline.Batch {
	full := rows[:cap(rows)]
	var released atomic.Bool
	return &pipeline.Batch{
		Seq:  atomic.AddInt64(&b.seq, 1) - 1,
		Rows: rows[:n],
		Release: func() {
			if released.Swap(true) {
				return
			}
			if b.clear {
				for _, r := range full[:n] {
					clear(r)
				}
			}
			select {
			case b.free <- full:
			default:
			}
		},
	}
}
