package stages

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// The JSON number forms of the NDJSON encoder: integers, exact decimals as
// the database gave their digits, floats in the shortest exact form.

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
