package oracle

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// SystemOwners are the schemas Oracle installs; Tables never lists them.
// (ALL_USERS.ORACLE_MAINTAINED exists only from 12c on; 11g sources need a list.)
var SystemOwners = []string{
	"ANONYMOUS", "APEX_030200", "APEX_040000", "APEX_040200", "APEX_PUBLIC_USER", "APPQOSSYS", "AUDSYS",
	"CTXSYS", "DBSFWUSER", "DBSNMP", "DIP", "DVF", "DVSYS", "EXFSYS", "FLOWS_FILES", "GGSYS", "GSMADMIN_INTERNAL",
	"GSMCATUSER", "GSMUSER", "LBACSYS", "MDDATA", "MDSYS", "MGMT_VIEW", "OJVMSYS", "OLAPSYS", "ORACLE_OCM",
	"ORDDATA", "ORDPLUGINS", "ORDSYS", "OUTLN", "OWBSYS", "OWBSYS_AUDIT", "REMOTE_SCHEDULER_AGENT",
	"SI_INFORMTN_SCHEMA", "SPATIAL_CSW_ADMIN_USR", "SPATIAL_WFS_ADMIN_USR", "SYS", "SYS$UMF", "SYSBACKUP",
	"SYSDG", "SYSKM", "SYSMAN", "SYSRAC", "SYSTEM", "WMSYS", "XDB", "XS$NULL",
	// Autonomous Database
	"ADMIN_INTERNAL", "C##ADP$SERVICE", "C##API", "C##CLOUD$SERVICE", "C##CLOUD_OPS", "C##DV_ACCT_ADMIN",
	"C##DV_OWNER", "C##OMLIDM", "GRAPH$METADATA", "GSMROOTUSER", "OML$METADATA", "RMAN$CATALOG",
}

// quoteIdent quotes name as an Oracle identifier, case kept. Names come
// from the catalog, where a double quote cannot occur; one would be doubled
// and make the statement fail, never change its meaning.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// systemOwnerList is SystemOwners as a SQL list of literals. The literals are
// this package's constants, never user input.
func systemOwnerList() string {
	q := make([]string, len(SystemOwners))
	for i, o := range SystemOwners {
		q[i] = "'" + strings.ReplaceAll(o, "'", "''") + "'"
	}
	return strings.Join(q, ", ")
}

// tableFilter keeps ordinary readable tables: not dropped (recycle bin), not
// nested, not secondary (domain index), not an IOT overflow, not temporary.
const tableFilter = `t.DROPPED = 'NO' AND t.NESTED = 'NO' AND t.SECONDARY = 'N' AND t.TEMPORARY = 'N'` +
	` AND (t.IOT_TYPE IS NULL OR t.IOT_TYPE = 'IOT')`

// tableSelect is the row shape sqlsource expects of the catalog: owner,
// table name, column count, the optimizer's row estimate (NUM_ROWS, NULL
// when never analysed).
const tableSelect = `SELECT t.OWNER, t.TABLE_NAME,` +
	` (SELECT COUNT(*) FROM ALL_TAB_COLUMNS c WHERE c.OWNER = t.OWNER AND c.TABLE_NAME = t.TABLE_NAME),` +
	` t.NUM_ROWS FROM ALL_TABLES t WHERE `

// CatalogSQL lists the readable tables (ALL_TABLES) outside SystemOwners.
func CatalogSQL() string {
	return tableSelect + `t.OWNER NOT IN (` + systemOwnerList() + `) AND ` + tableFilter + ` ORDER BY t.OWNER, t.TABLE_NAME`
}

// FindTableSQL finds the candidates for a user-given name, matching case
// insensitively (sqlsource then applies Oracle's rule: unquoted names are
// upper case). With an owner it looks there; without, in the session's
// current schema, or, when that has no such table, in every non-system
// owner (an unqualified name that exists in two other schemas is
// ambiguous). Binds: the name (and owner), never interpolated.
func FindTableSQL(owner, name string) (string, []any) {
	if owner != "" {
		return tableSelect + `UPPER(t.OWNER) = UPPER(:owner) AND UPPER(t.TABLE_NAME) = UPPER(:name) AND ` + tableFilter +
			` ORDER BY t.OWNER, t.TABLE_NAME`, []any{owner, name}
	}
	return tableSelect + `UPPER(t.TABLE_NAME) = UPPER(:name) AND ` + tableFilter +
		` AND (t.OWNER = SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') OR (t.OWNER NOT IN (` + systemOwnerList() + `)` +
		` AND NOT EXISTS (SELECT 1 FROM ALL_TABLES x WHERE x.OWNER = SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') AND UPPER(x.TABLE_NAME) = UPPER(:name2))))` +
		` ORDER BY t.OWNER, t.TABLE_NAME`, []any{name, name}
}

// ColumnsSQL gives each column's declared type as Oracle writes it
// (NUMBER(13,3), VARCHAR2(40 CHAR), TIMESTAMP(6) WITH TIME ZONE…; object
// types as "OBJECT owner.type", XMLTYPE as itself) and its nullability
// ('true'/'false'), for the resolved owner and table.
func ColumnsSQL(owner, name string) (string, []any) {
	return columnSelect + ` FROM ALL_TAB_COLUMNS WHERE OWNER = :owner AND TABLE_NAME = :name ORDER BY COLUMN_ID`, []any{owner, name}
}

// columnSelect is the select list of ColumnsSQL and InvisibleColumnsSQL.
const columnSelect = `SELECT COLUMN_NAME, CASE` +
	` WHEN DATA_TYPE = 'NUMBER' AND DATA_PRECISION IS NOT NULL THEN 'NUMBER(' || DATA_PRECISION || CASE WHEN DATA_SCALE <> 0 THEN ',' || DATA_SCALE END || ')'` +
	` WHEN DATA_TYPE = 'NUMBER' AND DATA_SCALE = 0 THEN 'INTEGER'` +
	` WHEN DATA_TYPE = 'FLOAT' THEN 'FLOAT(' || DATA_PRECISION || ')'` +
	` WHEN DATA_TYPE IN ('VARCHAR2', 'NVARCHAR2', 'CHAR', 'NCHAR') THEN DATA_TYPE || '(' || CHAR_LENGTH || CASE CHAR_USED WHEN 'C' THEN ' CHAR' END || ')'` +
	` WHEN DATA_TYPE = 'RAW' THEN 'RAW(' || DATA_LENGTH || ')'` +
	` WHEN DATA_TYPE_OWNER IS NOT NULL AND DATA_TYPE <> 'XMLTYPE' THEN 'OBJECT ' || DATA_TYPE_OWNER || '.' || DATA_TYPE` +
	` ELSE DATA_TYPE END,` +
	` CASE NULLABLE WHEN 'N' THEN 'false' ELSE 'true' END`

// InvisibleColumnsSQL lists the INVISIBLE columns (Oracle 12c+) of the
// resolved table in ColumnsSQL's row shape, in their internal order:
// ALL_TAB_COLS rows with HIDDEN_COLUMN = 'YES' and USER_GENERATED = 'YES'
// (system-generated hidden columns, such as those of function-based
// indexes or SET UNUSED, are not data and are left out). SELECT * and
// ALL_TAB_COLUMNS omit invisible columns; they are read by name. Before
// 12c ALL_TAB_COLS has no USER_GENERATED (ORA-00904): there are none.
func InvisibleColumnsSQL(owner, name string) (string, []any) {
	return columnSelect + ` FROM ALL_TAB_COLS WHERE OWNER = :owner AND TABLE_NAME = :name` +
		` AND HIDDEN_COLUMN = 'YES' AND USER_GENERATED = 'YES'` +
		` AND NOT (COLUMN_NAME LIKE 'SYS\_C%' ESCAPE '\' AND COLUMN_NAME LIKE '%$')` + // SET UNUSED leftovers, should one show
		` ORDER BY INTERNAL_COLUMN_ID`, []any{owner, name}
}

// NamedProbeSQL returns no rows but describes the (quoted) columns of a
// quoted table, for columns SELECT * does not return.
func NamedProbeSQL(table string, columns []string) string {
	return "SELECT " + strings.Join(columns, ", ") + " FROM " + table + " WHERE 1 = 0"
}

var (
	scnRE   = regexp.MustCompile(`^[0-9]{1,20}$`)
	rowidRE = regexp.MustCompile(`^[A-Za-z0-9+/]{18}$`)
)

// AsOfClause is the clause that reads a table as of scn ("AS OF SCN 123").
// scn must be decimal digits; it is the only literal put into SQL text.
func AsOfClause(scn string) (string, error) {
	if !scnRE.MatchString(scn) {
		return "", fmt.Errorf("SCN %q is not a number", scn)
	}
	return "AS OF SCN " + scn, nil
}

// SelectSQL reads the (already quoted) columns of a quoted table, in
// order, with asOf ("" or AsOfClause) after the table name. limit > 0
// keeps the first limit rows with ROWNUM (Oracle 11g has no FETCH FIRST).
// A range r bounds ROWIDs half-open, ROWID >= :lo AND ROWID < :hi, each
// bound only when set, so the ranges of a table cover it without gaps;
// the bounds are binds.
func SelectSQL(table string, columns []string, asOf string, limit int, r *pipeline.Range) (string, []any, error) {
	return selectSQL(table, columns, asOf, limit, r, nil, nil)
}

// selectSQL is SelectSQL with extra conditions (and their binds, after the
// range's) ANDed before the ROWNUM limit.
func selectSQL(table string, columns []string, asOf string, limit int, r *pipeline.Range, extra []string, extraArgs []any) (string, []any, error) {
	if len(columns) == 0 {
		return "", nil, fmt.Errorf("select from %s: no columns", table)
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(columns, ", "))
	b.WriteString(" FROM ")
	b.WriteString(table)
	if asOf != "" {
		b.WriteString(" " + asOf)
	}
	var where []string
	var args []any
	if r != nil {
		for _, p := range []struct{ v, cond string }{{r.Lo, "ROWID >= CHARTOROWID(:lo)"}, {r.Hi, "ROWID < CHARTOROWID(:hi)"}} {
			if p.v == "" {
				continue
			}
			if !rowidRE.MatchString(p.v) {
				return "", nil, fmt.Errorf("range bound %q is not a ROWID", p.v)
			}
			where, args = append(where, p.cond), append(args, p.v)
		}
	}
	where, args = append(where, extra...), append(args, extraArgs...)
	if limit > 0 {
		where = append(where, "ROWNUM <= "+strconv.Itoa(limit))
	}
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	return b.String(), args, nil
}

// CountSQL counts a quoted table's rows, as of asOf when not "".
func CountSQL(table, asOf string) string {
	s := "SELECT COUNT(*) FROM " + table
	if asOf != "" {
		s += " " + asOf
	}
	return s
}

// ProbeSQL returns no rows but describes every column of a quoted table.
func ProbeSQL(table string) string { return "SELECT * FROM " + table + " WHERE 1 = 0" }

// AsOfProbeSQL fails with ORA-01031 when the user may not read a quoted
// table AS OF an SCN, and otherwise reads nothing.
func AsOfProbeSQL(table, asOf string) string {
	return "SELECT COUNT(*) FROM (SELECT 1 FROM " + table + " " + asOf + " WHERE 1 = 0)"
}

// FetchOptions are godror's per-query options for bulk reads: rows per
// round trip and rows sent with the execute reply. godror takes them
// "naked" among the query arguments. Zero keeps godror's default.
func FetchOptions(fetchArraySize, prefetch int) []any {
	var opts []any
	if fetchArraySize > 0 {
		opts = append(opts, godror.FetchArraySize(fetchArraySize))
	}
	if prefetch > 0 {
		opts = append(opts, godror.PrefetchCount(prefetch))
	}
	return opts
}

// SQL for the job's consistent point in time.
const (
	// SCNSQL captures the current SCN; needs EXECUTE on DBMS_FLASHBACK.
	SCNSQL = `SELECT TO_CHAR(DBMS_FLASHBACK.GET_SYSTEM_CHANGE_NUMBER) FROM DUAL`
	// SCNFallbackSQL captures it from V$DATABASE; needs SELECT on V_$DATABASE.
	SCNFallbackSQL = `SELECT TO_CHAR(CURRENT_SCN) FROM V$DATABASE`
	// ReadOnlySQL starts a read-only transaction: every query of it sees the
	// database as of its start. The fallback when AS OF SCN is not allowed.
	ReadOnlySQL = `SET TRANSACTION READ ONLY`
	// VersionSQL reports the server's version banner.
	VersionSQL = `SELECT BANNER FROM V$VERSION WHERE ROWNUM = 1`
)

// ReadOnlyNote is SnapshotInfo.Note when the job reads with per-table
// read-only transactions instead of one SCN.
const ReadOnlyNote = "the user may not read AS OF SCN (needs FLASHBACK on the tables or FLASHBACK ANY TABLE, " +
	"and EXECUTE on DBMS_FLASHBACK or SELECT on V$DATABASE): each table was read in its own READ ONLY transaction, " +
	"so every table is consistent in itself but tables may be from different moments"
