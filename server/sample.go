package server

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// encodeSample renders rows as a JSON array of objects whose keys are the
// column names in column order, each value written by its ColumnType as
// pipeline/types.go documents: decimals as their exact digits (never through
// float64), dates and timestamps as wall-clock text, bytes as base64. It is
// the one place to switch to the project's NDJSON encoder.
func encodeSample(cols []pipeline.Column, rows [][]any) ([]byte, error) {
	keys := make([][]byte, len(cols))
	for j, c := range cols {
		k, err := json.Marshal(c.Name)
		if err != nil {
			return nil, err
		}
		keys[j] = append(k, ':')
	}
	buf := make([]byte, 0, 256*len(rows)+2)
	buf = append(buf, '[')
	for i, row := range rows {
		if len(row) != len(cols) {
			return nil, fmt.Errorf("row %d has %d values for %d columns", i, len(row), len(cols))
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '{')
		for j, v := range row {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, keys[j]...)
			var err error
			if buf, err = appendValue(buf, cols[j], v); err != nil {
				return nil, fmt.Errorf("row %d column %s: %w", i, cols[j].Name, err)
			}
		}
		buf = append(buf, '}')
	}
	return append(buf, ']'), nil
}

func appendValue(dst []byte, col pipeline.Column, v any) ([]byte, error) {
	if v == nil {
		return append(dst, "null"...), nil
	}
	switch col.Type {
	case pipeline.TypeString, pipeline.TypeInterval:
		switch x := v.(type) {
		case string:
			return appendString(dst, x), nil
		case []byte:
			return appendString(dst, string(x)), nil
		}
	case pipeline.TypeDecimal, pipeline.TypeInt:
		switch x := v.(type) {
		case string:
			return appendNumberText(dst, x), nil
		case []byte:
			return appendNumberText(dst, string(x)), nil
		case json.Number:
			return appendNumberText(dst, string(x)), nil
		}
		if n, ok := appendInteger(dst, v); ok {
			return n, nil
		}
	case pipeline.TypeFloat:
		switch x := v.(type) {
		case float64:
			return appendFloat(dst, x, 64), nil
		case float32:
			return appendFloat(dst, float64(x), 32), nil
		}
		if n, ok := appendInteger(dst, v); ok {
			return n, nil
		}
	case pipeline.TypeBool:
		if b, ok := v.(bool); ok {
			return strconv.AppendBool(dst, b), nil
		}
	case pipeline.TypeDate, pipeline.TypeDateTime, pipeline.TypeTimestamp, pipeline.TypeTimestampTZ:
		if t, ok := v.(time.Time); ok {
			return appendString(dst, formatTime(col, t)), nil
		}
		if s, ok := v.(string); ok {
			return appendString(dst, s), nil
		}
	case pipeline.TypeBytes:
		if b, ok := v.([]byte); ok {
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, b)
			return append(dst, '"'), nil
		}
	case pipeline.TypeJSON:
		switch x := v.(type) {
		case pipeline.RawJSON:
			return appendJSONText(dst, []byte(x)), nil
		case json.RawMessage:
			return appendJSONText(dst, []byte(x)), nil
		case []byte:
			return appendJSONText(dst, x), nil
		case string:
			return appendJSONText(dst, []byte(x)), nil
		}
	}
	// A Go type the column type does not list: let encoding/json render it,
	// except floats, which must not masquerade as exact numbers.
	switch x := v.(type) {
	case float64:
		return appendFloat(dst, x, 64), nil
	case float32:
		return appendFloat(dst, float64(x), 32), nil
	case string:
		return appendString(dst, x), nil
	case time.Time:
		return appendString(dst, x.Format(time.RFC3339Nano)), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

func appendString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // invalid bytes become U+FFFD
	}
	b, _ := json.Marshal(s) // strings always marshal
	return append(dst, b...)
}

// appendNumberText writes exact digits as a JSON number when they are one,
// else as a JSON string ("NaN", "Infinity", or text a database spells
// differently, like ".5").
func appendNumberText(dst []byte, s string) []byte {
	if isJSONNumber(s) {
		return append(dst, s...)
	}
	return appendString(dst, s)
}

// isJSONNumber reports whether s is a number in JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	if s[i] == '0' {
		i++
	} else if s[i] >= '1' && s[i] <= '9' {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

func appendInteger(dst []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int64:
		return strconv.AppendInt(dst, x, 10), true
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint64:
		return strconv.AppendUint(dst, x, 10), true
	}
	return dst, false
}

func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendJSONText embeds valid JSON text; anything else becomes a string.
func appendJSONText(dst []byte, b []byte) []byte {
	if json.Valid(b) {
		return append(dst, b...)
	}
	return appendString(dst, string(b))
}

func formatTime(col pipeline.Column, t time.Time) string {
	switch col.Type {
	case pipeline.TypeDate:
		return t.Format("2006-01-02")
	case pipeline.TypeDateTime:
		return t.Format("2006-01-02T15:04:05")
	}
	digits := col.Scale
	if digits <= 0 || digits > 9 {
		digits = 6
	}
	layout := "2006-01-02T15:04:05." + "000000000"[:digits]
	if col.Type == pipeline.TypeTimestampTZ {
		layout += "Z07:00"
	}
	return t.Format(layout)
}
