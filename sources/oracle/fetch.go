package oracle

import (
	"fmt"
	"strings"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// FetchBufferBytes is what one reader's fetch array may take on the client:
// a table's fetch array is at most FetchBufferBytes / RowBufferBytes rows
// (and at most the configured fetch_array_size), so a wide table gets a
// shorter array instead of tens of megabytes of buffers per reader.
const FetchBufferBytes = 16 << 20

// dpiDataBytes is ODPI-C's per-value overhead in a fetch array: the
// dpiData (isNull and the 24-byte dpiDataBuffer union) plus the indicator
// and length arrays (dpiVar.c, dpiVar__initBuffer).
const dpiDataBytes = 40

// ociNumberBytes and numberTextBytes are ODPI-C's buffers for a NUMBER
// value: the OCINumber itself (DPI_OCI_NUMBER_SIZE, dpiOracleType.c:128-132;
// a fixed size that overrides the 40 bytes godror asks for, dpiVar.c:94-95)
// and, when godror fetches it as text (every NUMBER but NUMBER(p) with
// p ≤ 18, which ODPI-C fetches as int64, dpiOracleType.c:546-548), a text
// buffer of DPI_NUMBER_AS_TEXT_CHARS per row (dpiVar.c:938-950,
// dpiImpl.h:104).
const (
	ociNumberBytes  = 22
	numberTextBytes = 173
)

// lobLocatorBytes is a LOB column's share of a fetch array row when it
// holds a locator: ODPI-C's dpiLob and the OCI locator.
const lobLocatorBytes = 112

// RowBufferBytes estimates the client buffer one row of cols takes in
// godror's fetch array, from the declared types: the column's maximum
// size as the client receives it (VARCHAR2(n CHAR) and NVARCHAR2(n): up to
// 4 bytes a character in UTF-8; NUMBER: the OCINumber and its text
// buffer, see ociNumberBytes; DATE and TIMESTAMP: an OCIDateTime descriptor; LOBs
// read through their locator: the locator) plus ODPI-C's per-value data.
// LONG, LONG RAW and XMLTYPE grow dynamically and are bounded separately
// (see Config.LOBMemory); they count as a locator here.
func RowBufferBytes(cols []pipeline.Column) int {
	n := 0
	for _, c := range cols {
		n += dpiDataBytes + columnBufferBytes(c)
	}
	return max(n, 1)
}

func columnBufferBytes(c pipeline.Column) int {
	t := strings.ToUpper(c.SourceType)
	size := declaredSize(t)
	switch {
	case strings.HasPrefix(t, "VARCHAR2"), strings.HasPrefix(t, "CHAR"):
		if strings.Contains(t, " CHAR)") {
			return 4 * size
		}
		if size == 0 {
			return 4000
		}
		return size
	case strings.HasPrefix(t, "NVARCHAR2"), strings.HasPrefix(t, "NCHAR"):
		if size == 0 {
			return 4000
		}
		return 4 * size
	case strings.HasPrefix(t, "RAW"):
		if size == 0 {
			return 2000
		}
		return size
	case strings.HasPrefix(t, "BINARY_"), t == "BOOLEAN":
		return 8
	case strings.HasPrefix(t, "NUMBER"), strings.HasPrefix(t, "FLOAT"), t == "INTEGER":
		if strings.HasPrefix(t, "NUMBER(") && !strings.Contains(t, ",") && size <= 18 {
			return ociNumberBytes // NUMBER(p), p ≤ 18: fetched as int64
		}
		return ociNumberBytes + numberTextBytes
	case t == "DATE", strings.HasPrefix(t, "TIMESTAMP"), strings.HasPrefix(t, "INTERVAL"):
		return 64
	case t == "ROWID", strings.HasPrefix(t, "UROWID"):
		return 4000
	case t == "BLOB":
		return LOBInlineBytes + 2*lobLocatorBytes // inline part and locator column (SelectItem)
	case t == "CLOB", t == "NCLOB":
		return 4*LOBInlineChars + 2*lobLocatorBytes
	case t == "LONG", t == "LONG RAW", t == "XMLTYPE", t == "JSON":
		return lobLocatorBytes
	}
	return 4000 // unknown: as large as a VARCHAR2 can be
}

// fetchSizes returns the fetch array size and prefetch rows for a table
// of cols: configured (the fetch_array_size in force) shortened so the
// array fits FetchBufferBytes, at least one row; prefetch is the
// configured prefetch_count, or the array size + 1 so a table smaller than
// one array needs one round trip.
func fetchSizes(cols []pipeline.Column, configured, prefetch int) (int, int) {
	fetch := max(1, min(configured, FetchBufferBytes/RowBufferBytes(cols)))
	if prefetch <= 0 {
		prefetch = fetch + 1
	}
	return fetch, prefetch
}

// isLOBType: CLOB, NCLOB or BLOB, which godror reads through a locator
// with LobAsReader.
func isLOBType(t string) bool {
	switch strings.ToUpper(t) {
	case "CLOB", "NCLOB", "BLOB":
		return true
	}
	return false
}

// declaredSize is n of "TYPE(n…)" ("VARCHAR2(40 CHAR)": 40), or 0.
func declaredSize(t string) int {
	i := strings.IndexByte(t, '(')
	if i < 0 {
		return 0
	}
	n := 0
	for _, r := range t[i+1:] {
		if r < '0' || r > '9' || n > 1<<20 {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// A CLOB or NCLOB value of at most LOBInlineChars characters, a BLOB value
// of at most LOBInlineBytes bytes, arrives inline with its row
// (DBMS_LOB.SUBSTR as VARCHAR2/NVARCHAR2/RAW: at most 4000 bytes in any
// character set); a longer one is streamed: godror hands its locator
// (LobAsReader, rows.go:584-613) and the reader reads it in chunks, so the
// fetch array never holds LOB data and keeps its width-based size.
const (
	LOBInlineChars = 1000
	LOBInlineBytes = 2000
)

// streamedLOB: c is a CLOB, NCLOB or BLOB column.
func streamedLOB(c pipeline.Column) bool { return isLOBType(c.SourceType) }

func lobInline(c pipeline.Column) int {
	if strings.EqualFold(c.SourceType, "BLOB") {
		return LOBInlineBytes
	}
	return LOBInlineChars
}

// lobStreamAlias names the streamed result column of the i-th LOB column.
func lobStreamAlias(i int) string { return fmt.Sprintf(`"ORA2GCS_LOB_%d"`, i) }

// lobStreamItems are the SELECT list entries, after the table's columns,
// that carry each CLOB/NCLOB/BLOB column (in column order) once more, as
// itself: a locator, which godror hands over as a *godror.Lob with
// LobAsReader (rows.go:584-613). The reader reads through it only when the
// inline part (SelectItem) is empty: a value too long to come inline, or
// an empty LOB (DBMS_LOB.SUBSTR of an empty LOB is NULL; an empty BLOB
// must stay an empty value, and an empty CLOB reads as NULL like ”). The
// column is named as it is, not wrapped in an expression, so Oracle hands
// out the stored LOB's locator and creates no temporary LOB.
func lobStreamItems(cols []pipeline.Column) []string {
	var items []string
	for _, c := range cols {
		if streamedLOB(c) {
			items = append(items, quoteIdent(c.Name)+" AS "+lobStreamAlias(len(items)))
		}
	}
	return items
}

// lobInlineType is the type of a LOB's inline part: fixed, so the fetch
// buffer stays 4000 bytes even where MAX_STRING_SIZE = EXTENDED would make
// DBMS_LOB.SUBSTR's result 32767 bytes wide. LOBInlineChars characters
// fit in it in any character set (at most 3 bytes a UTF-16 code unit in
// UTF-8; NVARCHAR2(1000) is valid for both national character sets).
func lobInlineType(c pipeline.Column) string {
	switch strings.ToUpper(c.SourceType) {
	case "BLOB":
		return fmt.Sprintf("RAW(%d)", LOBInlineBytes)
	case "NCLOB":
		return fmt.Sprintf("NVARCHAR2(%d)", LOBInlineChars)
	}
	return "VARCHAR2(4000 BYTE)"
}
