package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// dialect is the PostgreSQL sqlsource.Dialect.
type dialect struct{}

var (
	_ sqlsource.Dialect          = dialect{}
	_ sqlsource.RangeDialect     = dialect{}
	_ sqlsource.ColumnCatalog    = dialect{}
	_ sqlsource.WatermarkDialect = dialect{}
)

func (dialect) Kind() string { return "postgres" }

const tableSelect = `SELECT n.nspname::text, c.relname::text,
  (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  CASE WHEN c.relkind IN ('r','m') AND c.reltuples >= 0 THEN c.reltuples::bigint END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r','p','v','m','f')
  AND n.nspname NOT IN ('pg_catalog','information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND has_table_privilege(c.oid, 'SELECT')`

// ListTablesSQL lists tables, partitioned tables, views, materialized and
// foreign tables the user may SELECT, outside the system schemas. The
// estimate is pg_class.reltuples; -1 (never vacuumed or analysed) → NULL.
func (dialect) ListTablesSQL() string { return tableSelect + "\nORDER BY 1, 2" }

// FindTableSQL finds the candidates for a user-given name case
// insensitively (sqlsource picks among them). Both sides are lower-cased
// under the database's default collation: the catalog's name type has
// collation "C", whose lower() leaves non-ASCII letters alone, so "Äpfel"
// would never be a candidate for ÄPFEL.
func (dialect) FindTableSQL(schema, name string) (string, []any) {
	return tableSelect + `
  AND lower(c.relname::text COLLATE "default") = lower($2::text COLLATE "default")
  AND (($1::text = '' AND pg_table_is_visible(c.oid)) OR ($1::text <> '' AND lower(n.nspname::text COLLATE "default") = lower($1::text COLLATE "default")))
ORDER BY 1, 2`, []any{schema, name}
}

func (dialect) ColumnsSQL(schema, name string) (string, []any) {
	return `SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1::text AND c.relname = $2::text AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, []any{schema, name}
}

// FoldCase folds an unquoted identifier as PostgreSQL does in a multi-byte
// (UTF-8) database (downcase_identifier): ASCII A-Z become a-z, every other
// letter keeps its case, so unquoted ÄPFEL names "Äpfel", not "äpfel".
func (dialect) FoldCase(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

func (dialect) QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func (dialect) ProbeSQL(table string) string { return "SELECT * FROM " + table + " LIMIT 0" }

func (dialect) CountSQL(table, _ string) string { return "SELECT count(*) FROM " + table }

// SelectSQL reads the columns in table order; a Range is a half-open span of
// heap pages [Lo, Hi) read with a TID range scan (Hi "" = to the end).
func (dialect) SelectSQL(table string, columns []string, _ string, limit int, r *pipeline.Range) (string, []any, error) {
	return selectSQL(table, columns, limit, r, nil, nil)
}

// WindowSelectSQL is SelectSQL with the rows of w: "col" > $1 AND "col" <=
// $2 (the lower bound only when w.Low is set). The parameters' types are
// the server's inference from the column (the column's own type); the
// bounds are sent typed, in binary (native reader) or as typed Go values
// (database/sql), never as text: a timestamptz bound is an instant, a
// timestamp or date bound a wall clock, a number exact.
func (dialect) WindowSelectSQL(table string, columns []string, _ string, limit int, r *pipeline.Range, col pipeline.Column, w pipeline.Window) (string, []any, error) {
	q := `"` + strings.ReplaceAll(col.Name, `"`, `""`) + `"`
	var conds []string
	var args []any
	if w.Low != nil {
		v, err := bindValue(*w.Low)
		if err != nil {
			return "", nil, err
		}
		args = append(args, v)
		conds = append(conds, fmt.Sprintf("%s > $%d", q, len(args)))
	}
	v, err := bindValue(w.High)
	if err != nil {
		return "", nil, err
	}
	args = append(args, v)
	conds = append(conds, fmt.Sprintf("%s <= $%d", q, len(args)))
	return selectSQL(table, columns, limit, r, conds, args)
}

// bindValue is a window bound as the Go value pgx encodes as the
// parameter's type: time.Time (a timestamptz as its instant; a timestamp
// or date as its wall clock, pgx discarding the location), numbers as
// pgtype.Numeric (exact).
func bindValue(v pipeline.WatermarkValue) (any, error) {
	if v.Kind != pipeline.WatermarkNumber {
		return v.Time, nil
	}
	var n pgtype.Numeric
	if err := n.Scan(v.Number); err != nil {
		return nil, fmt.Errorf("watermark %s: %w", v.Number, err)
	}
	return n, nil
}

func selectSQL(table string, columns []string, limit int, r *pipeline.Range, extra []string, args []any) (string, []any, error) {
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(columns, ", "))
	b.WriteString(" FROM ")
	b.WriteString(table)
	var conds []string
	if r != nil && (r.Lo != "" || r.Hi != "") {
		for _, p := range []struct{ v, op string }{{r.Lo, ">="}, {r.Hi, "<"}} {
			if p.v == "" {
				continue
			}
			page, err := strconv.ParseUint(p.v, 10, 32)
			if err != nil {
				return "", nil, fmt.Errorf("range bound %q is not a page number", p.v)
			}
			conds = append(conds, fmt.Sprintf("ctid %s '(%d,0)'::tid", p.op, page))
		}
	}
	conds = append(conds, extra...)
	if len(conds) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(conds, " AND "))
	}
	if limit > 0 {
		fmt.Fprintf(&b, " LIMIT %d", limit)
	}
	return b.String(), args, nil
}

// WatermarkSQL: max (a numeric as its exact text) and the NULL count,
// each a subquery an index on the column can answer (a btree holds NULLs).
func (d dialect) WatermarkSQL(table string, col pipeline.Column, _ string, countNulls bool) string {
	column := d.QuoteIdent(col.Name)
	maxExpr := "max(" + column + ")"
	if col.Type == pipeline.TypeDecimal {
		maxExpr += "::text"
	}
	nulls := "0::bigint"
	if countNulls {
		nulls = "(SELECT count(*) FROM " + table + " WHERE " + column + " IS NULL)"
	}
	return "SELECT (SELECT " + maxExpr + " FROM " + table + "), " + nulls
}

// PrimaryKeySQL lists the primary key's columns in key order.
func (dialect) PrimaryKeySQL(schema, name string) (string, []any) {
	return `SELECT a.attname::text
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE i.indisprimary AND n.nspname = $1::text AND c.relname = $2::text
ORDER BY k.ord`, []any{schema, name}
}

// IndexedSQL counts the indexes whose first column is column.
func (dialect) IndexedSQL(schema, name, _, column string) (string, []any) {
	return `SELECT count(*) FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
WHERE n.nspname = $1::text AND c.relname = $2::text AND a.attname = $3::text`, []any{schema, name, column}
}

// Ranges splits the table's heap into n page spans of about equal size.
func (dialect) Ranges(ctx context.Context, db *sql.DB, _, _, table string, n int) ([]pipeline.Range, error) {
	var pages int64
	err := db.QueryRowContext(ctx, "SELECT (pg_relation_size($1::regclass) / current_setting('block_size')::bigint)", table).Scan(&pages)
	if err != nil {
		return nil, err
	}
	if int64(n) > pages {
		n = int(max(pages, 1))
	}
	rs := make([]pipeline.Range, n)
	for i := range rs {
		rs[i] = pipeline.Range{Index: i, Total: n}
		if i > 0 {
			rs[i].Lo = strconv.FormatInt(pages*int64(i)/int64(n), 10)
		}
		if i < n-1 {
			rs[i].Hi = strconv.FormatInt(pages*int64(i+1)/int64(n), 10)
		}
	}
	return rs, nil
}

func (dialect) QueryArgs(pipeline.ReadOptions) []any { return nil }

func (dialect) StatusSQL() (string, string) {
	return "SHOW server_version", "SELECT pg_snapshot_xmax(pg_current_snapshot())::text"
}

// snapshotID matches pg_export_snapshot() output, e.g. 00000003-0000001B-1.
var snapshotID = regexp.MustCompile(`^[0-9A-Fa-f]{1,16}-[0-9A-Fa-f]{1,16}(-[0-9]{1,10})?$`)

// snapshot is an exported snapshot: the transaction that exported it stays
// open (holding one connection) until Close.
type snapshot struct {
	conn *sql.Conn
	tx   *sql.Tx
	id   string
}

func (s *snapshot) Info() pipeline.SnapshotInfo {
	return pipeline.SnapshotInfo{Kind: "pg_snapshot", ID: s.id, Note: "REPEATABLE READ READ ONLY transaction exported with pg_export_snapshot"}
}

// TableConsistency: every table is read in a transaction that imports
// this snapshot, so every table is of its point in time.
func (s *snapshot) TableConsistency(pipeline.TableInfo) (pipeline.TableConsistency, bool) {
	return pipeline.TableConsistency{Mode: pipeline.ConsistencySnapshot, ID: s.id, AtSnapshot: true}, true
}

func (s *snapshot) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.tx.Rollback()
	if cerr := s.conn.Close(); err == nil {
		err = cerr
	}
	s.conn = nil
	return err
}

// Snapshot opens one REPEATABLE READ READ ONLY transaction on a connection
// of its own and exports its snapshot.
func (dialect) Snapshot(ctx context.Context, db *sql.DB) (pipeline.Snapshot, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		conn.Close()
		return nil, err
	}
	s := &snapshot{conn: conn, tx: tx}
	if err := tx.QueryRowContext(ctx, "SELECT pg_export_snapshot()").Scan(&s.id); err != nil {
		s.Close()
		return nil, err
	}
	if !snapshotID.MatchString(s.id) {
		s.Close()
		return nil, fmt.Errorf("unexpected snapshot id %q", s.id)
	}
	return s, nil
}

// ReadSetup: every reader runs in its own REPEATABLE READ READ ONLY
// transaction; with a snapshot it imports it first. Synchronized sequential
// scans are off in it, so a whole-table read starts at page 0 and gives the
// rows in the same physical order as its ctid ranges read one after another
// (with them on, a scan of a table larger than a quarter of shared_buffers
// may start where another scan of it is or was).
func (dialect) ReadSetup(snap pipeline.Snapshot) (sqlsource.ReadSetup, error) {
	setup := sqlsource.ReadSetup{Tx: &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}}
	const noSync = "SET LOCAL synchronize_seqscans = off"
	if snap == nil {
		setup.Statements = []string{noSync}
		return setup, nil
	}
	info := snap.Info()
	if info.Kind != "pg_snapshot" || !snapshotID.MatchString(info.ID) {
		return setup, fmt.Errorf("snapshot %q of kind %q is not a PostgreSQL exported snapshot", info.ID, info.Kind)
	}
	setup.Statements = []string{"SET TRANSACTION SNAPSHOT '" + info.ID + "'", noSync}
	return setup, nil
}

// Classify marks lost connections and server shutdowns transient: SQLSTATE
// class 08 (connection exception), 57P01 admin_shutdown (pg_terminate_backend),
// 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections,
// connect errors, and pgconn's SafeToRetry/Timeout. Everything else
// (permissions, missing columns, an expired snapshot 22023) is final.
func (dialect) Classify(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", pe.Code == "53300":
			return pipeline.Transient(err)
		case pe.Code == "22023" && strings.Contains(pe.Message, "snapshot"):
			return fmt.Errorf("the job's snapshot is no longer available (its exporting transaction ended): %w", err)
		}
		return err
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return pipeline.Transient(err)
	}
	return err
}

// Column maps the pgx type name to a pipeline type; the declared type text
// and nullability come from the catalog (ColumnsSQL).
func (dialect) Column(ci sqlsource.ColumnInfo) pipeline.Column {
	name := strings.ToLower(ci.DatabaseTypeName)
	c := pipeline.Column{Name: ci.Name, SourceType: name, Nullable: true, Type: pipeline.TypeString}
	if strings.HasPrefix(name, "_") {
		c.Type, c.SourceType = pipeline.TypeJSON, name[1:]+"[]"
		return c
	}
	switch name {
	case "int2", "int4", "int8":
		c.Type = pipeline.TypeInt
	case "numeric":
		c.Type = pipeline.TypeDecimal
		if ci.HasPrecision {
			c.Precision, c.Scale = int(ci.Precision), int(ci.Scale)
		}
	case "float4", "float8":
		c.Type = pipeline.TypeFloat
	case "bool":
		c.Type = pipeline.TypeBool
	case "date":
		c.Type = pipeline.TypeDate
	case "timestamp", "timestamptz":
		c.Type, c.Scale = pipeline.TypeTimestamp, 6
		if name == "timestamptz" {
			c.Type = pipeline.TypeTimestampTZ
		}
		if ci.HasPrecision {
			c.Scale = int(ci.Scale)
		}
		if c.Scale == 0 && name == "timestamp" {
			c.Type = pipeline.TypeDateTime // timestamp(0): wall clock to the second
		}
	case "bytea":
		c.Type = pipeline.TypeBytes
	case "json", "jsonb":
		c.Type = pipeline.TypeJSON
	case "interval":
		c.Type = pipeline.TypeInterval
	}
	return c
}

// Converter adapts what pgx's database/sql driver yields to the values the
// native reader yields, so both readers give the same batches.
func (dialect) Converter(c pipeline.Column, ci sqlsource.ColumnInfo) func(any) (any, error) {
	name := strings.ToLower(ci.DatabaseTypeName)
	switch {
	case strings.HasPrefix(name, "_") || (c.Type == pipeline.TypeJSON && name != "json" && name != "jsonb"):
		// an array (Connector.Describe found the ones pgx does not name)
		elemName := ""
		if strings.HasPrefix(name, "_") {
			elemName = name[1:]
		}
		e := nameArrayElem(elemName, c.SourceType)
		elem := &e
		return func(v any) (any, error) {
			s, err := textOf(v)
			if err != nil {
				return nil, err
			}
			return newArrayValue(s, elem), nil
		}
	case name == "float4":
		return func(v any) (any, error) {
			if f, ok := v.(float64); ok {
				return float32(f), nil
			}
			return v, nil
		}
	case name == "timestamptz":
		return func(v any) (any, error) {
			if t, ok := v.(time.Time); ok {
				return t.UTC(), nil
			}
			return v, nil
		}
	case name == "json" || name == "jsonb":
		return func(v any) (any, error) {
			s, err := textOf(v)
			return pipeline.RawJSON(s), err
		}
	}
	return nil
}

func textOf(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	}
	return nil, fmt.Errorf("unexpected %T", v)
}
