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

// plan chooses the wire format and decoder of a column by type OID: binary
// for fixed-size types (no parsing), text for everything else (numeric keeps
// its exact digits, unknown types their text form). arr describes the
// elements when the column is an array (fieldArrays), else it is nil.
func plan(oid uint32, arr *arrayElem) (int16, decoder) {
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
	if arr != nil {
		return pgtype.TextFormatCode, func(a *alloc, b []byte) (any, error) { return newArrayValue(b, arr), nil }
	}
	// numeric, text, varchar, bpchar, uuid, interval, time, and any other type: its text.
	return pgtype.TextFormatCode, func(a *alloc, b []byte) (any, error) { return a.str(b), nil }
}

func errSize(typ string, b []byte) error {
	return fmt.Errorf("%s value of %d bytes", typ, len(b))
}
