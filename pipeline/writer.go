package pipeline

// The writer stage of Pipeline.Run: ordered pieces to objects (single, parts), commit, cleanup.

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// writer owns the compressor and the current object.
type writer struct {
	p      *Pipeline
	ctx    context.Context // Run's: objects outlive the stage group until committed
	cfg    Config
	obs    *notifier
	blocks bool   // pieces are compressed segments (Codec.BlockMode)
	raw    uint32 // CRC32C of the raw NDJSON of the committed objects
	stats  Stats

	obj       Object
	name      string
	gz        io.WriteCloser // nil with blocks
	cw        *countingWriter
	part      Part
	partRaw   uint32   // CRC32C of the current object's raw NDJSON
	partSum   uint32   // its Framing checksum, for the trailer (blocks only)
	header    bool     // the Framing header is still to be written (blocks only)
	reported  int64    // compressed bytes already reported to the observer
	committed []string // committed part names, removed if the table fails

	sent atomic.Int64 // batches the reader handed to the workers
	eof  atomic.Bool  // the reader reached the end of the source
}

func (w *writer) open(name string) error {
	obj, err := w.p.Sink.Create(w.ctx, name)
	if err != nil {
		return fmt.Errorf("pipeline: create %s: %w", name, err)
	}
	w.obj, w.name = obj, name
	w.cw = &countingWriter{w: obj, crc: crc32.New(Castagnoli)}
	w.reported = 0
	w.part, w.partRaw, w.partSum = Part{}, 0, 0
	if w.blocks {
		w.header = true // written with the first segment: open does no I/O
		return nil
	}
	if w.gz, err = w.p.Codec.NewWriter(w.cw, w.cfg); err != nil {
		return fmt.Errorf("pipeline: %s: compressor: %w", name, err)
	}
	return nil
}

func (w *writer) run(ctx context.Context, outs []chan piece) error {
	W := len(outs)
	var batchRows, batchRaw int64
	for i := 0; ; {
		var pc piece
		var ok bool
		select {
		case pc, ok = <-outs[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			// Worker i has no further batch. That is the end of the table only
			// if the reader reached the end and every batch it handed out was
			// written; otherwise a stage failed and its error cancels ctx.
			if !w.eof.Load() || w.stats.Batches != w.sent.Load() {
				<-ctx.Done()
				return ctx.Err()
			}
			for k := 1; k < W; k++ {
				select {
				case pc, more := <-outs[(i+k)%W]:
					if more {
						putBuf(pc.buf)
						return fmt.Errorf("pipeline: %s: batch order broken: worker %d has output after the end", w.p.Name, (i+k)%W)
					}
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}
		if w.obj == nil { // PartBytes: the next part starts with data
			if err := w.open(PartName(w.p.Name, len(w.stats.Parts)+1)); err != nil {
				putBuf(pc.buf)
				return err
			}
		}
		buf := *pc.buf
		var err error
		if w.blocks {
			w.partRaw = CRC32Combine(PolyCastagnoli, w.partRaw, pc.crc, pc.raw)
			w.partSum = w.p.Codec.CombineSums(w.partSum, pc.sum, pc.raw)
			err = w.writeSegment(buf)
		} else {
			pc.raw = int64(len(buf))
			w.partRaw = crc32.Update(w.partRaw, Castagnoli, buf)
			_, err = w.gz.Write(buf)
		}
		putBuf(pc.buf)
		if err != nil {
			return fmt.Errorf("pipeline: %s: write: %w", w.name, err)
		}
		batchRows += pc.rows
		batchRaw += pc.raw
		if !pc.last {
			continue
		}
		w.stats.Rows += batchRows
		w.stats.Batches++
		w.stats.RawBytes += batchRaw
		w.part.Rows += batchRows
		w.part.RawBytes += batchRaw
		c := w.cw.n.Load()
		w.obs.add(Progress{Rows: batchRows, Batches: 1, RawBytes: batchRaw, CompressedBytes: c - w.reported})
		w.reported = c
		batchRows, batchRaw = 0, 0
		i = (i + 1) % W
		if w.cfg.PartBytes > 0 && c >= w.cfg.PartBytes {
			if err := w.commit(); err != nil {
				return err
			}
		}
	}
}

// writeSegment writes b to the object, after the Framing header if it is
// due.
func (w *writer) writeSegment(b []byte) error {
	if w.header {
		w.header = false
		if _, err := w.cw.Write(w.p.Codec.Header()); err != nil {
			return err
		}
	}
	_, err := w.cw.Write(b)
	return err
}

// commit closes the compressor and commits the current object, checking
// what the storage reports against what was written.
func (w *writer) commit() error {
	gz, obj := w.gz, w.obj
	w.gz, w.obj = nil, nil
	var err error
	if w.blocks {
		if err = w.writeSegment(w.p.Codec.Trailer(w.partSum, w.part.RawBytes)); err != nil {
			err = fmt.Errorf("pipeline: %s: write: %w", w.name, err)
		}
	} else if err = gz.Close(); err != nil {
		err = fmt.Errorf("pipeline: %s: flush compressor: %w", w.name, err)
	}
	if err != nil {
		_ = obj.Abort()
		return err
	}
	w.raw = CRC32Combine(PolyCastagnoli, w.raw, w.partRaw, w.part.RawBytes)
	w.obs.add(Progress{CompressedBytes: w.cw.n.Load() - w.reported})
	info, err := obj.Commit()
	if err != nil {
		return fmt.Errorf("pipeline: commit %s: %w", w.name, err)
	}
	size, crc := w.cw.n.Load(), w.cw.crc.Sum32()
	if w.cfg.PartBytes > 0 {
		w.committed = append(w.committed, w.name)
	}
	if info.Size != 0 && info.Size != size {
		return fmt.Errorf("pipeline: %s: storage reports %d bytes, %d were written", w.name, info.Size, size)
	}
	if info.CRC32CReported && info.CRC32C != crc {
		return fmt.Errorf("pipeline: %s: storage reports CRC32C %08x, written bytes have %08x", w.name, info.CRC32C, crc)
	}
	if info.Size == 0 {
		info.Size = size
	}
	if !info.CRC32CReported {
		info.CRC32C = crc
	}
	w.stats.CompressedBytes += size
	if w.cfg.PartBytes == 0 {
		w.stats.CRC32C = crc
		w.stats.Object = info
		return nil
	}
	w.part.Object = info
	w.part.RawCRC32C = w.partRaw
	w.stats.Parts = append(w.stats.Parts, w.part)
	return nil
}

// finish commits the last object after every stage ended without error.
func (w *writer) finish() error {
	if w.obj == nil && w.cfg.PartBytes > 0 && len(w.stats.Parts) == 0 {
		// an empty table still gets one (empty) part
		if err := w.open(PartName(w.p.Name, 1)); err != nil {
			return err
		}
	}
	if w.obj != nil {
		if err := w.commit(); err != nil {
			return err
		}
	}
	if w.cfg.PartBytes > 0 {
		w.stats.Object = ObjectInfo{Name: w.p.Name, Size: w.stats.CompressedBytes}
		for _, pt := range w.stats.Parts {
			w.stats.Object.Parts = append(w.stats.Object.Parts, pt.Object.Name)
		}
		if len(w.stats.Parts) > 0 {
			w.stats.Object.URI = strings.TrimSuffix(w.stats.Parts[0].Object.URI, w.stats.Parts[0].Object.Name) + w.p.Name
		}
	}
	return nil
}

// cleanup runs after a failure: the open object is aborted and committed
// parts are removed, so a failed table leaves nothing that looks complete.
func (w *writer) cleanup() error {
	var errs []error
	if w.gz != nil {
		_ = w.gz.Close() // stops the compressor's goroutines; the object is aborted anyway
		w.gz = nil
	}
	if w.obj != nil {
		if err := w.obj.Abort(); err != nil {
			errs = append(errs, fmt.Errorf("pipeline: abort %s: %w", w.name, err))
		}
		w.obj = nil
	}
	if len(w.committed) > 0 {
		rm, ok := w.p.Sink.(Remover)
		if !ok {
			errs = append(errs, fmt.Errorf("pipeline: %d committed parts of %s remain (the sink cannot remove objects): %s", len(w.committed), w.p.Name, strings.Join(w.committed, ", ")))
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, n := range w.committed {
				if err := rm.Remove(ctx, n); err != nil {
					errs = append(errs, fmt.Errorf("pipeline: remove part %s: %w", n, err))
				}
			}
		}
		w.committed = nil
	}
	return errors.Join(errs...)
}
