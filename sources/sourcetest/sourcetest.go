package sourcetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// Column is a column of a fixture table in logical terms. Precision and
// Scale matter for TypeDecimal (digits and fraction digits) and for the
// timestamp types (fraction digits, 6 unless set); the fixture picks the
// source's type that holds every value of the suite for it.
type Column struct {
	Name             string
	Type             pipeline.ColumnType
	Precision, Scale int
}

// Table is a table for a fixture to create. Name is a base name, unique
// within one test binary run; a fixture may decorate it (prefix, random
// suffix) and returns the name to Describe it by, unquoted, in the case
// the source stores unquoted names in. Rows hold, per column type:
//
//	TypeString      string
//	TypeDecimal     string of exact digits ("-12.5", "0")
//	TypeInt         int64
//	TypeFloat       float64 (NaN and ±Inf included)
//	TypeBool        bool
//	TypeDate        time.Time at midnight UTC
//	TypeDateTime    time.Time in UTC (to the second)
//	TypeTimestamp   time.Time in UTC (microseconds)
//	TypeTimestampTZ time.Time with its offset
//	TypeBytes       []byte
//	TypeJSON        string of JSON text
//	nil             NULL, in any column
type Table struct {
	Name    string
	Columns []Column
	Rows    [][]any
}

// IDColumn is the first column of every table the suite creates: values
// "1".."n" in row order.
var IDColumn = Column{Name: "ID", Type: pipeline.TypeDecimal, Precision: 18}

// Harness connects the suite to one source.
type Harness struct {
	// Types are the logical column types Create can make (IDColumn's
	// TypeDecimal is always needed).
	Types []pipeline.ColumnType
	// Create makes tab in the source (dropped when t ends) and returns a
	// connector that reads it and the name to Describe it by.
	Create func(t *testing.T, tab Table) (pipeline.Connector, string)
	// Rows, for a source that cannot create tables of given columns, returns
	// a connector and the name of a table of exactly n rows whose rows
	// differ from each other. Used only when Create is nil.
	Rows func(t *testing.T, n int) (pipeline.Connector, string)
	// Replace, for a source whose snapshots hold changing data still, deletes
	// every row of a table made by Create and inserts rows, committed.
	Replace func(t *testing.T, name string, rows [][]any)
	// EmptyIsNull: the source stores an empty string or empty bytes as
	// NULL (Oracle), so they read back as null.
	EmptyIsNull bool
	// Raw also reads every table with ReadOptions.Raw, decoding raw
	// batches with the source's RowDecoder (PostgreSQL COPY).
	Raw bool
}

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, h Harness) {
	if h.Create == nil && h.Rows == nil {
		t.Fatal("sourcetest: Harness needs Create or Rows")
	}
	modes := []bool{false}
	if h.Raw {
		modes = append(modes, true)
	}
	t.Run("Types", func(t *testing.T) {
		if h.Create == nil {
			t.Log("not run: the source cannot create tables of given columns")
			return
		}
		tab := typesTable(h)
		c, name := h.Create(t, tab)
		ti := describe(t, c, name)
		for i, col := range tab.Columns {
			if i >= len(ti.Columns) {
				t.Fatalf("Describe(%s) has %d columns, want %d", name, len(ti.Columns), len(tab.Columns))
			}
			if got := ti.Columns[i].Type; got != col.Type {
				t.Errorf("column %s: Describe says %v (%s), want %v", col.Name, got, ti.Columns[i].SourceType, col.Type)
			}
		}
		for _, raw := range modes {
			t.Run(modeName(raw), func(t *testing.T) {
				got := readTable(t, c, ti, nil, pipeline.ReadOptions{BatchRows: 3, Raw: raw}, false)
				compareRows(t, tab, ti.Columns, got, tab.Rows, h.EmptyIsNull)
			})
		}
	})

	t.Run("Nulls", func(t *testing.T) {
		if h.Create == nil {
			t.Log("not run: the source cannot create tables of given columns")
			return
		}
		tab := typesTable(h)
		tab.Name = "SRCT_NULLS"
		row := make([]any, len(tab.Columns))
		row[0] = "1"
		tab.Rows = [][]any{row}
		c, name := h.Create(t, tab)
		ti := describe(t, c, name)
		for _, raw := range modes {
			t.Run(modeName(raw), func(t *testing.T) {
				got := readTable(t, c, ti, nil, pipeline.ReadOptions{Raw: raw}, false)
				if len(got) != 1 {
					t.Fatalf("%d rows, want 1", len(got))
				}
				line := encodeLine(t, ti.Columns, got[0])
				var m map[string]any
				if err := json.Unmarshal(line, &m); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				for i, col := range tab.Columns[1:] {
					if v, ok := m[ti.Columns[i+1].Name]; !ok || v != nil {
						t.Errorf("column %s (%v): %v, want null (row %s)", col.Name, col.Type, v, line)
					}
				}
			})
		}
	})

	t.Run("Empty", func(t *testing.T) {
		c, name := h.table(t, "SRCT_EMPTY", 0)
		ti := describe(t, c, name)
		for _, raw := range modes {
			t.Run(modeName(raw), func(t *testing.T) {
				src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{Raw: raw})
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				if got := names(src.Columns()); !slices.Equal(got, names(ti.Columns)) {
					t.Fatalf("Columns %v, Describe %v", got, names(ti.Columns))
				}
				for {
					b, err := src.Next(context.Background())
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if b.Len() != 0 {
						t.Fatalf("empty table gave a batch of %d rows", b.Len())
					}
					release(b)
				}
			})
		}
	})

	t.Run("Batches", func(t *testing.T) {
		const batch = 7
		for _, n := range []int{batch - 1, batch, batch + 1, 2 * batch} {
			c, name := h.table(t, fmt.Sprintf("SRCT_BATCH_%d", n), n)
			ti := describe(t, c, name)
			want := readTable(t, c, ti, nil, pipeline.ReadOptions{}, false) // one batch: the reference
			if len(want) != n {
				t.Fatalf("%d rows: read %d", n, len(want))
			}
			for _, raw := range modes {
				for _, hold := range []bool{false, true} {
					t.Run(fmt.Sprintf("%d-rows/%s/hold=%v", n, modeName(raw), hold), func(t *testing.T) {
						got := readTable(t, c, ti, nil, pipeline.ReadOptions{BatchRows: batch, Raw: raw}, hold)
						sameRowSets(t, ti.Columns, got, want)
					})
				}
			}
			t.Run(fmt.Sprintf("%d-rows/limit", n), func(t *testing.T) {
				got := readTable(t, c, ti, nil, pipeline.ReadOptions{BatchRows: batch, Limit: 5}, false)
				if len(got) != min(5, n) {
					t.Fatalf("Limit 5 of %d rows read %d", n, len(got))
				}
			})
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		c, name := h.table(t, "SRCT_CANCEL", 3000)
		ti := describe(t, c, name)
		for _, raw := range modes {
			t.Run(modeName(raw), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				src, err := c.Open(ctx, ti, nil, pipeline.ReadOptions{BatchRows: 10, FetchArraySize: 10, Raw: raw})
				if err != nil {
					t.Fatal(err)
				}
				b, err := src.Next(ctx)
				if err != nil {
					t.Fatalf("first batch: %v", err)
				}
				release(b)
				cancel()
				deadline := time.Now().Add(10 * time.Second)
				rows := b.Len()
				for k := 0; ; k++ {
					b, err := src.Next(ctx)
					if err == io.EOF {
						t.Fatalf("Next after cancel returned io.EOF after %d rows of 3000: a cancelled read looks complete", rows)
					}
					if err != nil {
						if !errors.Is(err, context.Canceled) {
							t.Errorf("Next after cancel: %v; want an error matching context.Canceled", err)
						}
						break
					}
					rows += b.Len()
					release(b)
					if k > 20 || time.Now().After(deadline) {
						t.Fatalf("Next still returns batches (%d rows) after cancel", rows)
					}
				}
				done := make(chan error, 1)
				go func() { done <- src.Close() }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("Close did not return within 10 s after cancel")
				}
			})
		}
	})

	t.Run("Snapshot", func(t *testing.T) {
		if h.Replace == nil || h.Create == nil {
			t.Log("not run: the source's data does not change (or the fixture cannot change it)")
			return
		}
		before := keyedRows(1, 25, "before")
		after := keyedRows(100, 30, "after")
		tab := keyedTable("SRCT_SNAP", before)
		c, name := h.Create(t, tab)
		ti := describe(t, c, name)
		ctx := context.Background()
		snap, err := c.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		if k := snap.Info().Kind; k == "none" || k == "" {
			t.Fatalf("snapshot kind %q for a source whose data changes", k)
		}
		h.Replace(t, name, after)
		t.Run("as-of-snapshot", func(t *testing.T) {
			got := readTable(t, c, ti, snap, pipeline.ReadOptions{BatchRows: 4}, false)
			compareRows(t, tab, ti.Columns, got, before, h.EmptyIsNull)
		})
		if rs, ok := c.(pipeline.RangeSplitter); ok {
			t.Run("ranges-as-of-snapshot", func(t *testing.T) {
				ranges, err := rs.Ranges(ctx, ti, snap, 3)
				if err != nil {
					t.Fatal(err)
				}
				var got [][]any
				for i := range ranges {
					got = append(got, readTable(t, c, ti, snap, pipeline.ReadOptions{BatchRows: 4, Range: &ranges[i]}, false)...)
				}
				compareRows(t, tab, ti.Columns, got, before, h.EmptyIsNull)
			})
		}
		t.Run("now", func(t *testing.T) {
			got := readTable(t, c, ti, nil, pipeline.ReadOptions{BatchRows: 4}, false)
			compareRows(t, tab, ti.Columns, got, after, h.EmptyIsNull)
		})
	})

	t.Run("Ranges", func(t *testing.T) {
		for _, n := range []int{0, 1000} {
			c, name := h.table(t, fmt.Sprintf("SRCT_RANGES_%d", n), n)
			rs, ok := c.(pipeline.RangeSplitter)
			if !ok {
				t.Log("not run: the connector is no pipeline.RangeSplitter")
				return
			}
			ti := describe(t, c, name)
			want := readTable(t, c, ti, nil, pipeline.ReadOptions{}, false)
			if len(want) != n {
				t.Fatalf("read %d rows of %d", len(want), n)
			}
			for _, k := range []int{1, 2, 3, 7, 16} {
				for _, raw := range modes {
					t.Run(fmt.Sprintf("%d-rows/%d-ranges/%s", n, k, modeName(raw)), func(t *testing.T) {
						ctx := context.Background()
						snap, err := c.Snapshot(ctx)
						if err != nil {
							t.Fatal(err)
						}
						defer snap.Close()
						ranges, err := rs.Ranges(ctx, ti, snap, k)
						if err != nil {
							t.Fatal(err)
						}
						if len(ranges) < 1 || len(ranges) > k {
							t.Fatalf("%d ranges for n=%d; want 1..%d", len(ranges), k, k)
						}
						var got [][]any
						for i, r := range ranges {
							if r.Index != i || r.Total != len(ranges) {
								t.Fatalf("range %d is %+v; want Index %d, Total %d", i, r, i, len(ranges))
							}
							got = append(got, readTable(t, c, ti, snap, pipeline.ReadOptions{BatchRows: 50, Range: &r, Raw: raw}, false)...)
						}
						sameRowSets(t, ti.Columns, got, want)
					})
				}
			}
		}
	})

	t.Run("Identity", func(t *testing.T) {
		c, name := h.table(t, "SRCT_IDENT", 3)
		ctx := context.Background()
		ti := describe(t, c, name)
		spellings := []string{name, strings.ToUpper(name), strings.ToLower(name), c.FoldCase(name),
			pipeline.ExactTableName(ti.Schema, ti.Name)}
		for _, s := range spellings {
			got, err := c.Describe(ctx, s)
			if err != nil {
				t.Errorf("Describe(%q): %v", s, err)
				continue
			}
			if got.Schema != ti.Schema || got.Name != ti.Name {
				t.Errorf("Describe(%q) = %s.%s; want %s.%s", s, got.Schema, got.Name, ti.Schema, ti.Name)
			}
		}
		all, err := c.Tables(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(all, func(x pipeline.TableInfo) bool { return x.Schema == ti.Schema && x.Name == ti.Name }) {
			t.Errorf("Tables does not list %s.%s", ti.Schema, ti.Name)
		}
		for _, s := range []string{"SRCT_NO_SUCH_TABLE", pipeline.ExactTableName(ti.Schema, "SRCT_NO_SUCH_TABLE"),
			pipeline.ExactTableName(ti.Schema, strings.ToLower(ti.Name)+"_x"), pipeline.ExactTableName("srct_no_such_schema", ti.Name)} {
			if _, err := c.Describe(ctx, s); !errors.Is(err, pipeline.ErrTableNotFound) {
				t.Errorf("Describe(%q): %v; want an error matching pipeline.ErrTableNotFound", s, err)
			}
		}
	})
}

func modeName(raw bool) string {
	if raw {
		return "raw"
	}
	return "rows"
}

// table returns a table of n keyed rows, made by Create or Rows.
func (h Harness) table(t *testing.T, name string, n int) (pipeline.Connector, string) {
	t.Helper()
	if h.Create != nil {
		return h.Create(t, keyedTable(name, keyedRows(1, n, "row")))
	}
	return h.Rows(t, n)
}

// keyedTable has IDColumn and one text column.
func keyedTable(name string, rows [][]any) Table {
	return Table{Name: name, Columns: []Column{IDColumn, {Name: "V", Type: pipeline.TypeString}}, Rows: rows}
}

// keyedRows are n rows with IDs from first, each with a distinct text.
func keyedRows(first, n int, tag string) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		id := first + i
		rows[i] = []any{fmt.Sprint(id), fmt.Sprintf("%s %d ✓", tag, id)}
	}
	return rows
}

// typesTable has IDColumn and one column per value case of every type h
// supports; row r holds the r-th value of each column (NULL when a column
// has fewer values), and the last row is NULL in every column.
func typesTable(h Harness) Table {
	tab := Table{Name: "SRCT_TYPES", Columns: []Column{IDColumn}}
	var values [][]any
	for _, typ := range h.Types {
		vc, ok := valueCases[typ]
		if !ok {
			continue
		}
		tab.Columns = append(tab.Columns, vc.col)
		values = append(values, vc.values)
	}
	n := 0
	for _, v := range values {
		n = max(n, len(v))
	}
	for r := 0; r <= n; r++ {
		row := []any{fmt.Sprint(r + 1)}
		for _, v := range values {
			if r < len(v) {
				row = append(row, v[r])
			} else {
				row = append(row, nil)
			}
		}
		tab.Rows = append(tab.Rows, row)
	}
	return tab
}

type valueCase struct {
	col    Column
	values []any
}

var (
	kst    = time.FixedZone("", 9*3600)
	newfld = time.FixedZone("", -(3*3600 + 30*60))
	allB   = func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}()
)

// valueCases are the values each type must carry unchanged.
var valueCases = map[pipeline.ColumnType]valueCase{
	pipeline.TypeString: {Column{Name: "S", Type: pipeline.TypeString}, []any{
		"plain", "", "한국어 텍스트", `quote " backslash \ tab	nl` + "\n" + "cr\r", "ctl\x01\x1f", "trailing  ", " ", "€𝄞",
	}},
	pipeline.TypeDecimal: {Column{Name: "D", Type: pipeline.TypeDecimal, Precision: 38, Scale: 10}, []any{
		"0", "-1234567890123456789012345678.1234567890", "0.0000000001", "9999999999999999999999999999.9999999999", "-0.5", "1000",
	}},
	pipeline.TypeInt: {Column{Name: "I", Type: pipeline.TypeInt}, []any{
		int64(0), int64(math.MaxInt64), int64(math.MinInt64), int64(-1), int64(1 << 53),
	}},
	pipeline.TypeFloat: {Column{Name: "F", Type: pipeline.TypeFloat}, []any{
		0.0, -1.5, 0.1, math.MaxFloat64, math.SmallestNonzeroFloat64, 1e-300, math.Inf(1), math.Inf(-1), math.NaN(),
	}},
	pipeline.TypeBool: {Column{Name: "B", Type: pipeline.TypeBool}, []any{true, false}},
	pipeline.TypeDate: {Column{Name: "DT", Type: pipeline.TypeDate}, []any{
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	}},
	pipeline.TypeDateTime: {Column{Name: "DTM", Type: pipeline.TypeDateTime}, []any{
		time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 3, 31, 2, 30, 0, 0, time.UTC), // inside a DST gap in Europe: the wall clock stays
	}},
	pipeline.TypeTimestamp: {Column{Name: "TS", Type: pipeline.TypeTimestamp, Scale: 6}, []any{
		time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
	}},
	pipeline.TypeTimestampTZ: {Column{Name: "TSTZ", Type: pipeline.TypeTimestampTZ, Scale: 6}, []any{
		time.Date(2024, 1, 2, 3, 4, 5, 123456000, kst), time.Date(2024, 6, 30, 23, 59, 59, 1000, newfld),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
	}},
	pipeline.TypeBytes: {Column{Name: "BY", Type: pipeline.TypeBytes}, []any{
		[]byte{}, []byte{0}, []byte{0xde, 0xad, 0xbe, 0xef}, allB,
	}},
	pipeline.TypeJSON: {Column{Name: "J", Type: pipeline.TypeJSON}, []any{
		`{"a":[1,2.5,"x",null],"b":{"c":true}}`, `[]`, `"text"`, `12345678901234567890.5`,
	}},
}

// LogicalColumns returns cols as pipeline columns (for fixtures that
// model a source in memory).
func LogicalColumns(cols []Column) []pipeline.Column {
	out := make([]pipeline.Column, len(cols))
	for i, c := range cols {
		out[i] = pipeline.Column{Name: c.Name, Type: c.Type, Precision: c.Precision, Scale: c.Scale, Nullable: true}
	}
	return out
}

func describe(t *testing.T, c pipeline.Connector, name string) pipeline.TableInfo {
	t.Helper()
	ti, err := c.Describe(context.Background(), name)
	if err != nil {
		t.Fatalf("Describe(%q): %v", name, err)
	}
	return ti
}

func names(cols []pipeline.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

func release(b *pipeline.Batch) {
	if b.Release != nil {
		b.Release()
	}
}

// readTable reads ti through c and returns its rows as JSON lines' values
// (each row copied out of its batch). With hold, every batch is kept
// unreleased until the end and read only then, so a source that reuses a
// batch's memory before Release is caught.
func readTable(t *testing.T, c pipeline.Connector, ti pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions, hold bool) [][]any {
	t.Helper()
	ctx := context.Background()
	src, err := c.Open(ctx, ti, snap, opts)
	if err != nil {
		t.Fatalf("Open %s: %v", ti.Name, err)
	}
	defer src.Close()
	var dec pipeline.RowDecoder
	if rs, ok := src.(pipeline.RawSource); ok && opts.Raw {
		dec = rs.NewRowDecoder()
	}
	cols := src.Columns()
	var held []*pipeline.Batch
	var out [][]any
	take := func(b *pipeline.Batch) {
		rows := b.Rows
		if b.Raw != nil {
			if dec == nil {
				t.Fatalf("batch %d is raw but the source is no RawSource opened with Raw", b.Seq)
			}
			var err error
			if rows, err = pipeline.DecodeRaw(dec, len(cols), b); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range rows {
			out = append(out, copyRow(r))
		}
		release(b)
	}
	limit := opts.BatchRows
	for seq := int64(0); ; seq++ {
		b, err := src.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next %s batch %d: %v", ti.Name, seq, err)
		}
		if b.Seq != seq {
			t.Fatalf("batch Seq %d, want %d", b.Seq, seq)
		}
		if limit > 0 && b.Len() > limit {
			t.Fatalf("batch %d has %d rows; BatchRows is %d", seq, b.Len(), limit)
		}
		if hold {
			held = append(held, b)
			continue
		}
		take(b)
	}
	for _, b := range held {
		take(b)
	}
	if len(cols) != len(ti.Columns) {
		t.Fatalf("Columns has %d columns, Describe %d", len(cols), len(ti.Columns))
	}
	return out
}

func copyRow(r []any) []any {
	out := make([]any, len(r))
	for i, v := range r {
		switch x := v.(type) {
		case []byte:
			out[i] = bytes.Clone(x)
		case pipeline.RawJSON:
			out[i] = pipeline.RawJSON(bytes.Clone(x))
		case string:
			out[i] = strings.Clone(x)
		default:
			out[i] = v
		}
	}
	return out
}

func encodeLine(t *testing.T, cols []pipeline.Column, row []any) []byte {
	t.Helper()
	enc, err := stages.NewEncoder(cols, stages.NDJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	line, err := enc.AppendRow(nil, row)
	if err != nil {
		t.Fatalf("encode %v: %v", row, err)
	}
	return line
}

// decoded is one row as JSON values, numbers as json.Number.
func decoded(t *testing.T, cols []pipeline.Column, row []any) map[string]any {
	t.Helper()
	line := encodeLine(t, cols, row)
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return m
}

// byID decodes rows and indexes them by their ID.
func byID(t *testing.T, cols []pipeline.Column, rows [][]any) map[string]map[string]any {
	t.Helper()
	out := make(map[string]map[string]any, len(rows))
	for _, r := range rows {
		m := decoded(t, cols, r)
		id := fmt.Sprint(m[cols[0].Name])
		if _, dup := out[id]; dup {
			t.Fatalf("row %s read twice", id)
		}
		out[id] = m
	}
	return out
}

// compareRows compares rows read (with the columns Describe gave) with the
// rows tab was created with, by ID and by meaning.
func compareRows(t *testing.T, tab Table, readCols []pipeline.Column, got, want [][]any, emptyIsNull bool) {
	t.Helper()
	if len(readCols) != len(tab.Columns) {
		t.Fatalf("read %d columns, the table has %d", len(readCols), len(tab.Columns))
	}
	g := byID(t, readCols, got)
	w := byID(t, LogicalColumns(tab.Columns), want)
	if len(g) != len(w) {
		t.Errorf("%d rows, want %d", len(g), len(w))
	}
	ids := make([]string, 0, len(w))
	for id := range w {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		gr, ok := g[id]
		if !ok {
			t.Errorf("row ID %s missing", id)
			continue
		}
		for i, col := range tab.Columns {
			wv := w[id][col.Name]
			if emptyIsNull && (wv == "") {
				wv = nil
			}
			if gv := gr[readCols[i].Name]; !sameValue(col.Type, gv, wv) {
				t.Errorf("row ID %s column %s (%v): read %s, want %s", id, col.Name, col.Type, show(gv), show(wv))
			}
		}
	}
}

// sameRowSets reports rows missing or doubled between got and want.
func sameRowSets(t *testing.T, cols []pipeline.Column, got, want [][]any) {
	t.Helper()
	count := map[string]int{}
	for _, r := range want {
		count[string(encodeLine(t, cols, r))]++
	}
	for _, r := range got {
		count[string(encodeLine(t, cols, r))]--
	}
	bad := 0
	for line, n := range count {
		if n != 0 && bad < 5 {
			t.Errorf("row read %d times too %s: %s", abs(n), map[bool]string{true: "few", false: "many"}[n > 0], strings.TrimSpace(line))
		}
		if n != 0 {
			bad++
		}
	}
	if bad > 0 || len(got) != len(want) {
		t.Fatalf("%d rows read, want %d; %d rows differ", len(got), len(want), bad)
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// sameValue compares two decoded JSON values of a column of type typ by
// meaning: numbers as exact rationals, timestamps as instants (or wall
// clocks), JSON documents structurally.
func sameValue(typ pipeline.ColumnType, got, want any) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	switch g := got.(type) {
	case json.Number:
		w, ok := want.(json.Number)
		return ok && sameNumber(string(g), string(w))
	case string:
		w, ok := want.(string)
		if !ok {
			return false
		}
		switch typ {
		case pipeline.TypeTimestampTZ, pipeline.TypeTimestamp, pipeline.TypeDateTime, pipeline.TypeDate:
			gt, err1 := parseTime(g)
			wt, err2 := parseTime(w)
			if err1 == nil && err2 == nil {
				return gt.Equal(wt)
			}
		case pipeline.TypeDecimal:
			return sameNumber(g, w)
		}
		return g == w
	case []any:
		w, ok := want.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range g {
			if !sameValue(typ, g[i], w[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		w, ok := want.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k := range g {
			if !sameValue(typ, g[k], w[k]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

func sameNumber(a, b string) bool {
	x, ok1 := new(big.Rat).SetString(a)
	y, ok2 := new(big.Rat).SetString(b)
	if !ok1 || !ok2 {
		return a == b
	}
	return x.Cmp(y) == 0
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}
