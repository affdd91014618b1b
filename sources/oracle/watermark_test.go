package oracle

import (
	"context"
	"database/sql/driver"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// watermarkFake answers oracleFake's statements plus the maximum, primary
// key and index look-ups of incremental reads.
func watermarkFake(t *testing.T, o *oracleFake) (*fakeDB, *Connector) {
	t.Helper()
	answer := func(q string, args []any) fakeResult {
		switch {
		case strings.HasPrefix(q, `SELECT MAX("FKDAT")`):
			if strings.Contains(q, "AS OF SCN") && o.asOfErr != nil {
				return fakeResult{err: o.asOfErr}
			}
			// godror builds a DATE in its connection's zone with the stored
			// wall clock (oraDateTime); here that zone is +09:00
			return fakeResult{cols: []fakeCol{{name: "M", dbType: "DATE"}, {name: "N", dbType: "NUMBER"}},
				rows: [][]driver.Value{{time.Date(2024, 3, 1, 10, 0, 0, 0, kst), godror.Number("7")}}}
		case strings.HasPrefix(q, `SELECT TO_CHAR(MAX("NETWR"), 'TM9')`):
			return fakeResult{cols: []fakeCol{{name: "M", dbType: "VARCHAR2"}, {name: "N", dbType: "NUMBER"}},
				rows: [][]driver.Value{{"12345678901234.25", godror.Number("0")}}}
		case strings.HasPrefix(q, "SELECT cc.COLUMN_NAME FROM ALL_CONSTRAINTS"):
			return fakeResult{cols: textCols("COLUMN_NAME"), rows: [][]driver.Value{{"MANDT"}, {"TXT"}}}
		case strings.HasPrefix(q, "SELECT COUNT(*) FROM ALL_IND_COLUMNS"):
			n := "0"
			if args[2] == "FKDAT" {
				n = "1"
			}
			return fakeResult{cols: []fakeCol{{name: "N", dbType: "NUMBER"}}, rows: [][]driver.Value{{godror.Number(n)}}}
		}
		return o.answer(q, args)
	}
	fake, db := newFakeDB(t, answer)
	fake.tz = kst
	c, err := New(db, Config{User: "u", Password: "p", ConnectString: "h:1521/S"})
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

func columnOf(t *testing.T, ti pipeline.TableInfo, name string) pipeline.Column {
	t.Helper()
	for _, c := range ti.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no column %s", name)
	return pipeline.Column{}
}

func lastSelect(fake *fakeDB) fakeCall {
	var sel fakeCall
	for _, call := range fake.Calls() {
		if strings.HasPrefix(call.SQL, `SELECT "MANDT"`) {
			sel = call
		}
	}
	return sel
}

// TestWatermarkOracleSQL: the maximum is read AS OF the job's SCN (a DATE
// keeps the wall clock godror built it with, a NUMBER arrives as its
// digits); the window's bounds are binds typed as the column (CAST to DATE
// or TIMESTAMP so Oracle never converts the column into the session's
// zone; instants compared as instants; godror.Number for numbers), placed
// after the AS OF SCN clause and a range's ROWID bounds; primary key and
// index look-ups bind owner, table and column.
func TestWatermarkOracleSQL(t *testing.T) {
	ctx := context.Background()
	fake, c := watermarkFake(t, &oracleFake{rows: 4})
	ti := describe(t, c)
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()

	fk := columnOf(t, ti, "FKDAT")
	st, err := c.WatermarkStats(ctx, ti, snap, fk, true)
	if err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls()
	if q := calls[len(calls)-1].SQL; q != `SELECT MAX("FKDAT"), COUNT(CASE WHEN "FKDAT" IS NULL THEN 1 END) FROM "SAPSR3"."VBRP" AS OF SCN 123456789` {
		t.Fatalf("maximum read with %s", q)
	}
	if st.Max == nil || st.Max.String() != "2024-03-01T10:00:00" || st.Nulls != 7 {
		t.Fatalf("stats %+v (max %v): want the stored wall clock 2024-03-01T10:00:00 and 7 NULLs", st, st.Max)
	}
	netwr := columnOf(t, ti, "NETWR")
	if st, err = c.WatermarkStats(ctx, ti, snap, netwr, false); err != nil || st.Max.String() != "12345678901234.25" || st.Nulls != -1 {
		t.Fatalf("number stats %+v %v", st, err)
	}
	calls = fake.Calls()
	if q := calls[len(calls)-1].SQL; q != `SELECT TO_CHAR(MAX("NETWR"), 'TM9'), 0 FROM "SAPSR3"."VBRP" AS OF SCN 123456789` {
		t.Fatalf("number maximum read with %s", q)
	}

	read := func(w pipeline.Window, r *pipeline.Range) fakeCall {
		t.Helper()
		src, err := c.Open(ctx, ti, snap, pipeline.ReadOptions{Window: &w, Range: r})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := readAll(t, src); err != nil {
			t.Fatal(err)
		}
		return lastSelect(fake)
	}
	low := pipeline.WatermarkValue{Kind: pipeline.WatermarkTimestamp, Time: time.Date(2024, 3, 1, 9, 50, 0, 0, time.UTC)}
	sel := read(pipeline.Window{Column: "FKDAT", Kind: pipeline.WatermarkTimestamp, Low: &low, High: *st0(t, c, ti, snap, fk)}, nil)
	if !strings.HasSuffix(sel.SQL, ` FROM "SAPSR3"."VBRP" AS OF SCN 123456789 WHERE "FKDAT" > CAST(:wlo AS DATE) AND "FKDAT" <= CAST(:whi AS DATE)`) {
		t.Fatalf("window read %s", sel.SQL)
	}
	wantLo, wantHi := time.Date(2024, 3, 1, 9, 50, 0, 0, time.UTC), time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	if !reflect.DeepEqual(sel.Args[:2], []any{wantLo, wantHi}) {
		t.Fatalf("window binds %#v, want the wall clocks as UTC times %v, %v", sel.Args[:2], wantLo, wantHi)
	}

	rs, err := c.Ranges(ctx, ti, snap, 2)
	if err != nil || len(rs) != 2 {
		t.Fatalf("ranges %+v %v", rs, err)
	}
	sel = read(pipeline.Window{Column: "FKDAT", Kind: pipeline.WatermarkTimestamp, Low: &low, High: *st0(t, c, ti, snap, fk)}, &rs[1])
	if !strings.HasSuffix(sel.SQL, ` AS OF SCN 123456789 WHERE ROWID >= CHARTOROWID(:lo) AND "FKDAT" > CAST(:wlo AS DATE) AND "FKDAT" <= CAST(:whi AS DATE)`) ||
		!reflect.DeepEqual(sel.Args[:3], []any{rs[1].Lo, wantLo, wantHi}) {
		t.Fatalf("ranged window read %s %#v", sel.SQL, sel.Args)
	}

	instant := pipeline.WatermarkValue{Kind: pipeline.WatermarkTimestampTZ, Time: time.Date(2024, 3, 1, 1, 0, 0, 0, time.UTC)}
	sel = read(pipeline.Window{Column: "TSTZ", Kind: pipeline.WatermarkTimestampTZ, High: instant}, nil)
	if !strings.HasSuffix(sel.SQL, ` AS OF SCN 123456789 WHERE "TSTZ" <= :whi`) || sel.Args[0] != instant.Time {
		t.Fatalf("timestamp with time zone window %s %#v", sel.SQL, sel.Args)
	}
	wall := pipeline.WatermarkValue{Kind: pipeline.WatermarkTimestamp, Time: time.Date(2024, 3, 1, 1, 0, 0, 123456789, time.UTC)}
	sel = read(pipeline.Window{Column: "TS", Kind: pipeline.WatermarkTimestamp, Low: &wall, High: wall}, nil)
	if !strings.HasSuffix(sel.SQL, `WHERE "TS" > CAST(:wlo AS TIMESTAMP(9)) AND "TS" <= CAST(:whi AS TIMESTAMP(9))`) {
		t.Fatalf("timestamp window %s", sel.SQL)
	}
	nlo := pipeline.WatermarkValue{Kind: pipeline.WatermarkNumber, Number: "12345678901234.2"}
	nhi := pipeline.WatermarkValue{Kind: pipeline.WatermarkNumber, Number: "12345678901234.25"}
	sel = read(pipeline.Window{Column: "NETWR", Kind: pipeline.WatermarkNumber, Low: &nlo, High: nhi}, nil)
	if !strings.HasSuffix(sel.SQL, `WHERE "NETWR" > :wlo AND "NETWR" <= :whi`) ||
		!reflect.DeepEqual(sel.Args[:2], []any{godror.Number("12345678901234.2"), godror.Number("12345678901234.25")}) {
		t.Fatalf("number window %s %#v", sel.SQL, sel.Args)
	}
	// a window of another kind than its column is refused, not read
	if _, err := c.Open(ctx, ti, snap, pipeline.ReadOptions{Window: &pipeline.Window{Column: "NETWR", Kind: pipeline.WatermarkTimestamp, High: wall}}); err == nil {
		t.Fatal("a timestamp window on a NUMBER column was read")
	}
	// the zero time would bind as NULL (godror dataSetTime): refused
	zero := pipeline.WatermarkValue{Kind: pipeline.WatermarkTimestamp}
	if _, err := c.Open(ctx, ti, snap, pipeline.ReadOptions{Window: &pipeline.Window{Column: "TS", Kind: pipeline.WatermarkTimestamp, High: zero}}); err == nil {
		t.Fatal("a window bound at the zero time was read")
	}

	keys, err := c.PrimaryKey(ctx, ti)
	if err != nil || !reflect.DeepEqual(keys, []string{"MANDT", "TXT"}) {
		t.Fatalf("primary key %v %v", keys, err)
	}
	calls = fake.Calls()
	if a := calls[len(calls)-1].Args; !reflect.DeepEqual(a, []any{"SAPSR3", "VBRP"}) {
		t.Fatalf("primary key binds %#v", a)
	}
	if ok, err := c.Indexed(ctx, ti, "FKDAT"); err != nil || !ok {
		t.Fatalf("FKDAT indexed: %v %v", ok, err)
	}
	if ok, err := c.Indexed(ctx, ti, "TS"); err != nil || ok {
		t.Fatalf("TS indexed: %v %v", ok, err)
	}
	// only an index that leads with the column counts (one where it comes
	// second cannot serve the window's range scan)
	calls = fake.Calls()
	if last := calls[len(calls)-1]; last.SQL != `SELECT COUNT(*) FROM ALL_IND_COLUMNS WHERE TABLE_OWNER = :owner AND TABLE_NAME = :name AND COLUMN_NAME = :col AND COLUMN_POSITION = 1` ||
		!reflect.DeepEqual(last.Args, []any{"SAPSR3", "VBRP", "TS"}) {
		t.Fatalf("index look-up %s %#v", last.SQL, last.Args)
	}
}

func st0(t *testing.T, c *Connector, ti pipeline.TableInfo, snap pipeline.Snapshot, col pipeline.Column) *pipeline.WatermarkValue {
	t.Helper()
	st, err := c.WatermarkStats(context.Background(), ti, snap, col, false)
	if err != nil || st.Max == nil {
		t.Fatalf("stats %+v %v", st, err)
	}
	return st.Max
}

// TestWatermarkOracleWithoutFlashback: a user without FLASHBACK on the
// table reads its maximum as of now (the table is read in a READ ONLY
// transaction then), not failing the table.
func TestWatermarkOracleWithoutFlashback(t *testing.T) {
	ctx := context.Background()
	fake, c := watermarkFake(t, &oracleFake{rows: 4, asOfErr: oraErr(1031, "insufficient privileges")})
	ti := describe(t, c)
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	st, err := c.WatermarkStats(ctx, ti, snap, columnOf(t, ti, "FKDAT"), true)
	if err != nil || st.Max == nil || st.Max.String() != "2024-03-01T10:00:00" {
		t.Fatalf("stats %+v %v", st, err)
	}
	calls := fake.Calls()
	if q := calls[len(calls)-1].SQL; q != `SELECT MAX("FKDAT"), COUNT(CASE WHEN "FKDAT" IS NULL THEN 1 END) FROM "SAPSR3"."VBRP"` {
		t.Fatalf("fallback read %s", q)
	}
}
