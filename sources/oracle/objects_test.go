package oracle

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// TestObjectColumnsRefused: godror returns an object column (its
// DatabaseTypeName "OBJECT", rows.go:189-190) as *godror.Object and a
// VECTOR as godror.Vector (rows.go:703-720), neither of which has an exact
// NDJSON form here; the table would fail mid-read. Describe (which
// transport creation calls) refuses such a table, naming the column and
// its type. XMLTYPE is fetched as text (rows.go:396-399) and stays.
func TestObjectColumnsRefused(t *testing.T) {
	for _, tt := range []struct {
		name, dbType, decl string
		want               []string
	}{
		{"sdo_geometry", "OBJECT", "OBJECT MDSYS.SDO_GEOMETRY", []string{`"GEOM"`, "MDSYS.SDO_GEOMETRY"}},
		{"user type", "OBJECT", "OBJECT APP.ADDRESS_T", []string{`"GEOM"`, "APP.ADDRESS_T"}},
		{"vector", "VECTOR", "VECTOR", []string{`"GEOM"`, "VECTOR"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &tableFake{
				cols: []fakeCol{{name: "ID", dbType: "NUMBER"}, {name: "GEOM", dbType: tt.dbType}},
				decl: [][2]string{{"ID", "NUMBER"}, {"GEOM", tt.decl}},
			}
			_, c := f.open(t, Config{})
			_, err := c.Describe(context.Background(), "T.X")
			if err == nil {
				t.Fatal("a table with an object column was accepted; its read would fail mid-table")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if !errors.Is(err, pipeline.ErrUnsupportedColumn) {
				t.Errorf("%v does not wrap pipeline.ErrUnsupportedColumn (the server's 422 unsupported_column)", err)
			}
			if KindOf(err) != KindInvalid {
				t.Errorf("kind %v", KindOf(err))
			}
		})
	}
	t.Run("xmltype is text", func(t *testing.T) {
		f := &tableFake{cols: []fakeCol{{name: "X", dbType: "XMLTYPE"}}, decl: [][2]string{{"X", "XMLTYPE"}}}
		_, c := f.open(t, Config{})
		if _, err := c.Describe(context.Background(), "T.X"); err != nil {
			t.Fatal(err)
		}
	})
	if !strings.Contains(columnSelect, "DATA_TYPE_OWNER") {
		t.Fatal("the catalog query does not tell object types apart")
	}
}
