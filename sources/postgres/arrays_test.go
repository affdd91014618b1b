package postgres_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
)

// arrayElems gives, per element type (pg_type.typname), SQL literals of
// elements for the array values of TestEveryBuiltinArrayType: quoting,
// delimiters, braces, backslashes, empty strings, the string "NULL",
// extremes. Every built-in array type of the server must have an entry
// (or be in arrayNoColumn): the test fails for a type it does not cover.
// An empty list means the type has no input function; its arrays hold
// NULL elements only.
var arrayElems = map[string][]string{
	"bool":           {"t", "f", "t"},
	"bytea":          {`\x00ff5c22`, `\x`, `\x7b7d2c`},
	"char":           {"a", `"`, `\`, ",", " "},
	"name":           {"a b", "NULL", `x"y\z`, "", "{}"},
	"int2":           {"32767", "-32768", "0"},
	"int4":           {"2147483647", "-1", "0"},
	"int8":           {"9223372036854775807", "-9223372036854775808", "0"},
	"int2vector":     {"1 2", "", "-5"},
	"oidvector":      {"1 2", "0", "4294967295"},
	"regproc":        {"now", "int4in", "textout"},
	"text":           {"a,b", "{x}", `"q" \ bs`, "", "NULL", "tab\there", "semi;colon", "é 😀"},
	"tid":            {"(0,1)", "(4294967295,65535)", "(1,2)"},
	"xid":            {"0", "4294967295", "3"},
	"xid8":           {"0", "18446744073709551615", "5"},
	"cid":            {"0", "4294967295", "7"},
	"oid":            {"0", "4294967295", "1"},
	"bpchar":         {"ab", " ", `a"b`, ""},
	"varchar":        {"x y", "", `\`, "NULL"},
	"point":          {"(1,2)", "(-1.5,1e+300)", "(0,0)"},
	"lseg":           {"[(1,2),(3,4)]", "[(0,0),(0,0)]", "[(-1,-2),(1e-5,2)]"},
	"path":           {"((1,2),(3,4))", "[(0,0),(1,1),(2,0)]", "((0,0))"},
	"box":            {"(1,1),(0,0)", "(3,3),(2,2)", "(-1,-1),(-2.5,-2)"},
	"line":           {"{1,2,3}", "{1,-1,0}", "{0,1,5}"},
	"circle":         {"<(1,2),3>", "<(0,0),0.5>", "<(-1,-1),1e-05>"},
	"polygon":        {"((0,0),(1,1),(1,0))", "((0,0))", "((-1,-1),(2,2),(3,-4),(0,5))"},
	"float4":         {"1.1", "NaN", "-Infinity", "3.4028235e+38", "1e-07", "-0", "1.4e-45", "16777216"},
	"float8":         {"0.1", "Infinity", "1e+21", "1.2345678901234568e+20", "5e-324", "-0", "NaN", "1.7976931348623157e+308", "123456.789"},
	"money":          {"1.50", "-1234567.89", "0"},
	"numeric":        {"123456789012345678901234567890.123456789", "NaN", "-Infinity", "0.000", "-0.00000000000000000001", "Infinity"},
	"aclitem":        {"=r/postgres", "postgres=arwdDxt/postgres", "postgres=r*/postgres"},
	"macaddr":        {"08:00:2b:01:02:03", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"},
	"macaddr8":       {"08:00:2b:01:02:03:04:05", "00:00:00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff:ff:ff"},
	"inet":           {"192.168.0.1/24", "::1", "10.0.0.1"},
	"cidr":           {"10.0.0.0/8", "2001:db8::/32", "192.168.1.0/24"},
	"timestamp":      {"2024-01-02 03:04:05.123456", "0044-03-15 12:00:00 BC", "10000-01-01 00:00:00", "1999-12-31 23:59:59.5", "2000-01-01 00:00:00"},
	"date":           {"2024-02-29", "0044-03-15 BC", "10000-12-31", "4713-01-01 BC", "0001-01-01"},
	"time":           {"24:00:00", "00:00:00.000001", "12:34:56"},
	"timestamptz":    {"2024-06-30 23:59:59.999999-05:30", "1970-01-01 00:00:00+14", "0044-03-15 12:00:00+00 BC", "1901-12-13 20:45:52.000001-03", "2024-01-01 00:00:00.5+00"},
	"interval":       {"1 year 2 mons 3 days 04:05:06.7", "-00:00:01", "-178000000 years"},
	"timetz":         {"00:00:00.5+02", "23:59:59-14:59", "12:00:00+00"},
	"bit":            {"101", "0", "1111000011110000"},
	"varbit":         {"101", "", "0000000011"},
	"refcursor":      {"c1", "a b", ""},
	"regprocedure":   {"now()", "abs(integer)", "int4in(cstring)"},
	"regoper":        {"||/", "|/", "*<>"},
	"regoperator":    {"+(integer,integer)", "-(NONE,integer)", "=(text,text)"},
	"regclass":       {"pg_class", "pg_catalog.pg_type", "pg_namespace"},
	"regtype":        {"integer", "text[]", "timestamp with time zone"},
	"txid_snapshot":  {"10:20:10,14,15", "1:1:", "5:9:6"},
	"pg_snapshot":    {"10:20:10,14,15", "1:1:", "5:9:6"},
	"uuid":           {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"},
	"pg_lsn":         {"16/B374D848", "0/0", "FFFFFFFF/FFFFFFFF"},
	"tsvector":       {"a fat cat", "'a b':1A", ""},
	"tsquery":        {"fat & rat", "!cat", "a <-> b"},
	"gtsvector":      {},
	"regconfig":      {"english", "simple", "pg_catalog.german"},
	"regdictionary":  {"simple", "english_stem", "german_stem"},
	"jsonb":          {`{"a": [1, 2.50], "b": "x,y"}`, "null", `"s \" \\ {}"`, "12345678901234567890.5", "[]", `{"k": {"n": [null, true]}}`},
	"json":           {`{"b": 1,  "a" : "x y"}`, `[1, "two", null]`, `"just"`, "1e400", "[ ]"},
	"xml":            {"<a>x</a>", "a &amp; b", `<b c="d,e"/>`},
	"int4range":      {"[1,10)", "empty", "(,5]"},
	"int8range":      {"[1,9223372036854775807)", "empty", "(,)"},
	"numrange":       {"[1.5,2.5]", "(,)", "(0.001,1e20)"},
	"tsrange":        {`["2024-01-01 00:00:00","2024-01-02 00:00:00")`, "empty", "(,2000-01-01)"},
	"tstzrange":      {`["2024-01-01 00:00:00+02","2024-01-02 00:00:00+00")`, "empty", "(2000-01-01,)"},
	"daterange":      {"[2024-01-01,2024-02-01)", "empty", "(,)"},
	"int4multirange": {"{[1,3),[5,7)}", "{}", "{(,0]}"},
	"int8multirange": {"{[1,3),[5,7)}", "{}", "{(,0]}"},
	"nummultirange":  {"{[1.5,3),[5,7.25)}", "{}", "{(,)}"},
	"tsmultirange":   {`{["2024-01-01 00:00:00","2024-01-02 00:00:00")}`, "{}", "{(,)}"},
	"tstzmultirange": {`{["2024-01-01 00:00:00+02","2024-01-02 00:00:00+00")}`, "{}", "{(,)}"},
	"datemultirange": {"{[2024-01-01,2024-02-01),[2024-03-01,2024-04-01)}", "{}", "{(,)}"},
	"jsonpath":       {"$.a[*] ? (@ > 1)", "$", "strict $.x"},
	"regnamespace":   {"pg_catalog", "public", "information_schema"},
	"regrole":        {"postgres", "pg_read_all_data", "pg_monitor"},
	"regcollation":   {`"C"`, `"POSIX"`, `"default"`},
	// information_schema's domains
	"cardinal_number": {"0", "2147483647", "17"},
	"character_data":  {"a,b", "", `"q" \\`},
	"sql_identifier":  {"x y", "NULL", "{}"},
	"time_stamp":      {"2024-01-02 03:04:05.126+00", "0044-03-15 12:00:00+00 BC", "1970-01-01 00:00:00.5+14"},
	"yes_or_no":       {"YES", "NO", "YES"},
}

// arrayNoColumn lists built-in array types no table column can have.
var arrayNoColumn = map[string]string{
	"_cstring": "cstring is a pseudo-type: no column can be cstring[]",
}

// compositeRows: composite element types (the row types of system
// catalogs) whose array values also get a real catalog row (their other
// values are NULL elements and empty arrays). Limited to catalogs that
// hold nothing secret.
var compositeRows = map[string]bool{"pg_am": true, "pg_namespace": true, "pg_type": true, "pg_language": true}

// How our JSON for an array's elements intentionally differs from
// row_to_json's (the elements are written exactly like a scalar column of
// the element type: package postgres's doc), and how the test normalises
// row_to_json's element before comparing. Every other element type must
// equal row_to_json's element as decoded JSON.
var arrayElemForm = map[string]string{
	"float4":      "floats: the shortest text that round-trips (row_to_json: float8out's text, e.g. 1e-07 for 1e-7); compared as numbers",
	"float8":      "floats: the shortest text that round-trips (row_to_json: float8out's text, e.g. 1e-07 for 1e-7); compared as numbers",
	"date":        "dates: YYYY-MM-DD with astronomical years (row_to_json: \"0044-03-15 BC\"); compared as dates",
	"timestamp":   "timestamps: YYYY-MM-DDTHH:MM:SS.ffffff, fraction digits = scale (row_to_json: XSD text, fraction trimmed, \" BC\"); compared as wall clocks",
	"timestamptz": "timestamptz: RFC 3339 in UTC with Z, fraction digits = scale (row_to_json: \"+00:00\", fraction trimmed, \" BC\"); compared as instants",
	"bytea":       "bytea: base64 (row_to_json: \\x hex); compared as bytes",
	"composite":   "composite elements: the record's text form, like composite columns (row_to_json: JSON objects); compared with the element's text",
	"int2vector":  "int2vector elements: their text form \"1 2\", like int2vector columns (row_to_json: [1,2]); compared with the numbers joined by spaces",
	"oidvector":   "oidvector elements: their text form \"1 2\", like oidvector columns (row_to_json: [\"1\",\"2\"]); compared with the numbers joined by spaces",
}

// arrayNotArray: types of category 'A' that are not true arrays
// (format_type and our readers treat them as scalars): written as their text
// form, like int2vector columns of the catalog (row_to_json: JSON arrays).
var arrayNotArray = map[string]string{
	"int2vector": "written as its text form \"1 2\" (row_to_json: [1,2]); compared with the value's text",
	"oidvector":  "written as its text form \"1 2\" (row_to_json: [\"1\",\"2\"]); compared with the value's text",
}

type arrayType struct {
	name, elem   string // pg_type.typname of the array type and of its element
	nsp, elemNsp string // their schemas
	base         string // the element's base type (itself unless a domain)
	composite    bool   // element is a composite (typcategory 'C')
	col          string // column name in the test tables
}

func sqlLit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// TestEveryBuiltinArrayType: every built-in array type of the server
// (pg_type, typcategory 'A'), read by both readers (pgx rows and COPY), is
// written as the JSON array row_to_json writes — same nesting, NULL
// elements, element count — with each element written exactly as a scalar
// column of the element type is written by the same reader. Elements must
// also equal row_to_json's, except for the documented forms of
// arrayElemForm (compared after normalising row_to_json's form).
func TestEveryBuiltinArrayType(t *testing.T) {
	db := admin(t)
	ctx := context.Background()
	schema := fmt.Sprintf("ora2gcs_arrays_%d", os.Getpid())
	exec(t, db, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
	exec(t, db, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { exec(t, db, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })

	// Enumerate the server's built-in array types.
	rows, err := db.Query(`SELECT t.typname::text, e.typname::text, e.typcategory = 'C',
  t.typnamespace::regnamespace::text, e.typnamespace::regnamespace::text,
  (SELECT b.typname::text FROM pg_type b WHERE b.oid = coalesce(nullif(e.typbasetype, 0), e.oid)),
  EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
          WHERE a.attrelid = e.typrelid AND a.attnum > 0 AND at.typtype = 'p')
FROM pg_type t JOIN pg_type e ON e.oid = t.typelem
WHERE t.oid < 16384 AND t.typcategory = 'A' AND t.typelem <> 0
ORDER BY t.oid`)
	if err != nil {
		t.Fatal(err)
	}
	var types, composites []arrayType
	var missing []string
	pseudoRows := 0
	for rows.Next() {
		var at arrayType
		var pseudo bool
		if err := rows.Scan(&at.name, &at.elem, &at.composite, &at.nsp, &at.elemNsp, &at.base, &pseudo); err != nil {
			t.Fatal(err)
		}
		if _, ok := arrayNoColumn[at.name]; ok {
			continue
		}
		if at.composite && pseudo {
			pseudoRows++ // a row type with a pseudo-type attribute (anyarray): no column can have it
			continue
		}
		if at.composite {
			composites = append(composites, at)
			continue
		}
		if _, ok := arrayElems[at.elem]; !ok && !at.composite {
			if _, ok := arrayNotArray[at.name]; !ok {
				missing = append(missing, at.name)
				continue
			}
		}
		at.col = fmt.Sprintf("c%d_%s", len(types), strings.TrimPrefix(at.name, "_"))
		types = append(types, at)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	// Row types that nest a pseudo-type (pg_statistic_ext_data holds
	// pg_statistic[]) cannot be columns either: the server says so.
	for _, at := range composites {
		_, err := db.Exec(fmt.Sprintf(`CREATE TABLE %s.probe (c %s."%s")`, schema, at.nsp, at.name))
		if err != nil {
			if !strings.Contains(err.Error(), "pseudo-type") {
				t.Fatalf("%s: %v", at.name, err)
			}
			pseudoRows++
			continue
		}
		exec(t, db, `DROP TABLE `+schema+`.probe`)
		at.col = fmt.Sprintf("c%d_%s", len(types), strings.TrimPrefix(at.name, "_"))
		types = append(types, at)
	}
	if len(missing) > 0 {
		t.Fatalf("built-in array types without a value generator (add their elements to arrayElems): %v", missing)
	}
	if len(types) < 80 {
		t.Fatalf("only %d array types enumerated", len(types))
	}
	t.Logf("%d array types (%d row types with pseudo-type attributes cannot be columns)", len(types), pseudoRows)

	// One column per array type; row k holds each type's k-th value.
	values := make([][]string, len(types))
	for i, at := range types {
		typ := at.nsp + `."` + at.name + `"`
		if _, ok := arrayNotArray[at.name]; ok {
			for _, s := range arrayElems[at.name] {
				values[i] = append(values[i], sqlLit(s)+"::"+typ)
			}
			values[i] = append(values[i], "NULL")
			continue
		}
		et := at.elemNsp + `."` + at.elem + `"`
		var el []string
		if at.composite {
			if compositeRows[at.elem] {
				el = []string{fmt.Sprintf("(SELECT r FROM pg_catalog.%s r ORDER BY r.oid LIMIT 1)", at.elem)}
			}
		} else {
			for _, s := range arrayElems[at.elem] {
				el = append(el, sqlLit(s)+"::"+et)
			}
		}
		v := func(s string) string { return "(" + s + ")::" + typ }
		values[i] = append(values[i],
			v("ARRAY["+strings.Join(append(append([]string{}, el...), "NULL"), ",")+"]"),
			v("'{}'"), "NULL", v("ARRAY[NULL]"))
		if len(el) > 0 {
			e := func(k int) string { return el[k%len(el)] }
			values[i] = append(values[i],
				v(fmt.Sprintf("ARRAY[[%s,%s],[%s,NULL],[NULL,%s]]", e(0), e(1), e(2), e(0))),
				v(fmt.Sprintf("ARRAY[[[%s]],[[%s]]]", e(1), e(2))),
				v(fmt.Sprintf("array_fill(%s, ARRAY[2,1], ARRAY[0,-3])", e(0))), // explicit lower bounds
			)
		}
	}
	var ddl strings.Builder
	fmt.Fprintf(&ddl, "CREATE TABLE %s.arr (id int4 NOT NULL", schema)
	for _, at := range types {
		fmt.Fprintf(&ddl, `, %s %s."%s"`, at.col, at.nsp, at.name)
	}
	ddl.WriteString(")")
	exec(t, db, ddl.String())
	nrows := 0
	for _, vs := range values {
		nrows = max(nrows, len(vs))
	}
	for k := range nrows {
		cols, vals := []string{"id"}, []string{strconv.Itoa(k)}
		for i, at := range types {
			if k < len(values[i]) {
				cols, vals = append(cols, at.col), append(vals, values[i][k])
			}
		}
		exec(t, db, fmt.Sprintf("INSERT INTO %s.arr (%s) VALUES (%s)", schema, strings.Join(cols, ","), strings.Join(vals, ",")))
	}

	// The elements as scalar columns: el(col, id, ord, v<i> element type of types[i]).
	ddl.Reset()
	fmt.Fprintf(&ddl, "CREATE TABLE %s.el (col text NOT NULL, id int4 NOT NULL, ord int8 NOT NULL", schema)
	for i, at := range types {
		if _, ok := arrayNotArray[at.name]; !ok {
			fmt.Fprintf(&ddl, `, v%d %s."%s"`, i, at.elemNsp, at.elem)
		}
	}
	ddl.WriteString(")")
	exec(t, db, ddl.String())
	for i, at := range types {
		if _, ok := arrayNotArray[at.name]; !ok {
			exec(t, db, fmt.Sprintf("INSERT INTO %[1]s.el (col, id, ord, v%[2]d) SELECT '%[3]s', id, u.o, u.e FROM %[1]s.arr, LATERAL (SELECT e, row_number() OVER () AS o FROM (SELECT unnest(arr.%[3]s) AS e) s) u", schema, i, at.col))
		}
	}

	// What PostgreSQL says, in the session settings our readers use.
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range []string{"SET TimeZone = 'UTC'", "SET DateStyle = 'ISO, YMD'", "SET extra_float_digits = 1", "SET bytea_output = 'hex'"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	rtj := map[int]map[string]any{}
	texts := map[string]string{} // col/id → the value's text (arrayNotArray types)
	ndims := map[string]int{}    // col/id → array_ndims
	{
		rs, err := conn.QueryContext(ctx, fmt.Sprintf("SELECT id, row_to_json(a)::text FROM %s.arr a", schema))
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var id int
			var s string
			if err := rs.Scan(&id, &s); err != nil {
				t.Fatal(err)
			}
			rtj[id] = decodeObject(t, s)
		}
		if err := rs.Close(); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, at := range types {
			parts = append(parts, fmt.Sprintf("SELECT '%[1]s', id, coalesce(array_ndims(%[1]s), 0), %[1]s::text FROM %[2]s.arr", at.col, schema))
		}
		rs, err = conn.QueryContext(ctx, strings.Join(parts, " UNION ALL "))
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var col string
			var id, nd int
			var txt sql.NullString
			if err := rs.Scan(&col, &id, &nd, &txt); err != nil {
				t.Fatal(err)
			}
			key := fmt.Sprintf("%s/%d", col, id)
			ndims[key] = nd
			texts[key] = txt.String
		}
		if err := rs.Close(); err != nil {
			t.Fatal(err)
		}
	}

	for _, mode := range []struct {
		name string
		opts pipeline.ReadOptions
	}{{"rows", pipeline.ReadOptions{BatchRows: 3}}, {"copy", pipeline.ReadOptions{BatchRows: 3, Raw: true}}} {
		t.Run(mode.name, func(t *testing.T) {
			c := open(t, postgres.Options{})
			ti := mustDescribe(t, c, schema+".arr")
			for i, col := range ti.Columns[1:] {
				if _, ok := arrayNotArray[types[i].name]; ok {
					continue
				}
				if col.Type != pipeline.TypeJSON {
					t.Errorf("column %s (%s): type %v, want %v", col.Name, col.SourceType, col.Type, pipeline.TypeJSON)
				}
			}
			got := map[int]map[string]any{}
			out, _ := ndjson(t, c, schema+".arr", mode.opts)
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				o := decodeObject(t, line)
				id, _ := o["id"].(json.Number).Int64()
				got[int(id)] = o
			}
			// scalar[col/id] = the elements, in storage order, as scalars
			scalar := map[string][]any{}
			out, _ = ndjson(t, c, schema+".el", mode.opts)
			type elRow struct {
				key string
				ord int64
				v   any
			}
			var els []elRow
			idx := map[string]int{}
			for i, at := range types {
				idx[at.col] = i
			}
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				o := decodeObject(t, line)
				col := o["col"].(string)
				id, _ := o["id"].(json.Number).Int64()
				ord, _ := o["ord"].(json.Number).Int64()
				els = append(els, elRow{fmt.Sprintf("%s/%d", col, id), ord, o[fmt.Sprintf("v%d", idx[col])]})
			}
			sort.Slice(els, func(a, b int) bool {
				if els[a].key != els[b].key {
					return els[a].key < els[b].key
				}
				return els[a].ord < els[b].ord
			})
			for _, e := range els {
				scalar[e.key] = append(scalar[e.key], e.v)
			}
			if len(got) != nrows {
				t.Fatalf("%d rows, want %d", len(got), nrows)
			}
			checked, leavesChecked := 0, 0
			for _, at := range types {
				for id := range nrows {
					key := fmt.Sprintf("%s/%d", at.col, id)
					ours, ok := got[id][at.col]
					if !ok {
						t.Fatalf("%s: no key", key)
					}
					want := rtj[id][at.col]
					if want == nil || ours == nil {
						if want != nil || ours != nil {
							t.Errorf("%s (%s): got %s, row_to_json %s", key, at.name, js(ours), js(want))
						}
						continue
					}
					checked++
					if _, ok := arrayNotArray[at.name]; ok {
						if ours != texts[key] {
							t.Errorf("%s (%s): got %s, want the text %q", key, at.name, js(ours), texts[key])
						}
						continue
					}
					ol, oshape, err := flatten(ours, ndims[key])
					if err != nil {
						t.Errorf("%s (%s): ours %s: %v", key, at.name, js(ours), err)
						continue
					}
					wl, wshape, err := flatten(want, ndims[key])
					if err != nil {
						t.Fatalf("%s (%s): row_to_json %s: %v", key, at.name, js(want), err)
					}
					if oshape != wshape || len(ol) != len(wl) {
						t.Errorf("%s (%s): shape %s, row_to_json %s\nours %s\nrow_to_json %s", key, at.name, oshape, wshape, js(ours), js(want))
						continue
					}
					sc := scalar[key]
					if len(sc) != len(ol) {
						t.Errorf("%s (%s): %d elements, %d as scalars", key, at.name, len(ol), len(sc))
						continue
					}
					for k := range ol {
						leavesChecked++
						if !reflect.DeepEqual(ol[k], sc[k]) {
							t.Errorf("%s (%s) element %d: %s, but the scalar column writes %s", key, at.name, k, js(ol[k]), js(sc[k]))
						}
						form := at.base
						if at.composite {
							form = "composite"
						}
						if err := sameAsRowToJSON(form, ol[k], wl[k]); err != nil {
							t.Errorf("%s (%s) element %d: %s, row_to_json %s: %v", key, at.name, k, js(ol[k]), js(wl[k]), err)
						}
					}
				}
			}
			t.Logf("%d array values, %d elements compared", checked, leavesChecked)
		})
	}
}

func decodeObject(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var o map[string]any
	if err := d.Decode(&o); err != nil {
		t.Fatalf("%v in %.300s", err, s)
	}
	return o
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// flatten returns the elements of a JSON array of ndims dimensions in
// storage order and its shape ("[3]", "[2[2][2]]", …).
func flatten(v any, ndims int) ([]any, string, error) {
	var out []any
	var shape strings.Builder
	var walk func(v any, d int) error
	walk = func(v any, d int) error {
		if d == ndims {
			out = append(out, v)
			return nil
		}
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("dimension %d is %T, not an array", d+1, v)
		}
		fmt.Fprintf(&shape, "[%d", len(a))
		for _, x := range a {
			if err := walk(x, d+1); err != nil {
				return err
			}
		}
		shape.WriteString("]")
		return nil
	}
	if ndims == 0 { // an empty array
		a, ok := v.([]any)
		if !ok || len(a) != 0 {
			return nil, "", fmt.Errorf("empty array written as %s", js(v))
		}
		return nil, "[]", nil
	}
	err := walk(v, 0)
	return out, shape.String(), err
}

// sameAsRowToJSON compares one element of ours with row_to_json's after
// normalising row_to_json's form as arrayElemForm documents.
func sameAsRowToJSON(form string, ours, want any) error {
	if ours == nil || want == nil {
		if ours != nil || want != nil {
			return fmt.Errorf("NULL differs")
		}
		return nil
	}
	switch form {
	case "float4", "float8":
		o, w := fmt.Sprint(ours), fmt.Sprint(want)
		if _, ok := ours.(json.Number); !ok {
			if o != w {
				return fmt.Errorf("special value differs")
			}
			return nil
		}
		of, err1 := strconv.ParseFloat(o, 64)
		wf, err2 := strconv.ParseFloat(w, 64)
		if err1 != nil || err2 != nil || (of != wf && !(math.IsNaN(of) && math.IsNaN(wf))) || math.Signbit(of) != math.Signbit(wf) {
			return fmt.Errorf("numbers differ")
		}
		return nil
	case "date", "timestamp", "timestamptz":
		o, ok1 := ours.(string)
		w, ok2 := want.(string)
		if !ok1 || !ok2 {
			return fmt.Errorf("not strings")
		}
		oc, err := ourDateTime(form, o)
		if err != nil {
			return err
		}
		wc, err := pgDateTime(w)
		if err != nil {
			return err
		}
		if oc != wc {
			return fmt.Errorf("%s ≠ %s", oc, wc)
		}
		return nil
	case "bytea":
		o, ok1 := ours.(string)
		w, ok2 := want.(string)
		if !ok1 || !ok2 || !strings.HasPrefix(w, `\x`) {
			return fmt.Errorf("not strings")
		}
		ob, err1 := base64.StdEncoding.DecodeString(o)
		wb, err2 := hex.DecodeString(w[2:])
		if err1 != nil || err2 != nil || !bytes.Equal(ob, wb) {
			return fmt.Errorf("bytes differ")
		}
		return nil
	case "int2vector", "oidvector":
		o, ok1 := ours.(string)
		w, ok2 := want.([]any)
		if !ok1 || !ok2 {
			return fmt.Errorf("not a string and an array")
		}
		var parts []string
		for _, x := range w {
			parts = append(parts, fmt.Sprint(x))
		}
		if o != strings.Join(parts, " ") {
			return fmt.Errorf("differs")
		}
		return nil
	case "composite":
		if _, ok := ours.(string); !ok {
			return fmt.Errorf("composite element not written as its text")
		}
		if _, ok := want.(map[string]any); !ok {
			return fmt.Errorf("row_to_json's composite element is not an object")
		}
		return nil // the text is compared with the scalar column's
	}
	if !reflect.DeepEqual(ours, want) {
		return fmt.Errorf("differs")
	}
	return nil
}

var (
	ourDateRE = regexp.MustCompile(`^(-?\d{4,})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z)?)?$`)
	pgDateRE  = regexp.MustCompile(`^(\d{4,})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(\+00:00)?)?( BC)?$`)
)

// ourDateTime checks our form of a date/timestamp/timestamptz element
// (astronomical year, the scale's fraction digits, Z) and returns it
// canonically (the digits themselves are compared with the scalar column's).
func ourDateTime(form, s string) (string, error) {
	m := ourDateRE.FindStringSubmatch(s)
	if m == nil || (form == "date") != (m[4] == "") || (form != "date" && m[7] == "" && !strings.Contains(s, "T")) || (form == "timestamptz") != (m[8] == "Z") {
		return "", fmt.Errorf("%q is not our %s form", s, form)
	}
	y, _ := strconv.Atoi(m[1])
	frac := strings.TrimRight(m[7], "0")
	return fmt.Sprintf("%d %s-%s %s:%s:%s.%s", y, m[2], m[3], m[4], m[5], m[6], frac), nil
}

// pgDateTime reads row_to_json's date/time text (XSD form, " BC").
func pgDateTime(s string) (string, error) {
	m := pgDateRE.FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("unexpected row_to_json date/time %q", s)
	}
	y, _ := strconv.Atoi(m[1])
	if m[9] != "" {
		y = 1 - y
	}
	frac := strings.TrimRight(m[7], "0")
	return fmt.Sprintf("%d %s-%s %s:%s:%s.%s", y, m[2], m[3], m[4], m[5], m[6], frac), nil
}

// TestUserDefinedArrayTypes: arrays of types the driver does not know
// (enums, composites, domains over box — delimiter ';' —, domains with a
// precision) and domains over arrays are JSON arrays too, with the
// elements written like scalars of the element's base type.
func TestUserDefinedArrayTypes(t *testing.T) {
	db := admin(t)
	schema := fmt.Sprintf("ora2gcs_userarrays_%d", os.Getpid())
	exec(t, db, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
	exec(t, db, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { exec(t, db, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	for _, s := range []string{
		`CREATE DOMAIN %s.dbox AS box`,
		`CREATE DOMAIN %s.iarr AS int[]`,
		`CREATE TYPE %s.mood AS ENUM ('a b', 'c')`,
		`CREATE TYPE %s.pair AS (x int, y text)`,
		`CREATE DOMAIN %s.ts2 AS timestamptz(2)`,
		`CREATE TABLE %[1]s.t (id int, a %[1]s.dbox[], b %[1]s.iarr, c %[1]s.mood[], d %[1]s.pair[], e %[1]s.ts2[], f timestamp(3)[], g timestamp(0)[])`,
		`INSERT INTO %[1]s.t VALUES (1, '{"(1,1),(0,0)";"(3,3),(2,2)"}', '{1,NULL}', '{"a b",c,NULL}', ARRAY[ROW(1,'q"x')::%[1]s.pair, NULL],
		  '{"2024-01-01 00:00:00.126+00"}', '{"2024-01-01 00:00:00.1239"}', '{"0044-03-15 12:00:00 BC"}')`,
	} {
		exec(t, db, fmt.Sprintf(s, schema))
	}
	want := `{"id":1,"a":["(1,1),(0,0)","(3,3),(2,2)"],"b":[1,null],"c":["a b","c",null],"d":["(1,\"q\"\"x\")",null],` +
		`"e":["2024-01-01T00:00:00.13Z"],"f":["2024-01-01T00:00:00.124"],"g":["-0043-03-15T12:00:00"]}` + "\n"
	for _, mode := range readModes {
		if mode.opts.DatabaseSQL {
			continue // knows element types by name only (Options.DatabaseSQL)
		}
		t.Run(mode.name, func(t *testing.T) {
			c := open(t, mode.opts)
			if got, _ := ndjson(t, c, schema+".t", pipeline.ReadOptions{Raw: mode.raw}); got != want {
				t.Errorf("got  %swant %s", got, want)
			}
		})
	}
}
