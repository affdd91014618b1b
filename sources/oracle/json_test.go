package oracle

import (
	"database/sql/driver"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// TestNativeJSONExact: with JSONAsString godror re-encodes a native JSON
// document through Go values (modelled by oraJSON.godrorJSONAsString):
// 12345678901234567890 became 12345678901234567000 and keys were sorted.
// The connector selects JSON columns with JSON_SERIALIZE(… RETURNING CLOB),
// the document's own text.
func TestNativeJSONExact(t *testing.T) {
	doc := `{"z":12345678901234567890,"a":0.1000000000000000055511151231257827,"n":[1,2.5]}`
	f := &tableFake{
		cols: []fakeCol{{name: "ID", dbType: "NUMBER"}, {name: "DOC", dbType: "JSON"}},
		decl: [][2]string{{"ID", "NUMBER"}, {"DOC", "JSON"}},
		rows: [][]driver.Value{{"1", oraJSON(doc)}, {"2", nil}},
	}
	cols, rows, fake := f.readTable(t, Config{})
	if cols[1].Type != pipeline.TypeJSON {
		t.Fatalf("DOC is %v", cols[1].Type)
	}
	if rows[0][1] != doc {
		t.Errorf("DOC = %v\nwant %s", rows[0][1], doc)
	}
	if rows[1][1] != nil {
		t.Errorf("NULL DOC = %#v", rows[1][1])
	}
	if q := tableSelectCall(t, fake).SQL; !matches(q, `JSON_SERIALIZE("DOC" RETURNING CLOB) AS "DOC"`) {
		t.Errorf("SELECT %s", q)
	}
}
