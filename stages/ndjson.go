package stages

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// NDJSONOptions changes how values are written.
type NDJSONOptions struct {
	// DecimalAsString writes TypeDecimal values as JSON strings ("12.340")
	// instead of JSON numbers, for readers that parse numbers into float64.
	DecimalAsString bool
	// OmitNulls leaves the key of a NULL value out of its row instead of
	// writing "KEY":null.
	OmitNulls bool
	// BigQuery makes every value loadable, exactly, into the column's
	// BigQueryType (the {TABLE}.schema.json ora2gcs writes): a value that
	// type cannot hold fails with an error naming the column (NaN or
	// ±Infinity in NUMERIC/BIGNUMERIC, more than 38 integer or fraction
	// digits in a decimal of unknown precision, an integer outside INT64, a
	// year outside 0001..9999); a number in an INT64, NUMERIC or BIGNUMERIC
	// column whose digits span more than 15 places (from the first non-zero
	// digit to the last, counting the declared scale), and every decimal of
	// a STRING column, is written as a JSON string of its exact digits, which
	// BigQuery and DuckDB read exactly (both parse JSON numbers as binary
	// floating point in places). See docs/TYPES.md.
	BigQuery bool
}

// NDJSON returns an EncoderFactory making one Encoder per call.
func NDJSON(opts NDJSONOptions) pipeline.EncoderFactory {
	return func(cols []pipeline.Column) (pipeline.RowEncoder, error) {
		e, err := NewEncoder(cols, opts)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
}

// defaultScale is the fraction digits of TypeTimestamp and TypeTimestampTZ
// when Column.Scale is 0.
const defaultScale = 6

type column struct {
	name  string
	typ   pipeline.ColumnType
	scale int     // fraction digits for timestamps
	bq    bqCheck // NDJSONOptions.BigQuery: what to check
	bqTyp string  // and the column's BigQuery type
	// bqShort: the declared precision (at most exactDigits) leaves no
	// value long enough to need quoting
	bqShort bool
	bqScale int    // declared decimal scale (0 if unknown)
	first   []byte // {"NAME":
	next    []byte // ,"NAME":
	// short keys (most column names) are also kept in a fixed-size array:
	// copying it is two 16-byte moves instead of a memmove call
	nextFix [keyFix]byte
	nextLen int // len(next) if ≤ keyFix, else 0
}

// keyFix is the size of column.nextFix.
const keyFix = 32

// appendNext appends c.next to dst.
func appendNext(dst []byte, c *column) []byte {
	if c.nextLen == 0 || cap(dst)-len(dst) < keyFix {
		return append(dst, c.next...)
	}
	n := len(dst)
	*(*[keyFix]byte)(dst[n : n+keyFix]) = c.nextFix
	return dst[:n+c.nextLen]
}

// Encoder writes rows of one table as NDJSON: one JSON object per row, keys
// the column names in table order, values exact per the ColumnType contract
// in package pipeline. It does not allocate on the success path beyond
// growing dst. Give each worker its own Encoder (the pipeline does).
type Encoder struct {
	cols []column
	opts NDJSONOptions
}

// NewEncoder prepares an Encoder for cols. It fails for unknown column types
// and timestamp scales outside 0..9.
func NewEncoder(cols []pipeline.Column, opts NDJSONOptions) (*Encoder, error) {
	e := &Encoder{cols: make([]column, len(cols)), opts: opts}
	for i, c := range cols {
		if c.Type < pipeline.TypeUnknown || c.Type > pipeline.TypeInterval {
			return nil, fmt.Errorf("stages: column %q: unknown column type %v", c.Name, c.Type)
		}
		if c.Scale < 0 || c.Scale > 9 {
			if c.Type == pipeline.TypeTimestamp || c.Type == pipeline.TypeTimestampTZ {
				return nil, fmt.Errorf("stages: column %q: %v scale %d out of range 0..9", c.Name, c.Type, c.Scale)
			}
		}
		scale := c.Scale
		if scale == 0 {
			scale = defaultScale
		}
		key := appendString(nil, c.Name)
		first := append([]byte{'{'}, key...)
		first = append(first, ':')
		next := append([]byte{','}, key...)
		next = append(next, ':')
		e.cols[i] = column{name: c.Name, typ: c.Type, scale: scale, first: first, next: next}
		if opts.BigQuery {
			e.cols[i].bq, e.cols[i].bqTyp = bigQueryCheck(c), BigQueryType(c)
			e.cols[i].bqShort = c.Precision > 0 && c.Precision <= exactDigits
			if c.Precision > 0 {
				e.cols[i].bqScale = max(c.Scale, 0)
			}
		}
		if len(next) <= keyFix {
			copy(e.cols[i].nextFix[:], next)
			e.cols[i].nextLen = len(next)
		}
	}
	return e, nil
}

// AppendRows appends each row as one line ending in '\n'. On error dst is
// returned as it was before the failing row, and the error names the row
// by its index in rows (unless rows is one row, which the caller names).
func (e *Encoder) AppendRows(dst []byte, rows [][]any) ([]byte, error) {
	for i, row := range rows {
		var err error
		if dst, err = e.AppendRow(dst, row); err != nil {
			if len(rows) == 1 {
				return dst, err
			}
			return dst, fmt.Errorf("row %d: %w", i, err)
		}
	}
	return dst, nil
}

// AppendRow appends row as one JSON object followed by '\n'. On error dst is
// returned unchanged (truncated to its length on entry).
func (e *Encoder) AppendRow(dst []byte, row []any) ([]byte, error) {
	if len(row) != len(e.cols) {
		return dst, fmt.Errorf("stages: row has %d values, table has %d columns", len(row), len(e.cols))
	}
	start := len(dst)
	wrote := false
	for i, v := range row {
		c := &e.cols[i]
		if v == nil {
			if e.opts.OmitNulls {
				continue
			}
			if wrote {
				dst = appendNext(dst, c)
			} else {
				dst = append(dst, c.first...)
			}
			wrote = true
			dst = append(dst, "null"...)
			continue
		}
		if wrote {
			dst = appendNext(dst, c)
		} else {
			dst = append(dst, c.first...)
		}
		wrote = true
		if c.typ == pipeline.TypeString { // fast path for the most common column
			if s, ok := v.(string); ok {
				dst = appendString(dst, s)
				continue
			}
		}
		var err error
		if dst, err = e.appendValue(dst, c, v); err != nil {
			return dst[:start], err
		}
	}
	if !wrote {
		dst = append(dst, '{')
	}
	return append(dst, '}', '\n'), nil
}

func (e *Encoder) appendValue(dst []byte, c *column, v any) ([]byte, error) {
	switch c.typ {
	case pipeline.TypeString, pipeline.TypeInterval:
		switch v := v.(type) {
		case string:
			return appendString(dst, v), nil
		case []byte:
			return appendString(dst, bytesString(v)), nil
		}
	case pipeline.TypeDecimal:
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case []byte:
			s = bytesString(v)
		case json.Number:
			s = string(v)
		default:
			if d, ok := appendInteger(nil, v); ok {
				// Integers are exact; only the quoting option matters.
				if _, long := int64Fits(v); e.opts.DecimalAsString || c.bq == bqQuoted || c.bq != bqNone && long {
					dst = append(dst, '"')
					dst = append(dst, d...)
					return append(dst, '"'), nil
				}
				return append(dst, d...), nil
			}
			st, ok := v.(fmt.Stringer)
			if !ok {
				return dst, typeError(c, v)
			}
			s = st.String()
		}
		quote := e.opts.DecimalAsString
		out, err := appendDecimal(dst, s, quote)
		if err != nil {
			return dst, valueError(c, err)
		}
		if c.bq != bqNone {
			q, err := checkDecimal(c.bq, c.bqShort, c.bqScale, s)
			if err != nil {
				return dst, bqError(c, err)
			}
			if q && !quote {
				return appendDecimal(dst, s, true)
			}
		}
		return out, nil
	case pipeline.TypeInt:
		if c.bq != bqNone {
			if fits, long := int64Fits(v); !fits && c.bq == bqInt64 {
				return dst, bqError(c, fmt.Errorf("%v is outside INT64", v))
			} else if long {
				if d, ok := appendInteger(nil, v); ok {
					dst = append(dst, '"')
					dst = append(dst, d...)
					return append(dst, '"'), nil
				}
			}
		}
		if out, ok := appendInteger(dst, v); ok {
			return out, nil
		}
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case []byte:
			s = bytesString(v)
		case json.Number:
			s = string(v)
		default:
			return dst, typeError(c, v)
		}
		if c.bq != bqNone {
			return e.appendBQIntDigits(dst, c, s)
		}
		out, err := appendIntDigits(dst, s)
		if err != nil {
			return dst, valueError(c, err)
		}
		return out, nil
	case pipeline.TypeFloat:
		switch v := v.(type) {
		case float64:
			return appendFloat(dst, v, 64), nil
		case float32:
			return appendFloat(dst, float64(v), 32), nil
		}
	case pipeline.TypeBool:
		if b, ok := v.(bool); ok {
			return strconv.AppendBool(dst, b), nil
		}
	case pipeline.TypeDate:
		if t, ok := v.(time.Time); ok {
			if err := e.checkTime(c, t); err != nil {
				return dst, err
			}
			dst = append(dst, '"')
			dst = appendDate(dst, t)
			return append(dst, '"'), nil
		}
	case pipeline.TypeDateTime:
		if t, ok := v.(time.Time); ok {
			if err := e.checkTime(c, t); err != nil {
				return dst, err
			}
			dst = append(dst, '"')
			dst = appendDateTime(dst, t)
			return append(dst, '"'), nil
		}
	case pipeline.TypeTimestamp:
		if t, ok := v.(time.Time); ok {
			if err := e.checkTime(c, t); err != nil {
				return dst, err
			}
			dst = append(dst, '"')
			dst = appendDateTime(dst, t)
			dst = appendFraction(dst, t.Nanosecond(), c.scale)
			return append(dst, '"'), nil
		}
	case pipeline.TypeTimestampTZ:
		if t, ok := v.(time.Time); ok {
			if err := e.checkTime(c, t); err != nil {
				return dst, err
			}
			dst = append(dst, '"')
			dst = appendTimestampTZ(dst, t, c.scale)
			return append(dst, '"'), nil
		}
	case pipeline.TypeBytes:
		if b, ok := v.([]byte); ok {
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, b)
			return append(dst, '"'), nil
		}
	case pipeline.TypeJSON:
		var raw []byte
		switch v := v.(type) {
		case pipeline.RawJSON:
			raw = v
		case []byte:
			raw = v
		case string:
			raw = unsafe.Slice(unsafe.StringData(v), len(v))
		case []any, map[string]any:
			out, err := appendAny(dst, v, 0)
			if err != nil {
				return dst, valueError(c, err)
			}
			return out, nil
		case JSONAppender:
			out, err := v.AppendJSON(dst, e.opts)
			if err != nil {
				return dst, valueError(c, err)
			}
			return out, nil
		default:
			return dst, typeError(c, v)
		}
		out, err := appendRawJSON(dst, raw)
		if err != nil {
			return dst, valueError(c, err)
		}
		return out, nil
	case pipeline.TypeUnknown:
		out, err := appendAny(dst, v, 0)
		if err != nil {
			return dst, valueError(c, err)
		}
		return out, nil
	}
	return dst, typeError(c, v)
}

func typeError(c *column, v any) error {
	return fmt.Errorf("stages: column %q (%v): unexpected Go type %T", c.name, c.typ, v)
}

// bqError says that a value of column c cannot be loaded into its
// BigQuery type.
func bqError(c *column, err error) error {
	return fmt.Errorf("stages: column %q (%v, BigQuery %s): %w", c.name, c.typ, c.bqTyp, err)
}

// checkTime applies the BigQuery year check of c to t.
func (e *Encoder) checkTime(c *column, t time.Time) error {
	if c.bq != bqYear && c.bq != bqYearUTC {
		return nil
	}
	if err := checkYear(t, c.bq == bqYearUTC); err != nil {
		return bqError(c, err)
	}
	return nil
}

// appendBQIntDigits appends integer digits s of a TypeInt column checked
// for BigQuery: within INT64 for an INT64 column, quoted when longer than
// exactDigits or shown as STRING.
func (e *Encoder) appendBQIntDigits(dst []byte, c *column, s string) ([]byte, error) {
	d, err := appendIntDigits(nil, s)
	if err != nil {
		return dst, valueError(c, err)
	}
	if c.bq == bqInt64 {
		if _, err := strconv.ParseInt(string(d), 10, 64); err != nil {
			return dst, bqError(c, fmt.Errorf("%s is outside INT64", quoteShort(s)))
		}
	}
	n := len(d)
	if d[0] == '-' {
		n--
	}
	if c.bq == bqQuoted || n > exactDigits {
		dst = append(dst, '"')
		dst = append(dst, d...)
		return append(dst, '"'), nil
	}
	return append(dst, d...), nil
}

func valueError(c *column, err error) error {
	return fmt.Errorf("stages: column %q (%v): %w", c.name, c.typ, err)
}

// bytesString views b as a string without copying; the result must not
// outlive b or be kept.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// quoteShort quotes at most 40 bytes of s for error messages.
func quoteShort(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "…"
	}
	return strconv.Quote(s)
}

// ---- strings ----

// safe[b] is true for bytes copied unchanged inside a JSON string: printable
// ASCII except '"' and '\\'. Bytes ≥ 0x80 take the UTF-8 path.
var safe = func() (t [256]bool) {
	for b := 0x20; b < 0x80; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string exactly as the encoder writes
// string values (see appendString). Sources that build JSON text themselves,
// such as PostgreSQL arrays, use it so every string is escaped the same way.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s) }

// appendString appends s as a JSON string: '"' and '\\' and control
// characters escaped, U+2028 and U+2029 escaped, each byte of invalid UTF-8
// replaced by \ufffd; '<', '>' and '&' are left as they are.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	i, run := 0, 0
	for i < len(s) {
		b := s[i]
		if safe[b] {
			i++
			continue
		}
		if b < utf8.RuneSelf {
			dst = append(dst, s[run:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			run = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[run:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[run:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		run = i
	}
	dst = append(dst, s[run:]...)
	return append(dst, '"')
}

// ---- numbers ----

// appendInteger appends v if it is a Go integer.
func appendInteger(dst []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case int:
		return strconv.AppendInt(dst, int64(v), 10), true
	case int64:
		return strconv.AppendInt(dst, v, 10), true
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), true
	case int16:
		return strconv.AppendInt(dst, int64(v), 10), true
	case int8:
		return strconv.AppendInt(dst, int64(v), 10), true
	case uint:
		return strconv.AppendUint(dst, uint64(v), 10), true
	case uint64:
		return strconv.AppendUint(dst, v, 10), true
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), true
	case uint16:
		return strconv.AppendUint(dst, uint64(v), 10), true
	case uint8:
		return strconv.AppendUint(dst, uint64(v), 10), true
	case uintptr:
		return strconv.AppendUint(dst, uint64(v), 10), true
	}
	return dst, false
}

func isDigit(b byte) bool { return b-'0' <= 9 }

// appendIntDigits validates s as [+-]?[0-9]+ and appends it as a JSON number
// (leading '+' and leading zeros dropped).
func appendIntDigits(dst []byte, s string) ([]byte, error) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i == len(s) {
		return dst, fmt.Errorf("invalid integer %s", quoteShort(s))
	}
	for j := i; j < len(s); j++ {
		if !isDigit(s[j]) {
			return dst, fmt.Errorf("invalid integer %s", quoteShort(s))
		}
	}
	for i < len(s)-1 && s[i] == '0' {
		i++
	}
	if neg {
		dst = append(dst, '-')
	}
	return append(dst, s[i:]...), nil
}

var errEmptyDecimal = errors.New("invalid decimal \"\"")

// appendDecimal validates s as a decimal number and appends it as a valid
// JSON number (or string when quoted) with exactly its digits: a '+' sign
// and leading integer zeros are dropped, a missing integer part becomes "0",
// a trailing '.' is dropped; fraction and exponent digits are kept as they
// are. NaN and the infinities ("Inf", "Infinity", Oracle's "~") are written as
// the JSON strings "NaN", "Infinity" and "-Infinity".
func appendDecimal(dst []byte, s string, quoted bool) ([]byte, error) {
	if len(s) == 0 {
		return dst, errEmptyDecimal
	}
	i := 0
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		i++
	}
	if i < len(s) && !isDigit(s[i]) && s[i] != '.' {
		if sp := special(s[i:]); sp != "" {
			if sp == "Infinity" && neg {
				return append(dst, `"-Infinity"`...), nil
			}
			if sp == "NaN" && i > 0 {
				return dst, fmt.Errorf("invalid decimal %s", quoteShort(s))
			}
			dst = append(dst, '"')
			dst = append(dst, sp...)
			return append(dst, '"'), nil
		}
		return dst, fmt.Errorf("invalid decimal %s", quoteShort(s))
	}
	// integer part
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intEnd := i
	fracStart, fracEnd := i, i
	if i < len(s) && s[i] == '.' {
		i++
		fracStart = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracEnd = i
	}
	if intEnd == intStart && fracEnd == fracStart {
		return dst, fmt.Errorf("invalid decimal %s", quoteShort(s))
	}
	expStart := i
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == d {
			return dst, fmt.Errorf("invalid decimal %s", quoteShort(s))
		}
	}
	if i != len(s) {
		return dst, fmt.Errorf("invalid decimal %s", quoteShort(s))
	}
	if quoted {
		dst = append(dst, '"')
	}
	if neg {
		dst = append(dst, '-')
	}
	for intStart < intEnd-1 && s[intStart] == '0' {
		intStart++
	}
	if intStart == intEnd {
		dst = append(dst, '0')
	} else {
		dst = append(dst, s[intStart:intEnd]...)
	}
	if fracEnd > fracStart {
		dst = append(dst, '.')
		dst = append(dst, s[fracStart:fracEnd]...)
	}
	dst = append(dst, s[expStart:]...)
	if quoted {
		dst = append(dst, '"')
	}
	return dst, nil
}

// special recognises NaN and infinity spellings (case-insensitively) and
// returns "NaN", "Infinity" or "".
func special(s string) string {
	switch {
	case s == "~":
		return "Infinity"
	case len(s) == 3 && lowerEq(s, "nan"):
		return "NaN"
	case len(s) == 3 && lowerEq(s, "inf"), len(s) == 8 && lowerEq(s, "infinity"):
		return "Infinity"
	}
	return ""
}

func lowerEq(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		if s[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// appendFloat writes the shortest representation that round-trips, in the
// same format as encoding/json; NaN and ±Inf become JSON strings.
func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	abs := math.Abs(f)
	fmtc := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			fmtc = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, fmtc, -1, bits)
	if fmtc == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// ---- times ----

func append2(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }

func appendYear(dst []byte, y int) []byte {
	if y < 0 {
		dst = append(dst, '-')
		y = -y
	}
	if y >= 10000 {
		return strconv.AppendInt(dst, int64(y), 10)
	}
	return append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
}

func appendDate(dst []byte, t time.Time) []byte {
	y, m, d := t.Date()
	dst = appendYear(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, int(m))
	dst = append(dst, '-')
	return append2(dst, d)
}

// appendDateTime writes t's own wall clock, whatever its location.
func appendDateTime(dst []byte, t time.Time) []byte {
	dst = appendDate(dst, t)
	h, mi, s := t.Clock()
	dst = append(dst, 'T')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	return append2(dst, s)
}

var pow10 = [...]int{1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1}

// appendFraction writes '.' and the first digits digits of ns (truncated);
// nothing when digits is 0.
func appendFraction(dst []byte, ns, digits int) []byte {
	if digits <= 0 {
		return dst
	}
	dst = append(dst, '.')
	for k := 1; k <= digits; k++ {
		dst = append(dst, byte('0'+ns/pow10[k]%10))
	}
	return dst
}

// appendTimestampTZ writes RFC 3339 with t's own offset ("Z" for zero). An
// offset RFC 3339 cannot express (seconds, or 24 hours and more) is
// converted to UTC so the instant stays exact.
func appendTimestampTZ(dst []byte, t time.Time, digits int) []byte {
	_, off := t.Zone()
	if off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		t = t.UTC()
		off = 0
	}
	dst = appendDateTime(dst, t)
	dst = appendFraction(dst, t.Nanosecond(), digits)
	if off == 0 {
		return append(dst, 'Z')
	}
	if off < 0 {
		dst = append(dst, '-')
		off = -off
	} else {
		dst = append(dst, '+')
	}
	dst = append2(dst, off/3600)
	dst = append(dst, ':')
	return append2(dst, off/60%60)
}

// ---- JSON ----

// appendRawJSON validates raw and embeds it. Text with line breaks between
// tokens is compacted (a line break would end the NDJSON record); text with
// invalid UTF-8 is decoded and re-encoded so it is repaired.
func appendRawJSON(dst []byte, raw []byte) ([]byte, error) {
	if !json.Valid(raw) {
		return dst, fmt.Errorf("invalid JSON %s", quoteShort(string(raw)))
	}
	if !utf8.Valid(raw) {
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return dst, fmt.Errorf("invalid JSON: %w", err)
		}
		return appendAny(dst, v, 0)
	}
	plain := true // no whitespace to strip, no U+2028/U+2029 (first byte 0xE2) to escape
	for _, b := range raw {
		if b == '\n' || b == '\r' || b == ' ' || b == '\t' || b == 0xE2 {
			plain = false
			break
		}
	}
	if plain {
		return append(dst, raw...), nil
	}
	// Strip whitespace outside strings and escape U+2028/U+2029 inside them
	// (as appendString does); raw is valid UTF-8 JSON.
	in, esc := false, false
	for i := 0; i < len(raw); i++ {
		b := raw[i]
		if in {
			if b == 0xE2 && i+2 < len(raw) && raw[i+1] == 0x80 && (raw[i+2] == 0xA8 || raw[i+2] == 0xA9) {
				dst = append(dst, '\\', 'u', '2', '0', '2', "89"[raw[i+2]-0xA8])
				i += 2
				continue
			}
			dst = append(dst, b)
			switch {
			case esc:
				esc = false
			case b == '\\':
				esc = true
			case b == '"':
				in = false
			}
			continue
		}
		switch b {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			in = true
		}
		dst = append(dst, b)
	}
	return dst, nil
}

const maxDepth = 1000

// appendAny encodes a decoded-JSON-like value: nil, bool, string, []byte
// (base64), json.Number, floats, integers, time.Time (RFC 3339), RawJSON,
// []any and map[string]any (keys sorted).
func appendAny(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, errors.New("value nested too deeply")
	}
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case string:
		return appendString(dst, v), nil
	case []byte:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v)
		return append(dst, '"'), nil
	case json.Number:
		return appendDecimal(dst, string(v), false)
	case float64:
		return appendFloat(dst, v, 64), nil
	case float32:
		return appendFloat(dst, float64(v), 32), nil
	case time.Time:
		dst = append(dst, '"')
		dst = appendTimestampTZ(dst, v, 9)
		return append(dst, '"'), nil
	case pipeline.RawJSON:
		return appendRawJSON(dst, v)
	case []any:
		dst = append(dst, '[')
		for i, x := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendAny(dst, x, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		dst = append(dst, '{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = appendAny(dst, v[k], depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	if out, ok := appendInteger(dst, v); ok {
		return out, nil
	}
	return dst, fmt.Errorf("unexpected Go type %T", v)
}
