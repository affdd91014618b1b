package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// copyReader reads a table with COPY (SELECT …) TO STDOUT in text format,
// the cheapest way for the server to send rows (no per-value binary
// conversions, one message per row). Its reader goroutine only cuts the
// stream into batches of whole rows (pipeline.Batch.Raw); the encode
// workers decode the cells (copyDecoder) in parallel. Used when the caller
// opens with pipeline.ReadOptions.Raw.
//
// The read runs in the same transaction setup as the native reader (the
// snapshot, ranges and limit are in the SELECT), with the session settings
// that fix the text forms: DateStyle ISO, TimeZone UTC, shortest exact
// floats, hex bytea.
type copyReader struct {
	q      sqlsource.Query
	conn   *pgxpool.Conn
	pg     *pgconn.PgConn
	cancel context.CancelFunc
	kinds  []cellKind
	elems  []*arrayElem

	batches chan copyBatch
	quit    chan struct{}
	done    chan struct{} // closed when the COPY goroutine returned
	copyErr error         // set before done is closed
	free    chan []byte   // released batch buffers
	seq     int64
	read    int64
	err     error
	eof     bool
	closed  bool
}

type copyBatch struct {
	buf  []byte
	rows int
}

// textSettings fix the text forms the decoders parse (COPY cells, and the
// array elements of both readers): DateStyle ISO, TimeZone UTC, shortest
// exact floats, hex bytea.
const textSettings = "SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL TimeZone = 'UTC'; SET LOCAL extra_float_digits = 1; SET LOCAL bytea_output = 'hex'"

// textSetupSQL begins the read transaction of setup (one is begun when
// setup has none: SET LOCAL needs it) and fixes textSettings in it.
func textSetupSQL(setup sqlsource.ReadSetup) string {
	if setup.Tx == nil {
		setup.Statements = append([]string{"BEGIN"}, setup.Statements...)
	}
	return beginSQL(setup) + "; " + textSettings
}

func (d nativeDialect) openCopy(ctx context.Context, q sqlsource.Query) (pipeline.Source, error) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	conn, err := d.pool.Acquire(rctx)
	if err != nil {
		cancel()
		return nil, err
	}
	r := &copyReader{q: q, conn: conn, pg: conn.Conn().PgConn(), cancel: cancel,
		batches: make(chan copyBatch, 1), quit: make(chan struct{}), done: make(chan struct{}), free: make(chan []byte, 8)}
	if err := r.start(rctx); err != nil {
		close(r.done)
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *copyReader) start(ctx context.Context) error {
	if _, err := r.pg.Exec(ctx, textSetupSQL(r.q.Setup)).ReadAll(); err != nil {
		return err
	}
	fields, err := prepare(ctx, r.pg, r.q)
	if err != nil {
		return err
	}
	if r.elems, _, err = fieldArrays(ctx, r.pg, fields, r.conn.Conn().TypeMap()); err != nil {
		return err
	}
	r.kinds = make([]cellKind, len(fields))
	for i, f := range fields {
		if r.elems[i] != nil {
			r.kinds[i] = cellArray
		} else {
			r.kinds[i] = cellKindOf(f.DataTypeOID)
		}
	}
	rows := r.q.Options.BatchRows
	if rows <= 0 {
		rows = 10_000
	}
	sql := "COPY (" + r.q.SQL + ") TO STDOUT"
	go func() {
		defer close(r.done)
		w := &copyWriter{r: r, rows: rows}
		_, err := r.pg.CopyTo(ctx, w, sql)
		if err == nil && w.n > 0 {
			err = w.emit()
		}
		if err != nil && w.stopped {
			err = errStopped
		}
		r.copyErr = err
	}()
	return nil
}

var errStopped = errors.New("reader closed")

// copyWriter receives the COPY data (one message per row) and hands out
// batches of whole rows.
type copyWriter struct {
	r       *copyReader
	rows    int
	buf     []byte
	n       int
	last    int // bytes of the last batch
	stopped bool
}

func (w *copyWriter) Write(p []byte) (int, error) {
	if w.buf == nil {
		select {
		case b := <-w.r.free:
			w.buf = b[:0]
		default:
			// room for a batch like the last one, so appends do not regrow
			w.buf = make([]byte, 0, max(1<<20, w.last+w.last/8))
		}
	}
	if len(w.buf)+len(p) > cap(w.buf) && w.last == 0 && w.n > 0 {
		// the first batch: size it from the rows so far instead of
		// doubling (each doubling copies and touches fresh pages)
		nb := make([]byte, len(w.buf), max(2*cap(w.buf), len(w.buf)/w.n*w.rows*9/8))
		copy(nb, w.buf)
		w.buf = nb
	}
	w.buf = append(w.buf, p...)
	w.n += bytes.Count(p, []byte{'\n'})
	if w.n >= w.rows && w.buf[len(w.buf)-1] == '\n' {
		if err := w.emit(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (w *copyWriter) emit() error {
	select {
	case w.r.batches <- copyBatch{buf: w.buf, rows: w.n}:
		w.last = len(w.buf)
		w.buf, w.n = nil, 0
		return nil
	case <-w.r.quit:
		w.stopped = true
		return errStopped
	}
}

func (r *copyReader) Columns() []pipeline.Column { return r.q.Table.Columns }

// NewRowDecoder implements pipeline.RawSource.
func (r *copyReader) NewRowDecoder() pipeline.RowDecoder {
	return newCopyDecoder(r.q.Table.Columns, r.kinds, r.elems)
}

// Next returns the next batch of raw COPY rows.
func (r *copyReader) Next(ctx context.Context) (*pipeline.Batch, error) {
	if r.closed {
		return nil, fmt.Errorf("postgres: read %s.%s: %w", r.q.Table.Schema, r.q.Table.Name, errStopped)
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.eof {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case cb := <-r.batches:
		return r.batch(cb), nil
	case <-r.done:
		select { // a batch sent just before the end
		case cb := <-r.batches:
			return r.batch(cb), nil
		default:
		}
		if err := r.copyErr; err != nil {
			r.err = fmt.Errorf("postgres: read %s.%s after %d rows: %w", r.q.Table.Schema, r.q.Table.Name, r.read, classify(err))
			return nil, r.err
		}
		r.eof = true
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *copyReader) batch(cb copyBatch) *pipeline.Batch {
	r.read += int64(cb.rows)
	b := &pipeline.Batch{Seq: r.seq, Raw: cb.buf, RawRows: cb.rows}
	r.seq++
	var released atomic.Bool
	b.Release = func() {
		if released.Swap(true) {
			return
		}
		select {
		case r.free <- cb.buf:
		default:
		}
	}
	return b
}

// Close stops the COPY if it is unfinished (dropping the connection: the
// only way not to read the rest of the table), ends the transaction and
// returns the connection to the pool.
func (r *copyReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	close(r.quit)
	select {
	case <-r.done:
	default:
		_ = r.pg.Conn().Close() // unblocks a CopyTo waiting for the server
		<-r.done
	}
	rollback(r.pg)
	r.conn.Release()
	r.cancel()
	return nil
}

var _ pipeline.RawSource = (*copyReader)(nil)
