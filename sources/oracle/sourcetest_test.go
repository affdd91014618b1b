package oracle

import (
	"crypto/rand"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/sourcetest"
)

// oracleTypes are the suite's types an Oracle table has (no INTEGER,
// BOOLEAN, DATE-only or JSON type of its own before 21c/23ai).
var oracleTypes = []pipeline.ColumnType{pipeline.TypeString, pipeline.TypeDecimal, pipeline.TypeFloat,
	pipeline.TypeDateTime, pipeline.TypeTimestamp, pipeline.TypeTimestampTZ, pipeline.TypeBytes}

// oracleDecl is the declared type (ALL_TAB_COLUMNS, as ColumnsSQL writes
// it, and DDL) of a suite column, and godror's description of it.
func oracleDecl(c sourcetest.Column) (string, fakeCol) {
	n := strings.ToUpper(c.Name)
	switch c.Type {
	case pipeline.TypeDecimal:
		fc := fakeCol{name: n, dbType: "NUMBER", prec: int64(c.Precision), scale: int64(c.Scale), hasPS: true, nullable: true, nullableKnown: true}
		if c.Scale == 0 {
			return fmt.Sprintf("NUMBER(%d)", c.Precision), fc
		}
		return fmt.Sprintf("NUMBER(%d,%d)", c.Precision, c.Scale), fc
	case pipeline.TypeFloat:
		return "BINARY_DOUBLE", fakeCol{name: n, dbType: "DOUBLE", nullable: true, nullableKnown: true}
	case pipeline.TypeDateTime:
		return "DATE", fakeCol{name: n, dbType: "DATE", nullable: true, nullableKnown: true}
	case pipeline.TypeTimestamp:
		return "TIMESTAMP(6)", fakeCol{name: n, dbType: "TIMESTAMP", prec: 6, hasPS: true, nullable: true, nullableKnown: true}
	case pipeline.TypeTimestampTZ:
		return "TIMESTAMP(6) WITH TIME ZONE", fakeCol{name: n, dbType: "TIMESTAMP WITH TIME ZONE", prec: 6, hasPS: true, nullable: true, nullableKnown: true}
	case pipeline.TypeBytes:
		return "RAW(2000)", fakeCol{name: n, dbType: "RAW", nullable: true, nullableKnown: true}
	}
	return "VARCHAR2(4000 CHAR)", fakeCol{name: n, dbType: "VARCHAR2", nullable: true, nullableKnown: true}
}

// memOracle is an Oracle database in memory behind the fake driver, for
// the conformance suite: tables of the schema SRCT with their catalog
// rows, multi-version rows read AS OF an SCN (each change is one SCN),
// and ROWIDs laid out in extents of 8 blocks of 4 rows, which
// DBA_EXTENTS reports and ROWID range predicates filter on.
type memOracle struct {
	mu     sync.Mutex
	scn    int64
	objs   int64
	tables map[string]*memTable
}

type memTable struct {
	name  string
	decl  [][2]string
	cols  []fakeCol
	obj   int64
	next  int64 // rows ever inserted: the next row's slot
	rows  []memRow
	types []sourcetest.Column
}

type memRow struct {
	vals     []driver.Value
	ins, del int64 // visible at SCN s when ins <= s and (del == 0 or del > s)
	rowid    string
}

const memOwner = "SRCT"

// godrorValue is v (the suite's canonical value) as the fake database
// holds it for godror to return: NUMBER as godror.Number, DATE and
// TIMESTAMP as oraDateTime, NULL text as "" and empty RAW as NULL.
func godrorValue(c sourcetest.Column, v any) driver.Value {
	if v == nil {
		if c.Type == pipeline.TypeString {
			return ""
		}
		return nil
	}
	switch x := v.(type) {
	case string:
		if c.Type == pipeline.TypeDecimal {
			return godror.Number(x)
		}
		return x
	case []byte:
		if len(x) == 0 {
			return nil
		}
		return x
	case time.Time:
		_, off := x.Zone()
		if c.Type != pipeline.TypeTimestampTZ {
			off = 0
		}
		return oraDateTime{y: x.Year(), mo: int(x.Month()), d: x.Day(), h: x.Hour(), mi: x.Minute(), s: x.Second(), ns: x.Nanosecond(),
			tzh: off / 3600, tzm: off % 3600 / 60}
	}
	return v
}

func (m *memOracle) create(t *testing.T, tab sourcetest.Table) (pipeline.Connector, string) {
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	name := strings.ToUpper(tab.Name + "_" + hex.EncodeToString(rnd[:]))
	m.mu.Lock()
	m.objs++
	mt := &memTable{name: name, obj: 70000 + m.objs, types: tab.Columns}
	for _, c := range tab.Columns {
		d, fc := oracleDecl(c)
		mt.decl = append(mt.decl, [2]string{fc.name, d})
		mt.cols = append(mt.cols, fc)
	}
	m.tables[name] = mt
	m.mu.Unlock()
	m.replace(name, tab.Rows, false)
	_, c := newFakeConnectorAnswer(t, m.answer)
	return c, name
}

// replace inserts rows as one change (one SCN), deleting every visible
// row first with del.
func (m *memOracle) replace(name string, rows [][]any, del bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt := m.tables[name]
	m.scn++
	if del {
		for i := range mt.rows {
			if mt.rows[i].del == 0 {
				mt.rows[i].del = m.scn
			}
		}
	}
	for _, r := range rows {
		vals := make([]driver.Value, len(r))
		for j, v := range r {
			vals[j] = godrorValue(mt.types[j], v)
		}
		slot := mt.next
		mt.next++
		mt.rows = append(mt.rows, memRow{vals: vals, ins: m.scn, rowid: RowidCreate(mt.obj, 4, 16+slot/4, slot%4)})
	}
}

// extents are the table's extents of 8 blocks from block 16 of file 4,
// as many as its rows ever needed (none before the first row: deferred
// segment creation).
func (mt *memTable) extents() [][]driver.Value {
	n := func(v int64) driver.Value { return godror.Number(strconv.FormatInt(v, 10)) }
	var out [][]driver.Value
	blocks := (mt.next + 3) / 4
	for b := int64(0); b < blocks; b += 8 {
		out = append(out, []driver.Value{n(mt.obj), n(4), n(16 + b), n(8), "NO"})
	}
	return out
}

var (
	memFromRE  = regexp.MustCompile(` FROM "SRCT"\."([^"]+)"(?: AS OF SCN (\d+))?`)
	memLimitRE = regexp.MustCompile(`ROWNUM <= (\d+)`)
)

func (m *memOracle) answer(q string, args []any) fakeResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	var binds []string
	for _, a := range args {
		if s, ok := a.(string); ok {
			binds = append(binds, s)
		}
	}
	num := func(v int) driver.Value { return godror.Number(strconv.Itoa(v)) }
	switch {
	case q == SCNSQL:
		return fakeResult{cols: textCols("SCN"), rows: [][]driver.Value{{strconv.FormatInt(m.scn, 10)}}}
	case q == ReadOnlySQL:
		return fakeResult{}
	case strings.HasPrefix(q, tableSelect):
		owner, name := "", ""
		switch {
		case strings.Contains(q, "UPPER(t.OWNER) = UPPER(:owner)"):
			owner, name = binds[0], binds[1]
		case strings.Contains(q, "UPPER(t.TABLE_NAME) = UPPER(:name)"):
			name = binds[0]
		}
		var rows [][]driver.Value
		for _, mt := range m.tables {
			if (owner == "" || strings.EqualFold(owner, memOwner)) && (name == "" || strings.EqualFold(name, mt.name)) {
				rows = append(rows, []driver.Value{memOwner, mt.name, num(len(mt.cols)), nil})
			}
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i][1].(string) < rows[j][1].(string) })
		return fakeResult{cols: []fakeCol{{name: "OWNER", dbType: "VARCHAR2"}, {name: "TABLE_NAME", dbType: "VARCHAR2"},
			{name: "COLS", dbType: "NUMBER"}, {name: "NUM_ROWS", dbType: "NUMBER"}}, rows: rows}
	case strings.HasPrefix(q, "SELECT COLUMN_NAME, CASE"):
		res := fakeResult{cols: textCols("COLUMN_NAME", "DECL", "NULLABLE")}
		if mt := m.tables[binds[1]]; mt != nil && binds[0] == memOwner && !strings.Contains(q, "ALL_TAB_COLS ") {
			for _, d := range mt.decl {
				res.rows = append(res.rows, []driver.Value{d[0], d[1], "true"})
			}
		}
		return res
	case strings.Contains(q, "FROM DBA_EXTENTS"):
		res := fakeResult{cols: []fakeCol{{name: "O", dbType: "NUMBER"}, {name: "F", dbType: "NUMBER"}, {name: "B", dbType: "NUMBER"}, {name: "N", dbType: "NUMBER"}, {name: "BIGFILE", dbType: "VARCHAR2"}}}
		if mt := m.tables[binds[1]]; mt != nil && binds[0] == memOwner {
			res.rows = mt.extents()
		}
		return res
	}
	f := memFromRE.FindStringSubmatch(q)
	if f == nil || m.tables[f[1]] == nil {
		return fakeResult{err: oraErr(942, "table or view does not exist: "+q)}
	}
	mt := m.tables[f[1]]
	scn, asOf := m.scn, f[2] != ""
	if asOf {
		scn, _ = strconv.ParseInt(f[2], 10, 64)
	}
	visible := func(r memRow) bool { return r.ins <= scn && (r.del == 0 || r.del > scn) }
	switch {
	case strings.HasPrefix(q, "SELECT COUNT(*) FROM (SELECT 1 FROM"): // AsOfProbeSQL
		return fakeResult{cols: []fakeCol{{name: "N", dbType: "NUMBER"}}, rows: [][]driver.Value{{num(0)}}}
	case strings.HasPrefix(q, "SELECT COUNT(*) FROM "):
		n := 0
		for _, r := range mt.rows {
			if visible(r) {
				n++
			}
		}
		return fakeResult{cols: []fakeCol{{name: "N", dbType: "NUMBER"}}, rows: [][]driver.Value{{num(n)}}}
	case strings.HasPrefix(q, "SELECT * FROM ") && strings.HasSuffix(q, " WHERE 1 = 0"):
		return fakeResult{cols: mt.cols}
	case !strings.HasPrefix(q, "SELECT "):
		return fakeResult{err: errors.New("fake oracle: unexpected statement: " + q)}
	}
	// the table SELECT: columns as q names them, rows visible at scn
	// within the ROWID bounds, at most ROWNUM's limit
	list := q[:strings.Index(q, ` FROM "SRCT"`)]
	type hit struct{ pos, col int }
	var hits []hit
	for i, c := range mt.cols {
		if p := strings.Index(list, quoteIdent(c.name)); p >= 0 {
			hits = append(hits, hit{p, i})
		}
	}
	sort.Slice(hits, func(a, b int) bool { return hits[a].pos < hits[b].pos })
	res := fakeResult{}
	for _, h := range hits {
		res.cols = append(res.cols, mt.cols[h.col])
	}
	res.cols = describeSelect(q, res.cols)
	if strings.Contains(q, "1 = 0") {
		return res
	}
	var lo, hi *oracleRowid
	k := 0
	for _, b := range []struct {
		cond string
		p    **oracleRowid
	}{{"ROWID >= CHARTOROWID(:lo)", &lo}, {"ROWID < CHARTOROWID(:hi)", &hi}} {
		if strings.Contains(q, b.cond) {
			r, ok := parseOracleRowid(binds[k])
			if !ok {
				return fakeResult{err: oraErr(1410, "invalid ROWID")}
			}
			*b.p = &r
			k++
		}
	}
	limit := -1
	if l := memLimitRE.FindStringSubmatch(q); l != nil {
		limit, _ = strconv.Atoi(l[1])
	}
	for _, r := range mt.rows {
		if !visible(r) || len(res.rows) == limit {
			continue
		}
		id, _ := parseOracleRowid(r.rowid)
		if (lo != nil && id.less(*lo)) || (hi != nil && !id.less(*hi)) {
			continue
		}
		row := make([]driver.Value, len(hits))
		for j, h := range hits {
			row[j] = r.vals[h.col]
		}
		res.rows = append(res.rows, row)
	}
	return res
}

// newFakeConnectorAnswer connects a Connector to a fake database answering
// with answer.
func newFakeConnectorAnswer(t *testing.T, answer func(string, []any) fakeResult) (*fakeDB, *Connector) {
	t.Helper()
	fake, db := newFakeDB(t, answer)
	fake.tz = time.UTC
	c, err := New(db, Config{User: "u", Password: "p", ConnectString: "h:1521/S"})
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

// TestConformance runs the source conformance suite on the Oracle
// connector over the fake godror driver (an in-memory database answering
// the catalog, SCN, AS OF SCN and ROWID range statements as Oracle does).
func TestConformance(t *testing.T) {
	m := &memOracle{scn: 1000, tables: map[string]*memTable{}}
	sourcetest.Run(t, sourcetest.Harness{
		Types:       oracleTypes,
		Create:      m.create,
		Replace:     func(t *testing.T, name string, rows [][]any) { m.replace(name, rows, true) },
		EmptyIsNull: true,
	})
}

// TestConformanceRealOracle runs the suite against the Oracle of
// EnvTestDSN (skipped when unset): tables O2G_SRCT_* created and
// dropped in the user's schema.
func TestConformanceRealOracle(t *testing.T) {
	o := openOracleIT(t, nil)
	db := o.c.DB()
	ctx := o.ctx
	cols := map[string][]sourcetest.Column{}
	insert := func(t *testing.T, name string, rows [][]any, del bool) {
		t.Helper()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if del {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+name); err != nil {
				t.Fatal(err)
			}
		}
		var ph []string
		for i, c := range cols[name] {
			p := fmt.Sprintf(":%d", i+1)
			if c.Type == pipeline.TypeDecimal { // digits bound as text, read with '.' whatever the session's NLS
				p = fmt.Sprintf(`TO_NUMBER(%s, '%s.%s', 'NLS_NUMERIC_CHARACTERS=''.,''')`, p, strings.Repeat("9", 40), strings.Repeat("9", 10))
			}
			ph = append(ph, p)
		}
		q := "INSERT INTO " + name + " VALUES (" + strings.Join(ph, ", ") + ")"
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, q, r...); err != nil {
				t.Fatalf("%s %v: %v", q, r, err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	sourcetest.Run(t, sourcetest.Harness{
		Types:       oracleTypes,
		EmptyIsNull: true,
		Create: func(t *testing.T, tab sourcetest.Table) (pipeline.Connector, string) {
			var rnd [3]byte
			_, _ = rand.Read(rnd[:])
			name := strings.ToUpper("O2G_" + tab.Name + "_" + hex.EncodeToString(rnd[:]))
			var defs []string
			for _, c := range tab.Columns {
				d, _ := oracleDecl(c)
				defs = append(defs, strings.ToUpper(c.Name)+" "+d)
			}
			if _, err := db.ExecContext(ctx, "CREATE TABLE "+name+" ("+strings.Join(defs, ", ")+")"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _, _ = db.ExecContext(ctx, "DROP TABLE "+name+" PURGE") })
			cols[name] = tab.Columns
			insert(t, name, tab.Rows, false)
			return o.c, name
		},
		Replace: func(t *testing.T, name string, rows [][]any) { insert(t, name, rows, true) },
	})
}
