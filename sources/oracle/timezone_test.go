package oracle

import (
	"database/sql/driver"
	"testing"
	"time"
)

// TestDSTZoneKeepsWallClock: DATE and TIMESTAMP carry no zone. godror
// builds them with time.Date(…, params.Timezone) (modelled by oraDateTime,
// rows.go:537-563), and Go moves a wall clock that does not exist in that
// zone, so 2024-03-31 02:30 in Europe/Berlin (the spring-forward gap) would
// become 03:30. The connector gives godror UTC and keeps the configured
// zone only for the session TIME_ZONE (TIMESTAMP WITH LOCAL TIME ZONE,
// SYSTIMESTAMP).
func TestDSTZoneKeepsWallClock(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata: " + err.Error())
	}
	cfg := Config{Timezone: berlin}
	p := cfg.Params()
	if p.Timezone != time.UTC {
		t.Errorf("godror Timezone = %v, want UTC (DATE/TIMESTAMP values are built in it)", p.Timezone)
	}
	if len(p.AlterSession) != 1 || p.AlterSession[0] != [2]string{"TIME_ZONE", "Europe/Berlin"} {
		t.Errorf("AlterSession = %v, want the session TIME_ZONE Europe/Berlin", p.AlterSession)
	}

	f := &tableFake{
		cols: []fakeCol{{name: "D", dbType: "DATE"}, {name: "TS", dbType: "TIMESTAMP", prec: 6, hasPS: true},
			{name: "TS0", dbType: "TIMESTAMP", prec: 0, hasPS: true}, {name: "LTZ", dbType: "TIMESTAMP WITH LOCAL TIME ZONE", prec: 6, hasPS: true}},
		decl: [][2]string{{"D", "DATE"}, {"TS", "TIMESTAMP(6)"}, {"TS0", "TIMESTAMP(0)"}, {"LTZ", "TIMESTAMP(6) WITH LOCAL TIME ZONE"}},
		rows: [][]driver.Value{{
			oraDateTime{y: 2024, mo: 3, d: 31, h: 2, mi: 30},
			oraDateTime{y: 2024, mo: 3, d: 31, h: 2, mi: 15, s: 1, ns: 250000000},
			oraDateTime{y: 2023, mo: 3, d: 26, h: 2, mi: 59, s: 59},
			// 2024-03-31 03:30 CEST as the session zone Europe/Berlin shows it
			oraDateTime{y: 2024, mo: 3, d: 31, h: 3, mi: 30, tzh: 2},
		}},
	}
	_, rows, _ := f.readTable(t, cfg)
	want := []string{"2024-03-31T02:30:00.000000000", "2024-03-31T02:15:01.250000000", "2023-03-26T02:59:59.000000000"}
	for i, w := range want {
		got, ok := rows[0][i].(time.Time)
		if !ok || got.Format("2006-01-02T15:04:05.000000000") != w || got.Location() != time.UTC {
			t.Errorf("column %d = %v, want wall clock %s in UTC", i, rows[0][i], w)
		}
	}
	if ltz, ok := rows[0][3].(time.Time); !ok || ltz.Format(time.RFC3339) != "2024-03-31T03:30:00+02:00" {
		t.Errorf("LTZ = %v, want 2024-03-31T03:30:00+02:00 (the session zone's offset)", rows[0][3])
	}
}
