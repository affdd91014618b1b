package stages

import "unicode/utf8"

// The JSON string form of the NDJSON encoder (escaping rules: appendString).

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
