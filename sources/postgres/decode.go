package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// decoder turns one non-NULL raw column value into a Batch value. src is
// only valid during the call: decoders copy what they keep.
type decoder func(a *alloc, src []byte) (any, error)

// pgEpoch is 2000-01-01 00:00:00 UTC, the origin of binary dates and timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const pgEpochUnix = 946684800 // pgEpoch.Unix()

var errInfinity = errors.New("infinite date/timestamp has no exact representation (ora2gcs refuses to change it)")

// plan chooses the wire format and decoder of a column by type OID: binary
// for fixed-size types (no parsing), text for everything else (numeric keeps
// its exact digits, unknown types their text form).
func plan(oid uint32, m *pgtype.Map) (int16, decoder) {
	switch oid {
	case pgtype.Int2OID:
		return pgtype.BinaryFormatCode, func(a *alloc, b []byte) (any, error) {
			if len(b) != 2 {
				return nil, errSize("int2", b)
			}
			return a.ints.box(int64(int16(binary.BigEndian.Uint16(b)))), nil
		}
	case pgtype.Int4OID:
		return pgtype.BinaryFormatCode, func(a *alloc, b []byte) (any, error) {
			if len(b) != 4 {
				return nil, errSize("int4", b)
			}
			return a.ints.box(int64(int32(binary.BigEndian.Uint32(b)))), nil
		}
	case pgtype.Int8OID:
		return pgtype.BinaryFormatCode, func(a *alloc, b []byte) (any, error) {
			if len(b) != 8 {
				return nil, errSize("int8", b)
			}
			return a.ints.box(int64(binary.BigEndian.Uint64(b))), nil
		}
	case pgtype.Float4OID:
		return pgtype.BinaryFormatCode, func(a *alloc, b []byte) (any, error) {
			if len(b) != 4 {
				return nil, errSize("float4", b)
			}
			return a.f32s.box(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
		}
	case pgtype.Float8OID:
		return pgtype.BinaryFormatCode, func(a *alloc, b []byte) (any, error) {
			if len(b) != 8 {
				return nil, errSize("float8", b)
			}
			return a.f64s.box(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
		}
	case pgtype.BoolOID:
		return pgtype.BinaryFormatCode, func(a *alloc, b []byte) (any, error) {
			if len(b) != 1 {
				return nil, errSize("bool", b)
			}
			return b[0] != 0, nil
		}
	case pgtype.DateOID:
		return pgtype.BinaryFormatCode, func(a *alloc, b []byte) (any, error) {
			if len(b) != 4 {
				return nil, errSize("date", b)
			}
			d := int32(binary.BigEndian.Uint32(b))
			if d == math.MaxInt32 || d == math.MinInt32 {
				return nil, errInfinity
			}
			return a.times.box(pgEpoch.AddDate(0, 0, int(d))), nil
		}
	case pgtype.TimestampOID, pgtype.TimestamptzOID:
		// timestamp: wall clock in UTC location; timestamptz: the instant in UTC.
		return pgtype.BinaryFormatCode, func(a *alloc, b []byte) (any, error) {
			if len(b) != 8 {
				return nil, errSize("timestamp", b)
			}
			us := int64(binary.BigEndian.Uint64(b))
			if us == math.MaxInt64 || us == math.MinInt64 {
				return nil, errInfinity
			}
			sec, frac := us/1e6, us%1e6
			if frac < 0 {
				sec, frac = sec-1, frac+1e6
			}
			return a.times.box(time.Unix(sec+pgEpochUnix, frac*1000).UTC()), nil
		}
	case pgtype.ByteaOID:
		return pgtype.BinaryFormatCode, func(a *alloc, b []byte) (any, error) {
			return append(make([]byte, 0, len(b)), b...), nil
		}
	case pgtype.JSONOID, pgtype.JSONBOID:
		return pgtype.TextFormatCode, func(a *alloc, b []byte) (any, error) {
			return pipeline.RawJSON(append(make([]byte, 0, len(b)), b...)), nil
		}
	}
	if m != nil {
		if t, ok := m.TypeForOID(oid); ok {
			if ac, ok := t.Codec.(*pgtype.ArrayCodec); ok {
				elem := elemKindByName(ac.ElementType.Name)
				return pgtype.TextFormatCode, func(a *alloc, b []byte) (any, error) { return arrayTextToJSON(b, elem) }
			}
		}
	}
	// numeric, text, varchar, bpchar, uuid, interval, time, and any other type: its text.
	return pgtype.TextFormatCode, func(a *alloc, b []byte) (any, error) { return a.str(b), nil }
}

func errSize(typ string, b []byte) error {
	return fmt.Errorf("%s value of %d bytes", typ, len(b))
}

// elemKind says how an array element's text becomes JSON.
type elemKind int

const (
	elemString elemKind = iota // JSON string
	elemNumber                 // digits as a JSON number; NaN/Infinity as strings
	elemBool                   // t/f
	elemJSON                   // embedded
)

func elemKindByName(name string) elemKind {
	switch strings.ToLower(name) {
	case "int2", "int4", "int8", "numeric", "float4", "float8", "oid":
		return elemNumber
	case "bool":
		return elemBool
	case "json", "jsonb":
		return elemJSON
	}
	return elemString
}

// arrayTextToJSON converts a PostgreSQL array in text form ({1,2},
// {"a b",NULL}, {{1,2},{3,4}}, [0:1]={1,2}) to a JSON array, NULL as null.
func arrayTextToJSON(src []byte, kind elemKind) (any, error) {
	s := src
	if len(s) > 0 && s[0] == '[' { // explicit bounds: [l:u]={…}
		i := 0
		for i < len(s) && s[i] != '=' {
			i++
		}
		if i == len(s) {
			return nil, fmt.Errorf("array: malformed bounds in %q", src)
		}
		s = s[i+1:]
	}
	out := make([]byte, 0, len(s)+8)
	p := &arrayParser{s: s}
	out, err := p.parse(out, kind)
	if err != nil {
		return nil, fmt.Errorf("array: %w in %q", err, src)
	}
	if p.i != len(p.s) {
		return nil, fmt.Errorf("array: trailing text in %q", src)
	}
	return pipeline.RawJSON(out), nil
}

type arrayParser struct {
	s []byte
	i int
}

func (p *arrayParser) parse(out []byte, kind elemKind) ([]byte, error) {
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, errors.New("expected {")
	}
	p.i++
	out = append(out, '[')
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return append(out, ']'), nil
	}
	for {
		if p.i >= len(p.s) {
			return nil, errors.New("unterminated array")
		}
		var err error
		switch p.s[p.i] {
		case '{':
			out, err = p.parse(out, kind)
		case '"':
			var el []byte
			el, err = p.quoted()
			if err == nil {
				out = appendElem(out, el, kind)
			}
		default:
			j := p.i
			for j < len(p.s) && p.s[j] != ',' && p.s[j] != '}' {
				j++
			}
			el := p.s[p.i:j]
			p.i = j
			if string(el) == "NULL" {
				out = append(out, "null"...)
			} else {
				out = appendElem(out, el, kind)
			}
		}
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.s) {
			return nil, errors.New("unterminated array")
		}
		switch p.s[p.i] {
		case ',':
			out = append(out, ',')
			p.i++
		case '}':
			p.i++
			return append(out, ']'), nil
		default:
			return nil, fmt.Errorf("unexpected %q", p.s[p.i])
		}
	}
}

// quoted reads a double-quoted element, undoing backslash escapes.
func (p *arrayParser) quoted() ([]byte, error) {
	p.i++
	var el []byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch c {
		case '\\':
			if p.i+1 >= len(p.s) {
				return nil, errors.New("dangling backslash")
			}
			el = append(el, p.s[p.i+1])
			p.i += 2
			continue
		case '"':
			p.i++
			return el, nil
		}
		el = append(el, c)
		p.i++
	}
	return nil, errors.New("unterminated quoted element")
}

func appendElem(out, el []byte, kind elemKind) []byte {
	switch kind {
	case elemNumber:
		switch string(el) {
		case "NaN", "Infinity", "-Infinity":
			return appendJSONString(out, el)
		}
		return append(out, el...)
	case elemBool:
		if string(el) == "t" {
			return append(out, "true"...)
		}
		return append(out, "false"...)
	case elemJSON:
		return append(out, el...)
	}
	return appendJSONString(out, el)
}

// appendJSONString appends s as a JSON string with the encoder's own
// escaping (stages.AppendString), so array elements are escaped exactly as
// string columns are.
func appendJSONString(out, s []byte) []byte {
	return stages.AppendString(out, unsafe.String(unsafe.SliceData(s), len(s)))
}
