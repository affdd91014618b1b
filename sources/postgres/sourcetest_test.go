package postgres_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/sourcetest"
)

// pgTypes maps the suite's logical types to the PostgreSQL types that hold
// every value of the suite, and the cast each value is inserted with.
func pgType(c sourcetest.Column) (typ, cast string) {
	switch c.Type {
	case pipeline.TypeDecimal:
		if c.Scale == 0 {
			return fmt.Sprintf("numeric(%d)", c.Precision), "::text::numeric"
		}
		return fmt.Sprintf("numeric(%d,%d)", c.Precision, c.Scale), "::text::numeric"
	case pipeline.TypeInt:
		return "bigint", ""
	case pipeline.TypeFloat:
		return "float8", ""
	case pipeline.TypeBool:
		return "boolean", ""
	case pipeline.TypeDate:
		return "date", ""
	case pipeline.TypeDateTime:
		return "timestamp(0)", ""
	case pipeline.TypeTimestamp:
		return "timestamp(6)", ""
	case pipeline.TypeTimestampTZ:
		return "timestamptz(6)", ""
	case pipeline.TypeBytes:
		return "bytea", ""
	case pipeline.TypeJSON:
		return "jsonb", "::text::jsonb"
	}
	return "text", ""
}

// pgFixture creates the suite's tables in the test server's public schema
// (unquoted lower-case names, dropped when the test ends).
type pgFixture struct {
	c    *postgres.Connector
	cols map[string][]sourcetest.Column
}

func (f *pgFixture) create(t *testing.T, tab sourcetest.Table) (pipeline.Connector, string) {
	t.Helper()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := strings.ToLower(tab.Name) + "_" + hex.EncodeToString(rnd[:])
	var defs []string
	for _, c := range tab.Columns {
		typ, _ := pgType(c)
		defs = append(defs, strings.ToLower(c.Name)+" "+typ)
	}
	db := admin(t)
	exec(t, db, "CREATE TABLE "+name+" ("+strings.Join(defs, ", ")+")")
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS " + name) })
	f.cols[name] = tab.Columns
	f.insert(t, name, tab.Rows, false)
	return f.c, name
}

// insert adds rows in one transaction, deleting every row first with del.
func (f *pgFixture) insert(t *testing.T, name string, rows [][]any, del bool) {
	t.Helper()
	cols := f.cols[name]
	var ph []string
	for i, c := range cols {
		_, cast := pgType(c)
		ph = append(ph, fmt.Sprintf("$%d%s", i+1, cast))
	}
	tx, err := admin(t).Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if del {
		if _, err := tx.Exec("DELETE FROM " + name); err != nil {
			t.Fatal(err)
		}
	}
	q := "INSERT INTO " + name + " VALUES (" + strings.Join(ph, ", ") + ")"
	for _, r := range rows {
		if _, err := tx.Exec(q, r...); err != nil {
			t.Fatalf("%s %v: %v", q, r, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestConformance runs the source conformance suite on the real server,
// through each reader: pgx rows with COPY (ReadOptions.Raw), and
// database/sql.
func TestConformance(t *testing.T) {
	for _, m := range []struct {
		name string
		opts postgres.Options
	}{{"native", postgres.Options{}}, {"database_sql", postgres.Options{DatabaseSQL: true}}} {
		t.Run(m.name, func(t *testing.T) {
			f := &pgFixture{c: open(t, m.opts), cols: map[string][]sourcetest.Column{}}
			sourcetest.Run(t, sourcetest.Harness{
				Types: []pipeline.ColumnType{pipeline.TypeString, pipeline.TypeDecimal, pipeline.TypeInt, pipeline.TypeFloat,
					pipeline.TypeBool, pipeline.TypeDate, pipeline.TypeDateTime, pipeline.TypeTimestamp,
					pipeline.TypeTimestampTZ, pipeline.TypeBytes, pipeline.TypeJSON},
				Create:  f.create,
				Replace: func(t *testing.T, name string, rows [][]any) { f.insert(t, name, rows, true) },
				Raw:     !m.opts.DatabaseSQL,
			})
		})
	}
}
