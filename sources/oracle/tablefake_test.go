package oracle

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"testing"

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
	cols       []fakeCol
	decl       [][2]string
	rows       [][]driver.Value
	selectHook func(q string) fakeResult
	other      func(q string, args []any) (fakeResult, bool)
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
		return fakeResult{cols: describeSelect(q, f.cols), rows: f.rows}
	case q == ReadOnlySQL:
		return fakeResult{}
	}
	return fakeResult{err: errors.New("fake oracle: unexpected statement: " + q)}
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
