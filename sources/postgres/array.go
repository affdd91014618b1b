package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// arrayElem says how the elements of one array column are read and
// written: the element type's delimiter (pg_type.typdelim: ';' for box,
// ',' for every other built-in type), how the element's text becomes a
// Batch value (the COPY cell decoding of the element type), and the
// pipeline column a scalar of the element type would be, so that each
// element is written exactly like such a scalar (stages.AppendValue).
type arrayElem struct {
	delim byte
	kind  cellKind
	col   pipeline.Column
}

// newArrayElem describes the elements of an array whose element (base)
// type is oid with type modifier typmod. name is the element type's name
// as the connection's type map gives it (the name the scalar column gets
// from the driver; "" when the map does not know the type).
func newArrayElem(delim byte, oid uint32, typmod int32, name string) arrayElem {
	kind := cellKindOf(oid)
	if name == "" {
		name = strconv.FormatUint(uint64(oid), 10) // what pgx's driver reports for a type it does not know
	}
	ci := sqlsource.ColumnInfo{Name: "element", DatabaseTypeName: strings.ToUpper(name)}
	ci.Precision, ci.Scale, ci.HasPrecision = precisionScale(oid, typmod)
	return arrayElem{delim: delim, kind: kind, col: dialect{}.Column(ci)}
}

// precisionScale is what pgx's database/sql driver reports as DecimalSize
// for a column of type oid with modifier typmod (stdlib
// ColumnTypePrecisionScale), so an element gets the scale its scalar gets.
func precisionScale(oid uint32, typmod int32) (int64, int64, bool) {
	switch oid {
	case pgtype.NumericOID:
		if typmod == -1 {
			return 0, 0, false
		}
		mod := typmod - 4
		return int64((mod >> 16) & 0xffff), int64(mod & 0xffff), true
	case pgtype.TimestampOID, pgtype.TimestamptzOID, pgtype.TimeOID, pgtype.TimetzOID:
		if typmod == -1 {
			return 0, 6, true
		}
		return 0, int64(typmod), true
	case pgtype.IntervalOID:
		if typmod == -1 || typmod&0xffff == 0xffff {
			return 0, 6, true
		}
		return 0, int64(typmod & 0xffff), true
	}
	return 0, 0, false
}

// arrayTypesSQL finds, among the type OIDs $1 (domains resolved to their
// base type), the true arrays (format_type's rule: an element type, variable
// length, not int2vector/oidvector) and for each its element's delimiter,
// base type (domains resolved) and effective type modifier.
const arrayTypesSQL = `WITH RECURSIVE b(start, oid) AS (
  SELECT o, o FROM unnest($1::oid[]) o
  UNION ALL
  SELECT b.start, t.typbasetype FROM b JOIN pg_type t ON t.oid = b.oid WHERE t.typtype = 'd'
), arr AS (
  SELECT b.start, e.oid AS elem, e.typdelim AS delim
  FROM b JOIN pg_type a ON a.oid = b.oid AND a.typtype <> 'd' JOIN pg_type e ON e.oid = a.typelem
  WHERE a.typlen = -1 AND a.typstorage <> 'p'
), eb(start, oid, typmod) AS (
  SELECT start, elem, -1 FROM arr
  UNION ALL
  SELECT eb.start, t.typbasetype, CASE WHEN eb.typmod = -1 THEN t.typtypmod ELSE eb.typmod END
  FROM eb JOIN pg_type t ON t.oid = eb.oid WHERE t.typtype = 'd'
)
SELECT arr.start::int8::text, ascii(arr.delim::text)::text, eb.oid::int8::text, eb.typmod::text
FROM arr JOIN eb ON eb.start = arr.start JOIN pg_type t ON t.oid = eb.oid AND t.typtype <> 'd'`

// arrayType is one array found by arrayTypes.
type arrayType struct {
	delim      byte
	elem       uint32
	elemTypmod int32 // -1: none
}

// arrayTypes asks the catalog which of oids are arrays (see arrayTypesSQL).
func arrayTypes(ctx context.Context, pg *pgconn.PgConn, oids []uint32) (map[uint32]arrayType, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, o := range oids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(o), 10))
	}
	b.WriteByte('}')
	// The simple protocol (the OIDs are digits, inlined): the extended one
	// would replace the reader's unnamed prepared statement.
	rr := pg.Exec(ctx, strings.Replace(arrayTypesSQL, "$1", "'"+b.String()+"'", 1))
	if !rr.NextResult() {
		_, err := rr.ReadAll()
		return nil, fmt.Errorf("array types: no result: %v", err)
	}
	out, err := readArrayTypes(rr.ResultReader())
	if cerr := rr.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("array types: %w", cerr)
	}
	return out, err
}

func readArrayTypes(rr *pgconn.ResultReader) (map[uint32]arrayType, error) {
	out := map[uint32]arrayType{}
	for rr.NextRow() {
		v := rr.Values()
		var n [4]int64
		for i := range n {
			x, err := strconv.ParseInt(string(v[i]), 10, 64)
			if err != nil {
				rr.Close()
				return nil, fmt.Errorf("array types: %q: %w", v[i], err)
			}
			n[i] = x
		}
		if n[1] <= 0 || n[1] > 127 || n[0] < 0 || n[0] > math.MaxUint32 || n[2] < 0 || n[2] > math.MaxUint32 {
			rr.Close()
			return nil, fmt.Errorf("array types: unexpected row %q", v)
		}
		out[uint32(n[0])] = arrayType{delim: byte(n[1]), elem: uint32(n[2]), elemTypmod: int32(n[3])}
	}
	if _, err := rr.Close(); err != nil {
		return nil, fmt.Errorf("array types: %w", err)
	}
	return out, nil
}

// scalarOIDs are types that are surely not arrays: a table of only these
// needs no catalog query.
var scalarOIDs = map[uint32]bool{
	pgtype.Int2OID: true, pgtype.Int4OID: true, pgtype.Int8OID: true, pgtype.NumericOID: true,
	pgtype.Float4OID: true, pgtype.Float8OID: true, pgtype.BoolOID: true, pgtype.TextOID: true,
	pgtype.VarcharOID: true, pgtype.BPCharOID: true, pgtype.DateOID: true, pgtype.TimestampOID: true,
	pgtype.TimestamptzOID: true, pgtype.ByteaOID: true, pgtype.JSONOID: true, pgtype.JSONBOID: true,
	pgtype.UUIDOID: true, pgtype.IntervalOID: true, pgtype.TimeOID: true,
}

// fieldArrays describes the array columns among fields (nil entries for
// the others), asking the catalog (asked) only when a field's type may be
// an array. Asking replaces the connection's unnamed prepared statement.
func fieldArrays(ctx context.Context, pg *pgconn.PgConn, fields []pgconn.FieldDescription, m *pgtype.Map) (_ []*arrayElem, asked bool, _ error) {
	var oids []uint32
	for _, f := range fields {
		if !scalarOIDs[f.DataTypeOID] {
			oids = append(oids, f.DataTypeOID)
		}
	}
	out := make([]*arrayElem, len(fields))
	if len(oids) == 0 {
		return out, false, nil
	}
	ats, err := arrayTypes(ctx, pg, oids)
	if err != nil {
		return nil, true, err
	}
	for i, f := range fields {
		at, ok := ats[f.DataTypeOID]
		if !ok {
			continue
		}
		typmod := at.elemTypmod
		if f.TypeModifier != -1 { // an array column's modifier is its elements'
			typmod = f.TypeModifier
		}
		name := ""
		if m != nil {
			if t, ok := m.TypeForOID(at.elem); ok {
				name = t.Name
			}
		}
		e := newArrayElem(at.delim, at.elem, typmod, name)
		out[i] = &e
	}
	return out, true, nil
}

var typmodRE = regexp.MustCompile(`\((\d+)\)`)

// nameArrayElem describes array elements from names only (the
// database/sql reader, which has no type OIDs): elemName is pgx's name of
// the element type ("" when unknown), sourceType the column's declared type
// (format_type, for a timestamp's precision). box is the one built-in type
// whose delimiter is not ','.
func nameArrayElem(elemName, sourceType string) arrayElem {
	delim := byte(',')
	if strings.EqualFold(elemName, "box") {
		delim = ';'
	}
	var oid uint32
	typmod := int32(-1)
	if elemName != "" {
		if t, ok := pgtype.NewMap().TypeForName(strings.ToLower(elemName)); ok {
			oid = t.OID
		}
		if m := typmodRE.FindStringSubmatch(sourceType); m != nil && strings.HasPrefix(sourceType, "time") {
			if n, err := strconv.Atoi(m[1]); err == nil {
				typmod = int32(n)
			}
		}
	}
	e := newArrayElem(delim, oid, typmod, elemName)
	if oid == 0 {
		e.col = pipeline.Column{Name: "element", Type: pipeline.TypeString}
	}
	return e
}

// arrayValue is the Batch value of an array column: the array's text
// (owned) and how its elements are read. The encoder writes it as a JSON
// array with its own options (stages.JSONAppender): {1,2} → [1,2],
// {"a b",NULL} → ["a b",null], {{1,2},{3,4}} → [[1,2],[3,4]],
// [0:1]={1,2} → [1,2] (bounds dropped, as row_to_json does),
// {(1,1),(0,0);(3,3),(2,2)} (box, delimiter ';') → ["(1,1),(0,0)","(3,3),(2,2)"];
// each element written exactly as a column of the element type.
type arrayValue struct {
	text []byte
	elem *arrayElem
}

var _ stages.JSONAppender = (*arrayValue)(nil)

// newArrayValue copies text.
func newArrayValue(text []byte, e *arrayElem) *arrayValue {
	return &arrayValue{text: append(make([]byte, 0, len(text)), text...), elem: e}
}

// AppendJSON implements stages.JSONAppender.
func (a *arrayValue) AppendJSON(dst []byte, opts stages.NDJSONOptions) ([]byte, error) {
	s := a.text
	if len(s) > 0 && s[0] == '[' { // explicit bounds: [l:u]={…}
		i := 0
		for i < len(s) && s[i] != '=' {
			i++
		}
		if i == len(s) {
			return dst, fmt.Errorf("array: malformed bounds in %q", a.text)
		}
		s = s[i+1:]
	}
	p := &arrayParser{s: s, e: a.elem, opts: opts}
	out, err := p.parse(dst)
	if err != nil {
		return dst, fmt.Errorf("array: %w in %q", err, a.text)
	}
	if p.i != len(p.s) {
		return dst, fmt.Errorf("array: trailing text in %q", a.text)
	}
	return out, nil
}

type arrayParser struct {
	s    []byte
	i    int
	e    *arrayElem
	opts stages.NDJSONOptions
	el   []byte // the current quoted element, unescaped
}

func (p *arrayParser) parse(out []byte) ([]byte, error) {
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, errors.New("expected {")
	}
	p.i++
	out = append(out, '[')
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return append(out, ']'), nil
	}
	delim := p.e.delim
	for {
		if p.i >= len(p.s) {
			return nil, errors.New("unterminated array")
		}
		var err error
		switch p.s[p.i] {
		case '{':
			out, err = p.parse(out)
		case '"':
			var el []byte
			if el, err = p.quoted(); err == nil {
				out, err = p.elem(out, el)
			}
		default:
			j := p.i
			for j < len(p.s) && p.s[j] != delim && p.s[j] != '}' {
				j++
			}
			el := p.s[p.i:j]
			p.i = j
			if string(el) == "NULL" {
				out = append(out, "null"...)
			} else {
				out, err = p.elem(out, el)
			}
		}
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.s) {
			return nil, errors.New("unterminated array")
		}
		switch p.s[p.i] {
		case delim:
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
	el := p.el[:0]
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
			p.el = el
			return el, nil
		}
		el = append(el, c)
		p.i++
	}
	return nil, errors.New("unterminated quoted element")
}

// elem appends one element: its text decoded like a COPY cell of the
// element type, written like a column of that type.
func (p *arrayParser) elem(out, el []byte) ([]byte, error) {
	v, err := elemValue(p.e.kind, el)
	if err != nil {
		return nil, fmt.Errorf("element %q: %w", el, err)
	}
	return stages.AppendValue(out, p.e.col, v, p.opts)
}

// elemValue is the Batch value of an element's text: what the COPY reader
// makes of a cell of the element type (cellKind), owning its memory.
func elemValue(kind cellKind, b []byte) (any, error) {
	switch kind {
	case cellText:
		return string(b), nil
	case cellFloat4, cellFloat8:
		bitSize := 64
		if kind == cellFloat4 {
			bitSize = 32
		}
		f, err := strconv.ParseFloat(bytesString(b), bitSize)
		if err != nil {
			return nil, fmt.Errorf("float%d: %w", bitSize/8, errors.Unwrap(err))
		}
		if kind == cellFloat4 {
			return float32(f), nil
		}
		return f, nil
	case cellBool:
		switch string(b) {
		case "t":
			return true, nil
		case "f":
			return false, nil
		}
		return nil, errors.New("bool")
	case cellDate, cellTimestamp, cellTimestampTZ:
		return parseDateTime(b, kind)
	case cellBytea:
		if len(b) < 2 || b[0] != '\\' || b[1] != 'x' || len(b)%2 != 0 {
			return nil, errors.New("bytea is not in hex format")
		}
		out := make([]byte, (len(b)-2)/2)
		for k := 2; k < len(b); k += 2 {
			hi, ok1 := unhex(b[k])
			lo, ok2 := unhex(b[k+1])
			if !ok1 || !ok2 {
				return nil, errors.New("bytea: bad hex digit")
			}
			out[k/2-1] = hi<<4 | lo
		}
		return out, nil
	case cellJSON:
		return pipeline.RawJSON(append([]byte(nil), b...)), nil
	}
	return nil, fmt.Errorf("element of cell kind %d", kind)
}
