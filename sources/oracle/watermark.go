package oracle

import (
	"context"
	"fmt"
	"strings"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

var _ sqlsource.WatermarkDialect = dialect{}

// WindowSelectSQL is SelectSQL restricted to the rows of w.
func (dialect) WindowSelectSQL(table string, columns []string, asOf string, limit int, r *pipeline.Range, col pipeline.Column, w pipeline.Window) (string, []any, error) {
	return WindowSelectSQL(table, columns, asOf, limit, r, col, w)
}

// WindowSelectSQL reads the rows of w: "COL" > :wlo AND "COL" <= :whi
// (the lower bound only when w.Low is set), after the range's ROWID bounds
// and before a ROWNUM limit. The bounds are binds typed as the column:
//
//   - godror binds a time.Time as TIMESTAMP WITH TIME ZONE (godror v0.51.2
//     stmt.go:1434, DPI_ORACLE_TYPE_TIMESTAMP_TZ, with the time's own
//     offset). Compared with a DATE or TIMESTAMP column as is, Oracle
//     would convert the column to the session's time zone; so for those
//     the bind is CAST to the column's type, which drops the bind's zone
//     (UTC here) and keeps its wall clock: the wall clock as stored, no
//     zone involved. TIMESTAMP WITH [LOCAL] TIME ZONE columns compare with
//     the bind as instants.
//   - numbers are bound as godror.Number (exact decimal digits, bound as
//     NUMBER), never float64.
func WindowSelectSQL(table string, columns []string, asOf string, limit int, r *pipeline.Range, col pipeline.Column, w pipeline.Window) (string, []any, error) {
	if err := w.Validate(); err != nil {
		return "", nil, err
	}
	bound := func(name string) string { return ":" + name }
	switch {
	case w.Kind == pipeline.WatermarkNumber:
	case col.Type == pipeline.TypeDateTime || strings.EqualFold(col.SourceType, "DATE"):
		bound = func(name string) string { return "CAST(:" + name + " AS DATE)" }
	case col.Type == pipeline.TypeTimestamp:
		bound = func(name string) string { return "CAST(:" + name + " AS TIMESTAMP(9))" }
	case col.Type == pipeline.TypeTimestampTZ:
	default:
		return "", nil, fmt.Errorf("watermark column %s of type %s is not supported", col.Name, col.SourceType)
	}
	value := func(v pipeline.WatermarkValue) any {
		if v.Kind == pipeline.WatermarkNumber {
			return godror.Number(v.Number)
		}
		return v.Time.UTC()
	}
	q := quoteIdent(col.Name)
	var conds []string
	var args []any
	if w.Low != nil {
		conds, args = append(conds, q+" > "+bound("wlo")), append(args, value(*w.Low))
	}
	conds, args = append(conds, q+" <= "+bound("whi")), append(args, value(w.High))
	return selectSQL(table, columns, asOf, limit, r, conds, args)
}

// WatermarkSQL is MAX of the column and, when countNulls, the rows where
// it is NULL, in one scan as of asOf (without the count, an index on the
// column answers MAX alone). A number's maximum is selected as text
// (TO_CHAR … 'TM9': every digit) so it never passes through a float.
func (dialect) WatermarkSQL(table string, col pipeline.Column, asOf string, countNulls bool) string {
	q := quoteIdent(col.Name)
	maxExpr := "MAX(" + q + ")"
	if pipeline.WatermarkKindOf(col.Type) == pipeline.WatermarkNumber {
		maxExpr = "TO_CHAR(MAX(" + q + "), 'TM9')"
	}
	nulls := "0"
	if countNulls {
		nulls = "COUNT(CASE WHEN " + q + " IS NULL THEN 1 END)"
	}
	s := "SELECT " + maxExpr + ", " + nulls + " FROM " + table
	if asOf != "" {
		s += " " + asOf
	}
	return s
}

// PrimaryKeySQL lists the primary key's columns (ALL_CONSTRAINTS type P)
// in key order.
func (dialect) PrimaryKeySQL(owner, name string) (string, []any) {
	return `SELECT cc.COLUMN_NAME FROM ALL_CONSTRAINTS c JOIN ALL_CONS_COLUMNS cc` +
		` ON cc.OWNER = c.OWNER AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND cc.TABLE_NAME = c.TABLE_NAME` +
		` WHERE c.CONSTRAINT_TYPE = 'P' AND c.OWNER = :owner AND c.TABLE_NAME = :name ORDER BY cc.POSITION`, []any{owner, name}
}

// IndexedSQL counts the indexes (ALL_IND_COLUMNS) whose first column is
// column.
func (dialect) IndexedSQL(owner, name, _, column string) (string, []any) {
	return `SELECT COUNT(*) FROM ALL_IND_COLUMNS WHERE TABLE_OWNER = :owner AND TABLE_NAME = :name` +
		` AND COLUMN_NAME = :col AND COLUMN_POSITION = 1`, []any{owner, name, column}
}

// WatermarkStats reads the column's maximum (and NULL count) AS OF the
// job's SCN. When the user may not read the table AS OF an SCN (no
// FLASHBACK on it: the table itself is then read in a READ ONLY
// transaction, see Open), it is read as of now instead: the maximum then
// comes from an earlier moment than the rows, which is safe, since the
// rows read are bounded by it (a row changed in between has a higher
// watermark and is read by the next job).
func (c *Connector) WatermarkStats(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, col pipeline.Column, countNulls bool) (pipeline.WatermarkStats, error) {
	st, err := c.Connector.WatermarkStats(ctx, t, snap, col, countNulls)
	if err != nil && snap != nil && snap.Info().Kind == "scn" && asOfDenied(err) {
		return c.Connector.WatermarkStatsWith(ctx, t, sqlsource.ReadSetup{}, col, countNulls)
	}
	return st, err
}
