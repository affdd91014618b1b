package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// nativeDialect reads tables with pgx's wire-level interface: one prepared
// query, binary results for fixed-size types and text for the rest, raw
// column bytes decoded without database/sql's per-value conversions. Rows
// stream from the socket; nothing holds more than one batch.
type nativeDialect struct {
	dialect
	pool      *pgxpool.Pool
	rowReader bool // never COPY (Options.RowReader)
}

var _ sqlsource.NativeReader = nativeDialect{}

func classify(err error) error {
	if err == nil || pipeline.IsTransient(err) {
		return err
	}
	if e := (dialect{}).Classify(err); pipeline.IsTransient(e) {
		return e
	} else {
		err = e
	}
	return sqlsource.ClassifyCommon(err)
}

func beginSQL(setup sqlsource.ReadSetup) string {
	var parts []string
	if setup.Tx != nil {
		b := "BEGIN"
		switch setup.Tx.Isolation {
		case sql.LevelRepeatableRead, sql.LevelSnapshot:
			b += " ISOLATION LEVEL REPEATABLE READ"
		case sql.LevelSerializable, sql.LevelLinearizable:
			b += " ISOLATION LEVEL SERIALIZABLE"
		case sql.LevelReadCommitted:
			b += " ISOLATION LEVEL READ COMMITTED"
		}
		if setup.Tx.ReadOnly {
			b += " READ ONLY"
		}
		parts = append(parts, b)
	}
	parts = append(parts, setup.Statements...)
	return strings.Join(parts, "; ")
}

// OpenNative acquires a connection, begins the read transaction (importing
// the snapshot) in one round trip, prepares the SELECT and starts it.
func (d nativeDialect) OpenNative(ctx context.Context, q sqlsource.Query) (pipeline.Source, error) {
	// COPY takes no bind arguments: a read with arguments (an incremental
	// window's typed bounds) uses the row reader, which binds them in
	// binary, typed as the statement's parameters.
	if q.Options.Raw && !d.rowReader && len(q.Args) == 0 {
		return d.openCopy(ctx, q)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel) // cancelling Open's ctx aborts the open
	defer stop()
	conn, err := d.pool.Acquire(rctx)
	if err != nil {
		cancel()
		return nil, err
	}
	r := &reader{q: q, conn: conn, pg: conn.Conn().PgConn(), cancel: cancel}
	if err := r.start(rctx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

type reader struct {
	q       sqlsource.Query
	conn    *pgxpool.Conn
	pg      *pgconn.PgConn
	cancel  context.CancelFunc
	rr      *pgconn.ResultReader
	dec     []decoder
	alloc   alloc
	batches *sqlsource.Batches
	read    int
	done    bool // result read to the end (rr closed)
	err     error
}

func (r *reader) start(ctx context.Context) error {
	if _, err := r.pg.Exec(ctx, textSetupSQL(r.q.Setup)).ReadAll(); err != nil {
		return err
	}
	fields, params, err := prepareParams(ctx, r.pg, r.q)
	if err != nil {
		return err
	}
	arrs, asked, err := fieldArrays(ctx, r.pg, fields, r.conn.Conn().TypeMap())
	if err != nil {
		return err
	}
	if asked { // the catalog query replaced the unnamed statement
		if fields, params, err = prepareParams(ctx, r.pg, r.q); err != nil {
			return err
		}
	}
	values, pformats, err := encodeParams(r.conn.Conn().TypeMap(), params, r.q.Args)
	if err != nil {
		return err
	}
	formats := make([]int16, len(fields))
	r.dec = make([]decoder, len(fields))
	for i, f := range fields {
		formats[i], r.dec[i] = plan(f.DataTypeOID, arrs[i])
	}
	r.batches = sqlsource.NewBatches(len(fields), r.q.Options.BatchRows, 4)
	r.rr = r.pg.ExecPrepared(ctx, "", values, pformats, formats)
	return nil
}

func (r *reader) Columns() []pipeline.Column { return r.q.Table.Columns }

// Next decodes up to BatchRows rows. Cancelling ctx interrupts a read
// blocked on the network (the reader is then unusable).
func (r *reader) Next(ctx context.Context) (*pipeline.Batch, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, r.cancel)
	defer stop()
	store := r.batches.Rows()
	n := 0
	for n < len(store) {
		if !r.rr.NextRow() {
			_, err := r.rr.Close()
			r.done = true
			if err != nil {
				return nil, r.fail(err)
			}
			break
		}
		row := store[n]
		for j, v := range r.rr.Values() {
			if v == nil {
				row[j] = nil
				continue
			}
			x, err := r.dec[j](&r.alloc, v)
			if err != nil {
				return nil, r.fail(fmt.Errorf("column %s: %w", r.q.Table.Columns[j].Name, err))
			}
			row[j] = x
		}
		n++
		r.read++
	}
	if n == 0 {
		return nil, io.EOF
	}
	return r.batches.Batch(store, n), nil
}

func (r *reader) fail(err error) error {
	r.err = fmt.Errorf("postgres: read %s.%s after %d rows: %w", r.q.Table.Schema, r.q.Table.Name, r.read, classify(err))
	if !r.done {
		r.abandon()
	}
	return r.err
}

// abandon drops the connection under an unfinished result: closing the
// socket is the only way not to read the rest of the table.
func (r *reader) abandon() {
	if r.rr != nil && !r.done {
		_ = r.pg.Conn().Close()
		_, _ = r.rr.Close()
		r.done = true
	}
}

// Close ends the read transaction and returns the connection to the pool;
// an unfinished result is abandoned (its connection discarded), never drained.
func (r *reader) Close() error {
	if r.conn == nil {
		return nil
	}
	if r.rr != nil && !r.done {
		r.abandon()
	} else {
		rollback(r.pg)
	}
	r.conn.Release()
	r.conn = nil
	r.cancel()
	return nil
}

// rollback ends the read transaction of a connection that is still usable.
func rollback(pg *pgconn.PgConn) {
	if !pg.IsClosed() && pg.TxStatus() != 'I' {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _ = pg.Exec(ctx, "ROLLBACK").ReadAll()
		cancel()
	}
}

// prepare prepares q's statement (unnamed) and checks that it returns the
// columns the table was described with, in order: both readers decode by
// position.
func prepare(ctx context.Context, pg *pgconn.PgConn, q sqlsource.Query) ([]pgconn.FieldDescription, error) {
	fields, _, err := prepareParams(ctx, pg, q)
	return fields, err
}

// encodeParams encodes args in binary as the types the server gave the
// statement's parameters (a window bound on a timestamptz column is sent
// as a timestamptz, never as text to be parsed in some zone).
func encodeParams(m *pgtype.Map, oids []uint32, args []any) ([][]byte, []int16, error) {
	if len(oids) != len(args) {
		return nil, nil, fmt.Errorf("query has %d parameters, %d arguments given", len(oids), len(args))
	}
	values := make([][]byte, len(args))
	formats := make([]int16, len(args))
	for i, a := range args {
		formats[i] = pgtype.BinaryFormatCode
		b, err := m.Encode(oids[i], pgtype.BinaryFormatCode, a, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("parameter %d: %w", i+1, err)
		}
		if b == nil {
			return nil, nil, fmt.Errorf("parameter %d is NULL", i+1)
		}
		values[i] = b
	}
	return values, formats, nil
}

func prepareParams(ctx context.Context, pg *pgconn.PgConn, q sqlsource.Query) ([]pgconn.FieldDescription, []uint32, error) {
	sd, err := pg.Prepare(ctx, "", q.SQL, nil)
	if err != nil {
		return nil, nil, err
	}
	cols := q.Table.Columns
	if len(sd.Fields) != len(cols) {
		return nil, nil, fmt.Errorf("query returns %d columns, the table was described with %d (did it change?)", len(sd.Fields), len(cols))
	}
	for i, f := range sd.Fields {
		if f.Name != cols[i].Name {
			return nil, nil, fmt.Errorf("column %d is %q, the table was described with %q (did it change?)", i, f.Name, cols[i].Name)
		}
	}
	return sd.Fields, sd.ParamOIDs, nil
}
