package stages

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// BigQuery types of the schema ora2gcs writes next to each object.
const (
	BQString     = "STRING"
	BQInt64      = "INT64"
	BQNumeric    = "NUMERIC"
	BQBigNumeric = "BIGNUMERIC"
	BQFloat64    = "FLOAT64"
	BQBool       = "BOOL"
	BQDate       = "DATE"
	BQDateTime   = "DATETIME"
	BQTimestamp  = "TIMESTAMP"
	BQBytes      = "BYTES"
	BQJSON       = "JSON"
)

// BigQueryField is one field of a BigQuery JSON schema file.
type BigQueryField struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Mode        string `json:"mode"`
	Description string `json:"description,omitempty"`
}

// BigQuerySchema is the BigQuery schema of the NDJSON ora2gcs writes for
// cols: each column's type is BigQueryType (the one mapping, which
// docs/TYPES.md documents; the encoder's NDJSONOptions.BigQuery checks
// every value against it). --decimals-as-strings does not change it:
// BigQuery reads quoted NUMERIC and BIGNUMERIC values. Nullable columns are
// NULLABLE, others REQUIRED. The description carries the source type.
func BigQuerySchema(cols []pipeline.Column) []BigQueryField {
	out := make([]BigQueryField, len(cols))
	for i, c := range cols {
		mode := "REQUIRED"
		if c.Nullable {
			mode = "NULLABLE"
		}
		out[i] = BigQueryField{Name: c.Name, Type: BigQueryType(c), Mode: mode, Description: c.SourceType}
	}
	return out
}

// Limits of BigQuery's types that the mapping and the value checks use.
const (
	numericIntDigits    = 29 // NUMERIC: precision 38, scale 9
	numericScale        = 9
	bigNumericIntDigits = 38 // BIGNUMERIC: 38 full integer digits (and a partial 39th), scale 38
	bigNumericScale     = 38
	int64MaxDigits      = 18 // every 18-digit integer fits INT64
	timeScale           = 6  // DATETIME and TIMESTAMP keep microseconds
	// exactDigits is the most digits (from the first non-zero digit to the
	// last, counting the zeros up to the decimal point) a JSON number may
	// span and still be read exactly by readers that parse numbers as
	// binary floating point (BigQuery's INT64 beyond 2^53): such a decimal
	// survives the round trip through float64, and so does the integer of
	// its digits. Longer values are written as JSON strings.
	exactDigits = 15
)

// BigQueryType is the BigQuery type of column c in {TABLE}.schema.json:
// the type that holds every value the column's declared source type
// allows, exactly, or STRING with the exact text where no other type does.
// Where a declared type allows values the BigQuery type cannot hold (NaN in
// a numeric, a year outside 1..9999, NUMBER without precision), an Encoder
// with NDJSONOptions.BigQuery fails the table on such a value instead.
// docs/TYPES.md documents this mapping; a test checks the two agree.
//
//   - STRING, INTERVAL: STRING.
//   - DECIMAL(p,s): NUMERIC when p−s ≤ 29 and s ≤ 9; BIGNUMERIC when p−s ≤ 38
//     and s ≤ 38; otherwise STRING. Unknown precision (p = 0: Oracle NUMBER,
//     FLOAT(b); PostgreSQL numeric): BIGNUMERIC, each value checked.
//   - INT: INT64 (each value checked to fit); with a declared precision
//     above 18 as DECIMAL(p,0).
//   - FLOAT: FLOAT64. BOOL: BOOL. BYTES: BYTES. JSON and UNKNOWN: JSON.
//   - DATE: DATE. DATETIME: DATETIME.
//   - TIMESTAMP: DATETIME with up to 6 fraction digits, STRING with 7..9.
//   - TIMESTAMPTZ: TIMESTAMP with up to 6 fraction digits, STRING with 7..9.
//
// DecimalAsString does not change the mapping: BigQuery reads quoted
// NUMERIC and BIGNUMERIC values.
func BigQueryType(c pipeline.Column) string {
	switch c.Type {
	case pipeline.TypeString, pipeline.TypeInterval:
		return BQString
	case pipeline.TypeDecimal:
		return decimalBQType(c.Precision, c.Scale)
	case pipeline.TypeInt:
		if c.Precision > int64MaxDigits {
			return decimalBQType(c.Precision, 0)
		}
		return BQInt64
	case pipeline.TypeFloat:
		return BQFloat64
	case pipeline.TypeBool:
		return BQBool
	case pipeline.TypeDate:
		return BQDate
	case pipeline.TypeDateTime:
		return BQDateTime
	case pipeline.TypeTimestamp:
		if c.Scale > timeScale {
			return BQString
		}
		return BQDateTime
	case pipeline.TypeTimestampTZ:
		if c.Scale > timeScale {
			return BQString
		}
		return BQTimestamp
	case pipeline.TypeBytes:
		return BQBytes
	case pipeline.TypeJSON, pipeline.TypeUnknown:
		return BQJSON
	}
	return BQString
}

func decimalBQType(p, s int) string {
	if p <= 0 {
		return BQBigNumeric // any precision: each value is checked
	}
	intDigits, frac := p-s, max(s, 0)
	switch {
	case intDigits <= numericIntDigits && frac <= numericScale:
		return BQNumeric
	case intDigits <= bigNumericIntDigits && frac <= bigNumericScale:
		return BQBigNumeric
	}
	return BQString
}

// bqCheck is what an Encoder with NDJSONOptions.BigQuery checks or changes
// for one column.
type bqCheck uint8

const (
	bqNone    bqCheck = iota
	bqNumeric         // declared precision fits: no NaN/±Infinity; long values quoted
	bqBigAny          // unknown precision: also at most 38 integer and 38 fraction digits
	bqInt64           // within INT64; long values quoted
	bqQuoted          // decimal shown as STRING: always written as a JSON string
	bqYear            // DATE/DATETIME: year 1..9999
	bqYearUTC         // TIMESTAMP: the instant's UTC year 1..9999
)

// bigQueryCheck returns the check for column c.
func bigQueryCheck(c pipeline.Column) bqCheck {
	t := BigQueryType(c)
	switch c.Type {
	case pipeline.TypeDecimal, pipeline.TypeInt:
		switch t {
		case BQString:
			return bqQuoted
		case BQInt64:
			return bqInt64
		}
		if c.Precision <= 0 {
			return bqBigAny
		}
		return bqNumeric
	case pipeline.TypeDate, pipeline.TypeDateTime:
		return bqYear
	case pipeline.TypeTimestamp:
		if t == BQDateTime {
			return bqYear
		}
	case pipeline.TypeTimestampTZ:
		if t == BQTimestamp {
			return bqYearUTC
		}
	}
	return bqNone
}

var errBQSpecial = errors.New("NaN and ±Infinity cannot be loaded into BigQuery NUMERIC or BIGNUMERIC")

// decimalShape returns the integer digits (without leading zeros) and the
// fraction digits (without trailing zeros) of a valid decimal text
// [+-]digits[.digits][(e|E)[+-]digits]; ok is false for NaN and
// infinities.
func decimalShape(s string) (intDigits, fracDigits int, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if i < len(s) && !isDigit(s[i]) && s[i] != '.' {
		return 0, 0, false
	}
	// digits of the mantissa with the position of the decimal point
	first, last, n, point := -1, -1, 0, -1
	for ; i < len(s); i++ {
		b := s[i]
		switch {
		case isDigit(b):
			if b != '0' {
				if first < 0 {
					first = n
				}
				last = n
			}
			n++
			continue
		case b == '.':
			point = n
			continue
		}
		break
	}
	if point < 0 {
		point = n
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		for ; i < len(s); i++ {
			if exp < 1e6 { // far beyond any limit; no overflow
				exp = exp*10 + int(s[i]-'0')
			}
		}
		if neg {
			exp = -exp
		}
	}
	if first < 0 {
		return 0, 0, true // zero
	}
	point += exp // digit k has place value 10^(point-1-k)
	intDigits = max(0, point-first)
	fracDigits = max(0, last+1-point)
	return intDigits, fracDigits, true
}

// checkDecimal checks valid decimal text s for column check k; quote
// reports that it must be written as a JSON string to be read exactly: its
// integer digits and fraction digits (at least the declared scale, to which
// a reader converts it) span more than exactDigits. short says the declared
// precision keeps every value within exactDigits.
func checkDecimal(k bqCheck, short bool, scale int, s string) (quote bool, err error) {
	if short && k == bqNumeric {
		if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		if len(s) > 0 && !isDigit(s[0]) && s[0] != '.' {
			return false, errBQSpecial
		}
		return false, nil
	}
	intDigits, frac, ok := decimalShape(s)
	switch {
	case !ok && k != bqQuoted:
		return false, errBQSpecial
	case k == bqQuoted:
		return true, nil
	case k == bqInt64 && (frac > 0 || intDigits > 19):
		return false, fmt.Errorf("%s is not an INT64", quoteShort(s))
	case k == bqBigAny && (intDigits > bigNumericIntDigits || frac > bigNumericScale):
		return false, fmt.Errorf("%s has %d integer and %d fraction digits: BigQuery BIGNUMERIC holds at most %d and %d",
			quoteShort(s), intDigits, frac, bigNumericIntDigits, bigNumericScale)
	}
	return intDigits+max(frac, scale) > exactDigits, nil
}

// The first and the last second BigQuery's DATE, DATETIME and TIMESTAMP
// hold, as Unix seconds.
var (
	bqMinSec = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	bqMaxSec = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// checkYear checks that t's year (of its UTC instant with utc) is one
// BigQuery's DATE, DATETIME and TIMESTAMP hold.
func checkYear(t time.Time, utc bool) error {
	if utc || t.Location() == time.UTC { // the common case: no calendar arithmetic
		if u := t.Unix(); u >= bqMinSec && u <= bqMaxSec {
			return nil
		}
	}
	if utc {
		t = t.UTC()
	}
	if y := t.Year(); y < 1 || y > 9999 {
		what := "year"
		if utc {
			what = "UTC year"
		}
		return fmt.Errorf("%s %d is outside BigQuery's 0001..9999", what, y)
	}
	return nil
}

// int64Fits reports whether a Go integer v fits INT64 and whether it has
// more than exactDigits significant digits.
func int64Fits(v any) (fits, long bool) {
	const lim = 999_999_999_999_999 // 15 digits
	switch v := v.(type) {
	case uint64:
		return v <= math.MaxInt64, v > lim
	case uint:
		return uint64(v) <= math.MaxInt64, v > lim
	case uintptr:
		return uint64(v) <= math.MaxInt64, v > lim
	case int64:
		return true, v > lim || v < -lim
	case int:
		return true, v > lim || v < -lim
	}
	return true, false // narrower integers
}
