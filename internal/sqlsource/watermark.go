package sqlsource

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

var _ pipeline.Watermarker = (*Connector)(nil)

// SelectSQL is the dialect's SELECT of the (quoted) columns of t with the
// read options' limit, range and window; a window needs a
// WatermarkDialect and a watermark column t has.
func (c *Connector) SelectSQL(t pipeline.TableInfo, cols []string, asOf string, opts pipeline.ReadOptions) (string, []any, error) {
	if opts.Window == nil {
		return c.d.SelectSQL(c.quoteTable(t), cols, asOf, opts.Limit, opts.Range)
	}
	wd, ok := c.d.(WatermarkDialect)
	if !ok {
		return "", nil, fmt.Errorf("incremental reads are not supported by %s", c.d.Kind())
	}
	col, err := WatermarkColumn(t, *opts.Window)
	if err != nil {
		return "", nil, err
	}
	return wd.WindowSelectSQL(c.quoteTable(t), cols, asOf, opts.Limit, opts.Range, col, *opts.Window)
}

// WatermarkColumn finds w's column among t's and checks w against it.
func WatermarkColumn(t pipeline.TableInfo, w pipeline.Window) (pipeline.Column, error) {
	if err := w.Validate(); err != nil {
		return pipeline.Column{}, err
	}
	for _, col := range t.Columns {
		if col.Name == w.Column {
			if k := pipeline.WatermarkKindOf(col.Type); k != w.Kind {
				return col, fmt.Errorf("watermark column %s is of type %s (kind %q), the window is of kind %q", col.Name, col.SourceType, k, w.Kind)
			}
			return col, nil
		}
	}
	return pipeline.Column{}, fmt.Errorf("watermark column %q is not a column of %s.%s", w.Column, t.Schema, t.Name)
}

func (c *Connector) watermarkDialect() (WatermarkDialect, error) {
	wd, ok := c.d.(WatermarkDialect)
	if !ok {
		return nil, fmt.Errorf("%s: incremental reads are not supported", c.d.Kind())
	}
	return wd, nil
}

// WatermarkStats reads MAX(column) and, when countNulls, the rows whose
// column is NULL, as of snap: in the snapshot's transaction (PostgreSQL)
// or AS OF its SCN (Oracle), so the maximum is that of the rows the job
// reads.
func (c *Connector) WatermarkStats(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, col pipeline.Column, countNulls bool) (pipeline.WatermarkStats, error) {
	setup, err := c.d.ReadSetup(snap)
	if err != nil {
		return pipeline.WatermarkStats{}, fmt.Errorf("%s: watermark of %s: %w", c.d.Kind(), t.Name, err)
	}
	return c.WatermarkStatsWith(ctx, t, setup, col, countNulls)
}

// WatermarkStatsWith is WatermarkStats with an explicit ReadSetup.
func (c *Connector) WatermarkStatsWith(ctx context.Context, t pipeline.TableInfo, setup ReadSetup, col pipeline.Column, countNulls bool) (pipeline.WatermarkStats, error) {
	wd, err := c.watermarkDialect()
	if err != nil {
		return pipeline.WatermarkStats{}, err
	}
	kind := pipeline.WatermarkKindOf(col.Type)
	if kind == "" {
		return pipeline.WatermarkStats{}, fmt.Errorf("%s: column %s of %s (%s) cannot be a watermark: want a date, timestamp or integer/decimal column",
			c.d.Kind(), col.Name, t.Name, col.SourceType)
	}
	q := wd.WatermarkSQL(c.quoteTable(t), col, setup.AsOf, countNulls)
	var maxV any
	var nulls sql.NullInt64
	scan := func(row *sql.Row) error { return row.Scan(&maxV, &nulls) }
	if setup.Tx == nil && len(setup.Statements) == 0 {
		err = scan(c.db.QueryRowContext(ctx, q))
	} else {
		conn, tx, berr := c.begin(ctx, setup)
		if berr != nil {
			return pipeline.WatermarkStats{}, c.errorf("watermark of %s: %w", t.Name, berr)
		}
		defer conn.Close()
		defer rollback(tx)
		if tx != nil {
			err = scan(tx.QueryRowContext(ctx, q))
		} else {
			err = scan(conn.QueryRowContext(ctx, q))
		}
	}
	if err != nil {
		return pipeline.WatermarkStats{}, c.errorf("watermark of %s: %w", t.Name, err)
	}
	st := pipeline.WatermarkStats{Nulls: -1}
	if countNulls {
		st.Nulls = nulls.Int64
	}
	if maxV != nil {
		v, err := pipeline.NewWatermarkValue(kind, maxV)
		if err != nil {
			return st, fmt.Errorf("%s: watermark of %s: %w", c.d.Kind(), t.Name, err)
		}
		st.Max = &v
	}
	return st, nil
}

// PrimaryKey lists t's primary key columns in key order (nil: none).
func (c *Connector) PrimaryKey(ctx context.Context, t pipeline.TableInfo) ([]string, error) {
	wd, err := c.watermarkDialect()
	if err != nil {
		return nil, err
	}
	q, args := wd.PrimaryKeySQL(t.Schema, t.Name)
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.errorf("primary key of %s: %w", t.Name, err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, c.errorf("primary key of %s: %w", t.Name, err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, c.errorf("primary key of %s: %w", t.Name, err)
	}
	return keys, nil
}

// Indexed reports whether an index of t leads with column.
func (c *Connector) Indexed(ctx context.Context, t pipeline.TableInfo, column string) (bool, error) {
	wd, err := c.watermarkDialect()
	if err != nil {
		return false, err
	}
	q, args := wd.IndexedSQL(t.Schema, t.Name, c.quoteTable(t), column)
	var n int64
	if err := c.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return false, c.errorf("indexes of %s: %w", t.Name, err)
	}
	return n > 0, nil
}
