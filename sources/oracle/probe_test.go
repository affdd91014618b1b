package oracle

import (
	"context"
	"database/sql/driver"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godror/godror"
)

// The benchmark's Probe reads DB CPU from the container's time model, falls
// back to the instance's where that view is refused (11g, or no grant),
// then keeps to the view that answered so that two readings are
// comparable; NUMBER values arrive as godror.Number (godror's default for
// a NUMBER without scale it cannot fit, modelled by the fake). COUNT(*)
// quotes the catalog's exact names; a refused view is one translated error
// naming both views.
func TestProbe(t *testing.T) {
	ctx := context.Background()
	conAllowed := false
	cpu := int64(1_234_567)
	fake, db := newFakeDB(t, func(q string, _ []any) fakeResult {
		num := []fakeCol{{name: "VALUE", dbType: "NUMBER"}}
		switch {
		case strings.Contains(q, "v$con_sys_time_model"):
			if !conAllowed {
				return fakeResult{err: oraErr(942, "table or view does not exist")}
			}
			return fakeResult{cols: num, rows: [][]driver.Value{{godror.Number("99")}}}
		case strings.Contains(q, "v$sys_time_model") && strings.Contains(q, "stat_name = 'DB CPU'"):
			cpu += 500_000
			return fakeResult{cols: num, rows: [][]driver.Value{{godror.Number(strconv.FormatInt(cpu, 10))}}}
		case strings.HasPrefix(q, "SELECT banner FROM v$version"):
			return fakeResult{err: oraErr(942, "table or view does not exist")}
		case strings.Contains(q, "product_component_version"):
			return fakeResult{cols: textCols("V"), rows: [][]driver.Value{{"Oracle Database 11g Enterprise Edition 11.2.0.4.0"}}}
		case q == `SELECT COUNT(*) FROM "SAP"."VB""RP"`:
			return fakeResult{cols: num, rows: [][]driver.Value{{godror.Number("274000")}}}
		}
		return fakeResult{err: oraErr(900, "invalid SQL statement: "+q)}
	})
	p := NewProbe(db)
	a, err := p.DBCPU(ctx)
	if err != nil || a != 1_734_567*time.Microsecond || p.CPUView() != "v$sys_time_model" {
		t.Fatalf("DBCPU = %v, %v (view %q)", a, err, p.CPUView())
	}
	conAllowed = true // must not switch views between two readings
	b, err := p.DBCPU(ctx)
	if err != nil || b-a != 500*time.Millisecond {
		t.Fatalf("second reading %v, %v", b, err)
	}
	var cpuSQL []string
	for _, q := range fake.SQLs() {
		if strings.Contains(q, "time_model") {
			cpuSQL = append(cpuSQL, q)
		}
	}
	if want := []string{
		"SELECT value FROM v$con_sys_time_model WHERE stat_name = 'DB CPU'",
		"SELECT value FROM v$sys_time_model WHERE stat_name = 'DB CPU'",
		"SELECT value FROM v$sys_time_model WHERE stat_name = 'DB CPU'",
	}; strings.Join(cpuSQL, "\n") != strings.Join(want, "\n") {
		t.Fatalf("time model SQL:\n%s", strings.Join(cpuSQL, "\n"))
	}
	if v, err := p.Version(ctx); err != nil || !strings.HasPrefix(v, "Oracle Database 11g") {
		t.Fatalf("Version = %q, %v", v, err)
	}
	if n, err := p.Count(ctx, "SAP", `VB"RP`); err != nil || n != 274000 {
		t.Fatalf("Count = %d, %v", n, err)
	}

	// neither view readable: one error naming both, translated (a
	// permanent refusal, not a retry)
	_, db2 := newFakeDB(t, func(q string, _ []any) fakeResult {
		return fakeResult{err: oraErr(942, "table or view does not exist")}
	})
	_, err = NewProbe(db2).DBCPU(ctx)
	var oe *Error
	if err == nil || !errors.As(err, &oe) || oe.Transient() ||
		!strings.Contains(err.Error(), "v$con_sys_time_model: ") || !strings.Contains(err.Error(), "v$sys_time_model: ") {
		t.Fatalf("DBCPU without grants: %v", err)
	}
	if _, err := NewProbe(db2).Count(ctx, "SAP", "VBRP"); err == nil || !errors.As(err, &oe) {
		t.Fatalf("Count refused: %v", err)
	}
}
