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
//   - time.Duration (INTERVAL DAY TO SECOND) → "+DD HH:MM:SS.FFFFFF";
//     "Y-M" (INTERVAL YEAR TO MONTH) → "+YY-MM";
//   - *godror.Lob (LobAsReader, BFILE) → []byte or string, read fully;
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
		if c.Type == pipeline.TypeInterval && isYearMonth(c) {
			return yearMonth(x)
		}
		return x, nil
	case godror.Number:
		if x == "" {
			return nil, nil
		}
		return string(x), nil
	case time.Time:
		switch c.Type {
		case pipeline.TypeDateTime, pipeline.TypeTimestamp, pipeline.TypeDate:
			return wallClockUTC(x), nil
		}
		return x, nil
	case time.Duration:
		return dayToSecond(x, c.Scale), nil
	case *godror.Lob:
		if x == nil || x.Reader == nil {
			return nil, nil
		}
		b, err := io.ReadAll(x)
		if err != nil {
			return nil, fmt.Errorf("oracle: read LOB of %s: %w", c.Name, err)
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

// dayToSecond formats d as Oracle prints INTERVAL DAY TO SECOND:
// "+DD HH:MM:SS" with fs fractional digits (fs 0 prints none; digits
// beyond fs that are non-zero are kept, up to 9).
func dayToSecond(d time.Duration, fs int) string {
	sign := byte('+')
	if d < 0 {
		sign, d = '-', -d
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	s := d / time.Second
	ns := int64(d - s*time.Second)
	if fs <= 0 || fs > 9 {
		fs = 6
	}
	frac := fmt.Sprintf("%09d", ns)
	for len(frac) > fs && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	return fmt.Sprintf("%c%02d %02d:%02d:%02d.%s", sign, int64(days), int64(h), int64(m), int64(s), frac)
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
