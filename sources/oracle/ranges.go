package oracle

import (
	"errors"
	"fmt"
	"sort"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Extent is one extent of a table segment (a row of ExtentsSQL).
type Extent struct {
	DataObjectID int64 // DATA_OBJECT_ID of the segment (table or partition)
	RelativeFNO  int64 // relative data file number
	BlockID      int64 // first block
	Blocks       int64 // number of blocks
	// Bigfile: the segment is in a BIGFILE tablespace, where RelativeFNO is
	// always 1024 and a ROWID holds a 32-bit block number in place of
	// file and block.
	Bigfile bool
}

// ExtentsSQL lists the extents of a table and of all its partitions and
// subpartitions, with each segment's DATA_OBJECT_ID (which a ROWID holds,
// and which differs from OBJECT_ID after a TRUNCATE or MOVE), in ROWID
// order. Binds :owner, :name. Needs SELECT on DBA_EXTENTS, DBA_OBJECTS
// and DBA_TABLESPACES (or SELECT_CATALOG_ROLE): Oracle has no
// ALL_EXTENTS. Columns: DATA_OBJECT_ID, RELATIVE_FNO, BLOCK_ID, BLOCKS and
// the tablespace's BIGFILE ('YES'/'NO'), which decides the ROWID encoding.
func ExtentsSQL() string {
	return `SELECT o.DATA_OBJECT_ID, e.RELATIVE_FNO, e.BLOCK_ID, e.BLOCKS, ts.BIGFILE` +
		` FROM DBA_EXTENTS e JOIN DBA_OBJECTS o` +
		` ON o.OWNER = e.OWNER AND o.OBJECT_NAME = e.SEGMENT_NAME AND NVL(o.SUBOBJECT_NAME, ' ') = NVL(e.PARTITION_NAME, ' ')` +
		` JOIN DBA_TABLESPACES ts ON ts.TABLESPACE_NAME = e.TABLESPACE_NAME` +
		` WHERE e.OWNER = :owner AND e.SEGMENT_NAME = :name` +
		` AND e.SEGMENT_TYPE IN ('TABLE', 'TABLE PARTITION', 'TABLE SUBPARTITION')` +
		` AND o.OBJECT_TYPE IN ('TABLE', 'TABLE PARTITION', 'TABLE SUBPARTITION')` +
		` AND o.DATA_OBJECT_ID IS NOT NULL` +
		` ORDER BY o.DATA_OBJECT_ID, e.RELATIVE_FNO, e.BLOCK_ID`
}

// The DBMS_PARALLEL_EXECUTE variant, for users without access to
// DBA_EXTENTS: it needs EXECUTE on DBMS_PARALLEL_EXECUTE (granted to PUBLIC
// by default) and nothing else; CREATE JOB is needed only by RUN_TASK,
// which this package never calls. The chunks' ROWIDs come from the server,
// so they are right in both tablespace kinds. Run CreateTaskSQL(:task), ChunksByRowidSQL(:task,
// :owner, :name, :blocks), read ChunksSQL(:task), then DropTaskSQL(:task).
// Each chunk is START_ROWID..END_ROWID inclusive; RangesFromChunks turns them
// into half-open ranges.
const (
	CreateTaskSQL    = `BEGIN DBMS_PARALLEL_EXECUTE.CREATE_TASK(task_name => :task); END;`
	ChunksByRowidSQL = `BEGIN DBMS_PARALLEL_EXECUTE.CREATE_CHUNKS_BY_ROWID(task_name => :task, table_owner => :owner,` +
		` table_name => :name, by_row => FALSE, chunk_size => :blocks); END;`
	ChunksSQL   = `SELECT ROWIDTOCHAR(START_ROWID), ROWIDTOCHAR(END_ROWID) FROM USER_PARALLEL_EXECUTE_CHUNKS WHERE TASK_NAME = :task ORDER BY START_ROWID`
	DropTaskSQL = `BEGIN DBMS_PARALLEL_EXECUTE.DROP_TASK(task_name => :task); END;`
	// BlocksSQL is the table's size in blocks from its statistics, to size chunks.
	BlocksSQL = `SELECT BLOCKS FROM ALL_TABLES WHERE OWNER = :owner AND TABLE_NAME = :name`
)

const rowidAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// RowidCreate builds an extended ROWID of a smallfile tablespace (what
// DBMS_ROWID.ROWID_CREATE(1, …) returns): OOOOOOFFFBBBBBBRRR, base 64, the
// data object number in 6 digits, the relative file number in 3, the block
// in 6 and the row in 3. For a BIGFILE tablespace use BigfileRowid.
func RowidCreate(dataObjectID, relativeFNO, block, row int64) string {
	var b [18]byte
	put := func(off, n int, v int64) {
		for i := off + n - 1; i >= off; i-- {
			b[i] = rowidAlphabet[v&63]
			v >>= 6
		}
	}
	put(0, 6, dataObjectID)
	put(6, 3, relativeFNO)
	put(9, 6, block)
	put(15, 3, row)
	return string(b[:])
}

// BigfileRowid builds an extended ROWID of a BIGFILE tablespace: there the
// nine digits of file and block hold one block number of up to 32 bits
// (Oracle Database Concepts, "Rowid Format"), so the file digits are "AAA"
// and DBA_EXTENTS.RELATIVE_FNO (always 1024) is not part of it.
func BigfileRowid(dataObjectID, block, row int64) string {
	return RowidCreate(dataObjectID, block>>36, block&(1<<36-1), row)
}

// dba is the data block address of e's first block as ROWIDs compare it:
// relative file number and block in a smallfile tablespace, the block
// number alone in a BIGFILE one.
func (e Extent) dba() int64 {
	if e.Bigfile {
		return e.BlockID
	}
	return e.RelativeFNO<<22 | e.BlockID
}

// rowid is the ROWID of row 0 of e's first block, in e's encoding.
func (e Extent) rowid() string {
	if e.Bigfile {
		return BigfileRowid(e.DataObjectID, e.BlockID, 0)
	}
	return RowidCreate(e.DataObjectID, e.RelativeFNO, e.BlockID, 0)
}

// RowidRanges splits a table's extents into at most n ranges of about equal
// blocks, in ROWID order. Bounds are half-open ROWIDs (Lo inclusive, Hi
// exclusive); the first range has no Lo and the last no Hi, so together
// the ranges cover every ROWID the table can hold, whichever extents are
// added or listed late. Fewer than n ranges come back when there are fewer
// extents; one range (no bounds) when there are none.
func RowidRanges(extents []Extent, n int) ([]pipeline.Range, error) {
	if n < 1 {
		return nil, errors.New("oracle: ranges: n must be at least 1")
	}
	exts := append([]Extent(nil), extents...)
	sort.Slice(exts, func(i, j int) bool {
		a, b := exts[i], exts[j]
		if a.DataObjectID != b.DataObjectID {
			return a.DataObjectID < b.DataObjectID
		}
		return a.dba() < b.dba()
	})
	var total int64
	for _, e := range exts {
		if e.Blocks < 0 || e.BlockID < 0 || e.RelativeFNO < 0 || e.DataObjectID < 0 ||
			(e.Bigfile && e.BlockID >= 1<<32) || (!e.Bigfile && (e.RelativeFNO > 1023 || e.BlockID >= 1<<22)) {
			return nil, fmt.Errorf("oracle: ranges: invalid extent %+v", e)
		}
		total += e.Blocks
	}
	if n == 1 || len(exts) <= 1 || total == 0 {
		return []pipeline.Range{{Index: 0, Total: 1}}, nil
	}
	if n > len(exts) {
		n = len(exts)
	}
	// Cut before extent i when the next share boundary (total×next/n
	// blocks) lies nearer its start than its end.
	var starts []string
	var acc int64
	next := 1
	for i, e := range exts {
		if i > 0 && next < n && (2*acc+e.Blocks)*int64(n) >= 2*total*int64(next) {
			starts = append(starts, e.rowid())
			next++
		}
		acc += e.Blocks
	}
	return boundsToRanges(starts), nil
}

// RangesFromChunks groups DBMS_PARALLEL_EXECUTE chunks (start ROWIDs in
// order) into at most n half-open ranges of about equal chunk counts.
func RangesFromChunks(chunkStarts []string, n int) ([]pipeline.Range, error) {
	if n < 1 {
		return nil, errors.New("oracle: ranges: n must be at least 1")
	}
	if n > len(chunkStarts) {
		n = len(chunkStarts)
	}
	var starts []string
	for k := 1; k < n; k++ {
		starts = append(starts, chunkStarts[k*len(chunkStarts)/n])
	}
	return boundsToRanges(starts), nil
}

// boundsToRanges makes len(starts)+1 ranges cut at starts.
func boundsToRanges(starts []string) []pipeline.Range {
	rs := make([]pipeline.Range, len(starts)+1)
	for i := range rs {
		rs[i] = pipeline.Range{Index: i, Total: len(rs)}
		if i > 0 {
			rs[i].Lo = starts[i-1]
		}
		if i < len(starts) {
			rs[i].Hi = starts[i]
		}
	}
	return rs
}
