package stages

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
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
