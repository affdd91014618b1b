package stages

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// input hands out typed values from fuzz bytes; past the end it yields zeros.
type input struct{ b []byte }

func (in *input) byte() byte {
	if len(in.b) == 0 {
		return 0
	}
	c := in.b[0]
	in.b = in.b[1:]
	return c
}

func (in *input) u64() uint64 {
	var a [8]byte
	n := copy(a[:], in.b)
	in.b = in.b[n:]
	return binary.LittleEndian.Uint64(a[:])
}

func (in *input) bytes() []byte {
	n := int(in.byte() % 24)
	n = min(n, len(in.b))
	b := in.b[:n:n]
	in.b = in.b[n:]
	return b
}

func (in *input) digits(max int) string {
	n := int(in.byte()) % (max + 1)
	var sb strings.Builder
	for range n {
		sb.WriteByte('0' + in.byte()%10)
	}
	return sb.String()
}

// decimal returns decimal text and the exact value it means (nil for the
// specials, with the JSON string expected instead).
func (in *input) decimal() (text string, val *big.Rat, special string) {
	switch k := in.byte(); {
	case k < 8:
		sp := []string{"NaN", "Infinity", "-Infinity", "Inf", "-Inf", "+Infinity", "~", "-~"}[k]
		want := map[byte]string{0: "NaN", 2: "-Infinity", 4: "-Infinity", 7: "-Infinity"}[k]
		if want == "" {
			want = "Infinity"
		}
		return sp, nil, want
	}
	sign := []string{"", "-", "+"}[in.byte()%3]
	ip, fp := in.digits(30), in.digits(12)
	if ip == "" && fp == "" {
		ip = "0"
	}
	text = sign + ip
	if fp != "" || in.byte()%4 == 0 {
		text += "." + fp
	}
	exp := ""
	if e := in.byte(); e%3 == 0 {
		exp = []string{"e", "E"}[e%2] + []string{"", "+", "-"}[in.byte()%3] + strconv.Itoa(int(in.byte()%200))
	}
	text += exp
	canon := sign
	if canon == "+" {
		canon = ""
	}
	canon += "0" + ip + "." + fp + "0" + exp
	val, ok := new(big.Rat).SetString(canon)
	if !ok {
		panic("bad reference decimal " + canon)
	}
	return text, val, ""
}

func (in *input) time() time.Time {
	// Years 1..9999, any nanosecond, offsets in whole minutes up to ±23:59
	// or with seconds (which RFC 3339 cannot show).
	sec := int64(in.u64()%uint64(315537897600)) - 62135596800 // 0001-01-01 .. 9999-12-31
	ns := int64(in.u64() % 1e9)
	off := int(int64(in.u64()%(2*86399)) - 86399)
	if in.byte()%2 == 0 {
		off -= off % 60
	}
	return time.Unix(sec, ns).In(time.FixedZone("", off))
}

// replaceInvalid replaces each byte of invalid UTF-8 by U+FFFD, as the
// encoder does.
func replaceInvalid(s string) string { return string([]rune(s)) }

var fuzzCols = []pipeline.Column{
	{Name: "S", Type: pipeline.TypeString},
	{Name: "SB", Type: pipeline.TypeString},
	{Name: "D", Type: pipeline.TypeDecimal},
	{Name: "I", Type: pipeline.TypeInt},
	{Name: "F", Type: pipeline.TypeFloat},
	{Name: "B", Type: pipeline.TypeBool},
	{Name: "DA", Type: pipeline.TypeDate},
	{Name: "DT", Type: pipeline.TypeDateTime},
	{Name: "TS", Type: pipeline.TypeTimestamp},
	{Name: "TZ", Type: pipeline.TypeTimestampTZ},
	{Name: "BY", Type: pipeline.TypeBytes},
	{Name: "J", Type: pipeline.TypeJSON},
	{Name: "IV", Type: pipeline.TypeInterval},
}

type expectation struct {
	col  pipeline.Column
	in   any
	dec  *big.Rat
	spec string
}

// FuzzEncode builds random rows, encodes them, decodes every line with
// encoding/json and compares each value with what went in.
func FuzzEncode(f *testing.F) {
	f.Add([]byte("hello\x00world\xff\xfe\u2028\"\\<>&"))
	f.Add([]byte{0x05, 0x01, 0x10, 0x20, 0x7f, 0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x0a, 0x0d, 0x09})
	f.Add(bytes.Repeat([]byte{0xff}, 200))
	f.Add(bytes.Repeat([]byte{0x00}, 200))
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz세금계산서\u2029"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &input{b: data}
		flags := in.byte()
		opts := NDJSONOptions{DecimalAsString: flags&1 != 0, OmitNulls: flags&2 != 0}
		cols := append([]pipeline.Column(nil), fuzzCols...)
		cols[0].Name = "S_" + string(in.bytes()) // odd bytes in a key, never another column's name
		cols[8].Scale = int(in.byte() % 10)
		cols[9].Scale = int(in.byte() % 10)
		e, err := NewEncoder(cols, opts)
		if err != nil {
			t.Fatal(err)
		}
		nrows := 1 + int(in.byte()%4)
		var want [][]expectation
		var rows [][]any
		for range nrows {
			row := make([]any, len(cols))
			exp := make([]expectation, len(cols))
			nulls := in.u64()
			for i, c := range cols {
				exp[i].col = c
				if nulls>>i&1 == 1 && nulls>>(i+16)&1 == 1 { // about one in four
					continue
				}
				var v any
				switch c.Type {
				case pipeline.TypeString, pipeline.TypeInterval:
					v = string(in.bytes())
					if c.Name == "SB" {
						v = in.bytes()
					}
				case pipeline.TypeDecimal:
					s, r, sp := in.decimal()
					v, exp[i].dec, exp[i].spec = s, r, sp
				case pipeline.TypeInt:
					v = int64(in.u64())
				case pipeline.TypeFloat:
					v = math.Float64frombits(in.u64())
					switch in.byte() % 8 {
					case 0:
						v = math.NaN()
					case 1:
						v = math.Inf(1)
					case 2:
						v = math.Inf(-1)
					case 3:
						v = float32(math.Float32frombits(uint32(in.u64())))
					}
				case pipeline.TypeBool:
					v = in.byte()%2 == 0
				case pipeline.TypeDate, pipeline.TypeDateTime, pipeline.TypeTimestamp, pipeline.TypeTimestampTZ:
					v = in.time()
				case pipeline.TypeBytes:
					v = in.bytes()
				case pipeline.TypeJSON:
					v = []any{string(in.bytes()), json.Number(strconv.Itoa(int(in.byte()))), nil, true}
				}
				row[i], exp[i].in = v, v
			}
			rows = append(rows, row)
			want = append(want, exp)
		}
		out, err := e.AppendRows(nil, rows)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(lines) != nrows || !strings.HasSuffix(string(out), "\n") {
			t.Fatalf("%d rows gave %d lines: %q", nrows, len(lines), out)
		}
		for r, line := range lines {
			d := json.NewDecoder(strings.NewReader(line))
			d.UseNumber()
			var got map[string]any
			if err := d.Decode(&got); err != nil {
				t.Fatalf("row %d: %v in %q", r, err, line)
			}
			present := 0
			for _, x := range want[r] {
				key := replaceInvalid(x.col.Name)
				g, ok := got[key]
				if !ok {
					if x.in != nil || !opts.OmitNulls {
						t.Fatalf("row %d: key %q missing in %s", r, key, line)
					}
					continue
				}
				present++
				checkValue(t, x, opts, g, line)
			}
			if present != len(got) {
				t.Fatalf("row %d: %d keys decoded, %d expected: %s", r, len(got), present, line)
			}
		}
	})
}

func checkValue(t *testing.T, x expectation, opts NDJSONOptions, g any, line string) {
	t.Helper()
	fail := func(want any) {
		t.Fatalf("column %s (%v): got %#v, want %#v (from %#v) in %s", x.col.Name, x.col.Type, g, want, x.in, line)
	}
	if x.in == nil {
		if g != nil {
			fail(nil)
		}
		return
	}
	switch c := x.col; c.Type {
	case pipeline.TypeString, pipeline.TypeInterval:
		var s string
		switch v := x.in.(type) {
		case string:
			s = v
		case []byte:
			s = string(v)
		}
		if g != replaceInvalid(s) {
			fail(replaceInvalid(s))
		}
	case pipeline.TypeDecimal:
		if x.spec != "" {
			if g != x.spec {
				fail(x.spec)
			}
			return
		}
		var text string
		switch v := g.(type) {
		case json.Number:
			if opts.DecimalAsString {
				fail("a string")
			}
			text = string(v)
		case string:
			if !opts.DecimalAsString {
				fail("a number")
			}
			text = v
		default:
			fail("a number")
		}
		r, ok := new(big.Rat).SetString(text)
		if !ok || r.Cmp(x.dec) != 0 {
			fail(x.dec.String())
		}
	case pipeline.TypeInt:
		if w := strconv.FormatInt(x.in.(int64), 10); g != json.Number(w) {
			fail(w)
		}
	case pipeline.TypeFloat:
		f, bits := 0.0, 64
		switch v := x.in.(type) {
		case float64:
			f = v
		case float32:
			f, bits = float64(v), 32
		}
		switch {
		case math.IsNaN(f):
			if g != "NaN" {
				fail("NaN")
			}
		case math.IsInf(f, 1):
			if g != "Infinity" {
				fail("Infinity")
			}
		case math.IsInf(f, -1):
			if g != "-Infinity" {
				fail("-Infinity")
			}
		default:
			n, ok := g.(json.Number)
			if !ok {
				fail(f)
			}
			p, err := strconv.ParseFloat(string(n), bits)
			if err != nil || math.Float64bits(p) != math.Float64bits(f) {
				fail(f)
			}
		}
	case pipeline.TypeBool:
		if g != x.in {
			fail(x.in)
		}
	case pipeline.TypeDate:
		if w := x.in.(time.Time).Format("2006-01-02"); g != w {
			fail(w)
		}
	case pipeline.TypeDateTime:
		if w := x.in.(time.Time).Format("2006-01-02T15:04:05"); g != w {
			fail(w)
		}
	case pipeline.TypeTimestamp:
		tm := x.in.(time.Time)
		scale := c.Scale
		if scale == 0 {
			scale = 6
		}
		w := tm.Format("2006-01-02T15:04:05") + "." + fmt.Sprintf("%09d", tm.Nanosecond())[:scale]
		if g != w {
			fail(w)
		}
	case pipeline.TypeTimestampTZ:
		tm := x.in.(time.Time)
		scale := c.Scale
		if scale == 0 {
			scale = 6
		}
		s, _ := g.(string)
		p, err := time.Parse(time.RFC3339Nano, s)
		trunc := tm.Add(-time.Duration(tm.Nanosecond() % int(math.Pow10(9-scale))))
		if err != nil || !p.Equal(trunc) {
			fail(trunc.Format(time.RFC3339Nano))
		}
		if _, off := tm.Zone(); off%60 == 0 {
			if _, poff := p.Zone(); poff != off {
				fail("offset " + strconv.Itoa(off))
			}
		}
		// Years are 1..9999: "YYYY-MM-DDTHH:MM:SS" then '.', scale digits, zone.
		if len(s) < 21+scale || s[19] != '.' || strings.ContainsAny(s[20:20+scale], ".Z+-") || !strings.ContainsAny(s[20+scale:21+scale], "Z+-") {
			fail(fmt.Sprintf("%d fraction digits", scale))
		}
	case pipeline.TypeBytes:
		b, err := base64.StdEncoding.DecodeString(g.(string))
		if err != nil || !bytes.Equal(b, x.in.([]byte)) {
			fail(x.in)
		}
	case pipeline.TypeJSON:
		in := x.in.([]any)
		w := []any{replaceInvalid(in[0].(string)), in[1], nil, true}
		gs, ok := g.([]any)
		if !ok || len(gs) != 4 || gs[0] != w[0] || gs[1] != w[1] || gs[2] != nil || gs[3] != true {
			fail(w)
		}
	}
}

// FuzzDecimal feeds arbitrary text to the decimal validator: it either
// rejects it or writes valid JSON with the same value.
func FuzzDecimal(f *testing.F) {
	for _, s := range []string{"-12.340", ".5", "-.5", "5.", "+5", "1E+125", "NaN", "-Infinity", "1e", "0x1", "--1", "1_000", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := appendDecimal(nil, s, false)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("%q gave invalid JSON %q", s, out)
		}
		if out[0] == '"' {
			return // NaN / infinity
		}
		// Same value: compare as exact rationals when the exponent is small.
		ref := strings.TrimPrefix(s, "+")
		neg := strings.HasPrefix(ref, "-")
		ref = strings.TrimPrefix(ref, "-")
		if strings.HasPrefix(ref, ".") {
			ref = "0" + ref
		}
		if i := strings.IndexAny(ref, "eE"); i > 0 && strings.HasSuffix(ref[:i], ".") || strings.HasSuffix(ref, ".") {
			ref = strings.Replace(ref, ".", ".0", 1)
		}
		if i := strings.IndexAny(ref, "eE"); i >= 0 && len(ref)-i > 5 {
			return // huge exponents: big.Rat would need a huge number
		}
		if neg {
			ref = "-" + ref
		}
		a, ok1 := new(big.Rat).SetString(ref)
		b, ok2 := new(big.Rat).SetString(string(out))
		if !ok1 || !ok2 || a.Cmp(b) != 0 {
			t.Fatalf("%q gave %q (reference %q)", s, out, ref)
		}
	})
}
