package stages

import (
	"strconv"
	"strings"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// DuckDBType is the DuckDB type to read column c of our NDJSON with
// read_json (docs/TYPES.md): the type that holds every value exactly.
// Decimals of declared precision p ≤ 38 are DECIMAL(p,s) (a negative scale
// widens the integer part); wider ones and those of unknown precision are
// VARCHAR (exact text when the export quotes decimals,
// --decimals-as-strings). TIMESTAMP with 7..9 fraction digits is
// TIMESTAMP_NS, TIMESTAMPTZ with 7..9 VARCHAR (DuckDB keeps microseconds
// with a zone). BYTES stay base64 text (from_base64 gives the BLOB).
func DuckDBType(c pipeline.Column) string {
	switch c.Type {
	case pipeline.TypeDecimal:
		return duckDecimal(c.Precision, c.Scale)
	case pipeline.TypeInt:
		if c.Precision > int64MaxDigits {
			return duckDecimal(c.Precision, 0)
		}
		return "BIGINT"
	case pipeline.TypeFloat:
		return "DOUBLE"
	case pipeline.TypeBool:
		return "BOOLEAN"
	case pipeline.TypeDate:
		return "DATE"
	case pipeline.TypeDateTime:
		return "TIMESTAMP"
	case pipeline.TypeTimestamp:
		if c.Scale > timeScale {
			return "TIMESTAMP_NS"
		}
		return "TIMESTAMP"
	case pipeline.TypeTimestampTZ:
		if c.Scale > timeScale {
			return "VARCHAR"
		}
		return "TIMESTAMPTZ"
	case pipeline.TypeJSON, pipeline.TypeUnknown:
		return "JSON"
	}
	return "VARCHAR" // STRING, INTERVAL, BYTES (base64)
}

func duckDecimal(p, s int) string {
	if p <= 0 {
		return "VARCHAR"
	}
	w, sc := max(p, s), s
	if s < 0 {
		w, sc = p-s, 0
	}
	if w > 38 {
		return "VARCHAR"
	}
	return "DECIMAL(" + strconv.Itoa(w) + "," + strconv.Itoa(sc) + ")"
}

// DuckDBColumns is the columns argument of DuckDB's read_json for cols:
// {'NAME': 'TYPE', …} with DuckDBType, names quoted as SQL strings.
func DuckDBColumns(cols []pipeline.Column) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("'" + strings.ReplaceAll(c.Name, "'", "''") + "': '" + DuckDBType(c) + "'")
	}
	b.WriteByte('}')
	return b.String()
}
