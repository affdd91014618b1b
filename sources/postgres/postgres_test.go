package postgres_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
	"github.com/ora2gcs/ora2gcs/stages"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// readModes are the three readers: pgx rows (native), database/sql, and
// COPY text decoded by the encode workers (ReadOptions.Raw).
var readModes = []struct {
	name string
	opts postgres.Options
	raw  bool
}{{"native", postgres.Options{}, false}, {"database_sql", postgres.Options{DatabaseSQL: true}, false}, {"copy", postgres.Options{}, true}}

// asInt reads an integer column's value: int64 from the row readers, its
// digits from the COPY reader.
func asInt(t testing.TB, v any) int64 {
	t.Helper()
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			t.Fatalf("integer %q: %v", x, err)
		}
		return n
	}
	t.Fatalf("integer value %#v (%T)", v, v)
	return 0
}

func admin(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func open(t testing.TB, opts postgres.Options) *postgres.Connector {
	t.Helper()
	c, err := postgres.Open(context.Background(), pgtest.DSN(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readAll reads a table through the connector, copying the rows out of
// each batch before releasing it.
func readAll(t testing.TB, c *postgres.Connector, name string, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.TableInfo, [][]any, []int) {
	t.Helper()
	ctx := context.Background()
	ti, err := c.Describe(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.Open(ctx, ti, snap, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var rows [][]any
	var sizes []int
	for seq := int64(0); ; seq++ {
		b, err := src.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.Seq != seq {
			t.Fatalf("batch seq %d, want %d", b.Seq, seq)
		}
		batch := b.Rows
		if b.Raw != nil { // a COPY reader's raw batch (ReadOptions.Raw)
			rs, ok := src.(pipeline.RawSource)
			if !ok {
				t.Fatalf("raw batch from a %T", src)
			}
			if batch, err = pipeline.DecodeRaw(rs.NewRowDecoder(), len(src.Columns()), b); err != nil {
				t.Fatal(err)
			}
		}
		sizes = append(sizes, len(batch))
		for _, r := range batch {
			rows = append(rows, append([]any(nil), r...))
		}
		b.Release()
	}
	return ti, rows, sizes
}

const typesDDL = `CREATE TABLE types_rt (
  id int4 NOT NULL, i2 int2, i8 int8, num numeric, num_ps numeric(13,3), f4 float4, f8 float8,
  t text, vc varchar(20), bp char(5), b bool, d date, ts timestamp, ts0 timestamp(0), tstz timestamptz,
  by bytea, u uuid, j json, jb jsonb, ai int4[], at text[], an numeric[], iv interval, tm time, e mood)`

var typesRows = []string{
	`(1, -32768, 9223372036854775807, 123456789012345678901234567890.123456789, -1234567890.125, 1.1, 0.1,
	  'héllo "q" \ x', '', 'ab', true, '2024-02-29', '2024-01-02 03:04:05.123456', '1999-12-31 23:59:59', '2024-01-02 03:04:05.5+09',
	  '\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2.50]}', '{"b": null, "a": 1}', '{1,NULL,-3}', '{"a,b","","NULL",NULL,"q\"t","l s"}', '{1.50,NaN}',
	  '1 year 2 mons 3 days 04:05:06.7', '12:34:56', 'happy')`,
	`(2, NULL, NULL, 'NaN', NULL, 'NaN', 'Infinity', NULL, NULL, NULL, false, '0001-01-01', '1970-01-01 00:00:00', NULL, '1901-12-13 20:45:52.000001-03',
	  '', NULL, 'null', '[]', '{}', '{{"x"}}', NULL, '-00:00:01', NULL, NULL)`,
	`(3, 0, -1, '-0.000001', 0, '-Infinity', -0.0, '', ' ', '     ', NULL, NULL, NULL, NULL, NULL,
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
}

// wantText formats a connector value the way PostgreSQL's text output does
// (session TimeZone UTC, DateStyle ISO), so the two can be compared.
func wantText(col pipeline.Column, v any) (string, bool) {
	if v == nil {
		return "", false
	}
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10), true
	case string:
		return x, true
	case bool:
		if x {
			return "t", true
		}
		return "f", true
	case float32:
		return pgFloat(float64(x), 32), true
	case float64:
		return pgFloat(x, 64), true
	case []byte:
		return `\x` + hex.EncodeToString(x), true
	case pipeline.RawJSON:
		return string(x), true
	case time.Time:
		switch col.Type {
		case pipeline.TypeDate:
			return x.Format("2006-01-02"), true
		case pipeline.TypeTimestampTZ:
			if x.Location() != time.UTC {
				return "not UTC: " + x.String(), true
			}
			return x.Format("2006-01-02 15:04:05.999999") + "+00", true
		}
		return x.Format("2006-01-02 15:04:05.999999"), true
	}
	return fmt.Sprintf("unexpected %T %v", v, v), true
}

func pgFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// arrays come out as JSON, compared with these.
var wantArrays = map[string][]string{
	"ai": {`[1,null,-3]`, `[]`, ``},
	"at": {`["a,b","","NULL",null,"q\"t","l\u2028s"]`, // U+2028 escaped as in every string
		`[["x"]]`, ``},
	"an": {`[1.50,"NaN"]`, ``, ``},
}

func TestTypesRoundTrip(t *testing.T) {
	db := admin(t)
	exec(t, db, `DROP TABLE IF EXISTS types_rt`)
	exec(t, db, `DROP TYPE IF EXISTS mood`)
	exec(t, db, `CREATE TYPE mood AS ENUM ('happy', 'sad')`)
	exec(t, db, typesDDL)
	exec(t, db, `INSERT INTO types_rt VALUES `+strings.Join(typesRows, ","))

	// what the database says, as text, for every value
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	ncols := 25
	text := map[int64][]sql.NullString{}
	for id := int64(1); id <= 3; id++ {
		cols := make([]string, 0, ncols)
		for _, c := range strings.Split("id,i2,i8,num,num_ps,f4,f8,t,vc,bp,b,d,ts,ts0,tstz,by,u,j,jb,ai,at,an,iv,tm,e", ",") {
			cols = append(cols, "CASE WHEN "+c+" IS NULL THEN NULL ELSE format('%s', "+c+") END")
		}
		vals := make([]sql.NullString, ncols)
		dest := make([]any, ncols)
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := conn.QueryRowContext(context.Background(), "SELECT "+strings.Join(cols, ",")+" FROM types_rt WHERE id = $1", id).Scan(dest...); err != nil {
			t.Fatal(err)
		}
		text[id] = vals
	}

	for _, mode := range readModes {
		t.Run(mode.name, func(t *testing.T) {
			c := open(t, mode.opts)
			ti, rows, _ := readAll(t, c, "types_rt", nil, pipeline.ReadOptions{Raw: mode.raw})
			if len(rows) != 3 {
				t.Fatalf("%d rows, want 3", len(rows))
			}
			wantTypes := map[string]pipeline.ColumnType{"id": pipeline.TypeInt, "num": pipeline.TypeDecimal, "f4": pipeline.TypeFloat, "b": pipeline.TypeBool,
				"d": pipeline.TypeDate, "ts": pipeline.TypeTimestamp, "ts0": pipeline.TypeDateTime, "tstz": pipeline.TypeTimestampTZ, "by": pipeline.TypeBytes,
				"u": pipeline.TypeString, "j": pipeline.TypeJSON, "jb": pipeline.TypeJSON, "ai": pipeline.TypeJSON, "iv": pipeline.TypeInterval, "e": pipeline.TypeString}
			for i, col := range ti.Columns {
				if wt, ok := wantTypes[col.Name]; ok && col.Type != wt {
					t.Errorf("column %s type %s, want %s", col.Name, col.Type, wt)
				}
				if col.Name == "num_ps" && (col.Precision != 13 || col.Scale != 3 || col.SourceType != "numeric(13,3)") {
					t.Errorf("num_ps = %+v", col)
				}
				if col.Name == "id" && col.Nullable || col.Name == "t" && !col.Nullable {
					t.Errorf("nullable of %s = %v", col.Name, col.Nullable)
				}
				for _, row := range rows {
					id := asInt(t, row[0])
					db := text[id][i]
					if w, ok := wantArrays[col.Name]; ok {
						got := ""
						if row[i] != nil {
							b, err := stages.AppendValue(nil, col, row[i], stages.NDJSONOptions{})
							if err != nil {
								t.Fatalf("row %d %s: %v", id, col.Name, err)
							}
							got = string(b)
						}
						if got != w[id-1] {
							t.Errorf("row %d %s = %s, want %s", id, col.Name, got, w[id-1])
						}
						continue
					}
					got, notNull := wantText(col, row[i])
					if notNull != db.Valid || got != db.String {
						t.Errorf("row %d %s (%s): connector %q (%T, null=%v), database %q (null=%v)", id, col.Name, col.SourceType, got, row[i], !notNull, db.String, !db.Valid)
					}
				}
			}
		})
	}
}

func TestHostileNames(t *testing.T) {
	db := admin(t)
	exec(t, db, `DROP TABLE IF EXISTS victim`)
	exec(t, db, `CREATE TABLE victim (x int)`)
	exec(t, db, `INSERT INTO victim VALUES (1)`)
	c := open(t, postgres.Options{})
	for _, name := range []string{
		"victim; DROP TABLE victim", `x; DROP TABLE victim`, `"victim"; DROP TABLE victim; --`, `victim"`, `"vic"tim"`,
		`victim' OR '1'='1`, "vïctim", "표", "", " ", ".", "a.b.c", "public.", "\x00victim", "victim\x00", `"victim`, "pg_catalog.pg_class",
		"information_schema.tables", "nope",
	} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			_, err := c.Describe(context.Background(), name)
			if !errors.Is(err, pipeline.ErrTableNotFound) {
				t.Fatalf("Describe(%q) = %v, want ErrTableNotFound", name, err)
			}
		})
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM victim`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("victim table: %d rows, %v", n, err)
	}
}

func TestResolveNames(t *testing.T) {
	db := admin(t)
	exec(t, db, `DROP SCHEMA IF EXISTS "Sales" CASCADE`)
	exec(t, db, `CREATE SCHEMA "Sales"`)
	exec(t, db, `CREATE TABLE "Sales"."Orders" (x int)`)
	exec(t, db, `DROP TABLE IF EXISTS "VBRP_UP", "MiXed", mixed`)
	exec(t, db, `CREATE TABLE "VBRP_UP" (x int)`)
	exec(t, db, `CREATE TABLE "MiXed" (x int)`)
	exec(t, db, `CREATE TABLE mixed (x int)`)
	c := open(t, postgres.Options{})
	for _, tc := range []struct{ in, schema, name string }{
		{"vbrp_up", "public", "VBRP_UP"}, {"VBRP_UP", "public", "VBRP_UP"}, {`"VBRP_UP"`, "public", "VBRP_UP"},
		{"public.vbrp_up", "public", "VBRP_UP"}, {"sales.orders", "Sales", "Orders"}, {`"Sales"."Orders"`, "Sales", "Orders"},
		{"MIXED", "public", "mixed"}, {"mixed", "public", "mixed"}, {`"MiXed"`, "public", "MiXed"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			ti, err := c.Describe(context.Background(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if ti.Schema != tc.schema || ti.Name != tc.name || ti.ColumnCount != 1 {
				t.Fatalf("got %s.%s (%d columns), want %s.%s", ti.Schema, ti.Name, ti.ColumnCount, tc.schema, tc.name)
			}
		})
	}
	if _, err := c.Describe(context.Background(), `"vbrp_up"`); !errors.Is(err, pipeline.ErrTableNotFound) {
		t.Fatalf("quoted lower-case name resolved: %v", err)
	}
}
