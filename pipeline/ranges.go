package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Composer is implemented by sinks that can build one object from committed
// objects: dst holds the bytes of srcs concatenated in order. dst must not
// exist and is visible only when complete; on error nothing is left under
// dst and no intermediate object remains. The sources are not removed.
// ObjectInfo reports the stored object (Size, and CRC32C as the storage
// computed it).
type Composer interface {
	Compose(ctx context.Context, dst string, srcs []string) (ObjectInfo, error)
}

// RangeResult is what one range of a RangeRun produced.
type RangeResult struct {
	Range     Range         `json:"range"`
	Rows      int64         `json:"rows"`
	RawBytes  int64         `json:"raw_bytes"`
	Bytes     int64         `json:"bytes"`  // compressed segment size
	CRC32C    uint32        `json:"crc32c"` // of the segment as stored
	RawCRC32C uint32        `json:"raw_crc32c"`
	RawCRC32  uint32        `json:"-"` // the Codec's Framing checksum of the raw bytes (gzip: CRC-32 IEEE), for the trailer
	Attempts  int           `json:"attempts"`
	Duration  time.Duration `json:"-"`
	Segment   string        `json:"segment,omitempty"` // temporary object, removed at the end
}

// RangeRun copies the ranges of one table, each read by its own Source and
// compressed by its own pipeline, into ONE object Name that is ONE member
// of the Codec's framing (one gzip member), byte for byte the NDJSON a
// single Run over the whole table in range order would give (the
// compressed bytes differ).
//
// Each range is encoded by a Pipeline whose Codec.NewSegmentWriter writes a
// raw segment (for gzip a DEFLATE segment ending in a sync flush) into the
// temporary object TempPrefix+"NNNNN-aK.deflate" (range N, attempt K). When
// every range succeeded, a header object and a trailer object (the Codec's
// Framing: for gzip the 10-byte header, and the final empty block 03 00,
// the CRC-32 of the whole stream combined from the ranges' and ISIZE) are
// written, and the Sink's Compose builds Name from header, segments in
// range order and trailer. The CRC32C the storage reports for
// Name is checked against the CRC32C combined from the parts. At the end
// every temporary object is removed; after a failure Name does not exist.
//
// A range that fails with a transient error is retried alone (Config.Retry)
// from a fresh Source into a fresh segment object. The Sink must implement
// Composer and Remover. Config.PartBytes must be 0.
type RangeRun struct {
	Name       string
	TempPrefix string // e.g. "TRP/v001/_ranges/VBRP/"; must end in "/"
	Ranges     []Range
	// Open returns a fresh Source for one range (called once per attempt).
	Open       func(ctx context.Context, r Range) (Source, error)
	Sink       Sink
	Encoder    EncoderFactory
	Codec      Codec // writes the segments (NewSegmentWriter) and frames them
	Transforms []Transform
	Config     Config
	// Workers is how many ranges are read at once; default len(Ranges).
	// When Config.EncodeWorkers is 0, each range's pipeline gets
	// GOMAXPROCS/Workers encoders (at least 1) instead of GOMAXPROCS.
	Workers int
	// Observer, if set, receives the table's progress summed over its
	// ranges, from one goroutine at a time. When a range is retried, its
	// progress so far is taken back with one negative Progress.
	Observer func(Progress)
	// OnRetry, if set, is called before a range is retried.
	OnRetry func(r Range, attempt int, err error)
}

// Run executes the ranges and composes the object. It returns the table's
// Stats (Object, CompressedBytes and CRC32C describe the final object;
// RawCRC32C is the CRC32C of the whole NDJSON) and one RangeResult per
// range in range order (also on failure, as far as they got).
//
// Every temporary object is removed at the end, after success and after
// failure. One that cannot be removed is never forgotten: after a failure
// the removal error is joined to the returned error; after success (Name
// is complete and verified, so the table does not fail for it) each one is
// listed in Stats.CleanupErrors for the caller to report.
func (rr *RangeRun) Run(ctx context.Context) (st Stats, results []RangeResult, err error) {
	start := time.Now()
	results = make([]RangeResult, len(rr.Ranges))
	for i, r := range rr.Ranges {
		results[i].Range = r
	}
	_, ok1 := rr.Sink.(Composer)
	rm, ok2 := rr.Sink.(Remover)
	switch {
	case !ok1 || !ok2:
		return Stats{}, results, fmt.Errorf("pipeline: %s: the sink cannot compose and remove objects", rr.Name)
	case len(rr.Ranges) == 0:
		return Stats{}, results, fmt.Errorf("pipeline: %s: no ranges", rr.Name)
	case rr.Open == nil || rr.Encoder == nil || rr.Codec == nil:
		return Stats{}, results, fmt.Errorf("pipeline: %s: Open, Encoder and Codec are required", rr.Name)
	case rr.Config.PartBytes != 0:
		return Stats{}, results, fmt.Errorf("pipeline: %s: part_bytes cannot be combined with ranges", rr.Name)
	}
	workers := rr.Workers
	if workers <= 0 || workers > len(rr.Ranges) {
		workers = len(rr.Ranges)
	}
	cfg := rr.Config
	if cfg.EncodeWorkers == 0 {
		// the ranges run in parallel already: share the default encoders
		// among them, so rows in flight (and memory) do not grow W-fold
		cfg.EncodeWorkers = max(1, runtime.GOMAXPROCS(0)/workers)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return Stats{}, results, err
	}

	t := &tempSet{}
	defer func() {
		cerrs := t.removeAll(rm)
		switch {
		case len(cerrs) == 0:
		case err != nil:
			err = errors.Join(append([]error{err}, cerrs...)...)
		default:
			for _, e := range cerrs {
				st.CleanupErrors = append(st.CleanupErrors, e.Error())
			}
		}
	}()

	obs := &rangeObserver{fn: rr.Observer}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i := range rr.Ranges {
		g.Go(func() error { return rr.runRange(gctx, cfg, &results[i], t, rm, obs) })
	}
	if err = g.Wait(); err != nil {
		return Stats{}, results, err
	}
	if err = ctx.Err(); err != nil {
		return Stats{}, results, err
	}

	st, err = rr.compose(ctx, results, t)
	if err != nil {
		return Stats{}, results, err
	}
	st.Duration = time.Since(start)
	return st, results, nil
}

// runRange reads one range with retries into a committed segment.
func (rr *RangeRun) runRange(ctx context.Context, cfg Config, res *RangeResult, t *tempSet, rm Remover, obs *rangeObserver) error {
	r := res.Range
	start := time.Now()
	attempts, err := cfg.Retry.Do(ctx, func(attempt int) error {
		obs.retract(r.Index)
		name := fmt.Sprintf("%s%05d-a%d.deflate", rr.TempPrefix, r.Index, attempt)
		t.add(name) // Remove of a name never committed is a no-op
		src, err := rr.Open(ctx, r)
		if err != nil {
			err = fmt.Errorf("pipeline: %s: open range %d: %w", rr.Name, r.Index, err)
		} else {
			w := SegmentWrite{Source: src, Sink: rr.Sink, Name: name, Encoder: rr.Encoder, Codec: rr.Codec,
				Transforms: rr.Transforms, Config: cfg, Observer: func(p Progress) { obs.add(r.Index, p) }}
			var got RangeResult
			if got, err = w.Run(ctx); err == nil {
				res.Rows, res.RawBytes, res.Bytes, res.RawCRC32C = got.Rows, got.RawBytes, got.Bytes, got.RawCRC32C
				res.RawCRC32, res.Segment, res.CRC32C = got.RawCRC32, got.Segment, got.CRC32C
				return nil
			}
		}
		if IsTransient(err) && attempt < cfg.Retry.Attempts && ctx.Err() == nil {
			if rr.OnRetry != nil {
				rr.OnRetry(r, attempt, err)
			}
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			_ = rm.Remove(rctx, name) // normally nothing is there; removeAll retries
			cancel()
		}
		return err
	})
	res.Attempts, res.Duration = attempts, time.Since(start)
	if err != nil {
		return fmt.Errorf("pipeline: %s: range %d of %d: %w", rr.Name, r.Index+1, len(rr.Ranges), err)
	}
	return nil
}

// compose writes header and trailer and composes the final object.
func (rr *RangeRun) compose(ctx context.Context, results []RangeResult, t *tempSet) (Stats, error) {
	return ComposeSegments(ctx, rr.Codec, rr.Sink, rr.Name, rr.TempPrefix, results, t.add)
}

// SegmentWrite reads one Source into one committed raw segment object Name
// (Codec.NewSegmentWriter; for gzip DEFLATE ending in a sync flush), the
// piece of a member that RangeRun and distributed shards compose. The Sink must
// verify what it commits (CRC32C), as every sink of this module does.
type SegmentWrite struct {
	Source     Source
	Sink       Sink
	Name       string
	Encoder    EncoderFactory
	Codec      Codec
	Transforms []Transform
	Config     Config
	Observer   func(Progress)
	// Whole compresses the segment as a Pipeline compresses a whole object
	// (in the Codec's BlockMode: the encode workers' pieces, cut at batch
	// ends and PieceBytes) without its framing, so that this segment
	// framed alone is byte for byte the object a Pipeline over the same
	// batches writes (a distributed table that is one shard). Otherwise,
	// and for a codec not in BlockMode, Codec.NewSegmentWriter writes it.
	Whole bool
}

// Run runs the segment's pipeline and returns what ComposeSegments needs:
// Rows, RawBytes, RawCRC32C and RawCRC32 (the Framing checksum) of
// the NDJSON, Bytes and CRC32C of the segment as stored, Segment = Name.
// Range, Attempts and Duration are left to the caller. On error nothing is
// committed under Name.
func (w SegmentWrite) Run(ctx context.Context) (RangeResult, error) {
	if w.Codec == nil {
		return RangeResult{}, fmt.Errorf("pipeline: %s: a Codec is required", w.Name)
	}
	if w.Config.PartBytes != 0 {
		// one segment is one object: parts would restart the segment and
		// its checksum
		return RangeResult{}, fmt.Errorf("pipeline: %s: part_bytes cannot be combined with a segment", w.Name)
	}
	seg := &segmentCodec{Codec: w.Codec, blocks: w.Whole && w.Codec.BlockMode()}
	p := Pipeline{
		Source: w.Source, Sink: w.Sink, Name: w.Name, Encoder: w.Encoder, Transforms: w.Transforms, Config: w.Config,
		Codec: seg, Observer: w.Observer,
	}
	st, err := p.Run(ctx)
	if err != nil {
		return RangeResult{}, err
	}
	return RangeResult{Rows: st.Rows, RawBytes: st.RawBytes, Bytes: st.CompressedBytes, RawCRC32C: st.RawCRC32C,
		RawCRC32: seg.sum(), Segment: w.Name, CRC32C: st.CRC32C}, nil
}

// ComposeSegments writes a header object and a trailer object (framing's:
// for gzip the member header, and the final empty block, the CRC-32
// combined from the segments' RawCRC32 and ISIZE) below tempPrefix and composes name from header, the committed segments (each
// result's Segment, Bytes, CRC32C) in order and trailer. temp, if set, is
// called with each temporary object's name before it is written, so the
// caller can remove them. The CRC32C and size the storage reports for name
// are checked against those combined from the parts; on a mismatch name is
// removed. It returns the Stats of the composed object (Rows, RawBytes,
// RawCRC32C summed over the segments; CompressedBytes, CRC32C, Object).
func ComposeSegments(ctx context.Context, framing Framing, sink Sink, name, tempPrefix string, results []RangeResult, temp func(string)) (Stats, error) {
	var st Stats
	if framing == nil {
		return st, fmt.Errorf("pipeline: %s: a Framing (the Codec) is required", name)
	}
	comp, ok1 := sink.(Composer)
	rm, ok2 := sink.(Remover)
	if !ok1 || !ok2 {
		return st, fmt.Errorf("pipeline: %s: the sink cannot compose and remove objects", name)
	}
	var sum uint32
	for _, res := range results {
		st.Rows += res.Rows
		st.RawCRC32C = CRC32Combine(PolyCastagnoli, st.RawCRC32C, res.RawCRC32C, res.RawBytes)
		sum = framing.CombineSums(sum, res.RawCRC32, res.RawBytes)
		st.RawBytes += res.RawBytes
	}
	header, trailer := tempPrefix+"header.gz", tempPrefix+"trailer.gz"
	type piece struct {
		name string
		size int64
		crc  uint32
	}
	var pieces []piece
	for _, w := range []struct {
		name string
		b    []byte
	}{{header, framing.Header()}, {trailer, framing.Trailer(sum, st.RawBytes)}} {
		if temp != nil {
			temp(w.name)
		}
		info, err := writeSmall(ctx, sink, w.name, w.b)
		if err != nil {
			return st, fmt.Errorf("pipeline: %s: %w", name, err)
		}
		pieces = append(pieces, piece{w.name, int64(len(w.b)), info.CRC32C})
	}
	srcs := []string{header}
	want := piece{crc: pieces[0].crc, size: pieces[0].size}
	for _, res := range results {
		srcs = append(srcs, res.Segment)
		// the segment's CRC32C was verified against storage at its commit
		want.crc = CRC32Combine(PolyCastagnoli, want.crc, res.CRC32C, res.Bytes)
		want.size += res.Bytes
	}
	srcs = append(srcs, trailer)
	want.crc = CRC32Combine(PolyCastagnoli, want.crc, pieces[1].crc, pieces[1].size)
	want.size += pieces[1].size

	info, err := comp.Compose(ctx, name, srcs)
	if err != nil {
		return st, fmt.Errorf("pipeline: compose %s: %w", name, err)
	}
	if info.Size != want.size || !info.CRC32CReported || info.CRC32C != want.crc {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		rerr := rm.Remove(rctx, name)
		return st, errors.Join(fmt.Errorf("pipeline: %s: composed object has %d bytes CRC32C %08x, its parts add up to %d bytes CRC32C %08x",
			name, info.Size, info.CRC32C, want.size, want.crc), rerr)
	}
	st.CompressedBytes, st.CRC32C, st.Object = info.Size, info.CRC32C, info
	return st, nil
}

// writeSmall writes b as object name.
func writeSmall(ctx context.Context, s Sink, name string, b []byte) (ObjectInfo, error) {
	obj, err := s.Create(ctx, name)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("create %s: %w", name, err)
	}
	if _, err := obj.Write(b); err != nil {
		_ = obj.Abort()
		return ObjectInfo{}, fmt.Errorf("write %s: %w", name, err)
	}
	info, err := obj.Commit()
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("commit %s: %w", name, err)
	}
	if c := CRC32C(b); info.CRC32CReported && info.CRC32C != c {
		return ObjectInfo{}, fmt.Errorf("%s: storage reports CRC32C %08x, written bytes have %08x", name, info.CRC32C, c)
	}
	info.CRC32C = CRC32C(b)
	return info, nil
}

// segmentCodec is the Codec of a SegmentWrite's Pipeline: one raw segment
// without framing. Either its NewWriter writes the segment
// (NewSegmentWriter) and sums the raw bytes on their way in, or (blocks)
// the encode workers compress as for a whole object and the writer's
// framing is empty, its trailer only taking the combined sum. One
// Pipeline opens one object (SegmentWrite refuses parts).
type segmentCodec struct {
	Codec
	blocks   bool
	tee      *teeCompressor
	blockSum uint32
}

func (c *segmentCodec) BlockMode() bool { return c.blocks }
func (c *segmentCodec) Header() []byte  { return nil }

func (c *segmentCodec) Trailer(sum uint32, _ int64) []byte {
	c.blockSum = sum
	return nil
}

// sum is the Framing checksum of the segment's raw bytes.
func (c *segmentCodec) sum() uint32 {
	if c.blocks {
		return c.blockSum
	}
	return c.tee.sum
}

func (c *segmentCodec) NewWriter(w io.Writer, cfg Config) (io.WriteCloser, error) {
	zw, err := c.NewSegmentWriter(w, cfg)
	if err != nil {
		return nil, err
	}
	c.tee = &teeCompressor{zw: zw, f: c.Codec}
	return c.tee, nil
}

// teeCompressor sums the raw bytes on their way into the compressor.
type teeCompressor struct {
	zw  io.WriteCloser
	f   Framing
	sum uint32
}

func (c *teeCompressor) Write(p []byte) (int, error) {
	n, err := c.zw.Write(p)
	c.sum = c.f.CombineSums(c.sum, c.f.Sum(p[:n]), int64(n))
	return n, err
}

func (c *teeCompressor) Close() error { return c.zw.Close() }

// tempSet is the temporary objects of a RangeRun.
type tempSet struct {
	mu    sync.Mutex
	names []string
}

func (t *tempSet) add(name string) {
	t.mu.Lock()
	t.names = append(t.names, name)
	t.mu.Unlock()
}

// removeAll removes every temporary object and returns one error per
// object that could not be removed, in name order.
func (t *tempSet) removeAll(rm Remover) []error {
	t.mu.Lock()
	names := t.names
	t.names = nil
	t.mu.Unlock()
	sort.Strings(names)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	for _, n := range names {
		if err := rm.Remove(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("pipeline: remove temporary %s: %w", n, err))
		}
	}
	return errs
}

// rangeObserver sums per-range progress into one table observer.
type rangeObserver struct {
	fn    func(Progress)
	mu    sync.Mutex
	byIdx map[int]Progress
}

func (o *rangeObserver) add(i int, p Progress) {
	if o.fn == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byIdx == nil {
		o.byIdx = map[int]Progress{}
	}
	q := o.byIdx[i]
	q.add(p)
	o.byIdx[i] = q
	o.fn(p)
}

// retract takes back what range i reported, before it starts again.
func (o *rangeObserver) retract(i int) {
	if o.fn == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	q, ok := o.byIdx[i]
	if !ok || q == (Progress{}) {
		return
	}
	delete(o.byIdx, i)
	o.fn(Progress{Rows: -q.Rows, Batches: -q.Batches, RawBytes: -q.RawBytes, CompressedBytes: -q.CompressedBytes})
}
