package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
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

// Transform changes a batch in place before it is encoded (in the encode
// workers, so in parallel and not in Seq order).
type Transform func(ctx context.Context, cols []Column, b *Batch) error

// Remover is implemented by sinks that can delete committed objects. With
// Config.PartBytes set, the parts a failed table had committed are removed.
type Remover interface {
	Remove(ctx context.Context, name string) error
}

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

// Part is one object of a table split by Config.PartBytes.
type Part struct {
	Object    ObjectInfo `json:"object"`
	Rows      int64      `json:"rows"`
	RawBytes  int64      `json:"raw_bytes"`
	RawCRC32C uint32     `json:"raw_crc32c"`
}

// Stats is the result of a successful Run.
type Stats struct {
	Rows            int64         `json:"rows"`
	Batches         int64         `json:"batches"`
	RawBytes        int64         `json:"raw_bytes"`
	RawCRC32C       uint32        `json:"raw_crc32c"` // CRC32C of the uncompressed NDJSON (all parts in order)
	CompressedBytes int64         `json:"bytes"`
	CRC32C          uint32        `json:"crc32c"` // CRC32C of the object as stored (0 when split into parts)
	Duration        time.Duration `json:"-"`
	// Object is the committed object; when split, its Name is Pipeline.Name,
	// Size the sum and Parts the part names.
	Object ObjectInfo `json:"object"`
	Parts  []Part     `json:"parts,omitempty"` // only when split into parts
	// CleanupErrors names each temporary object (RangeRun's segments,
	// header and trailer) that could not be removed after the object was
	// committed, with the cause. The object is complete and verified; the
	// caller reports these as warnings. After a failure they are part of
	// the returned error instead.
	CleanupErrors []string `json:"cleanup_errors,omitempty"`
}

// Pipeline copies one Source into one Object named Name of Sink.
type Pipeline struct {
	Source  Source
	Sink    Sink
	Name    string
	Encoder EncoderFactory
	// Codec compresses and frames the object (and its parts). In its
	// BlockMode each encode worker compresses its own pieces into segments
	// and the writer frames them as one member per object (or part),
	// combining the workers' checksums instead of checksumming the raw
	// NDJSON itself: compression runs in the encode workers, on data still
	// in their cache, with no compressor goroutines or block buffers of its
	// own. Otherwise the writer compresses (Codec.NewWriter).
	Codec      Codec
	Transforms []Transform
	Config     Config
	Observer   func(Progress) // optional
}

// piece is a run of encoded lines of one batch; last marks its end. In the
// Codec's BlockMode, buf holds one or more compressed segments and raw, sum
// and crc describe the NDJSON they came from (length, the Framing's
// checksum, CRC32C).
type piece struct {
	buf  *[]byte
	rows int64
	last bool
	raw  int64
	sum  uint32
	crc  uint32
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1<<20); return &b }}

func putBuf(bp *[]byte) {
	if cap(*bp) <= 4<<20 { // do not keep buffers a huge row made huge
		bufPool.Put(bp)
	}
}

// PartName is the name of part n (1-based) of object name, inserted before
// its extension: "A/VBRP.jsonl.gz" → "A/VBRP.part-00001.jsonl.gz",
// "A/public.vbrp.jsonl.gz" → "A/public.vbrp.part-00001.jsonl.gz". The
// extension is ".jsonl.gz" (or ".json.gz", ".ndjson.gz") when the name ends
// with it, else what follows the last dot of the last path segment, so the
// dot between a schema and a table is never mistaken for one.
func PartName(name string, n int) string {
	base, ext := name, ""
	for _, e := range []string{".jsonl.gz", ".ndjson.gz", ".json.gz"} {
		if strings.HasSuffix(name, e) && len(name) > len(e) {
			base, ext = name[:len(name)-len(e)], e
			break
		}
	}
	if ext == "" {
		seg := strings.LastIndex(name, "/") + 1
		if i := strings.LastIndex(name[seg:], "."); i > 0 {
			base, ext = name[:seg+i], name[seg+i:]
		}
	}
	return fmt.Sprintf("%s.part-%05d%s", base, n, ext)
}

// Run executes the pipeline. On success the object (or every part) is
// committed and verified; on any error nothing is left that looks complete
// and the first error is returned. The Source is closed in every case.
//
// Order: the reader hands batch i to worker i mod W; the writer takes the
// workers' output in the same rotation, so lines are written in source order
// without a reorder buffer and each stage is bounded by its channel.
func (p *Pipeline) Run(ctx context.Context) (st Stats, err error) {
	start := time.Now()
	defer func() {
		if cerr := p.Source.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("pipeline: close source: %w", cerr)
		}
	}()
	if p.Encoder == nil || p.Codec == nil || p.Sink == nil {
		return st, errors.New("pipeline: Encoder, Codec and Sink are required")
	}
	cfg := p.Config.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return st, err
	}
	cols := p.Source.Columns()
	W := cfg.EncodeWorkers
	encs := make([]RowEncoder, W)
	for i := range encs {
		if encs[i], err = p.Encoder(cols); err != nil {
			return st, fmt.Errorf("pipeline: %s: encoder: %w", p.Name, err)
		}
	}
	var bcs []BlockCompressor
	blocks := p.Codec.BlockMode()
	if blocks {
		bcs = make([]BlockCompressor, W)
		for i := range bcs {
			if bcs[i], err = p.Codec.NewBlockCompressor(cfg); err != nil {
				return st, fmt.Errorf("pipeline: %s: block compressor: %w", p.Name, err)
			}
		}
	}

	w := &writer{p: p, cfg: cfg, ctx: ctx, blocks: blocks}
	defer func() {
		if err != nil {
			err = errors.Join(err, w.cleanup())
		}
	}()
	if cfg.PartBytes == 0 {
		if err := w.open(p.Name); err != nil {
			return st, err
		}
	}

	obs := newNotifier(p.Observer)
	defer obs.stop()
	w.obs = obs

	g, gctx := errgroup.WithContext(ctx)
	ins := make([]chan *Batch, W)
	outs := make([]chan piece, W)
	for i := range ins {
		ins[i] = make(chan *Batch, cfg.BatchQueue)
		outs[i] = make(chan piece, cfg.EncodedQueue)
	}

	// Reader: the only sender on ins. w.sent and w.eof (set before ins are
	// closed) let the writer tell the end of the table from a worker that
	// stopped because of an error.
	g.Go(func() error {
		defer func() {
			for _, in := range ins {
				close(in)
			}
		}()
		for i := 0; ; i++ {
			b, err := p.Source.Next(gctx)
			if err == io.EOF {
				w.eof.Store(true)
				return nil
			}
			if err != nil {
				return fmt.Errorf("pipeline: %s: read: %w", p.Name, err)
			}
			select {
			case ins[i%W] <- b:
				w.sent.Add(1)
			case <-gctx.Done():
				return gctx.Err()
			}
		}
	})

	// Encoders: worker i is the only sender on outs[i].
	for i := range encs {
		g.Go(func() error {
			defer close(outs[i])
			var bc BlockCompressor
			if bcs != nil {
				bc = bcs[i]
			}
			return p.encode(gctx, cfg, cols, encs[i], bc, ins[i], outs[i])
		})
	}

	// Writer: takes the workers' pieces in rotation.
	g.Go(func() error { return w.run(gctx, outs) })

	if err := g.Wait(); err != nil {
		return st, err
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if err := w.finish(); err != nil {
		return st, err
	}
	st = w.stats
	st.RawCRC32C = w.raw
	st.Duration = time.Since(start)
	return st, nil
}

// encode turns batches into pieces of about PieceBytes. With a
// BlockCompressor bc each raw piece is checksummed and compressed here into
// one segment; the segments of a batch are collected into pieces of about
// PieceBytes of compressed data, so a queued piece stands for several raw
// ones and a worker can get a whole batch ahead of the writer (which takes
// the workers' batches in rotation) without holding more memory.
func (p *Pipeline) encode(ctx context.Context, cfg Config, cols []Column, enc RowEncoder, bc BlockCompressor, in <-chan *Batch, out chan<- piece) error {
	var acc piece // blocks: the segments compressed but not sent yet
	send := func(pc piece) error {
		if bc != nil {
			raw := *pc.buf
			if acc.buf == nil {
				acc.buf = bufPool.Get().(*[]byte)
				*acc.buf = (*acc.buf)[:0]
			}
			if len(raw) > 0 {
				z, err := bc.AppendBlock(*acc.buf, raw)
				if err != nil {
					putBuf(pc.buf)
					return fmt.Errorf("pipeline: %s: compress: %w", p.Name, err)
				}
				*acc.buf = z
				n := int64(len(raw))
				acc.sum = p.Codec.CombineSums(acc.sum, p.Codec.Sum(raw), n)
				acc.crc = CRC32Combine(PolyCastagnoli, acc.crc, crc32.Checksum(raw, Castagnoli), n)
				acc.raw += n
			}
			acc.rows += pc.rows
			putBuf(pc.buf)
			if !pc.last && len(*acc.buf) < cfg.PieceBytes {
				return nil
			}
			acc.last = pc.last
			pc, acc = acc, piece{}
		}
		select {
		case out <- pc:
			return nil
		case <-ctx.Done():
			putBuf(pc.buf)
			return ctx.Err()
		}
	}
	step := 64 // rows per AppendRows call, adapted to the row size
	var dec RowDecoder
	if rs, ok := p.Source.(RawSource); ok {
		dec = rs.NewRowDecoder()
	}
	one := [][]any{make([]any, len(cols))}
	for b := range in {
		if b.Raw != nil && len(p.Transforms) > 0 && dec != nil {
			rows, err := DecodeRaw(dec, len(cols), b)
			if err != nil {
				return fmt.Errorf("pipeline: %s: decode batch %d: %w", p.Name, b.Seq, err)
			}
			b.Rows, b.Raw, b.RawRows = rows, nil, 0
		}
		for _, t := range p.Transforms {
			if err := t(ctx, cols, b); err != nil {
				return fmt.Errorf("pipeline: %s: transform batch %d: %w", p.Name, b.Seq, err)
			}
		}
		nrows, cur := b.Len(), b.Raw
		bp := bufPool.Get().(*[]byte)
		buf := (*bp)[:0]
		var n int64
		for i := 0; i < nrows; {
			j := min(i+step, nrows)
			var err error
			before := len(buf)
			buf, cur, err = batchRows(enc, dec, one, buf, b, cur, i, j)
			if err != nil {
				*bp = buf
				putBuf(bp)
				return fmt.Errorf("pipeline: %s: encode batch %d: %w", p.Name, b.Seq, err)
			}
			if per := (len(buf) - before) / (j - i); per > 0 {
				step = max(1, min(4096, cfg.PieceBytes/per/2))
			}
			n += int64(j - i)
			i = j
			if len(buf) >= cfg.PieceBytes && i < nrows {
				*bp = buf
				if err := send(piece{buf: bp, rows: n}); err != nil {
					return err
				}
				bp = bufPool.Get().(*[]byte)
				buf, n = (*bp)[:0], 0
			}
		}
		if b.Release != nil {
			b.Release()
		}
		*bp = buf
		if err := send(piece{buf: bp, rows: n, last: true}); err != nil {
			return err
		}
	}
	return nil
}

// CRC32C is the Castagnoli CRC of b.
func CRC32C(b []byte) uint32 { return crc32.Checksum(b, Castagnoli) }
