package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// decoder turns one non-NULL raw column value into a Batch value. src is
// only valid during the call: decoders copy what they keep.
type decoder func(a *alloc, src []byte) (any, error)

// pgEpoch is 2000-01-01 00:00:00 UTC, the origin of binary dates and timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const pgEpochUnix = 946684800 // pgEpoch.Unix()

var errInfinity = errors.New("infinite date/timestamp has no exact representation (ora2gcs refuses to change it)")

// pgType is how both readers read one built-in type, so that the two
// cannot drift apart: the rows reader (native.go) asks for format and
// decodes with dec, the COPY reader (copy.go, copydecode.go) turns the text
// cell into the value cell names. Both give the same value for the same
// column (integers: int64 from binary, their digits from COPY; the encoder
// writes the same JSON for both), which TestCopyMatchesNative and
// TestEveryBuiltinArrayType check against PostgreSQL's own row_to_json.
// A type not listed (numeric, text, varchar, bpchar, uuid, interval, time,
// and any other) is read as its text by both: numeric keeps its exact
// digits, unknown types their text form.
type pgType struct {
	format int16    // the rows reader's wire format
	dec    decoder  // the rows reader's decoder
	cell   cellKind // the COPY reader's reading of the text cell
}

// pgTypes is the one type table of the PostgreSQL source: binary for
// fixed-size types (no parsing), text for JSON (kept as sent).
var pgTypes = map[uint32]pgType{
	pgtype.Int2OID:        {pgtype.BinaryFormatCode, decodeInt2, cellText},
	pgtype.Int4OID:        {pgtype.BinaryFormatCode, decodeInt4, cellText},
	pgtype.Int8OID:        {pgtype.BinaryFormatCode, decodeInt8, cellText},
	pgtype.Float4OID:      {pgtype.BinaryFormatCode, decodeFloat4, cellFloat4},
	pgtype.Float8OID:      {pgtype.BinaryFormatCode, decodeFloat8, cellFloat8},
	pgtype.BoolOID:        {pgtype.BinaryFormatCode, decodeBool, cellBool},
	pgtype.DateOID:        {pgtype.BinaryFormatCode, decodeDate, cellDate},
	pgtype.TimestampOID:   {pgtype.BinaryFormatCode, decodeTimestamp, cellTimestamp},   // wall clock in UTC location
	pgtype.TimestamptzOID: {pgtype.BinaryFormatCode, decodeTimestamp, cellTimestampTZ}, // the instant in UTC
	pgtype.ByteaOID:       {pgtype.BinaryFormatCode, decodeBytea, cellBytea},
	pgtype.JSONOID:        {pgtype.TextFormatCode, decodeJSON, cellJSON},
	pgtype.JSONBOID:       {pgtype.TextFormatCode, decodeJSON, cellJSON},
}

// plan chooses the rows reader's wire format and decoder of a column by
// type OID (pgTypes). arr describes the elements when the column is an
// array (fieldArrays), else it is nil.
func plan(oid uint32, arr *arrayElem) (int16, decoder) {
	if t, ok := pgTypes[oid]; ok {
		return t.format, t.dec
	}
	if arr != nil {
		return pgtype.TextFormatCode, func(a *alloc, b []byte) (any, error) { return newArrayValue(b, arr), nil }
	}
	return pgtype.TextFormatCode, decodeText
}

// cellKindOf is the COPY reader's reading of a type (pgTypes). Arrays are
// found by fieldArrays (cellArray), not here.
func cellKindOf(oid uint32) cellKind {
	if t, ok := pgTypes[oid]; ok {
		return t.cell
	}
	return cellText
}

func decodeInt2(a *alloc, b []byte) (any, error) {
	if len(b) != 2 {
		return nil, errSize("int2", b)
	}
	return a.ints.box(int64(int16(binary.BigEndian.Uint16(b)))), nil
}

func decodeInt4(a *alloc, b []byte) (any, error) {
	if len(b) != 4 {
		return nil, errSize("int4", b)
	}
	return a.ints.box(int64(int32(binary.BigEndian.Uint32(b)))), nil
}

func decodeInt8(a *alloc, b []byte) (any, error) {
	if len(b) != 8 {
		return nil, errSize("int8", b)
	}
	return a.ints.box(int64(binary.BigEndian.Uint64(b))), nil
}

func decodeFloat4(a *alloc, b []byte) (any, error) {
	if len(b) != 4 {
		return nil, errSize("float4", b)
	}
	return a.f32s.box(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
}

func decodeFloat8(a *alloc, b []byte) (any, error) {
	if len(b) != 8 {
		return nil, errSize("float8", b)
	}
	return a.f64s.box(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
}

func decodeBool(a *alloc, b []byte) (any, error) {
	if len(b) != 1 {
		return nil, errSize("bool", b)
	}
	return b[0] != 0, nil
}

func decodeDate(a *alloc, b []byte) (any, error) {
	if len(b) != 4 {
		return nil, errSize("date", b)
	}
	d := int32(binary.BigEndian.Uint32(b))
	if d == math.MaxInt32 || d == math.MinInt32 {
		return nil, errInfinity
	}
	return a.times.box(pgEpoch.AddDate(0, 0, int(d))), nil
}

// decodeTimestamp reads timestamp (the wall clock, in the UTC location) and
// timestamptz (the instant, in UTC): both are microseconds since pgEpoch.
func decodeTimestamp(a *alloc, b []byte) (any, error) {
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

func decodeBytea(a *alloc, b []byte) (any, error) {
	return append(make([]byte, 0, len(b)), b...), nil
}

func decodeJSON(a *alloc, b []byte) (any, error) {
	return pipeline.RawJSON(append(make([]byte, 0, len(b)), b...)), nil
}

func decodeText(a *alloc, b []byte) (any, error) { return a.str(b), nil }

func errSize(typ string, b []byte) error {
	return fmt.Errorf("%s value of %d bytes", typ, len(b))
}
