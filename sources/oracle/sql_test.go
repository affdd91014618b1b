package oracle

import (
	"strings"
	"testing"
)

func TestParseTableName(t *testing.T) {
	tests := []struct {
		in, owner, table, err string
	}{
		{in: "vbrp", table: "VBRP"},
		{in: " VbRk ", table: "VBRK"},
		{in: "sapsr3.vbrp", owner: "SAPSR3", table: "VBRP"},
		{in: `"Mixed Case"`, table: "Mixed Case"},
		{in: `sapsr3."lower.dot"`, owner: "SAPSR3", table: "lower.dot"},
		{in: `"Own"."Tab"`, owner: "Own", table: "Tab"},
		{in: "/BIC/AZSALES00", table: "/BIC/AZSALES00"},
		{in: "x; DROP TABLE y", table: "X; DROP TABLE Y"}, // only ever bound, then not found
		{in: "", err: "empty part"},
		{in: "a.b.c", err: "want TABLE or OWNER.TABLE"},
		{in: `"unterminated`, err: "unbalanced"},
		{in: `a"b`, err: "stray double quote"},
		{in: `"a"b`, err: "want TABLE or OWNER.TABLE"},
		{in: "a.", err: "empty part"},
		{in: "x\x00y", err: "NUL"},
		{in: strings.Repeat("A", 129), err: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			o, tb, err := ParseTableName(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || o != tt.owner || tb != tt.table {
				t.Fatalf("got %q %q %v, want %q %q", o, tb, err, tt.owner, tt.table)
			}
		})
	}
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{"VBRP": `"VBRP"`, "Mixed Case": `"Mixed Case"`, "/BIC/X": `"/BIC/X"`, "한글": `"한글"`} {
		if got, err := QuoteIdent(in); err != nil || got != want {
			t.Errorf("QuoteIdent(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", `a"b`, "a\x00", "\xff"} {
		if _, err := QuoteIdent(bad); err == nil {
			t.Errorf("QuoteIdent(%q) accepted", bad)
		}
	}
}

func TestSelectSQL(t *testing.T) {
	cols := []string{"MANDT", "VBELN", "Mixed"}
	tests := []struct {
		name string
		sel  Select
		sql  string
		args []any
	}{
		{"plain", Select{Owner: "SAPSR3", Table: "VBRP", Columns: cols},
			`SELECT "MANDT", "VBELN", "Mixed" FROM "SAPSR3"."VBRP"`, nil},
		{"as of scn", Select{Owner: "SAPSR3", Table: "VBRP", Columns: cols, AsOfSCN: true},
			`SELECT "MANDT", "VBELN", "Mixed" FROM "SAPSR3"."VBRP" AS OF SCN :scn`, []any{"42"}},
		{"sample", Select{Owner: "S", Table: "T", Columns: cols[:1], Limit: true},
			`SELECT "MANDT" FROM "S"."T" WHERE ROWNUM <= :lim`, []any{100}},
		{"sample as of", Select{Owner: "S", Table: "T", Columns: cols[:1], Limit: true, AsOfSCN: true},
			`SELECT "MANDT" FROM "S"."T" AS OF SCN :scn WHERE ROWNUM <= :lim`, []any{"42", 100}},
		{"middle range", Select{Owner: "S", Table: "T", Columns: cols[:1], AsOfSCN: true, RowidLo: true, RowidHi: true},
			`SELECT "MANDT" FROM "S"."T" AS OF SCN :scn WHERE ROWID >= CHARTOROWID(:lo) AND ROWID < CHARTOROWID(:hi)`, []any{"42", "LO", "HI"}},
		{"first range", Select{Owner: "S", Table: "T", Columns: cols[:1], RowidHi: true},
			`SELECT "MANDT" FROM "S"."T" WHERE ROWID < CHARTOROWID(:hi)`, []any{"HI"}},
		{"last range", Select{Owner: "S", Table: "T", Columns: cols[:1], RowidLo: true},
			`SELECT "MANDT" FROM "S"."T" WHERE ROWID >= CHARTOROWID(:lo)`, []any{"LO"}},
		{"partition", Select{Owner: "S", Table: "T", Columns: cols[:1], Partition: "P2024", AsOfSCN: true},
			`SELECT "MANDT" FROM "S"."T" PARTITION ("P2024") AS OF SCN :scn`, []any{"42"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sel.SQL()
			if err != nil || got != tt.sql {
				t.Fatalf("SQL\n got %s (%v)\nwant %s", got, err, tt.sql)
			}
			args := tt.sel.Args("42", "LO", "HI", 100, 0, 0)
			if len(args) != len(tt.args) {
				t.Fatalf("args %v, want %v", args, tt.args)
			}
			for i := range args {
				if args[i] != tt.args[i] {
					t.Fatalf("args %v, want %v", args, tt.args)
				}
			}
			if n := len(tt.sel.Args("42", "LO", "HI", 100, 1000, 1001)); n != len(tt.args)+2 {
				t.Fatalf("fetch options not appended: %d args", n)
			}
		})
	}
	t.Run("hostile column rejected", func(t *testing.T) {
		if _, err := (Select{Owner: "S", Table: "T", Columns: []string{`A" FROM DUAL --`}}).SQL(); err == nil {
			t.Fatal("a column with a double quote reached SQL text")
		}
	})
	t.Run("no columns", func(t *testing.T) {
		if _, err := (Select{Owner: "S", Table: "T"}).SQL(); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestCatalogSQLText(t *testing.T) {
	s := CatalogSQL()
	for _, frag := range []string{"FROM ALL_TABLES t", "t.NUM_ROWS", "ALL_TAB_COLUMNS", "'SYS'", "'SYSTEM'", "'XDB'", "t.DROPPED = 'NO'", "ORDER BY t.OWNER, t.TABLE_NAME"} {
		if !strings.Contains(s, frag) {
			t.Errorf("catalog SQL lacks %q:\n%s", frag, s)
		}
	}
	for _, s := range []string{ResolveSQL(), ResolveCurrentSchemaSQL(), ResolveAnyOwnerSQL(), ColumnsSQL()} {
		if !strings.Contains(s, ":name") {
			t.Errorf("not bound: %s", s)
		}
	}
	if !strings.Contains(ColumnsSQL(), "ORDER BY COLUMN_ID") {
		t.Error("columns not in table order")
	}
	c, err := CountSQL("S", "T", true)
	if err != nil || c != `SELECT COUNT(*) FROM "S"."T" AS OF SCN :scn` {
		t.Fatalf("count %q %v", c, err)
	}
}
