package sqlsource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Defaults of Options (spec FR-01.2, FR-02.1, FR-02.3).
const (
	DefaultMaxOpen        = 20
	DefaultMinIdle        = 5
	DefaultBatchRows      = 10000
	DefaultFetchArraySize = 1000
)

// MaxPool bounds a SQL source's pool: Options.MaxOpen, and the Oracle
// session pool's PoolMax.
const MaxPool = 1000

// CheckPool is the rule of a SQL source's pool, the one both sources'
// settings (Options.MaxOpen/MinIdle, the Oracle PoolMax/PoolMin, package
// config's postgres.* and oracle.pool_*) are checked with: at most 1..MaxPool
// connections, of which 1..that many kept open. It returns the problem of
// each, "" when it is valid, e.g. "30 is out of range 1..20". The sources
// take a zero minimum as their default (5, or the maximum if smaller), so
// 0 is not "none" and a configuration that sets it is told so.
func CheckPool(minOpen, maxOpen int) (minProblem, maxProblem string) {
	return intRange(minOpen, 1, min(max(maxOpen, 1), MaxPool)), intRange(maxOpen, 1, MaxPool)
}

func intRange(v, lo, hi int) string {
	if v < lo || v > hi {
		return fmt.Sprintf("%d is out of range %d..%d", v, lo, hi)
	}
	return ""
}

// Options configures a Connector. Zero values mean the defaults.
type Options struct {
	// MaxOpen is the most open connections (default 20).
	MaxOpen int
	// MinIdle is the connections kept idle for reuse (default 5).
	// database/sql has no minimum, so this is SetMaxIdleConns; drivers with
	// their own pool (pgxpool) keep a real minimum.
	MinIdle int
	// ConnMaxIdleTime closes connections idle longer than this (0: never).
	ConnMaxIdleTime time.Duration
	// ExternalPool leaves the *sql.DB pool settings alone because the
	// driver pools connections itself (stdlib.OpenDBFromPool).
	ExternalPool bool
	// PoolStats, if set, reports the pool for Status instead of db.Stats.
	PoolStats func() pipeline.PoolStats
	// FetchTimeout bounds how long a reader waits for the source: to start
	// its query and for each next batch; and Describe and Ranges (default
	// DefaultFetchTimeout, negative: no bound). A reader that waits longer is cancelled and fails
	// with a transient error wrapping ErrStalled, which the table's retry
	// policy retries.
	FetchTimeout time.Duration
	// SnapshotTimeout bounds opening a job's snapshot (default
	// DefaultSnapshotTimeout, negative: no bound); Snapshot then fails with
	// an error wrapping ErrSnapshotTimeout.
	SnapshotTimeout time.Duration
}

// Validate reports options out of range (CheckPool). A zero MaxOpen or
// MinIdle is valid: WithDefaults gives it its default.
func (o Options) Validate() error {
	var errs []error
	maxOpen := o.MaxOpen
	if maxOpen == 0 {
		maxOpen = MaxPool // the default, and MinIdle is cut to it
	}
	minP, maxP := CheckPool(o.MinIdle, maxOpen)
	if o.MinIdle == 0 {
		minP = "" // the default
	}
	if maxP != "" {
		errs = append(errs, fmt.Errorf("max open connections: %s", maxP))
	}
	if minP != "" {
		errs = append(errs, fmt.Errorf("min idle connections: %s", minP))
	}
	if o.ConnMaxIdleTime < 0 {
		errs = append(errs, fmt.Errorf("negative connection idle time %s", o.ConnMaxIdleTime))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlsource: invalid options: %w", err)
	}
	return nil
}

// WithDefaults returns o with zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.MaxOpen == 0 {
		o.MaxOpen = DefaultMaxOpen
	}
	if o.MinIdle == 0 {
		o.MinIdle = DefaultMinIdle
	}
	if o.MinIdle > o.MaxOpen {
		o.MinIdle = o.MaxOpen
	}
	if o.FetchTimeout == 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.SnapshotTimeout == 0 {
		o.SnapshotTimeout = DefaultSnapshotTimeout
	}
	return o
}

// Connector is a pipeline.Connector (and pipeline.RangeSplitter) over a
// *sql.DB and a Dialect. It owns db: Close closes it.
type Connector struct {
	db   *sql.DB
	d    Dialect
	opts Options
}

var (
	_ pipeline.Connector     = (*Connector)(nil)
	_ pipeline.RangeSplitter = (*Connector)(nil)
)

// New returns a Connector reading db with dialect d. It applies the pool
// options to db unless opts.ExternalPool; it does not connect.
func New(db *sql.DB, d Dialect, opts Options) (*Connector, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.WithDefaults()
	if !opts.ExternalPool {
		db.SetMaxOpenConns(opts.MaxOpen)
		db.SetMaxIdleConns(opts.MinIdle)
		db.SetConnMaxIdleTime(opts.ConnMaxIdleTime)
	}
	return &Connector{db: db, d: d, opts: opts}, nil
}

// DB is the connector's pool, for dialect-specific work.
func (c *Connector) DB() *sql.DB { return c.db }

// Dialect is the connector's dialect.
func (c *Connector) Dialect() Dialect { return c.d }

// FoldCase folds an unquoted identifier the way the database does.
func (c *Connector) FoldCase(s string) string { return c.d.FoldCase(s) }

// Kind is the dialect's kind.
func (c *Connector) Kind() string { return c.d.Kind() }

// Close closes the pool.
func (c *Connector) Close() error { return c.db.Close() }

func (c *Connector) errorf(format string, args ...any) error {
	// the last argument is the error; classify it once at this boundary.
	if n := len(args); n > 0 {
		if err, ok := args[n-1].(error); ok {
			args[n-1] = c.classify(err)
		}
	}
	return fmt.Errorf(c.d.Kind()+": "+format, args...)
}

func (c *Connector) classify(err error) error {
	if err == nil || pipeline.IsTransient(err) {
		return err
	}
	if e := c.d.Classify(err); e != nil && pipeline.IsTransient(e) {
		return e
	} else if e != nil {
		err = e
	}
	return ClassifyCommon(err)
}

// Tables lists the readable tables with estimated row counts, or exact
// COUNT(*)s when exact (one query per table, current state).
func (c *Connector) Tables(ctx context.Context, exact bool) ([]pipeline.TableInfo, error) {
	ts, err := c.queryTables(ctx, c.d.ListTablesSQL())
	if err != nil {
		return nil, c.errorf("list tables: %w", err)
	}
	if exact {
		for i := range ts {
			n, err := c.count(ctx, ts[i], "")
			if err != nil {
				return nil, c.errorf("count %s.%s: %w", ts[i].Schema, ts[i].Name, err)
			}
			ts[i].Rows, ts[i].RowsExact = n, true
		}
	}
	return ts, nil
}

// Count returns COUNT(*) of a resolved table, as of snap when not nil.
// It is not bounded by FetchTimeout: COUNT(*) of a large table answers
// only when it is done.
func (c *Connector) Count(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot) (int64, error) {
	setup, err := c.d.ReadSetup(snap)
	if err != nil {
		return 0, fmt.Errorf("%s: count %s: %w", c.d.Kind(), t.Name, err)
	}
	if setup.Tx == nil && len(setup.Statements) == 0 {
		n, err := c.count(ctx, t, setup.AsOf)
		if err != nil {
			return 0, c.errorf("count %s: %w", t.Name, err)
		}
		return n, nil
	}
	conn, tx, err := c.begin(ctx, setup)
	if err != nil {
		return 0, c.errorf("count %s: %w", t.Name, err)
	}
	defer conn.Close()
	defer rollback(tx)
	var n int64
	q := c.d.CountSQL(c.quoteTable(t), setup.AsOf)
	if tx != nil {
		err = tx.QueryRowContext(ctx, q).Scan(&n)
	} else {
		err = conn.QueryRowContext(ctx, q).Scan(&n)
	}
	if err != nil {
		return 0, c.errorf("count %s: %w", t.Name, err)
	}
	return n, nil
}

func (c *Connector) count(ctx context.Context, t pipeline.TableInfo, asOf string) (int64, error) {
	var n int64
	err := c.db.QueryRowContext(ctx, c.d.CountSQL(c.quoteTable(t), asOf)).Scan(&n)
	return n, err
}

func (c *Connector) queryTables(ctx context.Context, q string, args ...any) ([]pipeline.TableInfo, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []pipeline.TableInfo
	for rows.Next() {
		var t pipeline.TableInfo
		var cols, est sql.NullInt64
		if err := rows.Scan(&t.Schema, &t.Name, &cols, &est); err != nil {
			return nil, err
		}
		t.ColumnCount = int(cols.Int64)
		t.Rows = -1
		if est.Valid && est.Int64 >= 0 {
			t.Rows = est.Int64
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

func (c *Connector) quoteTable(t pipeline.TableInfo) string {
	if t.Schema == "" {
		return c.d.QuoteIdent(t.Name)
	}
	return c.d.QuoteIdent(t.Schema) + "." + c.d.QuoteIdent(t.Name)
}

// QuoteTable is the quoted schema.name of a resolved table.
func (c *Connector) QuoteTable(t pipeline.TableInfo) string { return c.quoteTable(t) }

// Describe resolves a user-given name ("table", "schema.table", quoted parts
// keep their case) against the catalog and returns the table with its
// columns in table order. Unknown names give an error wrapping
// pipeline.ErrTableNotFound; the name is only ever a bind argument.
func (c *Connector) Describe(ctx context.Context, name string) (t pipeline.TableInfo, err error) {
	err = c.bounded(ctx, "the catalog to describe "+name, func(ctx context.Context) error {
		t, err = c.describe(ctx, name)
		return err
	})
	return t, err
}

func (c *Connector) describe(ctx context.Context, name string) (pipeline.TableInfo, error) {
	ref, err := pipeline.ParseTableName(name)
	if err != nil {
		return pipeline.TableInfo{}, fmt.Errorf("%s: table %q: %w", c.d.Kind(), name, err)
	}
	q, args := c.d.FindTableSQL(ref.Schema, ref.Name)
	cands, err := c.queryTables(ctx, q, args...)
	if err != nil {
		return pipeline.TableInfo{}, c.errorf("resolve table %q: %w", name, err)
	}
	t, err := pick(ref, cands, c.d.FoldCase)
	if err != nil {
		return pipeline.TableInfo{}, fmt.Errorf("%s: table %q: %w", c.d.Kind(), name, err)
	}
	cols, _, err := c.columns(ctx, t)
	if err != nil {
		return pipeline.TableInfo{}, c.errorf("describe %s.%s: %w", t.Schema, t.Name, err)
	}
	t.Columns = cols
	t.ColumnCount = len(cols)
	return t, nil
}

func (c *Connector) columns(ctx context.Context, t pipeline.TableInfo) ([]pipeline.Column, []ColumnInfo, error) {
	rows, err := c.db.QueryContext(ctx, c.d.ProbeSQL(c.quoteTable(t)))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, nil, err
	}
	cols := make([]pipeline.Column, len(cts))
	infos := make([]ColumnInfo, len(cts))
	for i, ct := range cts {
		infos[i] = columnInfo(ct)
		cols[i] = c.d.Column(infos[i])
		cols[i].Name = infos[i].Name
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if cc, ok := c.d.(ColumnCatalog); ok {
		if err := c.mergeCatalog(ctx, cc, t, cols); err != nil {
			return nil, nil, err
		}
	}
	return cols, infos, nil
}

func (c *Connector) mergeCatalog(ctx context.Context, cc ColumnCatalog, t pipeline.TableInfo, cols []pipeline.Column) error {
	q, args := cc.ColumnsSQL(t.Schema, t.Name)
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	byName := make(map[string]int, len(cols))
	for i, col := range cols {
		byName[col.Name] = i
	}
	for rows.Next() {
		var name, typ string
		var nullable bool
		if err := rows.Scan(&name, &typ, &nullable); err != nil {
			return err
		}
		if i, ok := byName[name]; ok {
			cols[i].SourceType, cols[i].Nullable = typ, nullable
		}
	}
	return rows.Err()
}

// Snapshot captures one consistent point in time (the dialect decides how).
func (c *Connector) Snapshot(ctx context.Context) (pipeline.Snapshot, error) {
	s, err := snapshotWithin(ctx, c.opts.SnapshotTimeout, c.d.Kind(), func(ctx context.Context) (pipeline.Snapshot, error) {
		return c.d.Snapshot(ctx, c.db)
	})
	if err != nil {
		return nil, c.errorf("snapshot: %w", err)
	}
	return s, nil
}

// Ranges splits t into at most n ranges when the dialect can (RangeDialect);
// otherwise, or for n <= 1, it returns one range covering the whole table.
func (c *Connector) Ranges(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, n int) ([]pipeline.Range, error) {
	rd, ok := c.d.(RangeDialect)
	if !ok || n <= 1 {
		return []pipeline.Range{{Index: 0, Total: 1}}, nil
	}
	var rs []pipeline.Range
	err := c.bounded(ctx, "the ranges of "+c.quoteTable(t), func(ctx context.Context) (err error) {
		rs, err = rd.Ranges(ctx, c.db, t.Schema, t.Name, c.quoteTable(t), n)
		return err
	})
	if err != nil {
		return nil, c.errorf("ranges of %s: %w", t.Name, err)
	}
	return rs, nil
}

// Status pings the database and reports version, latency, pool and the
// current snapshot id. Errors go into Status.Error.
func (c *Connector) Status(ctx context.Context) pipeline.Status {
	st := pipeline.Status{Kind: c.d.Kind()}
	if c.opts.PoolStats != nil {
		st.Pool = c.opts.PoolStats()
	} else {
		s := c.db.Stats()
		st.Pool = pipeline.PoolStats{MaxOpen: c.opts.MaxOpen, MinIdle: c.opts.MinIdle, Open: s.OpenConnections, InUse: s.InUse, Idle: s.Idle}
	}
	start := time.Now()
	if err := c.db.PingContext(ctx); err != nil {
		st.Error = c.errorf("ping: %w", err).Error()
		return st
	}
	st.Latency = time.Since(start)
	st.Reachable = true
	vq, sq := c.d.StatusSQL()
	var errs []error
	if vq != "" {
		if err := c.db.QueryRowContext(ctx, vq).Scan(&st.Version); err != nil {
			errs = append(errs, c.errorf("version: %w", err))
		}
	}
	if sq != "" {
		var s sql.NullString
		if err := c.db.QueryRowContext(ctx, sq).Scan(&s); err != nil {
			errs = append(errs, c.errorf("current snapshot: %w", err))
		}
		st.Snapshot = s.String
	}
	if err := errors.Join(errs...); err != nil {
		st.Error = err.Error()
	}
	return st
}

// Open returns a reader of t (resolved by Describe, with Columns) as of
// snap (nil: the current state, still one consistent read of the table).
func (c *Connector) Open(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("%s: open %s: table has no described columns (call Describe first)", c.d.Kind(), t.Name)
	}
	opts = readDefaults(opts)
	setup, err := c.d.ReadSetup(snap)
	if err != nil {
		return nil, fmt.Errorf("%s: open %s: %w", c.d.Kind(), t.Name, err)
	}
	cols := make([]string, len(t.Columns))
	for i, col := range t.Columns {
		cols[i] = c.d.QuoteIdent(col.Name)
	}
	q, args, err := c.SelectSQL(t, cols, setup.AsOf, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: open %s: %w", c.d.Kind(), t.Name, err)
	}
	what := c.quoteTable(t)
	if opts.Range != nil && opts.Range.Total > 1 {
		what += fmt.Sprintf(" range %d of %d", opts.Range.Index+1, opts.Range.Total)
	}
	return watch(ctx, c.opts.FetchTimeout, c.d.Kind(), what, func(ctx context.Context) (pipeline.Source, error) {
		if nr, ok := c.d.(NativeReader); ok {
			src, err := nr.OpenNative(ctx, Query{Table: t, SQL: q, Args: args, Setup: setup, Options: opts})
			if err != nil {
				return nil, c.errorf("open %s: %w", t.Name, err)
			}
			return src, nil
		}
		return c.OpenSQL(ctx, Query{Table: t, SQL: q, Args: args, Setup: setup, Options: opts})
	})
}

func readDefaults(o pipeline.ReadOptions) pipeline.ReadOptions {
	if o.BatchRows <= 0 {
		o.BatchRows = DefaultBatchRows
	}
	if o.FetchArraySize <= 0 {
		o.FetchArraySize = DefaultFetchArraySize
	}
	if o.Limit < 0 {
		o.Limit = 0
	}
	return o
}

// begin takes a connection of its own and starts the setup's transaction
// (if any) and statements on it.
func (c *Connector) begin(ctx context.Context, setup ReadSetup) (*sql.Conn, *sql.Tx, error) {
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	var tx *sql.Tx
	if setup.Tx != nil {
		if tx, err = conn.BeginTx(ctx, setup.Tx); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	for _, s := range setup.Statements {
		if tx != nil {
			_, err = tx.ExecContext(ctx, s)
		} else {
			_, err = conn.ExecContext(ctx, s)
		}
		if err != nil {
			rollback(tx)
			conn.Close()
			return nil, nil, err
		}
	}
	return conn, tx, nil
}

func rollback(tx *sql.Tx) {
	if tx != nil {
		_ = tx.Rollback()
	}
}

// Begin takes a connection of the pool for a dialect's own reader and
// starts the setup's transaction (if any) and statements on it, as the
// shared reader does. The caller rolls tx back (Rollback) and closes conn.
func (c *Connector) Begin(ctx context.Context, setup ReadSetup) (*sql.Conn, *sql.Tx, error) {
	return c.begin(ctx, setup)
}

// Rollback ends tx (nil: nothing), ignoring its error: a reader's
// transaction only ever read.
func Rollback(tx *sql.Tx) { rollback(tx) }

// Watch opens a dialect's own reader of t (one range r, or nil) through
// open under the stall watchdog of Options.FetchTimeout, as Open does for
// the shared readers: open's context is cancelled when the query does not
// start, or a Next gets no rows, within the timeout, and the call then
// fails with a transient error wrapping ErrStalled.
func (c *Connector) Watch(ctx context.Context, t pipeline.TableInfo, r *pipeline.Range, open func(context.Context) (pipeline.Source, error)) (pipeline.Source, error) {
	what := c.quoteTable(t)
	if r != nil && r.Total > 1 {
		what += fmt.Sprintf(" range %d of %d", r.Index+1, r.Total)
	}
	return watch(ctx, c.opts.FetchTimeout, c.d.Kind(), what, open)
}

// Errorf formats an error the way the shared readers do: prefixed with the
// dialect's kind, its last argument (an error) classified by the dialect
// (translated, transient when a retry may cure it).
func (c *Connector) Errorf(format string, args ...any) error { return c.errorf(format, args...) }
