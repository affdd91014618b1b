package oracle

import (
	"database/sql/driver"
	"testing"
)

// TestIntervalDayToSecondExact: godror turns INTERVAL DAY TO SECOND into a
// time.Duration (modelled by oraIntervalDS.godror, stmt.go:1846-1853),
// which wraps past ≈106,751 days: INTERVAL '200000 0:0:0' DAY(6) would be
// written -13503 23:34:33.709551616. The connector selects the fields as
// exact text instead.
func TestIntervalDayToSecondExact(t *testing.T) {
	f := &tableFake{
		cols: []fakeCol{{name: "I6", dbType: "INTERVAL DAY TO SECOND"}, {name: "I9", dbType: "INTERVAL DAY TO SECOND"}},
		decl: [][2]string{{"I6", "INTERVAL DAY(6) TO SECOND(6)"}, {"I9", "INTERVAL DAY(9) TO SECOND(9)"}},
		rows: [][]driver.Value{
			{oraIntervalDS{days: 200000}, oraIntervalDS{days: 999999999, hours: 23, minutes: 59, seconds: 59, fseconds: 999999999}},
			{oraIntervalDS{days: -3, hours: -4, minutes: -5, seconds: -6}, oraIntervalDS{fseconds: -500000000}},
			{oraIntervalDS{hours: 1, fseconds: 120000000}, nil},
		},
	}
	_, rows, fake := f.readTable(t, Config{})
	want := [][]any{
		{"+200000 00:00:00.000000", "+999999999 23:59:59.999999999"},
		{"-03 04:05:06.000000", "-00 00:00:00.500000000"},
		{"+00 01:00:00.120000", nil},
	}
	for i := range want {
		for j := range want[i] {
			if rows[i][j] != want[i][j] {
				t.Errorf("row %d col %d = %#v, want %#v", i, j, rows[i][j], want[i][j])
			}
		}
	}
	// nanoseconds are kept at SECOND(9)
	if got := dayToSecondText("-3 -4:-5:-6.000000007", 9); got != "-03 04:05:06.000000007" {
		t.Errorf("dayToSecondText = %q", got)
	}
	if q := tableSelectCall(t, fake).SQL; !matches(q, `EXTRACT(DAY FROM "I6")`, `AS "I6"`, `EXTRACT(SECOND FROM "I9")`, `NLS_NUMERIC_CHARACTERS`) {
		t.Errorf("SELECT does not read the intervals as exact text: %s", q)
	}
}
