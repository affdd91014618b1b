package oracle

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// floatScale is the scale Oracle reports for FLOAT(b) and for NUMBER
// without precision: the value is a decimal of any scale.
const floatScale = -127

// DriverColumn maps a result column as godror describes it
// (sql.ColumnType.DatabaseTypeName and DecimalSize) to a pipeline.Column.
//
// godror's names differ from the catalog's in two places: BINARY_FLOAT and
// BINARY_DOUBLE are reported as "FLOAT" and "DOUBLE" (native floats), while
// Oracle's FLOAT(b) — a decimal NUMBER — is reported as "NUMBER" with scale
// -127. For TIMESTAMP types the precision is the fractional-second digits.
func DriverColumn(name, dbType string, precision, scale int64, hasPS, nullable bool) pipeline.Column {
	c := pipeline.Column{Name: name, Nullable: nullable, SourceType: dbType}
	t := strings.ToUpper(strings.TrimSpace(dbType))
	switch t {
	case "NUMBER":
		c.Type = pipeline.TypeDecimal
		if hasPS && scale != floatScale && precision > 0 {
			c.Precision, c.Scale = int(precision), int(scale)
			c.SourceType = numberType(c.Precision, c.Scale)
		}
		return c
	case "FLOAT", "BINARY_FLOAT":
		c.Type, c.SourceType = pipeline.TypeFloat, "BINARY_FLOAT"
		return c
	case "DOUBLE", "BINARY_DOUBLE":
		c.Type, c.SourceType = pipeline.TypeFloat, "BINARY_DOUBLE"
		return c
	case "BINARY_INTEGER":
		c.Type = pipeline.TypeInt
		return c
	case "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITH LOCAL TIME ZONE":
		fs := 6
		if hasPS && precision >= 0 && precision <= 9 {
			fs = int(precision)
		}
		return timestampColumn(c, t, fs)
	}
	return nameColumn(c, t)
}

func numberType(p, s int) string {
	if s == 0 {
		return "NUMBER(" + strconv.Itoa(p) + ")"
	}
	return "NUMBER(" + strconv.Itoa(p) + "," + strconv.Itoa(s) + ")"
}

// parenInt returns the first "(n)" number of t, or -1.
func parenInt(t string) int {
	i := strings.IndexByte(t, '(')
	j := strings.IndexByte(t, ')')
	if i < 0 || j < i {
		return -1
	}
	n, err := strconv.Atoi(t[i+1 : j])
	if err != nil {
		return -1
	}
	return n
}

func timestampColumn(c pipeline.Column, base string, fs int) pipeline.Column {
	c.Scale = fs
	switch base {
	case "TIMESTAMP":
		c.Type = pipeline.TypeTimestamp
		if fs == 0 { // TIMESTAMP(0): wall clock to the second, like DATE
			c.Type = pipeline.TypeDateTime
		}
		c.SourceType = fmt.Sprintf("TIMESTAMP(%d)", fs)
	case "TIMESTAMP WITH TIME ZONE":
		c.Type = pipeline.TypeTimestampTZ
		c.SourceType = fmt.Sprintf("TIMESTAMP(%d) WITH TIME ZONE", fs)
	default:
		// Normalised to the session TIME_ZONE (Config.Timezone, UTC by default).
		c.Type = pipeline.TypeTimestampTZ
		c.SourceType = fmt.Sprintf("TIMESTAMP(%d) WITH LOCAL TIME ZONE", fs)
	}
	return c
}

// nameColumn maps the types whose name alone decides.
func nameColumn(c pipeline.Column, t string) pipeline.Column {
	switch {
	case t == "DATE":
		c.Type = pipeline.TypeDateTime
	case strings.HasPrefix(t, "INTERVAL"):
		c.Type = pipeline.TypeInterval
	case t == "RAW" || t == "LONG RAW" || t == "BLOB" || t == "BFILE":
		c.Type = pipeline.TypeBytes
	case t == "BOOLEAN":
		c.Type = pipeline.TypeBool
	case t == "JSON":
		c.Type = pipeline.TypeJSON
	default:
		// VARCHAR2, NVARCHAR2, CHAR, NCHAR, LONG, CLOB, NCLOB, ROWID, UROWID,
		// XMLTYPE and anything unknown: the database's text.
		c.Type = pipeline.TypeString
	}
	return c
}

// isYearMonth reports an INTERVAL YEAR TO MONTH column.
func isYearMonth(c pipeline.Column) bool {
	return strings.HasPrefix(strings.ToUpper(c.SourceType), "INTERVAL YEAR")
}

// Normalize turns one value as godror returns it into the value the NDJSON
// encoder expects for c.Type:
//
//   - "" and godror.Number("") → nil: Oracle has no empty strings, a NULL
//     VARCHAR2/CHAR/CLOB arrives as "" and is written as null;
//   - godror.Number → its digits as string, exactly (never float64);
//   - DATE and TIMESTAMP time.Time → the same wall clock in UTC (no zone
//     conversion: the encoder writes the wall clock);
//   - INTERVAL DAY TO SECOND, as intervalExpr's text (or a time.Duration
//     when read by name) → "+DD HH:MM:SS.FFFFFF";
//     "Y-M" (INTERVAL YEAR TO MONTH) → "+YY-MM";
//   - *godror.Lob (LobAsReader, BFILE) → []byte or string, read fully and
//     checked against its length (see lobComplete);
//   - float32/float64 (BINARY_FLOAT/DOUBLE) pass through, NaN and ±Inf too;
//   - []byte, int64, uint64, bool pass through.
func Normalize(c pipeline.Column, v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if x == "" {
			return nil, nil
		}
		if c.Type == pipeline.TypeTimestampTZ { // tzTextExpr's text: SYYYY, blank for AD
			if strings.HasPrefix(x, "-") {
				return nil, fmt.Errorf("oracle: column %s (%s): %s is a year before 0001 (BC), which the export cannot write", c.Name, c.SourceType, x)
			}
			ts, err := time.Parse("2006-01-02T15:04:05.999999999-07:00", strings.TrimLeft(x, " +"))
			if err != nil {
				return nil, fmt.Errorf("oracle: column %s (%s): %w", c.Name, c.SourceType, err)
			}
			return ts, nil
		}
		if c.Type == pipeline.TypeInterval {
			if isYearMonth(c) {
				return yearMonth(x)
			}
			if t := dayToSecondText(x, c.Scale); t != "" {
				return t, nil
			}
			return nil, fmt.Errorf("oracle: column %s (%s): interval text %q is not D H:M:S", c.Name, c.SourceType, x)
		}
		return v, nil // v itself: boxing x again would allocate
	case godror.Number:
		if x == "" {
			return nil, nil
		}
		return asString(v), nil // string(x) without boxing it again
	case time.Time:
		switch c.Type {
		case pipeline.TypeDateTime, pipeline.TypeTimestamp, pipeline.TypeDate:
			if x.Location() != time.UTC { // godror builds them in UTC (Config.Params)
				return wallClockUTC(x), nil
			}
		}
		return v, nil
	case time.Duration:
		return dayToSecond(x, c.Scale), nil
	case *godror.Lob:
		if x == nil || x.Reader == nil {
			return nil, nil
		}
		size, sized, err := lobLength(x)
		if err != nil {
			return nil, fmt.Errorf("oracle: read LOB of %s: %w", c.Name, err)
		}
		b, err := io.ReadAll(x)
		if err != nil {
			return nil, fmt.Errorf("oracle: read LOB of %s: %w", c.Name, err)
		}
		if sized {
			if err := lobComplete(x.IsClob, b, size); err != nil {
				return nil, fmt.Errorf("oracle: column %s: %w", c.Name, err)
			}
		}
		if x.IsClob {
			if len(b) == 0 {
				return nil, nil
			}
			return string(b), nil
		}
		return b, nil
	case []byte, float32, float64, int64, uint64, int, int32, bool:
		return v, nil
	}
	return nil, fmt.Errorf("oracle: column %s (%s): unsupported value type %T", c.Name, c.SourceType, v)
}

// wallClockUTC re-expresses t's wall clock (in t's own location) in UTC.
func wallClockUTC(t time.Time) time.Time {
	if t.Location() == time.UTC {
		return t
	}
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// dayToSecond formats d as Oracle prints INTERVAL DAY TO SECOND (see
// formatDayToSecond). The connector reads such columns as text
// (intervalExpr); a time.Duration only arrives from godror when a column
// is read by name, and cannot hold more than ≈106,751 days.
func dayToSecond(d time.Duration, fs int) string {
	neg := d < 0
	u := uint64(d)
	if neg {
		u = -u
	}
	ns := u % 1e9
	s := u / 1e9
	return formatDayToSecond(neg, s/86400, s/3600%24, s/60%60, s%60, ns, fs)
}

// formatDayToSecond prints "+DD HH:MM:SS.F" (days at least two digits) with
// fs fractional digits (fs outside 1..9 means 6; digits beyond fs that are
// non-zero are kept, up to 9).
func formatDayToSecond(neg bool, days, h, m, s, ns uint64, fs int) string {
	sign := byte('+')
	if neg {
		sign = '-'
	}
	if fs <= 0 || fs > 9 {
		fs = 6
	}
	frac := fmt.Sprintf("%09d", ns)
	for len(frac) > fs && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	return fmt.Sprintf("%c%02d %02d:%02d:%02d.%s", sign, days, h, m, s, frac)
}

// intervalExpr selects an INTERVAL DAY TO SECOND column (quoted name q) as
// exact text, "D H:M:S.F" with each field's sign, from EXTRACT of each
// field: no time.Duration (which wraps past ≈106,751 days) is involved and
// no NLS setting can change it (the seconds' decimal character is fixed to
// '.'). NULL stays NULL. dayToSecondText parses it.
func intervalExpr(q string) string {
	return "CASE WHEN " + q + " IS NULL THEN NULL ELSE TO_CHAR(EXTRACT(DAY FROM " + q + ")) || ' ' || " +
		"TO_CHAR(EXTRACT(HOUR FROM " + q + ")) || ':' || TO_CHAR(EXTRACT(MINUTE FROM " + q + ")) || ':' || " +
		"TO_CHAR(EXTRACT(SECOND FROM " + q + "), 'TM9', 'NLS_NUMERIC_CHARACTERS=''.,''') END"
}

// dayToSecondText turns intervalExpr's text into Oracle's form (see
// formatDayToSecond), exactly; "" for malformed text.
func dayToSecondText(v string, fs int) string {
	f := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ':' })
	if len(f) != 4 {
		return ""
	}
	neg := false
	var n [3]uint64
	for i := range n {
		p := f[i]
		if strings.HasPrefix(p, "-") {
			neg, p = true, p[1:]
		}
		x, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return ""
		}
		n[i] = x
	}
	sec := f[3]
	if strings.HasPrefix(sec, "-") {
		neg, sec = true, sec[1:]
	}
	whole, frac, _ := strings.Cut(sec, ".")
	var s, ns uint64
	if whole != "" {
		x, err := strconv.ParseUint(whole, 10, 64)
		if err != nil {
			return ""
		}
		s = x
	}
	if len(frac) > 9 || (whole == "" && frac == "") {
		return ""
	}
	if frac != "" {
		x, err := strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return ""
		}
		ns = x
	}
	return formatDayToSecond(neg, n[0], n[1], n[2], s, ns, fs)
}

// yearMonth turns godror's "Y-M" (both parts negative for a negative
// interval, e.g. "-1--2") into Oracle's "+YY-MM" / "-YY-MM".
func yearMonth(s string) (string, error) {
	i := strings.IndexByte(s[1:], '-')
	if i < 0 {
		return "", fmt.Errorf("oracle: interval year to month %q: want Y-M", s)
	}
	y, err1 := strconv.Atoi(s[:i+1])
	m, err2 := strconv.Atoi(s[i+2:])
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("oracle: interval year to month %q: want Y-M", s)
	}
	sign := '+'
	if y < 0 || m < 0 {
		sign = '-'
	}
	if y < 0 {
		y = -y
	}
	if m < 0 {
		m = -m
	}
	return fmt.Sprintf("%c%02d-%02d", sign, y, m), nil
}
