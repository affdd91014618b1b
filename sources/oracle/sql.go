package oracle

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/godror/godror"
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
	"C##DV_OWNER", "C##OMLIDM", "GRAPH$METADATA", "GSMROOTUSER", "OML$METADATA", "RMAN$CATALOG", "SH",
}

// maxIdent is Oracle's identifier length limit in bytes (128 from 12.2; 30 before).
const maxIdent = 128

// QuoteIdent quotes name as an Oracle identifier: "NAME", case kept. Oracle
// identifiers cannot contain a double quote or NUL, so such names (and
// empty or over-long ones) are an error rather than escaped.
func QuoteIdent(name string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("oracle: empty identifier")
	case len(name) > maxIdent:
		return "", fmt.Errorf("oracle: identifier longer than %d bytes", maxIdent)
	case strings.ContainsAny(name, "\"\x00"), !utf8.ValidString(name):
		return "", fmt.Errorf("oracle: identifier %q contains a double quote, NUL or invalid UTF-8", name)
	}
	return `"` + name + `"`, nil
}

// QualifiedName quotes owner.table.
func QualifiedName(owner, table string) (string, error) {
	t, err := QuoteIdent(table)
	if err != nil {
		return "", err
	}
	if owner == "" {
		return t, nil
	}
	o, err := QuoteIdent(owner)
	if err != nil {
		return "", err
	}
	return o + "." + t, nil
}

// ParseTableName splits a user-given table name into owner (empty when not
// given) and table, with Oracle's case rules: unquoted parts fold to upper
// case (vbrp → VBRP, sapsr3.vbrp → SAPSR3.VBRP), "Quoted" parts keep
// theirs. The result is only ever compared with the catalog through bind
// variables, never put into SQL text.
func ParseTableName(s string) (owner, table string, err error) {
	s = strings.TrimSpace(s)
	var parts []string
	for rest := s; ; {
		var part string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return "", "", fmt.Errorf("oracle: table name %q: unbalanced double quote", s)
			}
			part, rest = rest[1:end+1], rest[end+2:]
		} else {
			end := strings.IndexByte(rest, '.')
			if end < 0 {
				end = len(rest)
			}
			part, rest = strings.ToUpper(strings.TrimSpace(rest[:end])), rest[end:]
			if strings.ContainsAny(part, `"`) {
				return "", "", fmt.Errorf("oracle: table name %q: stray double quote", s)
			}
		}
		if part == "" {
			return "", "", fmt.Errorf("oracle: table name %q: empty part", s)
		}
		parts = append(parts, part)
		if rest == "" {
			break
		}
		if rest[0] != '.' {
			return "", "", fmt.Errorf("oracle: table name %q: want TABLE or OWNER.TABLE", s)
		}
		rest = rest[1:]
	}
	if len(parts) > 2 {
		return "", "", fmt.Errorf("oracle: table name %q: want TABLE or OWNER.TABLE", s)
	}
	for _, p := range parts {
		if _, err := QuoteIdent(p); err != nil {
			return "", "", fmt.Errorf("oracle: table name %q: %w", s, err)
		}
	}
	if len(parts) == 2 {
		return parts[0], parts[1], nil
	}
	return "", parts[0], nil
}

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

// CatalogSQL lists the readable tables outside SystemOwners with the
// optimizer's row estimate (NUM_ROWS, NULL when never analysed), column
// count and comment. Columns: OWNER, TABLE_NAME, NUM_ROWS, COLUMN_COUNT,
// COMMENTS, PARTITIONED.
func CatalogSQL() string {
	return `SELECT t.OWNER, t.TABLE_NAME, t.NUM_ROWS,` +
		` (SELECT COUNT(*) FROM ALL_TAB_COLUMNS c WHERE c.OWNER = t.OWNER AND c.TABLE_NAME = t.TABLE_NAME) AS COLUMN_COUNT,` +
		` cm.COMMENTS, t.PARTITIONED` +
		` FROM ALL_TABLES t` +
		` LEFT JOIN ALL_TAB_COMMENTS cm ON cm.OWNER = t.OWNER AND cm.TABLE_NAME = t.TABLE_NAME` +
		` WHERE t.OWNER NOT IN (` + systemOwnerList() + `) AND ` + tableFilter +
		` ORDER BY t.OWNER, t.TABLE_NAME`
}

// ResolveSQL finds a table by exact owner and name (binds :owner, :name).
// With no owner given, ResolveCurrentSchemaSQL looks in the session's
// schema first and ResolveAnyOwnerSQL then in every owner (ambiguous when
// more than one row comes back). Columns: OWNER, TABLE_NAME, NUM_ROWS.
func ResolveSQL() string {
	return `SELECT t.OWNER, t.TABLE_NAME, t.NUM_ROWS FROM ALL_TABLES t WHERE t.OWNER = :owner AND t.TABLE_NAME = :name AND ` + tableFilter
}

// ResolveCurrentSchemaSQL finds :name in the session's current schema.
func ResolveCurrentSchemaSQL() string {
	return `SELECT t.OWNER, t.TABLE_NAME, t.NUM_ROWS FROM ALL_TABLES t` +
		` WHERE t.OWNER = SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') AND t.TABLE_NAME = :name AND ` + tableFilter
}

// ResolveAnyOwnerSQL finds :name in every non-system owner.
func ResolveAnyOwnerSQL() string {
	return `SELECT t.OWNER, t.TABLE_NAME, t.NUM_ROWS FROM ALL_TABLES t` +
		` WHERE t.TABLE_NAME = :name AND t.OWNER NOT IN (` + systemOwnerList() + `) AND ` + tableFilter +
		` ORDER BY t.OWNER`
}

// ColumnsSQL lists a table's columns in table order (binds :owner, :name).
// Columns: COLUMN_NAME, DATA_TYPE, DATA_PRECISION, DATA_SCALE, NULLABLE.
// ALL_TAB_COLUMNS leaves out hidden and virtual-only system columns.
func ColumnsSQL() string {
	return `SELECT COLUMN_NAME, DATA_TYPE, DATA_PRECISION, DATA_SCALE, NULLABLE FROM ALL_TAB_COLUMNS` +
		` WHERE OWNER = :owner AND TABLE_NAME = :name ORDER BY COLUMN_ID`
}

// PartitionsSQL lists a table's partitions in order (binds :owner, :name).
func PartitionsSQL() string {
	return `SELECT PARTITION_NAME FROM ALL_TAB_PARTITIONS WHERE TABLE_OWNER = :owner AND TABLE_NAME = :name ORDER BY PARTITION_POSITION`
}

// CountSQL counts a table's rows exactly (as of :scn when asOf).
func CountSQL(owner, table string, asOf bool) (string, error) {
	q, err := QualifiedName(owner, table)
	if err != nil {
		return "", err
	}
	s := "SELECT COUNT(*) FROM " + q
	if asOf {
		s += " AS OF SCN :scn"
	}
	return s, nil
}

// Select describes one table read.
type Select struct {
	Owner, Table string
	Columns      []string // catalog names, in table order
	AsOfSCN      bool     // add AS OF SCN :scn (first bind)
	Partition    string   // read one partition only
	// RowidLo and RowidHi bound a ROWID range, half-open: ROWID >= :lo AND
	// ROWID < :hi. Either may be false for the first and last range, so the
	// ranges of a table cover it without gaps whatever its extents did.
	RowidLo, RowidHi bool
	Limit            bool // ROWNUM <= :lim (Oracle 11g has no FETCH FIRST)
}

// SQL builds the statement text; binds follow in the order :scn, :lo, :hi,
// :lim for those present (see Args). Every identifier is quoted.
func (s Select) SQL() (string, error) {
	if len(s.Columns) == 0 {
		return "", fmt.Errorf("oracle: select from %s: no columns", s.Table)
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range s.Columns {
		q, err := QuoteIdent(c)
		if err != nil {
			return "", fmt.Errorf("oracle: select from %s: %w", s.Table, err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q)
	}
	from, err := QualifiedName(s.Owner, s.Table)
	if err != nil {
		return "", err
	}
	b.WriteString(" FROM ")
	b.WriteString(from)
	if s.Partition != "" {
		p, err := QuoteIdent(s.Partition)
		if err != nil {
			return "", err
		}
		b.WriteString(" PARTITION (" + p + ")")
	}
	if s.AsOfSCN {
		b.WriteString(" AS OF SCN :scn")
	}
	var where []string
	if s.RowidLo {
		where = append(where, "ROWID >= CHARTOROWID(:lo)")
	}
	if s.RowidHi {
		where = append(where, "ROWID < CHARTOROWID(:hi)")
	}
	if s.Limit {
		where = append(where, "ROWNUM <= :lim")
	}
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	return b.String(), nil
}

// Args returns the binds for the statement of SQL, in order, followed by
// godror's fetch options (FetchArraySize, PrefetchCount) which godror takes
// "naked" among the query arguments. lo/hi are ROWID strings, scn the job's
// SCN as decimal digits.
func (s Select) Args(scn, lo, hi string, limit, fetchArraySize, prefetch int) []any {
	var args []any
	if s.AsOfSCN {
		args = append(args, scn)
	}
	if s.RowidLo {
		args = append(args, lo)
	}
	if s.RowidHi {
		args = append(args, hi)
	}
	if s.Limit {
		args = append(args, limit)
	}
	return append(args, FetchOptions(fetchArraySize, prefetch)...)
}

// FetchOptions are godror's per-query options for bulk reads: rows per
// round trip and rows sent with the execute reply. Zero keeps the default.
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
