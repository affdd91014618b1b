package stages

import (
	"strconv"
	"time"
)

// The date and time forms of the NDJSON encoder (BigQuery-loadable text).

func append2(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }

func appendYear(dst []byte, y int) []byte {
	if y < 0 {
		dst = append(dst, '-')
		y = -y
	}
	if y >= 10000 {
		return strconv.AppendInt(dst, int64(y), 10)
	}
	return append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
}

func appendDate(dst []byte, t time.Time) []byte {
	y, m, d := t.Date()
	dst = appendYear(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, int(m))
	dst = append(dst, '-')
	return append2(dst, d)
}

// appendDateTime writes t's own wall clock, whatever its location.
func appendDateTime(dst []byte, t time.Time) []byte {
	dst = appendDate(dst, t)
	h, mi, s := t.Clock()
	dst = append(dst, 'T')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	return append2(dst, s)
}

var pow10 = [...]int{1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1}

// appendFraction writes '.' and the first digits digits of ns (truncated);
// nothing when digits is 0.
func appendFraction(dst []byte, ns, digits int) []byte {
	if digits <= 0 {
		return dst
	}
	dst = append(dst, '.')
	for k := 1; k <= digits; k++ {
		dst = append(dst, byte('0'+ns/pow10[k]%10))
	}
	return dst
}

// appendTimestampTZ writes RFC 3339 with t's own offset ("Z" for zero). An
// offset RFC 3339 cannot express (seconds, or 24 hours and more) is
// converted to UTC so the instant stays exact.
func appendTimestampTZ(dst []byte, t time.Time, digits int) []byte {
	_, off := t.Zone()
	if off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		t = t.UTC()
		off = 0
	}
	dst = appendDateTime(dst, t)
	dst = appendFraction(dst, t.Nanosecond(), digits)
	if off == 0 {
		return append(dst, 'Z')
	}
	if off < 0 {
		dst = append(dst, '-')
		off = -off
	} else {
		dst = append(dst, '+')
	}
	dst = append2(dst, off/3600)
	dst = append(dst, ':')
	return append2(dst, off/60%60)
}
