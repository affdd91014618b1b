package sqlsource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"reflect"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Dialect is what differs between SQL databases. The Connector owns the
// flow (resolution, planning, snapshot import, batching, retries'
// classification); a Dialect only supplies SQL text, names and conversions.
// Every method must be safe for concurrent use. SQL returned by a Dialect
// may only embed identifiers that went through QuoteIdent and literals the
// dialect validated itself; user input travels as bind arguments.
type Dialect interface {
	// Kind is the connector kind reported by Connector.Kind: "postgres", "oracle".
	Kind() string

	// ListTablesSQL lists every readable table of the catalog. Each row has
	// exactly four columns: schema (text), name (text), column count
	// (integer), estimated rows (integer or NULL; negative or NULL means
	// "never analysed" and becomes TableInfo.Rows = -1).
	ListTablesSQL() string
	// FindTableSQL returns the query (and its bind arguments) for the
	// candidates of a user-given name, in the ListTablesSQL row shape. It
	// must match case-insensitively on the name (and on the schema when
	// schema != ""); with schema == "" it returns the tables visible without
	// qualification (PostgreSQL search_path, Oracle current schema). The
	// Connector picks among the candidates with the case rules of FoldCase.
	FindTableSQL(schema, name string) (query string, args []any)
	// FoldCase is what the database does to an unquoted identifier:
	// strings.ToUpper for Oracle, strings.ToLower for PostgreSQL.
	FoldCase(ident string) string
	// QuoteIdent quotes one identifier ("a""b"); it never fails.
	QuoteIdent(ident string) string

	// ProbeSQL is a query returning no rows whose result columns are the
	// table's columns in table order, e.g. SELECT * FROM t WHERE 1=0.
	// table is already quoted (schema.table).
	ProbeSQL(table string) string
	// CountSQL counts the rows of a quoted table; asOf is ReadSetup.AsOf.
	CountSQL(table, asOf string) string
	// SelectSQL reads columns (already quoted, in order) of a quoted table.
	// asOf is ReadSetup.AsOf ("" or e.g. "AS OF SCN 123"); limit > 0 keeps
	// the first limit rows (LIMIT n / ROWNUM <= n); r, when not nil, is one
	// range returned by Ranges. Extra bind arguments go into args.
	SelectSQL(table string, columns []string, asOf string, limit int, r *pipeline.Range) (query string, args []any, err error)

	// Column maps the driver's description of a result column to a pipeline
	// Column (Type, SourceType, Precision, Scale, Nullable).
	Column(ci ColumnInfo) pipeline.Column
	// Converter returns the per-value conversion applied to every non-nil
	// value that database/sql yields for column c (nil: use the value as
	// is). It may return nil for a value (Oracle: "" → NULL). The Connector
	// calls it once per column per reader, never per row.
	Converter(c pipeline.Column, ci ColumnInfo) func(v any) (any, error)
	// QueryArgs are extra arguments appended to the table SELECT's
	// arguments (godror.FetchArraySize, godror.PrefetchCount); may be nil.
	QueryArgs(opts pipeline.ReadOptions) []any

	// Snapshot captures one consistent point in time for a job (see
	// pipeline.Snapshot). It may hold a connection of db until Close.
	Snapshot(ctx context.Context, db *sql.DB) (pipeline.Snapshot, error)
	// ReadSetup says how a table reader reads as of snap (nil: now).
	ReadSetup(snap pipeline.Snapshot) (ReadSetup, error)

	// Classify inspects an error from the driver. It returns err itself,
	// err translated into a user-facing message (wrapping err), and/or
	// wrapped with pipeline.Transient when retrying the table from the start
	// may succeed. It must return nil for nil. The Connector additionally
	// treats driver.ErrBadConn, io.EOF mid-stream, io.ErrUnexpectedEOF,
	// connection resets and net errors as transient (see ClassifyCommon).
	Classify(err error) error

	// StatusSQL returns two single-value queries: the server version and
	// the current snapshot identifier (SCN, txid); either may be "".
	StatusSQL() (version, snapshot string)
}

// ReadSetup is how one table reader makes its reads consistent.
type ReadSetup struct {
	// Tx, if not nil, makes the reader run inside a transaction begun on
	// its own connection with these options (PostgreSQL: RepeatableRead,
	// ReadOnly; Oracle fallback: ReadOnly).
	Tx *sql.TxOptions
	// Statements run first, in order, inside the transaction (or on the
	// reader's connection without one): "SET TRANSACTION SNAPSHOT '…'",
	// "SET TRANSACTION READ ONLY".
	Statements []string
	// AsOf is a clause placed after the table name in SELECT and COUNT
	// ("AS OF SCN 123"); "" for none.
	AsOf string
}

// ColumnInfo is the driver's description of one result column
// (database/sql ColumnType), with the ok flags folded into Has* fields.
type ColumnInfo struct {
	Name             string
	DatabaseTypeName string // driver's name: "NUMBER", "VARCHAR2", "INT4", "_TEXT"
	Precision, Scale int64
	HasPrecision     bool
	Length           int64
	HasLength        bool
	Nullable         bool
	HasNullable      bool
	ScanType         reflect.Type
}

func columnInfo(ct *sql.ColumnType) ColumnInfo {
	ci := ColumnInfo{Name: ct.Name(), DatabaseTypeName: ct.DatabaseTypeName(), ScanType: ct.ScanType()}
	ci.Precision, ci.Scale, ci.HasPrecision = ct.DecimalSize()
	ci.Length, ci.HasLength = ct.Length()
	ci.Nullable, ci.HasNullable = ct.Nullable()
	return ci
}

// NativeReader is implemented by dialects whose driver has a faster reader
// than database/sql (PostgreSQL: pgx reading raw column bytes). When a
// Dialect implements it, Connector.Open calls OpenNative instead of the
// database/sql reader, with everything already resolved and planned.
type NativeReader interface {
	OpenNative(ctx context.Context, q Query) (pipeline.Source, error)
}

// Query is one planned table read handed to a NativeReader.
type Query struct {
	Table   pipeline.TableInfo   // resolved, with Columns
	SQL     string               // the SELECT from Dialect.SelectSQL
	Args    []any                // its bind arguments (without QueryArgs)
	Setup   ReadSetup            // transaction and statements to run first
	Options pipeline.ReadOptions // with defaults applied
	// BatchBytes, when > 0, ends a batch early once its string and []byte
	// values reach this many bytes (tables of large LOBs), so a batch holds
	// at most BatchBytes plus one row.
	BatchBytes int64
}

// RangeDialect is implemented by dialects that can split a table into
// ranges read in parallel as of one snapshot (PostgreSQL ctid pages,
// Oracle ROWID extents). table is quoted; the ranges are passed back to
// SelectSQL.
type RangeDialect interface {
	Ranges(ctx context.Context, db *sql.DB, schema, name, table string, n int) ([]pipeline.Range, error)
}

// ColumnCatalog is implemented by dialects that can describe columns from
// the catalog more precisely than the driver (declared type text,
// nullability). Describe merges what it returns into the driver's view by
// column name; the driver still decides order and Type.
type ColumnCatalog interface {
	// ColumnsSQL returns a query whose rows are (column name text, declared
	// type text, nullable boolean) for the resolved table.
	ColumnsSQL(schema, name string) (query string, args []any)
}

// DriverColumnInfos describes the result columns of a driver's rows the
// way ColumnTypes does for database/sql rows, for readers that read the
// driver's rows directly.
func DriverColumnInfos(rows driver.Rows) []ColumnInfo {
	names := rows.Columns()
	cis := make([]ColumnInfo, len(names))
	for i, name := range names {
		ci := ColumnInfo{Name: name, ScanType: reflect.TypeFor[any]()}
		if r, ok := rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
			ci.DatabaseTypeName = r.ColumnTypeDatabaseTypeName(i)
		}
		if r, ok := rows.(driver.RowsColumnTypePrecisionScale); ok {
			ci.Precision, ci.Scale, ci.HasPrecision = r.ColumnTypePrecisionScale(i)
		}
		if r, ok := rows.(driver.RowsColumnTypeLength); ok {
			ci.Length, ci.HasLength = r.ColumnTypeLength(i)
		}
		if r, ok := rows.(driver.RowsColumnTypeNullable); ok {
			ci.Nullable, ci.HasNullable = r.ColumnTypeNullable(i)
		}
		if r, ok := rows.(driver.RowsColumnTypeScanType); ok {
			ci.ScanType = r.ColumnTypeScanType(i)
		}
		cis[i] = ci
	}
	return cis
}

// WatermarkDialect is implemented by dialects that read tables
// incrementally (pipeline.ReadOptions.Window, pipeline.Watermarker).
type WatermarkDialect interface {
	// WindowSelectSQL is SelectSQL restricted to the rows of w: the
	// watermark column above w.Low (when set) and at most w.High, with the
	// bounds as bind arguments typed as the column (never text, never
	// converted through the client's time zone). col is the watermark
	// column as Describe gave it.
	WindowSelectSQL(table string, columns []string, asOf string, limit int, r *pipeline.Range, col pipeline.Column, w pipeline.Window) (query string, args []any, err error)
	// WatermarkSQL selects one row: MAX of the column (as a value the
	// driver returns exactly: a time, an integer, or decimal text) and,
	// when countNulls, the number of rows where it is NULL (else 0), as of
	// asOf.
	WatermarkSQL(table string, col pipeline.Column, asOf string, countNulls bool) string
	// PrimaryKeySQL lists the primary key's column names in key order.
	PrimaryKeySQL(schema, name string) (query string, args []any)
	// IndexedSQL returns one row with the number of indexes of the table
	// whose first column is column.
	IndexedSQL(schema, name, table, column string) (query string, args []any)
}
