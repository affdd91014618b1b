package oracle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Querier is what the catalog functions need: *sql.DB, *sql.Conn and
// *sql.Tx all have it.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tables lists the readable tables outside SystemOwners (see CatalogSQL)
// with the optimizer's row estimate (Rows -1 when never analysed), or with
// COUNT(*) of each table when exact.
func Tables(ctx context.Context, q Querier, exact bool) ([]pipeline.TableInfo, error) {
	rows, err := q.QueryContext(ctx, CatalogSQL())
	if err != nil {
		return nil, Translate(err, "list tables")
	}
	defer rows.Close()
	var out []pipeline.TableInfo
	for rows.Next() {
		var (
			t        pipeline.TableInfo
			numRows  sql.NullInt64
			comments sql.NullString
			cols     int64
			part     sql.NullString
		)
		if err := rows.Scan(&t.Schema, &t.Name, &numRows, &cols, &comments, &part); err != nil {
			return nil, Translate(err, "list tables")
		}
		t.ColumnCount, t.Comment, t.Rows = int(cols), comments.String, -1
		if numRows.Valid {
			t.Rows = numRows.Int64
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, Translate(err, "list tables")
	}
	if exact {
		for i := range out {
			n, err := Count(ctx, q, out[i].Schema, out[i].Name, "")
			if err != nil {
				return nil, err
			}
			out[i].Rows, out[i].RowsExact = n, true
		}
	}
	return out, nil
}

// Count counts a table's rows exactly, as of scn unless scn is empty.
func Count(ctx context.Context, q Querier, owner, table, scn string) (int64, error) {
	s, err := CountSQL(owner, table, scn != "")
	if err != nil {
		return 0, err
	}
	var args []any
	if scn != "" {
		args = append(args, scn)
	}
	var n int64
	if err := q.QueryRowContext(ctx, s, args...).Scan(&n); err != nil {
		return 0, Translate(err, "count "+owner+"."+table)
	}
	return n, nil
}

// Resolve finds the table a user named (see ParseTableName for the case
// rules): OWNER.TABLE exactly; TABLE in the session's schema first, then in
// any one other owner. Unknown or ambiguous names give an error wrapping
// pipeline.ErrTableNotFound. Names are only ever bound, never interpolated.
func Resolve(ctx context.Context, q Querier, name string) (pipeline.TableInfo, error) {
	owner, table, err := ParseTableName(name)
	if err != nil {
		return pipeline.TableInfo{}, fmt.Errorf("%w: %w", pipeline.ErrTableNotFound, err)
	}
	var found []pipeline.TableInfo
	collect := func(query string, args ...any) error {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return Translate(err, "resolve table "+name)
		}
		defer rows.Close()
		for rows.Next() {
			var t pipeline.TableInfo
			var n sql.NullInt64
			if err := rows.Scan(&t.Schema, &t.Name, &n); err != nil {
				return Translate(err, "resolve table "+name)
			}
			t.Rows = -1
			if n.Valid {
				t.Rows = n.Int64
			}
			found = append(found, t)
		}
		return Translate(rows.Err(), "resolve table "+name)
	}
	if owner != "" {
		err = collect(ResolveSQL(), owner, table)
	} else if err = collect(ResolveCurrentSchemaSQL(), table); err == nil && len(found) == 0 {
		err = collect(ResolveAnyOwnerSQL(), table)
	}
	switch {
	case err != nil:
		return pipeline.TableInfo{}, err
	case len(found) == 0:
		return pipeline.TableInfo{}, fmt.Errorf("oracle: %w: %q (looked for %s; unquoted names are upper-cased, quote mixed-case names)",
			pipeline.ErrTableNotFound, name, displayName(owner, table))
	case len(found) > 1:
		owners := make([]string, len(found))
		for i, t := range found {
			owners[i] = t.Schema
		}
		return pipeline.TableInfo{}, fmt.Errorf("oracle: %w: %q is ambiguous, it exists in %s: write OWNER.%s",
			pipeline.ErrTableNotFound, name, strings.Join(owners, ", "), table)
	}
	return found[0], nil
}

func displayName(owner, table string) string {
	if owner == "" {
		return table
	}
	return owner + "." + table
}

// Describe resolves name and fills in its columns (in COLUMN_ID order) and
// partitions.
func Describe(ctx context.Context, q Querier, name string) (pipeline.TableInfo, error) {
	t, err := Resolve(ctx, q, name)
	if err != nil {
		return t, err
	}
	what := "describe " + t.Schema + "." + t.Name
	rows, err := q.QueryContext(ctx, ColumnsSQL(), t.Schema, t.Name)
	if err != nil {
		return t, Translate(err, what)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			col, typ     string
			prec, scale  sql.NullInt64
			nullableFlag string
		)
		if err := rows.Scan(&col, &typ, &prec, &scale, &nullableFlag); err != nil {
			return t, Translate(err, what)
		}
		p, s := int64(-1), int64(-1)
		if prec.Valid {
			p = prec.Int64
		}
		if scale.Valid {
			s = scale.Int64
		}
		t.Columns = append(t.Columns, CatalogColumn(col, typ, p, s, nullableFlag != "N"))
	}
	if err := rows.Err(); err != nil {
		return t, Translate(err, what)
	}
	if len(t.Columns) == 0 {
		return t, fmt.Errorf("oracle: %s: no readable columns", what)
	}
	t.ColumnCount = len(t.Columns)
	prows, err := q.QueryContext(ctx, PartitionsSQL(), t.Schema, t.Name)
	if err != nil {
		return t, Translate(err, what)
	}
	defer prows.Close()
	for prows.Next() {
		var p string
		if err := prows.Scan(&p); err != nil {
			return t, Translate(err, what)
		}
		t.Partitions = append(t.Partitions, p)
	}
	return t, Translate(prows.Err(), what)
}

// CaptureSCN returns the current SCN: from DBMS_FLASHBACK, or, when the
// user may not execute it, from V$DATABASE. When both are denied it returns
// an error for which FlashbackDenied is true.
func CaptureSCN(ctx context.Context, q Querier) (string, error) {
	var scn string
	err := q.QueryRowContext(ctx, SCNSQL).Scan(&scn)
	if err == nil {
		return scn, nil
	}
	if !flashbackDenied(err) {
		return "", Translate(err, "capture SCN")
	}
	if err2 := q.QueryRowContext(ctx, SCNFallbackSQL).Scan(&scn); err2 != nil {
		if flashbackDenied(err2) {
			return "", &Error{Kind: KindPermission, Code: Code(err2),
				Hint: "capture SCN: no EXECUTE on DBMS_FLASHBACK and no SELECT on V$DATABASE", Err: errors.Join(err, err2)}
		}
		return "", Translate(err2, "capture SCN")
	}
	return scn, nil
}

// FlashbackDenied reports errors that mean the job cannot read AS OF an
// SCN (no FLASHBACK privilege on a table, no way to capture an SCN), so it
// falls back to per-table READ ONLY transactions (see ReadOnlyNote).
func FlashbackDenied(err error) bool {
	return err != nil && flashbackDenied(err)
}

// SCNInfo is the SnapshotInfo of a job read AS OF scn.
func SCNInfo(scn string) pipeline.SnapshotInfo {
	return pipeline.SnapshotInfo{Kind: "scn", ID: scn}
}

// ReadOnlyInfo is the SnapshotInfo of a job that fell back to per-table
// read-only transactions; cause (may be nil) is why.
func ReadOnlyInfo(cause error) pipeline.SnapshotInfo {
	note := ReadOnlyNote
	if c := Code(cause); c != 0 {
		note = fmt.Sprintf("%s (ORA-%05d)", note, c)
	}
	return pipeline.SnapshotInfo{Kind: "read_only", Note: note}
}

// Ranges splits a table into at most n ROWID ranges from its extents
// (ExtentsSQL); see RowidRanges.
func Ranges(ctx context.Context, q Querier, owner, table string, n int) ([]pipeline.Range, error) {
	rows, err := q.QueryContext(ctx, ExtentsSQL(), owner, table)
	if err != nil {
		return nil, Translate(err, "list extents of "+owner+"."+table)
	}
	defer rows.Close()
	var exts []Extent
	for rows.Next() {
		var e Extent
		if err := rows.Scan(&e.DataObjectID, &e.RelativeFNO, &e.BlockID, &e.Blocks); err != nil {
			return nil, Translate(err, "list extents of "+owner+"."+table)
		}
		exts = append(exts, e)
	}
	if err := rows.Err(); err != nil {
		return nil, Translate(err, "list extents of "+owner+"."+table)
	}
	return RowidRanges(exts, n)
}
