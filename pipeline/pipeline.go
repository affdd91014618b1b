package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Castagnoli is the CRC32C table used for every checksum (as GCS does).
var Castagnoli = crc32.MakeTable(crc32.Castagnoli)

// RowEncoder appends rows, one line each, to dst. One RowEncoder is made per
// encode worker and used by that worker only.
type RowEncoder interface {
	AppendRows(dst []byte, rows [][]any) ([]byte, error)
}

// EncoderFactory makes a RowEncoder for a table's columns.
type EncoderFactory func(cols []Column) (RowEncoder, error)

// CompressorFactory wraps w in a compressor configured from cfg. Close must
// flush everything to w and must not close w.
type CompressorFactory func(w io.Writer, cfg Config) (io.WriteCloser, error)

// Transform changes a batch in place before it is encoded (in the encode
// workers, so in parallel and not in Seq order).
type Transform func(ctx context.Context, cols []Column, b *Batch) error

// Progress is what one batch added. Observers receive it off the hot path:
// a slow observer gets several batches summed into one call, never blocks the
// pipeline, and gets everything before Run returns.
type Progress struct {
	Rows            int64
	Batches         int64
	RawBytes        int64 // uncompressed NDJSON
	CompressedBytes int64 // written to the object so far
}

func (p *Progress) add(q Progress) {
	p.Rows += q.Rows
	p.Batches += q.Batches
	p.RawBytes += q.RawBytes
	p.CompressedBytes += q.CompressedBytes
}

// Stats is the result of a successful Run.
type Stats struct {
	Rows            int64         `json:"rows"`
	Batches         int64         `json:"batches"`
	RawBytes        int64         `json:"raw_bytes"`
	RawCRC32C       uint32        `json:"raw_crc32c"` // CRC32C of the uncompressed NDJSON
	CompressedBytes int64         `json:"bytes"`
	CRC32C          uint32        `json:"crc32c"` // CRC32C of the object as stored
	Duration        time.Duration `json:"-"`
	Object          ObjectInfo    `json:"object"`
}

// Pipeline copies one Source into one Object named Name of Sink.
type Pipeline struct {
	Source     Source
	Sink       Sink
	Name       string
	Encoder    EncoderFactory
	Compressor CompressorFactory
	Transforms []Transform
	Config     Config
	Observer   func(Progress) // optional
}

type encoded struct {
	seq  int64
	rows int64
	buf  *[]byte
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1<<20); return &b }}

// Run executes the pipeline. On success the object is committed and verified;
// on any error it is aborted and the first error is returned. The Source is
// closed in every case.
func (p *Pipeline) Run(ctx context.Context) (st Stats, err error) {
	start := time.Now()
	defer func() {
		if cerr := p.Source.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("pipeline: close source: %w", cerr)
		}
	}()
	if p.Encoder == nil || p.Compressor == nil || p.Sink == nil {
		return st, errors.New("pipeline: Encoder, Compressor and Sink are required")
	}
	cfg := p.Config.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return st, err
	}
	cols := p.Source.Columns()
	encs := make([]RowEncoder, cfg.EncodeWorkers)
	for i := range encs {
		if encs[i], err = p.Encoder(cols); err != nil {
			return st, fmt.Errorf("pipeline: %s: encoder: %w", p.Name, err)
		}
	}

	obj, err := p.Sink.Create(ctx, p.Name)
	if err != nil {
		return st, fmt.Errorf("pipeline: create %s: %w", p.Name, err)
	}
	committed := false
	defer func() {
		if !committed {
			if aerr := obj.Abort(); aerr != nil {
				err = errors.Join(err, fmt.Errorf("pipeline: abort %s: %w", p.Name, aerr))
			}
		}
	}()

	obs := newNotifier(p.Observer)
	defer obs.stop()

	g, gctx := errgroup.WithContext(ctx)
	tokens := make(chan struct{}, cfg.InFlight()) // bounds batches alive at once
	batches := make(chan *Batch, cfg.BatchQueue)
	out := make(chan encoded, cfg.EncodedQueue)

	// Reader: the only sender on batches.
	g.Go(func() error {
		defer close(batches)
		for {
			select {
			case tokens <- struct{}{}:
			case <-gctx.Done():
				return gctx.Err()
			}
			b, err := p.Source.Next(gctx)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("pipeline: %s: read: %w", p.Name, err)
			}
			select {
			case batches <- b:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
	})

	// Encoders: the last one to finish closes out.
	var encWG sync.WaitGroup
	for _, enc := range encs {
		encWG.Add(1)
		g.Go(func() error {
			defer encWG.Done()
			for b := range batches {
				for _, t := range p.Transforms {
					if err := t(gctx, cols, b); err != nil {
						return fmt.Errorf("pipeline: %s: transform batch %d: %w", p.Name, b.Seq, err)
					}
				}
				bp := bufPool.Get().(*[]byte)
				buf, err := enc.AppendRows((*bp)[:0], b.Rows)
				*bp = buf
				n := int64(len(b.Rows))
				if b.Release != nil {
					b.Release()
				}
				if err != nil {
					bufPool.Put(bp)
					return fmt.Errorf("pipeline: %s: encode batch %d: %w", p.Name, b.Seq, err)
				}
				select {
				case out <- encoded{seq: b.Seq, rows: n, buf: bp}:
				case <-gctx.Done():
					bufPool.Put(bp)
					return gctx.Err()
				}
			}
			return nil
		})
	}
	go func() { encWG.Wait(); close(out) }()

	// Writer: restores Seq order, compresses, counts.
	cw := &countingWriter{w: obj, crc: crc32.New(Castagnoli)}
	var raw hash.Hash32 = crc32.New(Castagnoli)
	g.Go(func() error {
		gz, err := p.Compressor(cw, cfg)
		if err != nil {
			return fmt.Errorf("pipeline: %s: compressor: %w", p.Name, err)
		}
		closed := false
		defer func() {
			if !closed {
				_ = gz.Close() // stops the compressor's goroutines; the object is aborted anyway
			}
		}()
		pending := map[int64]encoded{}
		var next int64
		var lastCompressed int64
		write := func(e encoded) error {
			buf := *e.buf
			raw.Write(buf)
			_, err := gz.Write(buf)
			bufPool.Put(e.buf)
			<-tokens
			if err != nil {
				return fmt.Errorf("pipeline: %s: write batch %d: %w", p.Name, e.seq, err)
			}
			st.Rows += e.rows
			st.Batches++
			st.RawBytes += int64(len(buf))
			c := cw.n.Load()
			obs.add(Progress{Rows: e.rows, Batches: 1, RawBytes: int64(len(buf)), CompressedBytes: c - lastCompressed})
			lastCompressed = c
			return nil
		}
		for e := range out {
			if gctx.Err() != nil { // drain so encoders can exit
				bufPool.Put(e.buf)
				continue
			}
			pending[e.seq] = e
			for {
				e, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				if err := write(e); err != nil {
					return err
				}
			}
		}
		if gctx.Err() != nil {
			return gctx.Err()
		}
		if len(pending) != 0 {
			return fmt.Errorf("pipeline: %s: batch sequence has a gap at %d (%d batches pending)", p.Name, next, len(pending))
		}
		closed = true
		if err := gz.Close(); err != nil {
			return fmt.Errorf("pipeline: %s: flush compressor: %w", p.Name, err)
		}
		obs.add(Progress{CompressedBytes: cw.n.Load() - lastCompressed})
		return nil
	})

	if err := g.Wait(); err != nil {
		return st, err
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	info, err := obj.Commit()
	committed = true // a failed Commit leaves nothing behind by the Object contract
	if err != nil {
		return st, fmt.Errorf("pipeline: commit %s: %w", p.Name, err)
	}
	st.RawCRC32C = raw.Sum32()
	st.CompressedBytes = cw.n.Load()
	st.CRC32C = cw.crc.Sum32()
	st.Object = info
	if info.Size != 0 && info.Size != st.CompressedBytes {
		return st, fmt.Errorf("pipeline: %s: storage reports %d bytes, %d were written", p.Name, info.Size, st.CompressedBytes)
	}
	if info.CRC32C != 0 && info.CRC32C != st.CRC32C {
		return st, fmt.Errorf("pipeline: %s: storage reports CRC32C %08x, written bytes have %08x", p.Name, info.CRC32C, st.CRC32C)
	}
	st.Duration = time.Since(start)
	return st, nil
}
