package synth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

func newConnector(t testing.TB, cfg Config) *Connector {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func describe(t testing.TB, c *Connector, name string) pipeline.TableInfo {
	t.Helper()
	info, err := c.Describe(context.Background(), name)
	if err != nil {
		t.Fatalf("Describe(%q): %v", name, err)
	}
	return info
}

// cloneRows copies a batch's rows deeply enough to outlive its Release.
func cloneRows(rows [][]any) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		cp := make([]any, len(r))
		for j, v := range r {
			if s, ok := v.(string); ok {
				v = strings.Clone(s)
			}
			cp[j] = v
		}
		out[i] = cp
	}
	return out
}

// readAll reads a source to the end, releasing each batch after copying it,
// and checks that Seq counts 0, 1, 2, ….
func readAll(t testing.TB, src pipeline.Source) [][]any {
	t.Helper()
	defer src.Close()
	var rows [][]any
	for seq := int64(0); ; seq++ {
		b, err := src.Next(context.Background())
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if b.Seq != seq {
			t.Fatalf("batch Seq = %d, want %d", b.Seq, seq)
		}
		if len(b.Rows) == 0 {
			t.Fatalf("empty batch %d", seq)
		}
		rows = append(rows, cloneRows(b.Rows)...)
		b.Release()
	}
}

// equalRows compares rows value by value with ==: every generated value is
// comparable (string, float64 without NaN, time.Time in UTC, nil).
func equalRows(a, b [][]any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func open(t testing.TB, c *Connector, name string, opts pipeline.ReadOptions) pipeline.Source {
	t.Helper()
	src, err := c.Open(context.Background(), describe(t, c, name), nil, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	return src
}

func TestVBRPSchemaMatchesJSONFile(t *testing.T) {
	b, err := os.ReadFile("vbrp_schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Columns []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			Nullable bool   `json:"nullable"`
		} `json:"columns"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Columns) != 274 {
		t.Fatalf("vbrp_schema.json has %d columns, want 274", len(file.Columns))
	}
	c := newConnector(t, Config{})
	info := describe(t, c, "VBRP")
	if info.ColumnCount != 274 || len(info.Columns) != 274 {
		t.Fatalf("VBRP: ColumnCount %d, %d columns; want 274", info.ColumnCount, len(info.Columns))
	}
	num := regexp.MustCompile(`^NUMBER\((\d+)(?:,(\d+))?\)$`)
	for i, want := range file.Columns {
		got := info.Columns[i]
		if got.Name != want.Name || got.SourceType != want.Type || got.Nullable != want.Nullable {
			t.Errorf("column %d = %s %s nullable=%v, want %s %s nullable=%v",
				i, got.Name, got.SourceType, got.Nullable, want.Name, want.Type, want.Nullable)
		}
		var wantType pipeline.ColumnType
		switch {
		case strings.HasPrefix(want.Type, "VARCHAR2("):
			wantType = pipeline.TypeString
		case want.Type == "DATE":
			wantType = pipeline.TypeDateTime
		case want.Type == "BINARY_DOUBLE":
			wantType = pipeline.TypeFloat
		case num.MatchString(want.Type):
			wantType = pipeline.TypeDecimal
			m := num.FindStringSubmatch(want.Type)
			p, _ := strconv.Atoi(m[1])
			s, _ := strconv.Atoi(m[2] + "0")
			s /= 10
			if got.Precision != p || got.Scale != s {
				t.Errorf("column %s: precision/scale %d/%d, want %d/%d", got.Name, got.Precision, got.Scale, p, s)
			}
		default:
			t.Fatalf("column %s: unexpected type %q in the file", want.Name, want.Type)
		}
		if got.Type != wantType {
			t.Errorf("column %s: type %v, want %v", got.Name, got.Type, wantType)
		}
	}
	// The embedded copy must stay identical to the shared reference when it is there.
	if ref, err := os.ReadFile("../../../shared/bench/vbrp_schema.json"); err == nil && string(ref) != string(b) {
		t.Errorf("vbrp_schema.json differs from ../shared/bench/vbrp_schema.json")
	}
}

func TestOracleColumn(t *testing.T) {
	tests := []struct {
		typ     string
		want    pipeline.Column
		wantLen int
		wantErr bool
	}{
		{typ: "VARCHAR2(10)", want: pipeline.Column{Type: pipeline.TypeString}, wantLen: 10},
		{typ: "VARCHAR2(40 CHAR)", want: pipeline.Column{Type: pipeline.TypeString}, wantLen: 40},
		{typ: "CHAR(1)", want: pipeline.Column{Type: pipeline.TypeString}, wantLen: 1},
		{typ: "NVARCHAR2(20)", want: pipeline.Column{Type: pipeline.TypeString}, wantLen: 20},
		{typ: "NUMBER(13,3)", want: pipeline.Column{Type: pipeline.TypeDecimal, Precision: 13, Scale: 3}},
		{typ: "NUMBER(6)", want: pipeline.Column{Type: pipeline.TypeDecimal, Precision: 6}},
		{typ: "NUMBER", want: pipeline.Column{Type: pipeline.TypeDecimal}},
		{typ: "DATE", want: pipeline.Column{Type: pipeline.TypeDateTime}},
		{typ: "BINARY_DOUBLE", want: pipeline.Column{Type: pipeline.TypeFloat}},
		{typ: "BINARY_FLOAT", want: pipeline.Column{Type: pipeline.TypeFloat}},
		{typ: "NUMBER(3,5)", wantErr: true},
		{typ: "VARCHAR2(x)", wantErr: true},
		{typ: "CLOB", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			got, n, err := oracleColumn("C", tt.typ, true)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("oracleColumn(%q) = %+v, want an error", tt.typ, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Name, tt.want.SourceType, tt.want.Nullable = "C", tt.typ, true
			if got != tt.want || n != tt.wantLen {
				t.Errorf("oracleColumn(%q) = %+v len %d, want %+v len %d", tt.typ, got, n, tt.want, tt.wantLen)
			}
		})
	}
}

func TestCatalog(t *testing.T) {
	c := newConnector(t, Config{Rows: map[string]int64{"vbrk": 7}, DefaultRows: 11})
	ctx := context.Background()
	if got := c.TableNames(); !reflect.DeepEqual(got, []string{"VBRP", "VBRK", "LIKP"}) {
		t.Errorf("TableNames = %v", got)
	}
	if c.Kind() != "synth" {
		t.Errorf("Kind = %q", c.Kind())
	}
	for _, exact := range []bool{false, true} {
		tables, err := c.Tables(ctx, exact)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"VBRP": 11, "VBRK": 7, "LIKP": 11}
		if len(tables) != 3 {
			t.Fatalf("Tables: %d tables", len(tables))
		}
		for _, ti := range tables {
			if ti.Rows != want[ti.Name] || !ti.RowsExact || ti.Schema != "SYNTH" || ti.ColumnCount < 50 {
				t.Errorf("Tables(%v): %+v", exact, ti)
			}
			if ti.Name != "VBRP" && (ti.ColumnCount < 50 || ti.ColumnCount > 80) {
				t.Errorf("%s has %d columns, want a narrow header table", ti.Name, ti.ColumnCount)
			}
		}
	}
	tests := []struct {
		name, want string
	}{
		{"VBRP", "VBRP"}, {"vbrk", "VBRK"}, {"  Likp ", "LIKP"}, {"SYNTH.VBRP", "VBRP"}, {"synth.likp", "LIKP"},
		{"SAPSR3.VBRP", ""}, {"MARA", ""}, {"", ""}, {"VBRP.", ""}, {"VBRP; DROP TABLE X", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := c.Describe(ctx, tt.name)
			if tt.want == "" {
				if !errors.Is(err, pipeline.ErrTableNotFound) || !strings.HasPrefix(err.Error(), "synth: ") {
					t.Fatalf("Describe(%q) error = %v, want synth: …ErrTableNotFound", tt.name, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Name != tt.want || info.Schema != "SYNTH" || len(info.Columns) != info.ColumnCount || info.Rows < 0 {
				t.Errorf("Describe(%q) = %s.%s %d cols", tt.name, info.Schema, info.Name, len(info.Columns))
			}
		})
	}
	// Describe returns a copy: changing it does not change the catalog.
	a := describe(t, c, "VBRP")
	a.Columns[0].Name = "CHANGED"
	if describe(t, c, "VBRP").Columns[0].Name != "MANDT" {
		t.Error("Describe shares its column slice with the catalog")
	}
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Info(); got.Kind != "none" || got.Note == "" {
		t.Errorf("Snapshot info = %+v", got)
	}
	if got, ok := snap.TableConsistency(a); !ok || got != (pipeline.TableConsistency{Mode: pipeline.ConsistencyStatic, AtSnapshot: true}) {
		t.Errorf("TableConsistency = %+v %v", got, ok)
	}
	if st := c.Status(ctx); st.Kind != "synth" || !st.Reachable {
		t.Errorf("Status = %+v", st)
	}
	if err := snap.Close(); err != nil {
		t.Error(err)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"rows", Config{Rows: map[string]int64{"VBRP": 5, "LIKP": 0}, DefaultRows: 3, Seed: 9}, true},
		{"unknown table", Config{Rows: map[string]int64{"MARA": 5}}, false},
		{"lower-case name", Config{Rows: map[string]int64{" vbrp": 5}}, true},
		{"negative rows", Config{Rows: map[string]int64{"VBRP": -1}}, false},
		{"negative default", Config{DefaultRows: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
			_, nerr := New(tt.cfg)
			if (nerr == nil) != tt.ok {
				t.Fatalf("New error = %v, want ok=%v", nerr, tt.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "synth: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	const rows = 700
	cfg := Config{DefaultRows: rows, Seed: 42}
	a, b := newConnector(t, cfg), newConnector(t, cfg)
	other := newConnector(t, Config{DefaultRows: rows, Seed: 43})
	for _, name := range a.TableNames() {
		t.Run(name, func(t *testing.T) {
			whole := readAll(t, open(t, a, name, pipeline.ReadOptions{BatchRows: 1000}))
			if len(whole) != rows {
				t.Fatalf("%d rows, want %d", len(whole), rows)
			}
			if again := readAll(t, open(t, b, name, pipeline.ReadOptions{BatchRows: 1000})); !equalRows(whole, again) {
				t.Error("two connectors with the same seed differ")
			}
			for _, bs := range []int{1, 7, 333, 5000} { // 5000: one batch
				if got := readAll(t, open(t, a, name, pipeline.ReadOptions{BatchRows: bs})); !equalRows(whole, got) {
					t.Errorf("batch size %d gives other rows", bs)
				}
			}
			if diff := readAll(t, open(t, other, name, pipeline.ReadOptions{BatchRows: 1000})); equalRows(whole, diff) {
				t.Error("different seeds give identical rows")
			}
			// Ranges concatenated in order equal the whole table.
			for _, n := range []int{3, 8} {
				info := describe(t, a, name)
				ranges, err := a.Ranges(context.Background(), info, nil, n)
				if err != nil {
					t.Fatal(err)
				}
				if len(ranges) != n {
					t.Fatalf("Ranges(%d) gave %d", n, len(ranges))
				}
				var cat [][]any
				for k, r := range ranges {
					if r.Index != k || r.Total != n {
						t.Errorf("range %d: %+v", k, r)
					}
					src, err := a.Open(context.Background(), info, nil, pipeline.ReadOptions{BatchRows: 100, Range: &r})
					if err != nil {
						t.Fatal(err)
					}
					cat = append(cat, readAll(t, src)...)
				}
				if !equalRows(whole, cat) {
					t.Errorf("%d ranges concatenated differ from the whole table", n)
				}
			}
		})
	}
}

func TestRanges(t *testing.T) {
	c := newConnector(t, Config{Rows: map[string]int64{"VBRP": 2, "VBRK": 0}, DefaultRows: 10})
	ctx := context.Background()
	tests := []struct {
		table string
		n     int
		want  [][2]string
	}{
		{"LIKP", 3, [][2]string{{"0", "3"}, {"3", "6"}, {"6", "10"}}},
		{"VBRP", 5, [][2]string{{"0", "1"}, {"1", "2"}}},
		{"VBRK", 4, [][2]string{{"0", "0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			rs, err := c.Ranges(ctx, describe(t, c, tt.table), nil, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			var got [][2]string
			for _, r := range rs {
				got = append(got, [2]string{r.Lo, r.Hi})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Ranges = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := c.Ranges(ctx, describe(t, c, "LIKP"), nil, 0); err == nil {
		t.Error("Ranges(n=0) did not fail")
	}
	if _, err := c.Ranges(ctx, pipeline.TableInfo{Name: "MARA"}, nil, 2); !errors.Is(err, pipeline.ErrTableNotFound) {
		t.Errorf("Ranges of an unknown table: %v", err)
	}
}

func TestRowCountsAndLimit(t *testing.T) {
	c := newConnector(t, Config{Rows: map[string]int64{"VBRP": 25, "VBRK": 0}, DefaultRows: 1000})
	rng := func(lo, hi string) *pipeline.Range { return &pipeline.Range{Lo: lo, Hi: hi, Total: 1} }
	tests := []struct {
		name    string
		table   string
		opts    pipeline.ReadOptions
		want    int
		batches int
		wantErr bool
	}{
		{"all default batch", "VBRP", pipeline.ReadOptions{}, 25, 1, false},
		{"batches of 10", "VBRP", pipeline.ReadOptions{BatchRows: 10}, 25, 3, false},
		{"limit", "VBRP", pipeline.ReadOptions{BatchRows: 10, Limit: 12}, 12, 2, false},
		{"limit above rows", "VBRP", pipeline.ReadOptions{Limit: 100}, 25, 1, false},
		{"empty table", "VBRK", pipeline.ReadOptions{}, 0, 0, false},
		{"range", "LIKP", pipeline.ReadOptions{BatchRows: 100, Range: rng("250", "750")}, 500, 5, false},
		{"range and limit", "LIKP", pipeline.ReadOptions{BatchRows: 100, Limit: 150, Range: rng("250", "750")}, 150, 2, false},
		{"empty range", "LIKP", pipeline.ReadOptions{Range: rng("5", "5")}, 0, 0, false},
		{"range past end", "LIKP", pipeline.ReadOptions{Range: rng("0", "1001")}, 0, 0, true},
		{"reversed range", "LIKP", pipeline.ReadOptions{Range: rng("9", "5")}, 0, 0, true},
		{"bad range", "LIKP", pipeline.ReadOptions{Range: rng("x", "5")}, 0, 0, true},
		{"negative limit", "LIKP", pipeline.ReadOptions{Limit: -1}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := c.Open(context.Background(), describe(t, c, tt.table), nil, tt.opts)
			if tt.wantErr {
				if err == nil {
					t.Fatal("Open did not fail")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(src.Columns()) != describe(t, c, tt.table).ColumnCount {
				t.Errorf("Columns() has %d columns", len(src.Columns()))
			}
			rows, batches := 0, 0
			for {
				b, err := src.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				rows += len(b.Rows)
				batches++
				b.Release()
			}
			if rows != tt.want || batches != tt.batches {
				t.Errorf("read %d rows in %d batches, want %d in %d", rows, batches, tt.want, tt.batches)
			}
			if _, err := src.Next(context.Background()); err != io.EOF {
				t.Errorf("Next after EOF = %v", err)
			}
			if err := src.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	// An Open of a table whose row offset is in the range reads those very rows.
	whole := readAll(t, open(t, c, "LIKP", pipeline.ReadOptions{}))
	part := readAll(t, open(t, c, "LIKP", pipeline.ReadOptions{Range: rng("400", "410"), BatchRows: 3}))
	if !equalRows(whole[400:410], part) {
		t.Error("range [400,410) differs from rows 400..409 of the whole table")
	}
}

var (
	decimalRE = regexp.MustCompile(`^-?(0|[1-9]\d*)(\.\d*[1-9])?$`)
	hangul    = unicode.Hangul
)

// checkDecimal reports why v is not a NUMBER(p,s) value as Oracle prints it:
// it must match decimalRE (checked by hand here, since the regexp is slow
// under -race over a million values; TestCheckDecimal ties the two together).
func checkDecimal(v string, p, s int) string {
	digits := strings.TrimPrefix(v, "-")
	ip, fp, dot := strings.Cut(digits, ".")
	switch {
	case ip == "" || (dot && fp == ""):
		return "not Oracle's decimal form"
	case strings.Trim(ip, "0123456789") != "" || strings.Trim(fp, "0123456789") != "":
		return "not Oracle's decimal form"
	case len(ip) > 1 && ip[0] == '0':
		return "leading zero"
	case dot && fp[len(fp)-1] == '0':
		return "trailing zero after the point"
	case v == "-0":
		return "negative zero"
	case len(fp) > s:
		return "too many decimals for the scale"
	case ip != "0" && len(ip) > p-s:
		return "too many integer digits for the precision"
	}
	return ""
}

func TestCheckDecimal(t *testing.T) {
	tests := []struct {
		v    string
		p, s int
		ok   bool
	}{
		{"0", 5, 0, true}, {"123.45", 5, 2, true}, {"-0.5", 3, 1, true}, {"1000", 4, 0, true}, {"0.00007", 9, 5, true},
		{"1.50", 5, 2, false}, {"01", 5, 0, false}, {"1.", 5, 2, false}, {".5", 5, 2, false}, {"-0", 5, 0, false},
		{"1e5", 9, 0, false}, {"", 5, 0, false}, {"12345", 6, 2, false}, {"1.234", 6, 2, false}, {"+1", 5, 0, false},
	}
	for _, tt := range tests {
		why := checkDecimal(tt.v, tt.p, tt.s)
		if (why == "") != tt.ok {
			t.Errorf("checkDecimal(%q, %d, %d) = %q, want ok=%v", tt.v, tt.p, tt.s, why, tt.ok)
		}
		if tt.ok && (!decimalRE.MatchString(tt.v) || !regexp.MustCompile(`^-?\d+(\.\d+)?$`).MatchString(tt.v)) {
			t.Errorf("%q passes checkDecimal but not the regexp", tt.v)
		}
	}
}

func TestValues(t *testing.T) {
	const rows = 10_000
	c := newConnector(t, Config{DefaultRows: rows})
	for _, name := range c.TableNames() {
		t.Run(name, func(t *testing.T) {
			info := describe(t, c, name)
			lengths := map[string]int{}
			for _, col := range info.Columns {
				if col.Type == pipeline.TypeString {
					n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(col.SourceType, "VARCHAR2("), ")"))
					lengths[col.Name] = n
				}
			}
			src := open(t, c, name, pipeline.ReadOptions{BatchRows: 4096})
			defer src.Close()
			var nulls, blanks, hangulValues, escapes, fullFloats, decimals, zeros, dates int
			seen := 0
			prevDoc := ""
			for {
				b, err := src.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, row := range b.Rows {
					if len(row) != len(info.Columns) {
						t.Fatalf("row %d has %d values", seen, len(row))
					}
					for j, v := range row {
						col := info.Columns[j]
						if v == nil {
							if !col.Nullable {
								t.Fatalf("row %d: NULL in NOT NULL column %s", seen, col.Name)
							}
							nulls++
							continue
						}
						switch col.Type {
						case pipeline.TypeString:
							s, ok := v.(string)
							if !ok {
								t.Fatalf("%s: %T", col.Name, v)
							}
							if !utf8.ValidString(s) || s == "" || len(s) > lengths[col.Name] {
								t.Fatalf("row %d %s: bad string %q for %s", seen, col.Name, s, col.SourceType)
							}
							if s == " " {
								blanks++
							}
							if strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(hangul, r) }) {
								hangulValues++
							}
							if strings.ContainsAny(s, "\"\\\t") {
								escapes++
							}
						case pipeline.TypeDecimal:
							s, ok := v.(string)
							if !ok {
								t.Fatalf("%s: %T", col.Name, v)
							}
							if seen < 500 && !decimalRE.MatchString(s) {
								t.Fatalf("row %d %s: %q does not match %v", seen, col.Name, s, decimalRE)
							}
							if why := checkDecimal(s, col.Precision, col.Scale); why != "" {
								t.Fatalf("row %d %s %s: %q: %s", seen, col.Name, col.SourceType, s, why)
							}
							decimals++
							if s == "0" {
								zeros++
							}
						case pipeline.TypeDateTime:
							d, ok := v.(time.Time)
							if !ok || d.Location() != time.UTC || d.Nanosecond() != 0 || d.Year() < 2019 || d.Year() > 9999 {
								t.Fatalf("row %d %s: bad DATE %#v", seen, col.Name, v)
							}
							dates++
						case pipeline.TypeFloat:
							f, ok := v.(float64)
							if !ok {
								t.Fatalf("%s: %T", col.Name, v)
							}
							if len(strconv.FormatFloat(f, 'g', -1, 64)) >= 17 {
								fullFloats++
							}
						default:
							t.Fatalf("%s: unexpected column type %v", col.Name, col.Type)
						}
					}
					// MANDT is the client and document numbers never decrease.
					if row[0] != "100" {
						t.Fatalf("row %d: MANDT %v", seen, row[0])
					}
					doc := row[1].(string)
					if len(doc) != 10 || doc < prevDoc {
						t.Fatalf("row %d: VBELN %q after %q", seen, doc, prevDoc)
					}
					prevDoc = strings.Clone(doc) // doc's storage is reused after Release
					seen++
				}
				b.Release()
			}
			if seen != rows {
				t.Fatalf("read %d rows", seen)
			}
			cells := rows * len(info.Columns)
			t.Logf("%s: NULL %.1f%%, blank %.1f%%, zero decimals %.1f%%, Hangul %d, escapes %d, 17-digit floats %d",
				name, 100*float64(nulls)/float64(cells), 100*float64(blanks)/float64(cells), 100*float64(zeros)/float64(max(decimals, 1)),
				hangulValues, escapes, fullFloats)
			// Most SAP NUMBER columns are 0 in most rows.
			if name == "VBRP" && (zeros < decimals*4/10 || zeros > decimals*8/10) {
				t.Errorf("%d of %d decimals are 0, want 40–80%%", zeros, decimals)
			}
			if nulls < cells/100 || nulls > cells/10 {
				t.Errorf("%d NULLs in %d values: not a realistic few percent", nulls, cells)
			}
			if blanks < cells/20 {
				t.Errorf("only %d blank (\" \") values in %d", blanks, cells)
			}
			if hangulValues < rows/10 {
				t.Errorf("only %d values with Hangul in %d rows", hangulValues, rows)
			}
			if decimals == 0 || dates == 0 {
				t.Errorf("decimals %d, dates %d", decimals, dates)
			}
			if name == "VBRP" {
				if escapes == 0 || escapes > rows {
					t.Errorf("%d values needing JSON escapes in %d rows, want a few", escapes, rows)
				}
				if fullFloats == 0 {
					t.Error("no float needing 17 digits")
				}
			}
		})
	}
}

func TestVBRPDocuments(t *testing.T) {
	c := newConnector(t, Config{DefaultRows: 5000})
	info := describe(t, c, "VBRP")
	idx := map[string]int{}
	for j, col := range info.Columns {
		idx[col.Name] = j
	}
	rows := readAll(t, open(t, c, "VBRP", pipeline.ReadOptions{BatchRows: 777}))
	docs := 0
	for i, row := range rows {
		vbeln, posnr := row[idx["VBELN"]].(string), row[idx["POSNR"]].(string)
		if !strings.HasPrefix(vbeln, "009") {
			t.Fatalf("row %d: VBELN %q", i, vbeln)
		}
		if i == 0 || vbeln != rows[i-1][idx["VBELN"]] {
			docs++
			if posnr != "10" {
				t.Fatalf("row %d: first item of %s is %s", i, vbeln, posnr)
			}
			if i > 0 && vbeln <= rows[i-1][idx["VBELN"]].(string) {
				t.Fatalf("row %d: VBELN %s not after %s", i, vbeln, rows[i-1][idx["VBELN"]])
			}
		} else {
			prev, _ := strconv.Atoi(rows[i-1][idx["POSNR"]].(string))
			if cur, _ := strconv.Atoi(posnr); cur != prev+10 {
				t.Fatalf("row %d: POSNR %d after %d in one document", i, cur, prev)
			}
		}
		if row[idx["VGPOS"]] != posnr || row[idx["VGBEL"]].(string)[2:] != "8"+vbeln[3:] {
			t.Fatalf("row %d: reference %v/%v for %s/%s", i, row[idx["VGBEL"]], row[idx["VGPOS"]], vbeln, posnr)
		}
	}
	if avg := float64(len(rows)) / float64(docs); avg < 1.5 || avg > 6 {
		t.Errorf("%.2f items per billing document", avg)
	}

	// Header data is shared by the items of a document; item data is not.
	for _, name := range []string{"FBUDA", "WAERK", "KUNAG_ANA", "ERNAM", "VKORG_AUFT", "KURSK"} {
		for i := 1; i < len(rows); i++ {
			if rows[i][idx["VBELN"]] == rows[i-1][idx["VBELN"]] && rows[i][idx[name]] != rows[i-1][idx[name]] {
				t.Fatalf("row %d: %s %v differs from %v of the previous item of %s", i, name, rows[i][idx[name]], rows[i-1][idx[name]], rows[i][idx["VBELN"]])
			}
		}
	}
	for i, row := range rows {
		if row[idx["FBUDA"]] != row[idx["PRSDT"]] || row[idx["FBUDA"]] != row[idx["ERDAT"]] {
			t.Fatalf("row %d: billing %v, pricing %v and creation date %v differ", i, row[idx["FBUDA"]], row[idx["PRSDT"]], row[idx["ERDAT"]])
		}
	}
	// Share of columns that agree within every document (document-level
	// columns, plus a few always-blank ones by chance).
	constant := 0
	for j := range info.Columns {
		same := true
		for i := 1; i < len(rows) && same; i++ {
			same = rows[i][idx["VBELN"]] != rows[i-1][idx["VBELN"]] || rows[i][j] == rows[i-1][j]
		}
		if same {
			constant++
		}
	}
	t.Logf("%d of %d columns are constant within every document", constant, len(info.Columns))
	if share := float64(constant) / float64(len(info.Columns)); share < 0.40 || share > 0.60 {
		t.Errorf("%d of %d columns are constant within documents (%.0f%%), want 40–60%%", constant, len(info.Columns), 100*share)
	}
	// Item-level data varies within documents.
	varied := 0
	for i := 1; i < len(rows); i++ {
		if rows[i][idx["VBELN"]] == rows[i-1][idx["VBELN"]] && rows[i][idx["MATNR"]] != rows[i-1][idx["MATNR"]] {
			varied++
		}
	}
	if items := len(rows) - docs; varied < items/2 {
		t.Errorf("MATNR differs from the previous item in %d of %d later items", varied, items)
	}
}

// TestSlotsOutliveSource checks that a closed source's batch storage is
// reused by the next source of the same batch size, and that a different
// batch size still gives the right rows.
func TestSlotsOutliveSource(t *testing.T) {
	c := newConnector(t, Config{DefaultRows: 100})
	whole := readAll(t, open(t, c, "VBRP", pipeline.ReadOptions{BatchRows: 100}))
	reused := 0
	var last *any
	for range 20 {
		src := open(t, c, "VBRP", pipeline.ReadOptions{BatchRows: 10})
		b, err := src.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !equalRows(b.Rows, whole[:10]) {
			t.Fatal("reused storage gives other rows")
		}
		if &b.Rows[0][0] == last {
			reused++
		}
		last = &b.Rows[0][0]
		b.Release()
		src.Close()
	}
	// sync.Pool may drop items (always some under -race), never all.
	if reused == 0 {
		t.Error("no source reused the storage of a closed one")
	}
	src := open(t, c, "VBRP", pipeline.ReadOptions{BatchRows: 7})
	defer src.Close()
	b, err := src.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rows) != 7 || !equalRows(b.Rows, whole[:7]) {
		t.Errorf("batch of %d rows after other batch sizes is wrong", len(b.Rows))
	}
	b.Release()
}

func TestCancellation(t *testing.T) {
	c := newConnector(t, Config{DefaultRows: 100})
	src := open(t, c, "VBRP", pipeline.ReadOptions{BatchRows: 10})
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := src.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.Release()
	cancel()
	if _, err := src.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel = %v, want context.Canceled", err)
	}
}

func TestReleaseTwiceIsHarmless(t *testing.T) {
	c := newConnector(t, Config{DefaultRows: 30})
	src := open(t, c, "VBRK", pipeline.ReadOptions{BatchRows: 10})
	whole := readAll(t, open(t, c, "VBRK", pipeline.ReadOptions{BatchRows: 10}))
	b1, _ := src.Next(context.Background())
	b1.Release()
	b1.Release() // must not put the storage on the free list twice
	b2, _ := src.Next(context.Background())
	b3, _ := src.Next(context.Background())
	if &b2.Rows[0][0] == &b3.Rows[0][0] {
		t.Fatal("two live batches share storage")
	}
	if !equalRows(b2.Rows, whole[10:20]) || !equalRows(b3.Rows, whole[20:30]) {
		t.Error("reused storage gives other rows")
	}
}

func TestAllocsPerRow(t *testing.T) {
	const batch = 1000
	c := newConnector(t, Config{DefaultRows: 1 << 40})
	for _, name := range c.TableNames() {
		t.Run(name, func(t *testing.T) {
			src := open(t, c, name, pipeline.ReadOptions{BatchRows: batch})
			defer src.Close()
			ctx := context.Background()
			allocs := testing.AllocsPerRun(20, func() {
				b, err := src.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				b.Release()
			})
			if perRow := allocs / batch; perRow > 0.001 {
				t.Errorf("%.1f allocations per batch of %d rows (%.4f per row)", allocs, batch, perRow)
			}
		})
	}
}

func TestFormatDecimal(t *testing.T) {
	tests := []struct {
		neg   bool
		mant  uint64
		scale int
		want  string
	}{
		{false, 12345, 2, "123.45"}, {true, 5, 1, "-0.5"}, {false, 1000, 0, "1000"}, {false, 100000, 2, "1000"},
		{false, 120, 2, "1.2"}, {false, 0, 3, "0"}, {true, 0, 2, "0"}, {false, 7, 5, "0.00007"}, {false, 1234500, 5, "12.345"},
	}
	for _, tt := range tests {
		if got := formatDecimal(tt.neg, tt.mant, tt.scale); got != tt.want {
			t.Errorf("formatDecimal(%v, %d, %d) = %q, want %q", tt.neg, tt.mant, tt.scale, got, tt.want)
		}
	}
}

// BenchmarkGenerateVBRP generates VBRP in batches of 10,000 rows (the
// default chunk size) and, for comparison, of 1,000 rows, whose 4.4 MB of
// cells stay closer to the CPU caches.
func BenchmarkGenerateVBRP(b *testing.B) {
	b.Run("batch10000", func(b *testing.B) { benchmarkGenerate(b, "VBRP", 10_000) })
	b.Run("batch1000", func(b *testing.B) { benchmarkGenerate(b, "VBRP", 1000) })
}

func BenchmarkGenerate(b *testing.B) {
	for _, name := range []string{"VBRK", "LIKP"} {
		b.Run(name, func(b *testing.B) { benchmarkGenerate(b, name, 10_000) })
	}
}

// benchmarkGenerate measures one op = one row, generated in batches of
// batchRows and released as the pipeline does.
func benchmarkGenerate(b *testing.B, name string, batchRows int) {
	c := newConnector(b, Config{DefaultRows: 1 << 50})
	src := open(b, c, name, pipeline.ReadOptions{BatchRows: batchRows})
	defer src.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for done < b.N {
		bt, err := src.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		done += len(bt.Rows)
		bt.Release()
	}
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "rows/s")
}

// TestPools checks the invariant the hot loop's unchecked indexing relies on.
func TestPools(t *testing.T) {
	c := newConnector(t, Config{})
	for _, tab := range c.tables {
		if len(tab.pools) != len(tab.info.Columns) {
			t.Fatalf("%s: %d pools for %d columns", tab.info.Name, len(tab.pools), len(tab.info.Columns))
		}
		for j, p := range tab.pools {
			if p.shift < 64-maxPoolBits || p.shift > 63 || len(p.vals) != 1<<(64-p.shift) || p.base != unsafe.Pointer(&p.vals[0]) {
				t.Errorf("%s.%s: pool of %d values with shift %d", tab.info.Name, tab.info.Columns[j].Name, len(p.vals), p.shift)
			}
		}
	}
}
