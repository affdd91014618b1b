package stages

// Raw JSON documents and nested Go values (arrays, maps) in the NDJSON encoder.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

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
