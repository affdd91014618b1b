package oracle

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Ranges splits a table by ROWID from its extents (DBA_EXTENTS); without
// access to DBA_EXTENTS it asks DBMS_PARALLEL_EXECUTE for ROWID chunks; when
// both are refused the table is read as one range.
func (d dialect) Ranges(ctx context.Context, db *sql.DB, owner, name, _ string, n int) ([]pipeline.Range, error) {
	rs, _, err := splitTable(ctx, db, owner, name, n)
	return rs, err
}

// splitTable is Ranges, plus why a table that cannot be split is read as
// one range ("" when it was split, or is simply too small to split): it
// has no table segment (an index-organized table: no ROWIDs to cut),
// DBMS_PARALLEL_EXECUTE refuses to chunk it (ORA-29491 for IOTs and other
// tables without physical ROWIDs), or the user may use neither way.
func splitTable(ctx context.Context, db *sql.DB, owner, name string, n int) ([]pipeline.Range, string, error) {
	one := []pipeline.Range{{Index: 0, Total: 1}}
	rs, noSegment, err := extentRanges(ctx, db, owner, name, n)
	if err == nil {
		if noSegment {
			return one, "it has no table segment in DBA_EXTENTS (an index-organized table, whose rows have no physical ROWIDs to cut, " +
				"or a table whose segment was never created because it has no rows)", nil
		}
		return rs, "", nil
	}
	if !privilegeDenied(err) {
		return nil, "", err
	}
	rs, err2 := chunkRanges(ctx, db, owner, name, n)
	switch {
	case err2 == nil:
		return rs, "", nil
	case Code(err2) == 29491:
		return one, "DBMS_PARALLEL_EXECUTE cannot chunk it by ROWID (ORA-29491: an index-organized or other table without physical ROWIDs)", nil
	case cannotChunk(err2):
		return one, fmt.Sprintf("DBMS_PARALLEL_EXECUTE refused to chunk it (ORA-%05d)", Code(err2)), nil
	case privilegeDenied(err2):
		return one, fmt.Sprintf("the user may read neither DBA_EXTENTS (%s) nor use DBMS_PARALLEL_EXECUTE (%s): "+
			"GRANT SELECT_CATALOG_ROLE (or SELECT on DBA_EXTENTS, DBA_OBJECTS and DBA_TABLESPACES) to split tables", oraCode(err), oraCode(err2)), nil
	}
	return nil, "", err2
}

// cannotChunk: DBMS_PARALLEL_EXECUTE refuses the task with one of its own
// errors, ORA-29490..29499 (ORA-29491 invalid table for chunking: IOT,
// external, no ROWIDs; ORA-29490 insufficient privilege…). Reading the
// table as one range is always correct, so none of them fails the table.
func cannotChunk(err error) bool { c := Code(err); return c >= 29490 && c <= 29499 }

// oraCode is "PLS-00201" or "ORA-NNNNN" of err, or "refused".
func oraCode(err error) string {
	if strings.Contains(err.Error(), "PLS-00201") {
		return "PLS-00201"
	}
	if c := Code(err); c != 0 {
		return fmt.Sprintf("ORA-%05d", c)
	}
	return "refused"
}

// privilegeDenied: no access to a dictionary view or package.
func privilegeDenied(err error) bool {
	switch Code(err) {
	case 942, 1031, 904, 6550, 27486:
		return true
	}
	return strings.Contains(err.Error(), "PLS-00201")
}

// extentRanges cuts the table's extents into ranges; noSegment reports a
// table without any table segment extent (an index-organized table).
func extentRanges(ctx context.Context, db *sql.DB, owner, name string, n int) (_ []pipeline.Range, noSegment bool, err error) {
	rows, err := db.QueryContext(ctx, ExtentsSQL(), owner, name)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var exts []Extent
	for rows.Next() {
		var e Extent
		var bigfile sql.NullString
		if err := rows.Scan(&e.DataObjectID, &e.RelativeFNO, &e.BlockID, &e.Blocks, &bigfile); err != nil {
			return nil, false, err
		}
		e.Bigfile = bigfile.String == "YES"
		exts = append(exts, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	rs, err := RowidRanges(exts, n)
	return rs, len(exts) == 0, err
}

// chunkRanges asks DBMS_PARALLEL_EXECUTE for about 4n ROWID chunks (sized
// from ALL_TABLES.BLOCKS) and groups them into n ranges; the task is
// dropped afterwards.
func chunkRanges(ctx context.Context, db *sql.DB, owner, name string, n int) (_ []pipeline.Range, err error) {
	var blocks sql.NullInt64
	if err := db.QueryRowContext(ctx, BlocksSQL, owner, name).Scan(&blocks); err != nil {
		return nil, err
	}
	chunk := int64(10000)
	if blocks.Valid && blocks.Int64 > 0 {
		chunk = max(blocks.Int64/int64(4*n), 64)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	task := "ORA2GCS_" + strings.ToUpper(hex.EncodeToString(rnd[:]))
	if _, err := db.ExecContext(ctx, CreateTaskSQL, task); err != nil {
		return nil, err
	}
	defer func() {
		if _, derr := db.ExecContext(context.WithoutCancel(ctx), DropTaskSQL, task); derr != nil && err == nil {
			err = derr
		}
	}()
	if _, err := db.ExecContext(ctx, ChunksByRowidSQL, task, owner, name, chunk); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, ChunksSQL, task)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var starts []string
	for rows.Next() {
		var lo, hi string
		if err := rows.Scan(&lo, &hi); err != nil {
			return nil, err
		}
		starts = append(starts, lo)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return RangesFromChunks(starts, n)
}
