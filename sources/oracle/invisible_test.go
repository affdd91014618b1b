package oracle

import (
	"database/sql/driver"
	"testing"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// TestInvisibleColumnsExported: SELECT * and ALL_TAB_COLUMNS omit 12c
// INVISIBLE columns; they are data, so the connector reads them from
// ALL_TAB_COLS, names them in its SELECT and marks them Invisible.
func TestInvisibleColumnsExported(t *testing.T) {
	f := &tableFake{
		cols:          []fakeCol{{name: "ID", dbType: "NUMBER", prec: 10, hasPS: true}, {name: "V", dbType: "VARCHAR2"}},
		decl:          [][2]string{{"ID", "NUMBER(10)"}, {"V", "VARCHAR2(10 CHAR)"}},
		invisible:     []fakeCol{{name: "SECRET", dbType: "NUMBER", prec: 15, scale: 2, hasPS: true}, {name: "NOTE", dbType: "VARCHAR2"}},
		invisibleDecl: [][2]string{{"SECRET", "NUMBER(15,2)"}, {"NOTE", "VARCHAR2(20 CHAR)"}},
		rows: [][]driver.Value{
			{godror.Number("1"), "a", godror.Number("12.50"), "hidden"},
			{godror.Number("2"), "b", nil, ""},
		},
	}
	cols, rows, fake := f.readTable(t, Config{})
	want := []pipeline.Column{
		{Name: "ID", Type: pipeline.TypeDecimal, SourceType: "NUMBER(10)", Precision: 10, Nullable: true},
		{Name: "V", Type: pipeline.TypeString, SourceType: "VARCHAR2(10 CHAR)", Nullable: true},
		{Name: "SECRET", Type: pipeline.TypeDecimal, SourceType: "NUMBER(15,2)", Precision: 15, Scale: 2, Nullable: true, Invisible: true},
		{Name: "NOTE", Type: pipeline.TypeString, SourceType: "VARCHAR2(20 CHAR)", Nullable: true, Invisible: true},
	}
	if len(cols) != len(want) {
		t.Fatalf("columns %+v, want %+v", cols, want)
	}
	for i := range want {
		if cols[i] != want[i] {
			t.Errorf("column %d = %+v, want %+v", i, cols[i], want[i])
		}
	}
	if len(rows) != 2 || rows[0][2] != "12.50" || rows[0][3] != "hidden" || rows[1][2] != nil || rows[1][3] != nil {
		t.Fatalf("rows %v", rows)
	}
	if q := tableSelectCall(t, fake).SQL; !matches(q, `SELECT "ID", "V", "SECRET", "NOTE" FROM "T"."X"`) {
		t.Errorf("SELECT %s", q)
	}

	t.Run("11g has no USER_GENERATED", func(t *testing.T) {
		g := &tableFake{cols: f.cols, decl: f.decl, invisibleErr: oraErr(904, `"USER_GENERATED": invalid identifier`),
			rows: [][]driver.Value{{godror.Number("1"), "a"}}}
		cols, rows, _ := g.readTable(t, Config{})
		if len(cols) != 2 || len(rows) != 1 {
			t.Fatalf("%v %v", cols, rows)
		}
	})
}
