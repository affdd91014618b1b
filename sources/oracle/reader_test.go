package oracle

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// TestReaderBelowDatabaseSQL: the table SELECT is prepared on the
// reader's own driver connection (conn.Raw), with godror's options taken
// by the statement (stmt.go:3394-3407) and not bound; in the READ ONLY
// fallback it runs inside the transaction begun on that connection; the
// connection goes back to the pool after Close.
func TestReaderBelowDatabaseSQL(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		t.Run(fmt.Sprintf("read_only_fallback=%v", fallback), func(t *testing.T) {
			o := &oracleFake{rows: 7}
			if fallback {
				o.asOfErr = oraErr(1031, "insufficient privileges")
			}
			fake, c := newFakeConnector(t, o)
			ti := describe(t, c)
			snap, err := c.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			src, err := c.Open(context.Background(), ti, snap, pipeline.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rows, err := readAll(t, src)
			if err != nil || len(rows) != 7 {
				t.Fatalf("%d rows, %v", len(rows), err)
			}
			var sel *fakeCall
			calls := fake.Calls()
			for i := range calls {
				if strings.HasPrefix(calls[i].SQL, `SELECT "MANDT"`) {
					sel = &calls[i]
				}
			}
			if sel == nil || !sel.Prepared {
				t.Fatalf("table SELECT %+v was not prepared on the driver connection", sel)
			}
			if asOf := strings.Contains(sel.SQL, " AS OF SCN "); asOf == fallback {
				t.Errorf("AS OF SCN in the SELECT: %v, fallback %v", asOf, fallback)
			}
			if want := map[bool]string{false: "", true: "ro"}[fallback]; sel.Tx != want {
				t.Errorf("SELECT ran in transaction %q, want %q", sel.Tx, want)
			}
			if fetch, prefetch := godrorStmtOptions(sel.Args); fetch == 0 || prefetch != fetch+1 {
				t.Errorf("godror options fetch %d prefetch %d not applied", fetch, prefetch)
			}
			if st := c.DB().Stats(); st.InUse != 0 {
				t.Errorf("%d connections still in use after Close", st.InUse)
			}
		})
	}
}

// TestReaderSameValuesAsDatabaseSQL: every value of the fake VBRP table
// (all the types godror returns) comes out of the driver-rows reader
// exactly as out of the database/sql reader it replaced.
func TestReaderSameValuesAsDatabaseSQL(t *testing.T) {
	read := func(viaSQL bool) [][]any {
		_, c := newFakeConnector(t, &oracleFake{rows: 300})
		c.viaDatabaseSQL = viaSQL
		ti := describe(t, c)
		src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{BatchRows: 64})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := readAll(t, src)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	raw, std := read(false), read(true)
	if len(raw) != 300 || len(std) != 300 {
		t.Fatalf("%d and %d rows", len(raw), len(std))
	}
	for i := range raw {
		for j := range raw[i] {
			a, b := raw[i][j], std[i][j]
			if fa, ok := a.(float64); ok && math.IsNaN(fa) {
				if fb, ok := b.(float64); ok && math.IsNaN(fb) {
					continue
				}
			}
			if !reflect.DeepEqual(a, b) || reflect.TypeOf(a) != reflect.TypeOf(b) {
				t.Fatalf("row %d column %d: driver rows %T %#v, database/sql %T %#v", i, j, a, a, b, b)
			}
		}
	}
}

// TestNumberAsStringNoAlloc: a NUMBER value becomes a plain string (the
// type the encoder and every stage expect) without an allocation.
func TestNumberAsStringNoAlloc(t *testing.T) {
	var v any = numberValue("-12345678901234567890.125")
	var out any
	if n := testing.AllocsPerRun(100, func() { out = asString(v) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
	if s, ok := out.(string); !ok || s != "-12345678901234567890.125" {
		t.Fatalf("%T %#v", out, out)
	}
	c := pipeline.Column{Name: "N", Type: pipeline.TypeDecimal}
	if got, _ := Normalize(c, v); got != "-12345678901234567890.125" {
		t.Fatalf("Normalize: %#v", got)
	}
}

// wideTable is T.X with n VARCHAR2(40 CHAR) columns and one row.
func wideTable(n int) *tableFake {
	f := &tableFake{}
	row := make([]driver.Value, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("C%03d", i)
		f.cols = append(f.cols, fakeCol{name: name, dbType: "VARCHAR2"})
		f.decl = append(f.decl, [2]string{name, "VARCHAR2(40 CHAR)"})
		row[i] = "v"
	}
	f.rows = [][]driver.Value{row}
	return f
}

// TestFetchSizesFromRowWidth: godror's fetch array and prefetch rows are
// set per table from the row width the declared types give: a wide table
// gets an array that fits FetchBufferBytes, a narrow one the configured
// size; an explicit prefetch_count stays, and the configured size is an
// upper bound.
func TestFetchSizesFromRowWidth(t *testing.T) {
	wide := (dpiDataBytes + 4*40) * 274 // VARCHAR2(40 CHAR): 4 bytes a character
	tests := []struct {
		name            string
		cols            int
		cfg             Config
		fetch, prefetch int
	}{
		{"wide VBRP-like row", 274, Config{}, FetchBufferBytes / wide, FetchBufferBytes/wide + 1},
		{"narrow row keeps the configured size", 3, Config{}, DefaultFetchArraySize, DefaultFetchArraySize + 1},
		{"explicit prefetch kept", 274, Config{PrefetchCount: 40}, FetchBufferBytes / wide, 40},
		{"configured size is the upper bound", 274, Config{FetchArraySize: 100}, 100, 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := wideTable(tt.cols)
			fake, c := f.open(t, tt.cfg)
			ti, err := c.Describe(context.Background(), "T.X")
			if err != nil {
				t.Fatal(err)
			}
			src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := readAll(t, src); err != nil {
				t.Fatal(err)
			}
			fetch, prefetch := godrorStmtOptions(tableSelectCall(t, fake).Args)
			if fetch != tt.fetch || prefetch != tt.prefetch {
				t.Fatalf("godror fetch array %d prefetch %d, want %d %d", fetch, prefetch, tt.fetch, tt.prefetch)
			}
		})
	}
	if n := FetchBufferBytes / wide; n < 100 || n >= DefaultFetchArraySize {
		t.Fatalf("a 274-column row gets %d rows: the test no longer tells wide from narrow", n)
	}
}

// stallingTable answers the table SELECT with rows that stop coming at
// row 3 until the connection's Break (or release).
func stallingTable(release chan struct{}) *tableFake {
	f := &tableFake{cols: textCols("V"), decl: [][2]string{{"V", "VARCHAR2(10)"}}}
	for i := 0; i < 10; i++ {
		f.rows = append(f.rows, []driver.Value{fmt.Sprint(i)})
	}
	f.selectHook = func(q string) fakeResult {
		return fakeResult{cols: f.cols, rows: f.rows, stallAt: 3, release: release}
	}
	return f
}

// TestReaderStallBreaksFetch: a fetch that gets no rows for FetchTimeout
// is broken on the server (godror's conn.Break; godror's fetch itself does
// not watch the context, rows.go:309-323) and the read fails with the
// watchdog's transient "stalled" error instead of hanging.
func TestReaderStallBreaksFetch(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	_, c := stallingTable(release).open(t, Config{FetchTimeout: 200 * time.Millisecond})
	ti, err := c.Describe(context.Background(), "T.X")
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{BatchRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	start := time.Now()
	var got int
	for {
		b, err := src.Next(context.Background())
		if err != nil {
			if !errors.Is(err, sqlsource.ErrStalled) || !pipeline.IsTransient(err) {
				t.Fatalf("after %d rows: %v, want a transient stall", got, err)
			}
			break
		}
		got += len(b.Rows)
		b.Release()
	}
	if got != 2 {
		t.Errorf("%d rows before the stall, want the first batch (2)", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the stall took %s to end", d)
	}
}

// TestReaderCancelBreaksFetch: cancelling the context of a Next that waits
// for rows ends it with the context's error.
func TestReaderCancelBreaksFetch(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	_, c := stallingTable(release).open(t, Config{FetchTimeout: -1})
	ti, err := c.Describe(context.Background(), "T.X")
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{BatchRows: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = src.Next(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "ORA-01013") {
		t.Fatalf("got %v, want the deadline and the broken fetch", err)
	}
	src.Close()
	if st := c.DB().Stats(); st.Idle != 0 || st.InUse != 0 {
		t.Errorf("pool after a broken read: %d idle, %d in use: the broken connection must be discarded", st.Idle, st.InUse)
	}
}

// TestReaderKeepsHealthyConnection: a read that ends normally gives its
// connection back to the pool for reuse.
func TestReaderKeepsHealthyConnection(t *testing.T) {
	_, c := wideTable(3).open(t, Config{})
	ti, err := c.Describe(context.Background(), "T.X")
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(t, src); err != nil {
		t.Fatal(err)
	}
	if st := c.DB().Stats(); st.Idle != 1 || st.InUse != 0 {
		t.Errorf("pool after a read: %d idle, %d in use, want the one connection idle", st.Idle, st.InUse)
	}
}

// numberValue is a NUMBER as godror returns it (rows.go:476: Number(bb)).
func numberValue(s string) any { return godror.Number(s) }
