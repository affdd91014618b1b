package oracle

import (
	"strings"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// dialect is the Oracle sqlsource.Dialect.
type dialect struct{ cfg Config }

var (
	_ sqlsource.Dialect       = dialect{}
	_ sqlsource.RangeDialect  = dialect{}
	_ sqlsource.ColumnCatalog = dialect{}
)

func (dialect) Kind() string                                    { return "oracle" }
func (dialect) ListTablesSQL() string                           { return CatalogSQL() }
func (dialect) FindTableSQL(owner, name string) (string, []any) { return FindTableSQL(owner, name) }
func (dialect) ColumnsSQL(owner, name string) (string, []any)   { return ColumnsSQL(owner, name) }
func (dialect) FoldCase(s string) string                        { return strings.ToUpper(s) }
func (dialect) QuoteIdent(s string) string                      { return quoteIdent(s) }
func (dialect) ProbeSQL(table string) string                    { return ProbeSQL(table) }
func (dialect) CountSQL(table, asOf string) string              { return CountSQL(table, asOf) }

func (dialect) SelectSQL(table string, columns []string, asOf string, limit int, r *pipeline.Range) (string, []any, error) {
	return SelectSQL(table, columns, asOf, limit, r)
}

func (dialect) Column(ci sqlsource.ColumnInfo) pipeline.Column {
	return DriverColumn(ci.Name, ci.DatabaseTypeName, ci.Precision, ci.Scale, ci.HasPrecision, ci.Nullable || !ci.HasNullable)
}

// Converter normalises godror's values (see Normalize). Binary floats,
// integers and RAW need nothing and get no converter.
func (dialect) Converter(c pipeline.Column, ci sqlsource.ColumnInfo) func(any) (any, error) {
	switch strings.ToUpper(ci.DatabaseTypeName) {
	case "FLOAT", "DOUBLE", "BINARY_FLOAT", "BINARY_DOUBLE", "BINARY_INTEGER", "RAW", "LONG RAW", "BOOLEAN":
		return nil
	}
	if c.Type == pipeline.TypeInterval {
		if fs := secondPrecision(c.SourceType); fs >= 0 {
			c.Scale = fs
		}
	}
	return func(v any) (any, error) { return Normalize(c, v) }
}

// secondPrecision is n of "… SECOND(n)", or -1.
func secondPrecision(t string) int {
	i := strings.Index(strings.ToUpper(t), "SECOND(")
	if i < 0 {
		return -1
	}
	return parenInt(t[i:])
}

// QueryArgs are godror's options for the table SELECT: FetchArraySize rows
// per round trip, PrefetchCount rows with the execute reply
// (Config.PrefetchCount, or FetchArraySize+1 so a table under one array
// needs one round trip), and JSONAsString so a JSON value that still
// reaches godror arrives as text (the connector selects JSON columns with
// JSON_SERIALIZE, see SelectItem).
func (d dialect) QueryArgs(opts pipeline.ReadOptions) []any {
	fetch := opts.FetchArraySize
	if fetch <= 0 {
		fetch = d.cfg.FetchArraySize
	}
	prefetch := d.cfg.PrefetchCount
	if prefetch <= 0 {
		prefetch = fetch + 1
	}
	return append(FetchOptions(fetch, prefetch), godror.JSONAsString())
}

func (dialect) StatusSQL() (string, string) { return VersionSQL, SCNSQL }

// Classify translates the error (see Translate); lost connections come
// back transient.
func (dialect) Classify(err error) error { return Translate(err, "") }
