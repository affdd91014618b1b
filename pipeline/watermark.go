package pipeline

import (
	"context"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// Watermark kinds: how the values of a watermark column compare. The kind
// follows from the column's type (WatermarkKindOf).
const (
	// WatermarkTimestamp: a wall clock without zone (PostgreSQL timestamp,
	// Oracle DATE and TIMESTAMP), compared as a wall clock.
	WatermarkTimestamp = "timestamp"
	// WatermarkTimestampTZ: an instant (PostgreSQL timestamptz, Oracle
	// TIMESTAMP WITH [LOCAL] TIME ZONE), compared as an instant.
	WatermarkTimestampTZ = "timestamptz"
	// WatermarkDate: a calendar day (PostgreSQL date).
	WatermarkDate = "date"
	// WatermarkNumber: an integer or exact decimal (integer types, NUMBER,
	// numeric).
	WatermarkNumber = "number"
)

// DefaultTimeOverlap is the overlap of a time watermark unless configured:
// rows committed up to this long after the time they carry are still read.
const DefaultTimeOverlap = 10 * time.Minute

// WatermarkKindOf is the watermark kind of a column type, or "" for a type
// that cannot be a watermark (text, floats, …).
func WatermarkKindOf(t ColumnType) string {
	switch t {
	case TypeDate:
		return WatermarkDate
	case TypeDateTime, TypeTimestamp:
		return WatermarkTimestamp
	case TypeTimestampTZ:
		return WatermarkTimestampTZ
	case TypeInt, TypeDecimal:
		return WatermarkNumber
	}
	return ""
}

// WatermarkValue is one value of a watermark column. Time kinds hold Time
// (UTC; for WatermarkTimestamp and WatermarkDate the wall clock as stored,
// with no zone conversion); WatermarkNumber holds the exact decimal digits
// in Number. Values are never compared as text.
type WatermarkValue struct {
	Kind   string
	Time   time.Time
	Number string
}

const (
	wallLayout = "2006-01-02T15:04:05.999999999"
	dateLayout = "2006-01-02"
)

var numberRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// String is the value's canonical text, as manifests and the state
// database store it: RFC 3339 in UTC for instants, the wall clock without
// zone for timestamps, YYYY-MM-DD for dates, the digits for numbers.
func (v WatermarkValue) String() string {
	switch v.Kind {
	case WatermarkTimestampTZ:
		return v.Time.UTC().Format(time.RFC3339Nano)
	case WatermarkTimestamp:
		return v.Time.Format(wallLayout)
	case WatermarkDate:
		return v.Time.Format(dateLayout)
	}
	return v.Number
}

// ParseWatermark reads the canonical text of a value of kind (String).
func ParseWatermark(kind, s string) (WatermarkValue, error) {
	v := WatermarkValue{Kind: kind}
	var err error
	switch kind {
	case WatermarkTimestampTZ:
		v.Time, err = time.Parse(time.RFC3339Nano, s)
		v.Time = v.Time.UTC()
	case WatermarkTimestamp:
		v.Time, err = time.ParseInLocation(wallLayout, s, time.UTC)
	case WatermarkDate:
		v.Time, err = time.ParseInLocation(dateLayout, s, time.UTC)
	case WatermarkNumber:
		if !numberRE.MatchString(s) {
			err = fmt.Errorf("not a decimal number")
		}
		v.Number = s
	default:
		return v, fmt.Errorf("watermark kind %q unknown", kind)
	}
	if err != nil {
		return WatermarkValue{}, fmt.Errorf("watermark %q of kind %s: %w", s, kind, err)
	}
	return v, nil
}

// NewWatermarkValue converts a value a database driver returned for a
// column of kind (time.Time, an integer, decimal digits as string or
// []byte, or a string type such as godror.Number) into a WatermarkValue.
// Timestamps and dates keep their wall clock; instants become UTC.
func NewWatermarkValue(kind string, v any) (WatermarkValue, error) {
	w := WatermarkValue{Kind: kind}
	switch kind {
	case WatermarkTimestampTZ, WatermarkTimestamp, WatermarkDate:
		t, ok := v.(time.Time)
		if !ok {
			return w, fmt.Errorf("watermark of kind %s: got %T, want a time", kind, v)
		}
		switch kind {
		case WatermarkTimestampTZ:
			w.Time = t.UTC()
		case WatermarkTimestamp:
			w.Time = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
		default:
			w.Time = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		}
		return w, nil
	case WatermarkNumber:
		var s string
		switch x := v.(type) {
		case int64:
			s = fmt.Sprint(x)
		case int32:
			s = fmt.Sprint(x)
		case int:
			s = fmt.Sprint(x)
		case []byte:
			s = string(x)
		default:
			rv := reflect.ValueOf(v) // string and string kinds (godror.Number)
			if rv.Kind() != reflect.String {
				return w, fmt.Errorf("watermark of kind number: got %T", v)
			}
			s = rv.String()
		}
		s = strings.TrimSpace(s)
		if !numberRE.MatchString(s) {
			return w, fmt.Errorf("watermark of kind number: %q is not a decimal number", s)
		}
		w.Number = s
		return w, nil
	}
	return w, fmt.Errorf("watermark kind %q unknown", kind)
}

// Compare orders two values of one kind: -1, 0 or +1.
func (v WatermarkValue) Compare(o WatermarkValue) int {
	if v.Kind == WatermarkNumber {
		a, _ := new(big.Rat).SetString(v.Number)
		b, _ := new(big.Rat).SetString(o.Number)
		if a == nil || b == nil {
			return strings.Compare(v.Number, o.Number)
		}
		return a.Cmp(b)
	}
	return v.Time.Compare(o.Time)
}

// Overlap is how far below the previous run's high an incremental read
// starts: a duration for time watermarks, a non-negative number for
// numeric ones. The zero Overlap means the kind's default (DefaultTimeOverlap
// or 0).
type Overlap struct {
	Duration time.Duration // time kinds
	Number   string        // WatermarkNumber: decimal digits
	Set      bool          // false: the kind's default
}

// ParseOverlap reads an overlap for a watermark of kind: a Go duration
// ("10m", "1h30m", "0s") for time kinds, a non-negative decimal for
// numbers. "" is the kind's default.
func ParseOverlap(kind, s string) (Overlap, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Overlap{}, nil
	}
	switch kind {
	case WatermarkNumber:
		if !numberRE.MatchString(s) || strings.HasPrefix(s, "-") {
			return Overlap{}, fmt.Errorf("overlap %q: want a non-negative number for a numeric watermark", s)
		}
		return Overlap{Number: s, Set: true}, nil
	case WatermarkTimestamp, WatermarkTimestampTZ, WatermarkDate:
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return Overlap{}, fmt.Errorf("overlap %q: want a non-negative duration such as 10m for a time watermark", s)
		}
		return Overlap{Duration: d, Set: true}, nil
	}
	return Overlap{}, fmt.Errorf("watermark kind %q unknown", kind)
}

// Effective is o with the kind's default filled in.
func (o Overlap) Effective(kind string) Overlap {
	if o.Set {
		return o
	}
	if kind == WatermarkNumber {
		return Overlap{Number: "0", Set: true}
	}
	return Overlap{Duration: DefaultTimeOverlap, Set: true}
}

// String is the overlap as ParseOverlap reads it.
func (o Overlap) String() string {
	if o.Number != "" {
		return o.Number
	}
	return o.Duration.String()
}

// Minus is v lowered by the overlap o. A date is rounded down to its day,
// so the result is never above the exact difference: an overlap only ever
// reads more rows, never fewer.
func (v WatermarkValue) Minus(o Overlap) WatermarkValue {
	o = o.Effective(v.Kind)
	switch v.Kind {
	case WatermarkNumber:
		a, _ := new(big.Rat).SetString(v.Number)
		b, _ := new(big.Rat).SetString(o.Number)
		if a == nil || b == nil {
			return v
		}
		d := new(big.Rat).Sub(a, b)
		return WatermarkValue{Kind: v.Kind, Number: ratString(d)}
	case WatermarkDate:
		t := v.Time.Add(-o.Duration)
		return WatermarkValue{Kind: v.Kind, Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
	}
	return WatermarkValue{Kind: v.Kind, Time: v.Time.Add(-o.Duration)}
}

// ratString writes an exact decimal (a difference of two decimals is one).
func ratString(r *big.Rat) string {
	for prec := 0; prec <= 400; prec++ {
		s := r.FloatString(prec)
		if back, ok := new(big.Rat).SetString(s); ok && back.Cmp(r) == 0 {
			return s
		}
	}
	return r.FloatString(400)
}

// Window restricts a table read to the rows whose watermark column is
// above Low (when set) and at most High: Column > Low AND Column <= High,
// compared in the column's own type (bind values typed as the column,
// never text, never the client's time zone). Rows whose watermark is NULL
// are outside every window.
type Window struct {
	Column string // as the catalog spells it
	Kind   string
	Low    *WatermarkValue // nil: no lower bound
	High   WatermarkValue
}

// Validate checks the window's parts agree.
func (w Window) Validate() error {
	if w.Column == "" {
		return fmt.Errorf("window: no column")
	}
	if w.High.Kind != w.Kind || (w.Low != nil && w.Low.Kind != w.Kind) {
		return fmt.Errorf("window on %s: bounds of another kind than %s", w.Column, w.Kind)
	}
	bounds := []WatermarkValue{w.High}
	if w.Low != nil {
		bounds = append(bounds, *w.Low)
	}
	for _, b := range bounds {
		if b.Kind != WatermarkNumber && b.Time.IsZero() {
			// drivers bind the zero time as NULL (godror stmt.go
			// dataSetTime), which would match no row at all
			return fmt.Errorf("window on %s: bound %s is the zero time", w.Column, b)
		}
	}
	return nil
}

// WatermarkStats is what an incremental read learns about its watermark
// column as of the job's snapshot.
type WatermarkStats struct {
	Max   *WatermarkValue // nil when no row has a value
	Nulls int64           // rows whose watermark is NULL; -1 when not counted
}

// Watermarker is implemented by connectors that can read tables
// incrementally (ReadOptions.Window).
type Watermarker interface {
	// WatermarkStats reads the maximum of column as of snap (the job's
	// snapshot, so the maximum and the rows read agree) and, when
	// countNulls, the number of rows whose column is NULL.
	WatermarkStats(ctx context.Context, t TableInfo, snap Snapshot, column Column, countNulls bool) (WatermarkStats, error)
	// PrimaryKey returns the primary key's columns in key order (nil: none).
	PrimaryKey(ctx context.Context, t TableInfo) ([]string, error)
	// Indexed reports whether some index of t leads with column.
	Indexed(ctx context.Context, t TableInfo, column string) (bool, error)
}
