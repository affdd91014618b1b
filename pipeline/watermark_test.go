package pipeline

import (
	"testing"
	"time"
)

// TestWatermarkValues: canonical text round trips per kind, numbers
// compare as numbers (9.5 < 10 although "9.5" > "10" as text), an overlap
// lowers a value exactly (dates round down, never up), and a window with a
// zero-time bound (which drivers bind as NULL) is refused.
func TestWatermarkValues(t *testing.T) {
	for _, tc := range []struct{ kind, text string }{
		{WatermarkTimestampTZ, "2026-01-02T03:04:05.123456789Z"},
		{WatermarkTimestamp, "2026-01-02T03:04:05.5"},
		{WatermarkDate, "2026-01-02"},
		{WatermarkNumber, "-12345678901234567890.125"},
	} {
		v, err := ParseWatermark(tc.kind, tc.text)
		if err != nil || v.String() != tc.text {
			t.Fatalf("%s %q: %v %q", tc.kind, tc.text, err, v.String())
		}
	}
	for _, bad := range []struct{ kind, text string }{
		{WatermarkNumber, "1e5"}, {WatermarkNumber, "NaN"}, {WatermarkNumber, ""}, {WatermarkTimestampTZ, "2026-01-02T03:04:05"},
		{WatermarkDate, "2026-13-01"}, {"text", "x"},
	} {
		if _, err := ParseWatermark(bad.kind, bad.text); err == nil {
			t.Fatalf("%s %q parsed", bad.kind, bad.text)
		}
	}
	a, _ := ParseWatermark(WatermarkNumber, "9.5")
	b, _ := ParseWatermark(WatermarkNumber, "10")
	if a.Compare(b) != -1 || b.Compare(a) != 1 || a.Compare(a) != 0 {
		t.Fatal("numbers compare as text")
	}
	if got := b.Minus(Overlap{Number: "0.25", Set: true}).String(); got != "9.75" {
		t.Fatalf("10 - 0.25 = %s", got)
	}
	if got := b.Minus(Overlap{}).String(); got != "10" {
		t.Fatalf("default numeric overlap: %s", got)
	}
	ts, _ := ParseWatermark(WatermarkTimestampTZ, "2026-01-02T00:05:00Z")
	if got := ts.Minus(Overlap{}).String(); got != "2026-01-01T23:55:00Z" {
		t.Fatalf("default time overlap: %s", got)
	}
	d, _ := ParseWatermark(WatermarkDate, "2026-01-02")
	if got := d.Minus(Overlap{Duration: time.Minute, Set: true}).String(); got != "2026-01-01" {
		t.Fatalf("a date minus a minute is %s, want the day before", got)
	}
	if got := d.Minus(Overlap{Duration: 0, Set: true}).String(); got != "2026-01-02" {
		t.Fatalf("a date minus 0 is %s", got)
	}
	for _, bad := range []struct{ kind, s string }{{WatermarkNumber, "-1"}, {WatermarkNumber, "10m"}, {WatermarkTimestamp, "5"}, {WatermarkTimestamp, "-1m"}} {
		if _, err := ParseOverlap(bad.kind, bad.s); err == nil {
			t.Fatalf("overlap %q for %s accepted", bad.s, bad.kind)
		}
	}
	zero := WatermarkValue{Kind: WatermarkTimestamp}
	if err := (Window{Column: "c", Kind: WatermarkTimestamp, High: zero}).Validate(); err == nil {
		t.Fatal("a zero-time bound validated")
	}
	if err := (Window{Column: "c", Kind: WatermarkNumber, High: ts}).Validate(); err == nil {
		t.Fatal("a bound of another kind validated")
	}
	if v, err := NewWatermarkValue(WatermarkNumber, 3.5); err == nil {
		t.Fatalf("a float64 became the watermark %v", v)
	}
	kst := time.FixedZone("KST", 9*3600)
	v, _ := NewWatermarkValue(WatermarkTimestamp, time.Date(2026, 1, 2, 9, 0, 0, 0, kst))
	if v.String() != "2026-01-02T09:00:00" {
		t.Fatalf("a wall clock was converted: %s", v)
	}
	v, _ = NewWatermarkValue(WatermarkTimestampTZ, time.Date(2026, 1, 2, 9, 0, 0, 0, kst))
	if v.String() != "2026-01-02T00:00:00Z" {
		t.Fatalf("an instant: %s", v)
	}
}
