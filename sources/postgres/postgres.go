package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Options configures Open. Zero values mean the defaults.
type Options struct {
	// MaxOpen is the most connections (default 20, spec FR-01.2).
	MaxOpen int
	// MinIdle is the connections pgxpool keeps open (default 5).
	MinIdle int
	// DatabaseSQL reads tables through database/sql (the path the Oracle
	// dialect takes) instead of pgx's native reader. For tests and
	// comparisons; the native reader is faster. It knows array element
	// types by the driver's names only: box's delimiter, but not domains
	// over element types or arrays of types the driver does not know.
	DatabaseSQL bool
	// RowReader reads through pgx's rows even when the caller asks for raw
	// batches (pipeline.ReadOptions.Raw) instead of COPY text: slower, the
	// escape hatch should a server or type ever disagree with the COPY
	// decoder. The output is the same (TestCopyMatchesNative).
	RowReader bool
	// FetchTimeout and SnapshotTimeout bound the waits of a reader and of
	// a job's snapshot (sqlsource.Options; defaults 5 and 2 minutes,
	// negative: none).
	FetchTimeout, SnapshotTimeout time.Duration
	// ConnectTimeout bounds opening one connection when the DSN sets no
	// connect_timeout (default DefaultConnectTimeout).
	ConnectTimeout time.Duration
}

// DefaultConnectTimeout bounds opening one connection when the DSN sets
// no connect_timeout, so a server that accepts TCP but never answers fails
// the connect instead of hanging it.
const DefaultConnectTimeout = 10 * time.Second

// Validate reports options out of range.
func (o Options) Validate() error {
	err := sqlsource.Options{MaxOpen: o.MaxOpen, MinIdle: o.MinIdle}.Validate()
	if err != nil {
		return fmt.Errorf("postgres: %w", errors.Unwrap(err))
	}
	return nil
}

// Connector is a PostgreSQL pipeline.Connector and pipeline.RangeSplitter:
// the shared sqlsource machinery over a pgxpool, with pgx's native reader.
type Connector struct {
	*sqlsource.Connector
	pool *pgxpool.Pool
}

var (
	_ pipeline.Connector     = (*Connector)(nil)
	_ pipeline.RangeSplitter = (*Connector)(nil)
)

// Open connects to dsn (postgres://user@host:port/db?sslmode=…, or a
// key=value string; the password may come from PGPASSWORD) and checks the
// connection. Errors never contain the password.
func Open(ctx context.Context, dsn string, opts Options) (*Connector, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	so := sqlsource.Options{MaxOpen: opts.MaxOpen, MinIdle: opts.MinIdle,
		FetchTimeout: opts.FetchTimeout, SnapshotTimeout: opts.SnapshotTimeout}.WithDefaults()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	cfg.MaxConns, cfg.MinConns = int32(so.MaxOpen), int32(so.MinIdle)
	if cfg.ConnConfig.ConnectTimeout <= 0 { // none in the DSN (connect_timeout=0 is "none" too)
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
		if opts.ConnectTimeout > 0 {
			cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", classify(err))
	}
	so.ExternalPool = true
	so.PoolStats = func() pipeline.PoolStats {
		s := pool.Stat()
		return pipeline.PoolStats{MaxOpen: int(s.MaxConns()), MinIdle: int(cfg.MinConns), Open: int(s.TotalConns()), InUse: int(s.AcquiredConns()), Idle: int(s.IdleConns())}
	}
	var d sqlsource.Dialect = nativeDialect{pool: pool, rowReader: opts.RowReader}
	if opts.DatabaseSQL {
		d = dialect{}
	}
	c, err := sqlsource.New(stdlib.OpenDBFromPool(pool), d, so)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &Connector{Connector: c, pool: pool}, nil
}

// Describe resolves and describes a table (sqlsource.Connector.Describe)
// and types every array column TypeJSON, also those of element types the
// driver does not name (money[], regclass[], arrays of domains, …), by
// asking the catalog: the readers write every array as a JSON array.
func (c *Connector) Describe(ctx context.Context, name string) (pipeline.TableInfo, error) {
	t, err := c.Connector.Describe(ctx, name)
	if err != nil {
		return t, err
	}
	if err := c.typeArrays(ctx, &t); err != nil {
		return pipeline.TableInfo{}, fmt.Errorf("postgres: describe %s.%s: %w", t.Schema, t.Name, classify(err))
	}
	return t, nil
}

func (c *Connector) typeArrays(ctx context.Context, t *pipeline.TableInfo) error {
	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	pg := conn.Conn().PgConn()
	rr := pg.ExecParams(ctx, `SELECT a.attname::text, a.atttypid::int8::text
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1::text AND c.relname = $2::text AND a.attnum > 0 AND NOT a.attisdropped`,
		[][]byte{[]byte(t.Schema), []byte(t.Name)}, nil, nil, nil)
	typeOf := map[string]uint32{}
	var oids []uint32
	for rr.NextRow() {
		v := rr.Values()
		o, err := strconv.ParseUint(string(v[1]), 10, 32)
		if err != nil {
			rr.Close()
			return fmt.Errorf("type oid %q: %w", v[1], err)
		}
		typeOf[string(v[0])] = uint32(o)
		oids = append(oids, uint32(o))
	}
	if _, err := rr.Close(); err != nil {
		return err
	}
	ats, err := arrayTypes(ctx, pg, oids)
	if err != nil {
		return err
	}
	for i, col := range t.Columns {
		if o, ok := typeOf[col.Name]; ok {
			if _, ok := ats[o]; ok {
				t.Columns[i].Type = pipeline.TypeJSON
			}
		}
	}
	return nil
}

// Close closes the database/sql handle and the pool.
func (c *Connector) Close() error {
	err := c.Connector.Close()
	c.pool.Close()
	return err
}
