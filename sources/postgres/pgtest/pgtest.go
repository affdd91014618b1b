// Package pgtest helps tests and benchmarks that need PostgreSQL: the DSN
// of the throwaway server started by scripts/with-postgres.sh, and the
// 274-column SAP VBRP table (schema embedded from bench/vbrp_schema.json)
// as PostgreSQL DDL plus a server-side generator of deterministic rows.
package pgtest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// EnvDSN names the variable holding the test server's DSN.
const EnvDSN = "ORA2GCS_TEST_POSTGRES_DSN"

// DSN returns the test server's DSN or skips the test when it is unset.
func DSN(tb testing.TB) string {
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		tb.Skipf("%s is unset: run the tests through scripts/with-postgres.sh", EnvDSN)
	}
	return dsn
}

//go:embed vbrp_schema.json
var vbrpJSON []byte

// SchemaColumn is one column of the embedded VBRP schema (Oracle types).
type SchemaColumn struct {
	Name     string `json:"name"`
	Type     string `json:"type"` // VARCHAR2(n), NUMBER(p[,s]), DATE, BINARY_DOUBLE
	Nullable bool   `json:"nullable"`
}

// VBRPColumns returns the 274 columns of VBRP in table order.
func VBRPColumns() []SchemaColumn {
	var s struct {
		Columns []SchemaColumn `json:"columns"`
	}
	if err := json.Unmarshal(vbrpJSON, &s); err != nil {
		panic("pgtest: embedded vbrp_schema.json: " + err.Error())
	}
	return s.Columns
}

var typeRE = regexp.MustCompile(`^([A-Z_0-9]+?)(?:\((\d+)(?:,(-?\d+))?\))?$`)

// PGType maps an Oracle column type of the schema to PostgreSQL:
// VARCHAR2(n)→varchar(n), NUMBER(p,s)→numeric(p,s), DATE→timestamp(0),
// BINARY_DOUBLE→float8.
func PGType(oracle string) (string, error) {
	m := typeRE.FindStringSubmatch(strings.ReplaceAll(oracle, " ", ""))
	if m == nil {
		return "", fmt.Errorf("pgtest: unsupported type %q", oracle)
	}
	switch m[1] {
	case "VARCHAR2", "NVARCHAR2", "CHAR", "NCHAR":
		return "varchar(" + m[2] + ")", nil
	case "NUMBER":
		switch {
		case m[2] == "":
			return "numeric", nil
		case m[3] == "":
			return "numeric(" + m[2] + ")", nil
		}
		return "numeric(" + m[2] + "," + m[3] + ")", nil
	case "DATE":
		return "timestamp(0)", nil
	case "BINARY_DOUBLE":
		return "float8", nil
	case "BINARY_FLOAT":
		return "float4", nil
	}
	return "", fmt.Errorf("pgtest: unsupported type %q", oracle)
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// VBRPDDL is CREATE TABLE for VBRP under the given (unquoted, lower-case
// by convention) table name, with the schema's upper-case column names.
func VBRPDDL(table string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (\n", quote(table))
	for i, c := range VBRPColumns() {
		t, err := PGType(c.Type)
		if err != nil {
			panic(err)
		}
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "  %s %s", quote(c.Name), t)
		if !c.Nullable {
			b.WriteString(" NOT NULL")
		}
	}
	b.WriteString("\n)")
	return b.String()
}

// VBRPInsertSQL inserts rows generated on the server from generate_series
// $1..$2: deterministic, every type exercised, about one nullable value in
// seven NULL, strings sometimes empty.
func VBRPInsertSQL(table string) string {
	var cols, exprs []string
	for i, c := range VBRPColumns() {
		cols = append(cols, quote(c.Name))
		m := typeRE.FindStringSubmatch(c.Type)
		var e string
		switch m[1] {
		case "VARCHAR2":
			n, _ := strconv.Atoi(m[2])
			e = fmt.Sprintf("substr(h, %d, (1 + (g + %d) %% %d)::int)", 1+i%24, i, n)
			if i%5 == 0 {
				e = fmt.Sprintf("CASE WHEN g %% 11 = %d THEN '' ELSE %s END", i%11, e)
			}
		case "NUMBER":
			p, _ := strconv.Atoi(m[2])
			s := 0
			if m[3] != "" {
				s, _ = strconv.Atoi(m[3])
			}
			ip := min(p-s, 9)
			e = fmt.Sprintf("((g * %d + %d) %% 1%s)::numeric", 7919+i, i, strings.Repeat("0", ip))
			if s > 0 {
				e = fmt.Sprintf("(%s + ((g * %d) %% 1%s)::numeric / 1%s)", e, 31+i, strings.Repeat("0", s), strings.Repeat("0", s))
			}
			if i%3 == 0 {
				e = "-" + e
			}
		case "DATE":
			e = fmt.Sprintf("(timestamp '2020-01-01' + (g * %d) * interval '1 second')", 3607+i)
		case "BINARY_DOUBLE":
			e = fmt.Sprintf("(g * 1.25 + %d)::float8", i)
		}
		if c.Nullable && i%4 == 1 {
			e = fmt.Sprintf("CASE WHEN g %% 7 = %d THEN NULL ELSE %s END", i%7, e)
		}
		exprs = append(exprs, e)
	}
	return fmt.Sprintf("INSERT INTO %s (%s)\nSELECT %s\nFROM generate_series($1::bigint, $2::bigint) g, LATERAL (SELECT upper(md5(g::text)) AS h) x",
		quote(table), strings.Join(cols, ", "), strings.Join(exprs, ",\n  "))
}

// CreateVBRP drops and creates table as VBRP and loads rows generated rows,
// then analyses it. exec runs one statement with arguments.
func CreateVBRP(ctx context.Context, exec func(ctx context.Context, q string, args ...any) error, table string, rows int) error {
	stmts := []struct {
		q    string
		args []any
	}{
		{"DROP TABLE IF EXISTS " + quote(table), nil},
		{VBRPDDL(table), nil},
	}
	for _, s := range stmts {
		if err := exec(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("pgtest: create %s: %w", table, err)
		}
	}
	const step = 20000
	for lo := 1; lo <= rows; lo += step {
		hi := min(lo+step-1, rows)
		if err := exec(ctx, VBRPInsertSQL(table), lo, hi); err != nil {
			return fmt.Errorf("pgtest: load %s rows %d..%d: %w", table, lo, hi, err)
		}
	}
	if err := exec(ctx, "ANALYZE "+quote(table)); err != nil {
		return fmt.Errorf("pgtest: analyze %s: %w", table, err)
	}
	return nil
}
