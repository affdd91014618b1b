package postgres

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"time"
	"unsafe"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// cellKind says how the text of one COPY cell becomes a Batch value. The
// values are exactly those the native reader produces for the same column,
// so both readers encode to the same bytes (TestCopyMatchesNative).
type cellKind uint8

const (
	cellText        cellKind = iota // numeric, integers, text, uuid, interval, …: the text itself (string)
	cellFloat4                      // float32
	cellFloat8                      // float64
	cellBool                        // bool
	cellDate                        // time.Time, UTC
	cellTimestamp                   // time.Time, UTC wall clock
	cellTimestampTZ                 // time.Time, the instant in UTC
	cellBytea                       // []byte from \x hex
	cellJSON                        // pipeline.RawJSON
	cellArray                       // *arrayValue
)

// copyDecoder decodes rows of COPY text format (cells separated by tabs,
// rows ended by newlines, \N for NULL, backslash escapes) into values that
// point into the raw batch or into the decoder's scratch memory, reused for
// every row: decoding a row allocates nothing but arrays.
type copyDecoder struct {
	cols    []pipeline.Column
	kinds   []cellKind
	elems   []*arrayElem // the array columns' elements
	scratch []byte       // unescaped cells and bytea of the current row
	text    []string     // text cells of the current row, by column
	strTyp  unsafe.Pointer
	times   slab[time.Time]
	f64s    slab[float64]
	f32s    slab[float32]
	bytes   slab[[]byte]
	jsons   slab[pipeline.RawJSON]
}

func newCopyDecoder(cols []pipeline.Column, kinds []cellKind, elems []*arrayElem) *copyDecoder {
	return &copyDecoder{cols: cols, kinds: kinds, elems: elems}
}

// DecodeRow implements pipeline.RowDecoder.
func (d *copyDecoder) DecodeRow(raw []byte, row []any) ([]byte, error) {
	d.scratch = d.scratch[:0]
	d.times.reset()
	d.f64s.reset()
	d.f32s.reset()
	d.bytes.reset()
	d.jsons.reset()
	if len(row) != len(d.kinds) {
		return raw, fmt.Errorf("row has room for %d values, the table has %d columns", len(row), len(d.kinds))
	}
	// A raw newline only ends a row and a raw tab only ends a cell: COPY
	// escapes both inside values, so the row is found with IndexByte and
	// its cells by a word-at-a-time scan for tabs; backslash escapes are
	// looked for only when the row has a backslash at all.
	nl := bytes.IndexByte(raw, '\n')
	if nl < 0 {
		return raw, errors.New("row ends early (truncated COPY data)")
	}
	line := raw[:nl]
	escapes := bytes.IndexByte(line, '\\') >= 0
	if cap(d.text) < len(d.kinds) {
		d.text = make([]string, len(d.kinds))
		d.strTyp = typeWord[string]()
	}
	text := d.text[:len(d.kinds)]
	last := len(d.kinds) - 1
	pos := 0
	for j, kind := range d.kinds {
		k := pos
		for k+8 <= len(line) { // the first tab at or after pos, 8 bytes at a time
			y := binary.LittleEndian.Uint64(line[k:]) ^ 0x0909090909090909
			if m := (y - 0x0101010101010101) &^ y & 0x8080808080808080; m != 0 {
				k += bits.TrailingZeros64(m) >> 3 // the lowest flagged byte is exact
				goto found
			}
			k += 8
		}
		for k < len(line) && line[k] != '\t' {
			k++
		}
	found:
		var cell []byte
		if j < last {
			if k == len(line) {
				return raw, fmt.Errorf("column %s: row has %d cells, the table has %d columns", d.cols[j].Name, j+1, len(d.kinds))
			}
			cell, pos = line[pos:k], k+1
		} else {
			if k != len(line) {
				return raw, fmt.Errorf("row has more cells than the table's %d columns", len(d.kinds))
			}
			cell = line[pos:]
		}
		if escapes && bytes.IndexByte(cell, '\\') >= 0 {
			if len(cell) == 2 && cell[1] == 'N' {
				row[j] = nil
				continue
			}
			var err error
			if cell, err = d.unescape(cell); err != nil {
				return raw, fmt.Errorf("column %s: %w", d.cols[j].Name, err)
			}
		}
		if kind == cellText { // most cells: a string into the row's string slab
			if len(cell) == 0 {
				row[j] = ""
				continue
			}
			text[j] = unsafe.String(&cell[0], len(cell))
			e := (*eface)(unsafe.Pointer(&row[j]))
			e.typ, e.data = d.strTyp, unsafe.Pointer(&text[j])
			continue
		}
		v, err := d.value(j, cell)
		if err != nil {
			return raw, fmt.Errorf("column %s: %w", d.cols[j].Name, err)
		}
		row[j] = v
	}
	return raw[nl+1:], nil
}

// value converts the (unescaped) text of column j; DecodeRow handles
// cellText itself.
func (d *copyDecoder) value(j int, b []byte) (any, error) {
	switch d.kinds[j] {
	case cellFloat8, cellFloat4:
		f, err := d.parseFloat(j, b)
		if err != nil {
			return nil, err
		}
		if d.kinds[j] == cellFloat4 {
			return d.f32s.box(float32(f)), nil
		}
		return d.f64s.box(f), nil
	case cellBool:
		switch string(b) {
		case "t":
			return true, nil
		case "f":
			return false, nil
		}
		return nil, fmt.Errorf("bool %q", b)
	case cellDate, cellTimestamp, cellTimestampTZ:
		t, err := parseDateTime(b, d.kinds[j])
		if err != nil {
			return nil, err
		}
		return d.times.box(t), nil
	case cellBytea:
		if len(b) < 2 || b[0] != '\\' || b[1] != 'x' || len(b)%2 != 0 {
			return nil, fmt.Errorf("bytea is not in hex format")
		}
		n := len(d.scratch)
		for k := 2; k < len(b); k += 2 {
			hi, ok1 := unhex(b[k])
			lo, ok2 := unhex(b[k+1])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("bytea: bad hex digit")
			}
			d.scratch = append(d.scratch, hi<<4|lo)
		}
		return d.bytes.box(d.scratch[n:len(d.scratch):len(d.scratch)]), nil
	case cellJSON:
		return d.jsons.box(pipeline.RawJSON(b)), nil
	case cellArray:
		if d.elems[j] == nil {
			return nil, errors.New("array column without element description")
		}
		return newArrayValue(b, d.elems[j]), nil
	}
	return nil, fmt.Errorf("unknown cell kind %d", d.kinds[j])
}

func (d *copyDecoder) parseFloat(j int, b []byte) (float64, error) {
	bitSize := 64
	if d.kinds[j] == cellFloat4 {
		bitSize = 32
	}
	f, err := strconv.ParseFloat(bytesString(b), bitSize)
	if err != nil {
		return 0, fmt.Errorf("float%d %q: %w", bitSize/8, b, errors.Unwrap(err))
	}
	return f, nil
}

func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unescape undoes COPY text escapes into the scratch buffer: \b \f \n \r
// \t \v, \\, \NNN (octal), \xHH (hex) and \c for any other c.
func (d *copyDecoder) unescape(s []byte) ([]byte, error) {
	n := len(d.scratch)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			d.scratch = append(d.scratch, c)
			continue
		}
		i++
		if i == len(s) {
			return nil, errors.New("COPY text ends in a backslash")
		}
		switch c = s[i]; c {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'v':
			c = '\v'
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := c - '0'
			for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
				i++
				v = v<<3 | (s[i] - '0')
			}
			c = v
		case 'x':
			if i+1 < len(s) {
				if h, ok := unhex(s[i+1]); ok {
					i++
					v := h
					if i+1 < len(s) {
						if h, ok := unhex(s[i+1]); ok {
							i++
							v = v<<4 | h
						}
					}
					c = v
				}
			}
		}
		d.scratch = append(d.scratch, c)
	}
	return d.scratch[n:len(d.scratch):len(d.scratch)], nil
}

// parseDateTime parses PostgreSQL's ISO text output (DateStyle ISO,
// TimeZone UTC): "2024-01-02", "2024-01-02 03:04:05.123456",
// "2024-01-02 03:04:05+00", with more than four year digits, " BC", and
// "infinity" (refused like the native reader does).
func parseDateTime(b []byte, kind cellKind) (time.Time, error) {
	s := b
	if string(s) == "infinity" || string(s) == "-infinity" {
		return time.Time{}, errInfinity
	}
	bad := func() (time.Time, error) { return time.Time{}, fmt.Errorf("unexpected date/time text %q", b) }
	bc := false
	if n := len(s); n > 3 && string(s[n-3:]) == " BC" {
		bc, s = true, s[:n-3]
	}
	i := 0
	num := func(min, max int) (int, bool) {
		j := i
		v := 0
		for i < len(s) && i-j < max && s[i] >= '0' && s[i] <= '9' {
			v = v*10 + int(s[i]-'0')
			i++
		}
		return v, i-j >= min
	}
	expect := func(c byte) bool {
		if i < len(s) && s[i] == c {
			i++
			return true
		}
		return false
	}
	y, ok1 := num(4, 9)
	ok2 := expect('-')
	mo, ok3 := num(2, 2)
	ok4 := expect('-')
	dd, ok5 := num(2, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return bad()
	}
	if bc {
		y = 1 - y
	}
	var hh, mi, ss, ns int
	if kind != cellDate {
		var ok bool
		if !expect(' ') {
			return bad()
		}
		if hh, ok = num(2, 2); !ok || !expect(':') {
			return bad()
		}
		if mi, ok = num(2, 2); !ok || !expect(':') {
			return bad()
		}
		if ss, ok = num(2, 2); !ok {
			return bad()
		}
		if expect('.') {
			j := i
			f, ok := num(1, 9)
			if !ok {
				return bad()
			}
			for k := i - j; k < 9; k++ {
				f *= 10
			}
			ns = f
		}
	}
	off := 0
	if kind == cellTimestampTZ {
		sign := 1
		switch {
		case expect('+'):
		case expect('-'):
			sign = -1
		default:
			return bad()
		}
		oh, ok := num(2, 2)
		if !ok {
			return bad()
		}
		om, os := 0, 0
		if expect(':') {
			if om, ok = num(2, 2); !ok {
				return bad()
			}
			if expect(':') {
				if os, ok = num(2, 2); !ok {
					return bad()
				}
			}
		}
		off = sign * (oh*3600 + om*60 + os)
	}
	if i != len(s) || mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 24 || mi > 59 || ss > 60 {
		return bad()
	}
	t := time.Date(y, time.Month(mo), dd, hh, mi, ss, ns, time.UTC)
	if off != 0 {
		t = t.Add(-time.Duration(off) * time.Second)
	}
	return t, nil
}
