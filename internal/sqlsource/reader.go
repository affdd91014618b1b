package sqlsource

import (
	"context"
	"database/sql"
	"fmt"
	"io"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// sqlReader reads one table through database/sql in batches.
type sqlReader struct {
	c       *Connector
	q       Query
	cancel  context.CancelFunc
	conn    *sql.Conn
	tx      *sql.Tx
	rows    *sql.Rows
	conv    []func(any) (any, error)
	vals    []any
	dest    []any
	batches *Batches
	read    int
	done    bool
	err     error
}

// OpenSQL starts q through database/sql: its own connection, the setup's
// transaction and statements, then the SELECT with Dialect.QueryArgs. It is
// what Open uses unless the dialect is a NativeReader.
func (c *Connector) OpenSQL(ctx context.Context, q Query) (pipeline.Source, error) {
	q.Options = readDefaults(q.Options)
	ctx, cancel := context.WithCancel(ctx)
	r := &sqlReader{c: c, q: q, cancel: cancel}
	var err error
	if r.conn, r.tx, err = c.begin(ctx, q.Setup); err != nil {
		cancel()
		return nil, c.errorf("open %s: %w", q.Table.Name, err)
	}
	args := append(append([]any(nil), q.Args...), c.d.QueryArgs(q.Options)...)
	if r.tx != nil {
		r.rows, err = r.tx.QueryContext(ctx, q.SQL, args...)
	} else {
		r.rows, err = r.conn.QueryContext(ctx, q.SQL, args...)
	}
	if err == nil {
		err = r.prepare()
	}
	if err != nil {
		r.Close()
		return nil, c.errorf("open %s: %w", q.Table.Name, err)
	}
	return r, nil
}

func (r *sqlReader) prepare() error {
	cts, err := r.rows.ColumnTypes()
	if err != nil {
		return err
	}
	cols := r.q.Table.Columns
	if len(cts) != len(cols) {
		return fmt.Errorf("query returned %d columns, the table was described with %d (did it change?)", len(cts), len(cols))
	}
	r.conv = make([]func(any) (any, error), len(cts))
	for i, ct := range cts {
		r.conv[i] = r.c.d.Converter(cols[i], columnInfo(ct))
	}
	r.vals = make([]any, len(cts))
	r.dest = make([]any, len(cts))
	for i := range r.vals {
		r.dest[i] = &r.vals[i]
	}
	r.batches = NewBatches(len(cts), r.q.Options.BatchRows, 4)
	return nil
}

func (r *sqlReader) Columns() []pipeline.Column { return r.q.Table.Columns }

func (r *sqlReader) Next(ctx context.Context) (*pipeline.Batch, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := r.q.Options.Limit
	store := r.batches.Rows()
	n := 0
	var bytes int64
	for n < len(store) && (limit == 0 || r.read < limit) && (r.q.BatchBytes <= 0 || bytes < r.q.BatchBytes) {
		if !r.rows.Next() {
			if err := r.rows.Err(); err != nil {
				return nil, r.fail(err)
			}
			r.done = true
			break
		}
		if err := r.rows.Scan(r.dest...); err != nil {
			return nil, r.fail(err)
		}
		row := store[n]
		for j, v := range r.vals {
			if v != nil && r.conv[j] != nil {
				var err error
				if v, err = r.conv[j](v); err != nil {
					return nil, r.fail(fmt.Errorf("column %s: %w", r.q.Table.Columns[j].Name, err))
				}
			}
			row[j] = v
			if r.q.BatchBytes > 0 {
				switch x := v.(type) {
				case string:
					bytes += int64(len(x))
				case []byte:
					bytes += int64(len(x))
				}
			}
		}
		n++
		r.read++
	}
	if limit > 0 && r.read >= limit {
		r.done = true
	}
	if n == 0 {
		return nil, io.EOF
	}
	return r.batches.Batch(store, n), nil
}

func (r *sqlReader) fail(err error) error {
	r.err = r.c.errorf("read %s after %d rows: %w", r.q.Table.Name, r.read, err)
	return r.err
}

// Close ends the query without draining it, rolls back and returns the
// connection.
func (r *sqlReader) Close() error {
	if r.cancel == nil {
		return nil
	}
	if !r.done {
		r.cancel() // abandon an unfinished result instead of reading it to the end
	}
	if r.rows != nil {
		r.rows.Close()
	}
	rollback(r.tx)
	if r.conn != nil {
		r.conn.Close()
	}
	r.cancel()
	r.cancel = nil
	return nil
}
