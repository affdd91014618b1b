package oracle

import (
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

func TestSelectSQL(t *testing.T) {
	cols := []string{`"MANDT"`, `"VBELN"`, `"Mixed"`}
	lo, hi := "AAAR3sAAEAAAACXAAA", "AAAR3sAAEAAAAEAAAA"
	tests := []struct {
		name  string
		asOf  string
		limit int
		r     *pipeline.Range
		sql   string
		args  []any
	}{
		{"plain", "", 0, nil, `SELECT "MANDT", "VBELN", "Mixed" FROM "SAPSR3"."VBRP"`, nil},
		{"as of scn", "AS OF SCN 42", 0, nil, `SELECT "MANDT", "VBELN", "Mixed" FROM "SAPSR3"."VBRP" AS OF SCN 42`, nil},
		{"sample", "", 100, nil, `SELECT "MANDT", "VBELN", "Mixed" FROM "SAPSR3"."VBRP" WHERE ROWNUM <= 100`, nil},
		{"sample as of", "AS OF SCN 42", 100, nil, `SELECT "MANDT", "VBELN", "Mixed" FROM "SAPSR3"."VBRP" AS OF SCN 42 WHERE ROWNUM <= 100`, nil},
		{"middle range", "AS OF SCN 42", 0, &pipeline.Range{Lo: lo, Hi: hi},
			`SELECT "MANDT", "VBELN", "Mixed" FROM "SAPSR3"."VBRP" AS OF SCN 42 WHERE ROWID >= CHARTOROWID(:lo) AND ROWID < CHARTOROWID(:hi)`, []any{lo, hi}},
		{"first range", "", 0, &pipeline.Range{Hi: hi}, `SELECT "MANDT", "VBELN", "Mixed" FROM "SAPSR3"."VBRP" WHERE ROWID < CHARTOROWID(:hi)`, []any{hi}},
		{"last range", "", 0, &pipeline.Range{Lo: lo}, `SELECT "MANDT", "VBELN", "Mixed" FROM "SAPSR3"."VBRP" WHERE ROWID >= CHARTOROWID(:lo)`, []any{lo}},
		{"whole range", "", 0, &pipeline.Range{Total: 1}, `SELECT "MANDT", "VBELN", "Mixed" FROM "SAPSR3"."VBRP"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, args, err := SelectSQL(`"SAPSR3"."VBRP"`, cols, tt.asOf, tt.limit, tt.r)
			if err != nil || got != tt.sql {
				t.Fatalf("SQL\n got %s (%v)\nwant %s", got, err, tt.sql)
			}
			if len(args) != len(tt.args) {
				t.Fatalf("args %v, want %v", args, tt.args)
			}
			for i := range args {
				if args[i] != tt.args[i] {
					t.Fatalf("args %v, want %v", args, tt.args)
				}
			}
		})
	}
	for _, bad := range []*pipeline.Range{{Lo: "x' OR 1=1 --"}, {Hi: "AAAR3sAAEAAAACXAA"}} {
		if _, _, err := SelectSQL(`"T"`, cols, "", 0, bad); err == nil {
			t.Errorf("range %+v accepted", bad)
		}
	}
	if _, _, err := SelectSQL(`"T"`, nil, "", 0, nil); err == nil {
		t.Error("no columns accepted")
	}
}

func TestAsOfClause(t *testing.T) {
	if c, err := AsOfClause("12345678901234"); err != nil || c != "AS OF SCN 12345678901234" {
		t.Fatalf("%q %v", c, err)
	}
	for _, bad := range []string{"", "1 OR 1=1", "-1", "1e9", "123456789012345678901"} {
		if _, err := AsOfClause(bad); err == nil {
			t.Errorf("AsOfClause(%q) accepted", bad)
		}
	}
}

func TestCatalogSQLText(t *testing.T) {
	s := CatalogSQL()
	for _, frag := range []string{"FROM ALL_TABLES t", "t.NUM_ROWS", "ALL_TAB_COLUMNS", "'SYS'", "'SYSTEM'", "'XDB'", "t.DROPPED = 'NO'", "ORDER BY t.OWNER, t.TABLE_NAME"} {
		if !strings.Contains(s, frag) {
			t.Errorf("catalog SQL lacks %q:\n%s", frag, s)
		}
	}
	q, args := FindTableSQL("SAPSR3", "vbrp")
	if !strings.Contains(q, "UPPER(t.OWNER) = UPPER(:owner) AND UPPER(t.TABLE_NAME) = UPPER(:name)") || len(args) != 2 || args[0] != "SAPSR3" || args[1] != "vbrp" {
		t.Errorf("find with owner: %s %v", q, args)
	}
	q, args = FindTableSQL("", "x; DROP TABLE y")
	if strings.Contains(q, "DROP TABLE") || !strings.Contains(q, "CURRENT_SCHEMA") || len(args) != 2 {
		t.Errorf("find without owner: %s %v", q, args)
	}
	q, args = ColumnsSQL("S", "T")
	if !strings.Contains(q, "ORDER BY COLUMN_ID") || !strings.Contains(q, "FROM ALL_TAB_COLUMNS") || len(args) != 2 {
		t.Errorf("columns: %s", q)
	}
	if CountSQL(`"S"."T"`, "AS OF SCN 9") != `SELECT COUNT(*) FROM "S"."T" AS OF SCN 9` || CountSQL(`"T"`, "") != `SELECT COUNT(*) FROM "T"` {
		t.Error(CountSQL(`"S"."T"`, "AS OF SCN 9"))
	}
	if quoteIdent(`/BIC/A"X`) != `"/BIC/A""X"` {
		t.Error(quoteIdent(`/BIC/A"X`))
	}
}
