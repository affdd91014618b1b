package oracle

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// TestTZFileMismatchFallsBackToText: a region-named TIMESTAMP WITH TIME
// ZONE value whose region the Instant Client's time-zone file lacks fails
// the fetch with ORA-01805 (modelled by oraTZRegion). The error says what
// it means and how to fix it, and is transient: the job's retry of the
// table reads its TZ columns as text formatted by the database, exactly.
func TestTZFileMismatchFallsBackToText(t *testing.T) {
	f := &tableFake{
		cols: []fakeCol{{name: "ID", dbType: "NUMBER"}, {name: "TZ", dbType: "TIMESTAMP WITH TIME ZONE", prec: 6, hasPS: true},
			{name: "LTZ", dbType: "TIMESTAMP WITH LOCAL TIME ZONE", prec: 3, hasPS: true}},
		decl: [][2]string{{"ID", "NUMBER"}, {"TZ", "TIMESTAMP(6) WITH TIME ZONE"}, {"LTZ", "TIMESTAMP(3) WITH LOCAL TIME ZONE"}},
		rows: [][]driver.Value{
			{"1", oraDateTime{y: 2024, mo: 1, d: 2, h: 3, mi: 4, s: 5, tzh: 9}, oraDateTime{y: 2024, mo: 1, d: 1, h: 18, mi: 4, s: 5, ns: 123000000}},
			{"2", oraTZRegion{ts: oraDateTime{y: 2024, mo: 7, d: 1, h: 12, ns: 500000000}, region: "America/Ciudad_Juarez", offset: -6 * 3600}, nil},
		},
	}
	fake, c := f.open(t, Config{})
	ti, err := c.Describe(context.Background(), "T.X")
	if err != nil {
		t.Fatal(err)
	}
	read := func() ([][]any, error) {
		src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{})
		if err != nil {
			return nil, err
		}
		defer src.Close()
		var out [][]any
		for {
			b, err := src.Next(context.Background())
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			out = append(out, b.Rows...)
		}
	}
	_, err = read()
	if err == nil {
		t.Fatal("no ORA-01805")
	}
	for _, w := range []string{"ORA-01805", "time-zone file", "V$TIMEZONE_FILE", "ORA_TZFILE", "as text"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
	if !pipeline.IsTransient(err) {
		t.Fatalf("ORA-01805 is not retried: %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != 1805 {
		t.Fatalf("code: %v", err)
	}

	rows, err := read() // the job's retry of the table
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	if ltz, ok := rows[0][2].(time.Time); !ok || ltz.Format(time.RFC3339Nano) != "2024-01-01T18:04:05.123Z" {
		t.Errorf("LTZ = %#v", rows[0][2])
	}
	if q := tableSelectCall(t, fake).SQL; !strings.Contains(q, `TO_CHAR(CAST("LTZ" AS TIMESTAMP(9) WITH TIME ZONE), `) {
		t.Errorf("SELECT %s", q)
	}
	want := []string{"2024-01-02T03:04:05+09:00", "2024-07-01T12:00:00.5-06:00"}
	for i, w := range want {
		got, ok := rows[i][1].(time.Time)
		if !ok || got.Format(time.RFC3339Nano) != w {
			t.Errorf("row %d TZ = %#v, want %s", i, rows[i][1], w)
		}
	}
}

// TestTZTextKeepsYearSign: Oracle's years run -4712..9999, and TO_CHAR's
// YYYY prints a BC year without its sign (modelled by oraTZRegion.toChar),
// so the text fallback of ORA-01805 would turn a TIMESTAMP WITH TIME ZONE
// of 44 BC into one of 44 AD. The fallback formats SYYYY and, as godror's
// own read does (the encoder refuses years before 0001), fails the table
// on a BC value instead of moving it by 88 years.
func TestTZTextKeepsYearSign(t *testing.T) {
	f := &tableFake{
		cols: []fakeCol{{name: "ID", dbType: "NUMBER"}, {name: "TZ", dbType: "TIMESTAMP WITH TIME ZONE", prec: 6, hasPS: true}},
		decl: [][2]string{{"ID", "NUMBER"}, {"TZ", "TIMESTAMP(6) WITH TIME ZONE"}},
		rows: [][]driver.Value{
			{"1", oraTZRegion{ts: oraDateTime{y: 2024, mo: 7, d: 1, h: 12}, region: "America/Ciudad_Juarez", offset: -6 * 3600}},
			{"2", oraTZRegion{ts: oraDateTime{y: -44, mo: 3, d: 15, h: 12}, region: "Europe/Rome", offset: 3600}},
		},
	}
	fake, c := f.open(t, Config{})
	ti, err := c.Describe(context.Background(), "T.X")
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	for attempt := 1; attempt <= 2; attempt++ {
		var src pipeline.Source
		if src, err = c.Open(context.Background(), ti, nil, pipeline.ReadOptions{}); err != nil {
			t.Fatal(err)
		}
		if rows, err = readAll(t, src); err == nil || !pipeline.IsTransient(err) {
			break
		}
	}
	if err == nil {
		t.Fatalf("a TIMESTAMP WITH TIME ZONE of 44 BC was read as %v", rows[len(rows)-1][1])
	}
	if q := tableSelectCall(t, fake).SQL; !strings.Contains(q, `TO_CHAR("TZ", 'SYYYY-`) {
		t.Fatalf("the fallback does not read the year's sign: %s", q)
	}
	if !strings.Contains(err.Error(), "before 0001") || !strings.Contains(err.Error(), "TZ") {
		t.Fatalf("error does not say why: %v", err)
	}
	t.Log(err)

	ad := &tableFake{cols: f.cols, decl: f.decl, rows: f.rows[:1]} // an AD year still reads
	_, c = ad.open(t, Config{})
	c.setTZText("T.X")
	src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rows, err = readAll(t, src); err != nil || len(rows) != 1 {
		t.Fatalf("%v %v", rows, err)
	}
	if got := rows[0][1].(time.Time).Format(time.RFC3339); got != "2024-07-01T12:00:00-06:00" {
		t.Fatalf("TZ = %s", got)
	}
}

// TestTZFileMismatchEveryRangeRetries: the ranges of one table are read at
// once, and each meets ORA-01805 on its own. Whichever error the job sees
// first decides whether the table is retried, so every reader opened
// before the switch to text must report it as transient, not only the
// first one (the others would fail the table for good).
func TestTZFileMismatchEveryRangeRetries(t *testing.T) {
	f := &tableFake{
		cols: []fakeCol{{name: "ID", dbType: "NUMBER"}, {name: "TZ", dbType: "TIMESTAMP WITH TIME ZONE", prec: 6, hasPS: true}},
		decl: [][2]string{{"ID", "NUMBER"}, {"TZ", "TIMESTAMP(6) WITH TIME ZONE"}},
		rows: [][]driver.Value{{"1", oraTZRegion{ts: oraDateTime{y: 2024, mo: 7, d: 1, h: 12}, region: "America/Ciudad_Juarez", offset: -6 * 3600}}},
	}
	_, c := f.open(t, Config{})
	ti, err := c.Describe(context.Background(), "T.X")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lo := RowidCreate(1, 1, 100, 0)
	ranges := []pipeline.Range{{Index: 0, Total: 2, Hi: lo}, {Index: 1, Total: 2, Lo: lo}}
	var srcs []pipeline.Source
	for i := range ranges {
		src, err := c.Open(context.Background(), ti, snap, pipeline.ReadOptions{Range: &ranges[i]})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		srcs = append(srcs, src)
	}
	for i, src := range srcs {
		_, err := src.Next(context.Background())
		if err == nil || Code(err) != 1805 {
			t.Fatalf("range %d: %v, want ORA-01805", i, err)
		}
		if !pipeline.IsTransient(err) {
			t.Fatalf("range %d: ORA-01805 is not retried, so the table fails although its retry reads it as text: %v", i, err)
		}
	}
}
