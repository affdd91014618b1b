package oracle

import (
	"context"
	"database/sql/driver"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// tableFake is one table T.X answered the way Oracle and godror answer:
// the catalog (ALL_TABLES, ALL_TAB_COLUMNS/ALL_TAB_COLS), the SCN, the
// describe probe and the table SELECT. cols are godror's description of
// the visible columns, decl the declared types; rows hold values as godror
// returns them (or oraDateTime, converted as godror does). selectHook, when
// set, answers the table SELECT instead (it sees the statement text).
type tableFake struct {
	cols []fakeCol
	decl [][2]string
	rows [][]driver.Value // values of cols, then of invisible
	// invisible columns (12c INVISIBLE) with their declared types: in
	// ALL_TAB_COLS (HIDDEN_COLUMN = 'YES', USER_GENERATED = 'YES'), not in
	// ALL_TAB_COLUMNS, and not returned by SELECT * (only when named).
	invisible     []fakeCol
	invisibleDecl [][2]string
	invisibleErr  error // the ALL_TAB_COLS query fails (11g: ORA-00904 USER_GENERATED)
	selectHook    func(q string) fakeResult

	mu        sync.Mutex
	projected map[string]fakeResult // project's answers by statement
	other     func(q string, args []any) (fakeResult, bool)
}

func (f *tableFake) answer(q string, args []any) fakeResult {
	if f.other != nil {
		if r, ok := f.other(q, args); ok {
			return r
		}
	}
	switch {
	case q == SCNSQL:
		return fakeResult{cols: textCols("SCN"), rows: [][]driver.Value{{"42"}}}
	case strings.HasPrefix(q, tableSelect):
		return fakeResult{cols: []fakeCol{{name: "OWNER", dbType: "VARCHAR2"}, {name: "TABLE_NAME", dbType: "VARCHAR2"},
			{name: "COLS", dbType: "NUMBER"}, {name: "NUM_ROWS", dbType: "NUMBER"}},
			rows: [][]driver.Value{{"T", "X", godror.Number("1"), nil}}}
	case strings.HasPrefix(q, "SELECT COLUMN_NAME, CASE") && strings.Contains(q, "ALL_TAB_COLS "):
		if f.invisibleErr != nil {
			return fakeResult{err: f.invisibleErr}
		}
		var rows [][]driver.Value
		for _, d := range f.invisibleDecl {
			rows = append(rows, []driver.Value{d[0], d[1], "true"})
		}
		return fakeResult{cols: textCols("COLUMN_NAME", "DECL", "NULLABLE"), rows: rows}
	case strings.HasPrefix(q, "SELECT COLUMN_NAME, CASE"):
		var rows [][]driver.Value
		for _, d := range f.decl {
			rows = append(rows, []driver.Value{d[0], d[1], "true"})
		}
		return fakeResult{cols: textCols("COLUMN_NAME", "DECL", "NULLABLE"), rows: rows}
	case strings.HasPrefix(q, "SELECT * FROM "):
		return fakeResult{cols: f.cols}
	case strings.HasPrefix(q, "SELECT ") && strings.Contains(q, ` FROM "T"."X"`):
		if f.selectHook != nil {
			return f.selectHook(q)
		}
		return f.project(q)
	case q == ReadOnlySQL:
		return fakeResult{}
	}
	return fakeResult{err: errors.New("fake oracle: unexpected statement: " + q)}
}

// project answers a SELECT that names columns: the columns of cols and
// invisible whose quoted name q mentions, in the order q mentions them,
// each described as Oracle describes its SELECT list item.
func (f *tableFake) project(q string) fakeResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.projected[q]; ok { // rows are only read: one projection per statement text
		return r
	}
	r := f.projectLocked(q)
	if f.projected == nil {
		f.projected = map[string]fakeResult{}
	}
	f.projected[q] = r
	return r
}

func (f *tableFake) projectLocked(q string) fakeResult {
	all := append(append([]fakeCol(nil), f.cols...), f.invisible...)
	type hit struct{ pos, col int }
	var hits []hit
	list := q[:strings.Index(q, ` FROM "T"."X"`)]
	for i, c := range all {
		if p := strings.Index(list, quoteIdent(c.name)); p >= 0 {
			hits = append(hits, hit{p, i})
		}
	}
	// a LOB's streamed part (lobStreamItems): ""C" AS "ORA2GCS_LOB_k""
	streamed := map[int]bool{}
	for i, c := range all {
		if p := strings.Index(list, quoteIdent(c.name)+` AS "ORA2GCS_LOB_`); p >= 0 {
			hits = append(hits, hit{p, i})
			streamed[len(hits)-1] = true
		}
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].pos < hits[b].pos })
	res := fakeResult{}
	var parts []int // per result column: 0 whole, 1 inline part, 2 streamed part
	for _, h := range hits {
		c := all[h.col]
		part := 0
		switch {
		case strings.HasPrefix(list[h.pos:], quoteIdent(c.name)+` AS "ORA2GCS_LOB_`):
			part = 2
			c.name = list[h.pos+len(quoteIdent(c.name)+" AS ")+1:]
			c.name = c.name[:strings.IndexByte(c.name, '"')]
		case strings.Contains(list, "DBMS_LOB.SUBSTR("+quoteIdent(c.name)+", "):
			part = 1
			c = fakeCol{name: c.name, dbType: map[string]string{"CLOB": "VARCHAR2", "NCLOB": "NVARCHAR2", "BLOB": "RAW"}[c.dbType], nullable: true, nullableKnown: true}
		}
		parts = append(parts, part)
		res.cols = append(res.cols, c)
	}
	res.cols = describeSelect(q, res.cols)
	if strings.Contains(q, "1 = 0") {
		return res
	}
	if len(streamed) > 0 {
		for _, r := range f.rows {
			row := make([]driver.Value, len(hits))
			for j, h := range hits {
				row[j] = lobPart(r[h.col], all[h.col].dbType, parts[j])
			}
			res.rows = append(res.rows, row)
		}
		return res
	}
	identity := len(hits) == len(all)
	for j, h := range hits {
		identity = identity && h.col == j
	}
	if identity { // rows are only read: share them
		res.rows = f.rows
		return res
	}
	for _, r := range f.rows {
		row := make([]driver.Value, len(hits))
		for j, h := range hits {
			row[j] = r[h.col]
		}
		res.rows = append(res.rows, row)
	}
	return res
}

// open connects a Connector with cfg to f; the fake driver gets cfg's
// godror parameters that change values (Params().Timezone).
func (f *tableFake) open(t *testing.T, cfg Config) (*fakeDB, *Connector) {
	t.Helper()
	cfg.User, cfg.Password, cfg.ConnectString = "u", "p", "h:1521/S"
	fake, db := newFakeDB(t, f.answer)
	fake.tz = cfg.Params().Timezone
	c, err := New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

// readTable describes T.X, reads it as of a fresh SCN and returns its
// columns and rows.
func (f *tableFake) readTable(t *testing.T, cfg Config) ([]pipeline.Column, [][]any, *fakeDB) {
	t.Helper()
	fake, c := f.open(t, cfg)
	ti, err := c.Describe(context.Background(), "T.X")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.Open(context.Background(), ti, snap, pipeline.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	return ti.Columns, rows, fake
}

// tableSelectCall is the last table SELECT f received.
func tableSelectCall(t *testing.T, fake *fakeDB) fakeCall {
	t.Helper()
	calls := fake.Calls()
	for i := len(calls) - 1; i >= 0; i-- {
		if strings.HasPrefix(calls[i].SQL, "SELECT ") && strings.Contains(calls[i].SQL, ` FROM "T"."X"`) && !strings.HasPrefix(calls[i].SQL, "SELECT * ") {
			return calls[i]
		}
	}
	t.Fatal("no table SELECT")
	return fakeCall{}
}

// lobPart is what Oracle returns for part (0 whole, 1 inline, 2 streamed;
// see SelectItem, lobStreamItems) of LOB value v of type dbType: the inline
// part holds a non-empty value of at most LOBInlineChars characters
// (LOBInlineBytes bytes for a BLOB), as VARCHAR2 (NULL arrives as "",
// rows.go:400-403) or RAW, else NULL; the streamed part is the column
// itself.
func lobPart(v driver.Value, dbType string, part int) driver.Value {
	if part != 1 {
		return v
	}
	var n int
	switch x := v.(type) {
	case string:
		n = utf8.RuneCountInString(x) // CLOB length in characters (BMP text)
	case []byte:
		n = len(x)
	}
	limit := LOBInlineChars
	if dbType == "BLOB" {
		limit = LOBInlineBytes
	}
	switch {
	case v != nil && n > 0 && n <= limit:
		return v
	case dbType == "BLOB":
		return nil
	}
	return ""
}

// lobSplit answers SELECT q of a table whose columns cols (as described,
// in order) and rows the statement reads in order: a LOB column selected
// with SelectItem's inline expression gives its inline part, and each
// streamed part (lobStreamItems, after the columns) its value, as
// lobPart says.
func lobSplit(q string, cols []fakeCol, rows [][]driver.Value) fakeResult {
	var split []int
	res := fakeResult{cols: append([]fakeCol(nil), cols...)}
	for i, c := range cols {
		if strings.Contains(q, "DBMS_LOB.SUBSTR("+quoteIdent(c.name)+", ") {
			res.cols[i] = fakeCol{name: c.name, dbType: map[string]string{"CLOB": "VARCHAR2", "NCLOB": "NVARCHAR2", "BLOB": "RAW"}[c.dbType], nullable: true, nullableKnown: true}
			res.cols = append(res.cols, fakeCol{name: strings.Trim(lobStreamAlias(len(split)), `"`), dbType: c.dbType, nullable: true, nullableKnown: true})
			split = append(split, i)
		}
	}
	if len(split) == 0 {
		res.rows = rows
		return res
	}
	for _, r := range rows {
		row := make([]driver.Value, 0, len(res.cols))
		for i, v := range r {
			if res.cols[i].dbType != cols[i].dbType {
				v = lobPart(v, cols[i].dbType, 1)
			}
			row = append(row, v)
		}
		for _, i := range split {
			row = append(row, lobPart(r[i], cols[i].dbType, 2))
		}
		res.rows = append(res.rows, row)
	}
	return res
}
