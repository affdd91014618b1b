package stages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// encodeOne encodes a one-column row and returns the JSON value written for
// column "C" (the text between `{"C":` and "}\n").
func encodeOne(t *testing.T, col pipeline.Column, opts NDJSONOptions, v any) (string, error) {
	t.Helper()
	col.Name = "C"
	e, err := NewEncoder([]pipeline.Column{col}, opts)
	if err != nil {
		t.Fatalf("NewEncoder: %v", err)
	}
	out, err := e.AppendRow([]byte("prefix"), []any{v})
	if err != nil {
		if string(out) != "prefix" {
			t.Errorf("on error dst = %q, want it unchanged", out)
		}
		return "", err
	}
	s := strings.TrimPrefix(string(out), "prefix")
	if !strings.HasPrefix(s, `{"C":`) || !strings.HasSuffix(s, "}\n") {
		t.Fatalf("line %q is not {\"C\":…}\\n", s)
	}
	if !json.Valid([]byte(s)) {
		t.Errorf("line %q is not valid JSON", s)
	}
	if strings.Count(s, "\n") != 1 {
		t.Errorf("line %q has more than one line break", s)
	}
	return s[len(`{"C":`) : len(s)-2], nil
}

type valueCase struct {
	name string
	col  pipeline.Column
	opts NDJSONOptions
	in   any
	want string // exact JSON text; "" with wantErr
	err  string // substring of the error; "" means success
}

func runValueCases(t *testing.T, cases []valueCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := encodeOne(t, tc.col, tc.opts, tc.in)
			if tc.err != "" {
				if err == nil {
					t.Fatalf("got %s, want error containing %q", got, tc.err)
				}
				if !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %q does not contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func col(t pipeline.ColumnType) pipeline.Column { return pipeline.Column{Type: t} }

func TestEncodeDecimal(t *testing.T) {
	dec := col(pipeline.TypeDecimal)
	asStr := NDJSONOptions{DecimalAsString: true}
	runValueCases(t, []valueCase{
		{"plain", dec, NDJSONOptions{}, "-12.340", "-12.340", ""},
		{"bytes", dec, NDJSONOptions{}, []byte("42.5"), "42.5", ""},
		{"json.Number", dec, NDJSONOptions{}, json.Number("7"), "7", ""},
		{"zero", dec, NDJSONOptions{}, "0", "0", ""},
		{"leading dot", dec, NDJSONOptions{}, ".5", "0.5", ""},
		{"negative leading dot", dec, NDJSONOptions{}, "-.5", "-0.5", ""},
		{"trailing dot", dec, NDJSONOptions{}, "5.", "5", ""},
		{"plus sign", dec, NDJSONOptions{}, "+5", "5", ""},
		{"leading zeros", dec, NDJSONOptions{}, "007.10", "7.10", ""},
		{"exponent", dec, NDJSONOptions{}, "1E+125", "1E+125", ""},
		{"negative exponent", dec, NDJSONOptions{}, "-1.5e-130", "-1.5e-130", ""},
		{"long digits", dec, NDJSONOptions{}, "12345678901234567890123456789012345678.123", "12345678901234567890123456789012345678.123", ""},
		{"NaN", dec, NDJSONOptions{}, "NaN", `"NaN"`, ""},
		{"Infinity", dec, NDJSONOptions{}, "Infinity", `"Infinity"`, ""},
		{"-Infinity", dec, NDJSONOptions{}, "-Infinity", `"-Infinity"`, ""},
		{"Inf", dec, NDJSONOptions{}, "Inf", `"Infinity"`, ""},
		{"-inf", dec, NDJSONOptions{}, "-inf", `"-Infinity"`, ""},
		{"oracle tilde", dec, NDJSONOptions{}, "-~", `"-Infinity"`, ""},
		{"int", dec, NDJSONOptions{}, int64(-9223372036854775808), "-9223372036854775808", ""},
		{"uint64", dec, NDJSONOptions{}, uint64(18446744073709551615), "18446744073709551615", ""},
		{"stringer", dec, NDJSONOptions{}, stringerNum("3.25"), "3.25", ""},
		{"as string", dec, asStr, "-.5", `"-0.5"`, ""},
		{"as string int", dec, asStr, 12, `"12"`, ""},
		{"as string NaN", dec, asStr, "nan", `"NaN"`, ""},
		{"empty", dec, NDJSONOptions{}, "", "", "invalid decimal"},
		{"dot only", dec, NDJSONOptions{}, ".", "", "invalid decimal"},
		{"sign only", dec, NDJSONOptions{}, "-", "", "invalid decimal"},
		{"letters", dec, NDJSONOptions{}, "12a", "", "invalid decimal"},
		{"hex", dec, NDJSONOptions{}, "0x10", "", "invalid decimal"},
		{"empty exponent", dec, NDJSONOptions{}, "1e", "", "invalid decimal"},
		{"exponent sign only", dec, NDJSONOptions{}, "1e+", "", "invalid decimal"},
		{"two dots", dec, NDJSONOptions{}, "1.2.3", "", "invalid decimal"},
		{"space", dec, NDJSONOptions{}, " 1", "", "invalid decimal"},
		{"comma", dec, NDJSONOptions{}, "1,5", "", "invalid decimal"},
		{"signed NaN", dec, NDJSONOptions{}, "-NaN", "", "invalid decimal"},
		{"json injection", dec, NDJSONOptions{}, `1,"x":2`, "", "invalid decimal"},
		{"float64 refused", dec, NDJSONOptions{}, 1.5, "", "unexpected Go type float64"},
	})
}

type stringerNum string

func (s stringerNum) String() string { return string(s) }

func TestEncodeInt(t *testing.T) {
	c := col(pipeline.TypeInt)
	runValueCases(t, []valueCase{
		{"int", c, NDJSONOptions{}, -5, "-5", ""},
		{"int8", c, NDJSONOptions{}, int8(-128), "-128", ""},
		{"int16", c, NDJSONOptions{}, int16(32767), "32767", ""},
		{"int32", c, NDJSONOptions{}, int32(-2147483648), "-2147483648", ""},
		{"int64", c, NDJSONOptions{}, int64(math.MaxInt64), "9223372036854775807", ""},
		{"uint", c, NDJSONOptions{}, uint(7), "7", ""},
		{"uint8", c, NDJSONOptions{}, uint8(255), "255", ""},
		{"uint16", c, NDJSONOptions{}, uint16(65535), "65535", ""},
		{"uint32", c, NDJSONOptions{}, uint32(4294967295), "4294967295", ""},
		{"uint64", c, NDJSONOptions{}, uint64(math.MaxUint64), "18446744073709551615", ""},
		{"uintptr", c, NDJSONOptions{}, uintptr(9), "9", ""},
		{"digits", c, NDJSONOptions{}, "123456789012345678901234567890", "123456789012345678901234567890", ""},
		{"digits bytes", c, NDJSONOptions{}, []byte("-17"), "-17", ""},
		{"digits plus", c, NDJSONOptions{}, "+17", "17", ""},
		{"digits leading zeros", c, NDJSONOptions{}, "-0007", "-7", ""},
		{"digits zero", c, NDJSONOptions{}, "000", "0", ""},
		{"json.Number", c, NDJSONOptions{}, json.Number("12"), "12", ""},
		{"empty", c, NDJSONOptions{}, "", "", "invalid integer"},
		{"sign only", c, NDJSONOptions{}, "-", "", "invalid integer"},
		{"fraction", c, NDJSONOptions{}, "1.5", "", "invalid integer"},
		{"letters", c, NDJSONOptions{}, "12x", "", "invalid integer"},
		{"float refused", c, NDJSONOptions{}, 1.0, "", "unexpected Go type float64"},
		{"bool refused", c, NDJSONOptions{}, true, "", `column "C" (INT): unexpected Go type bool`},
	})
}

func TestEncodeFloat(t *testing.T) {
	c := col(pipeline.TypeFloat)
	runValueCases(t, []valueCase{
		{"simple", c, NDJSONOptions{}, 1.5, "1.5", ""},
		{"integral", c, NDJSONOptions{}, 100.0, "100", ""},
		{"shortest", c, NDJSONOptions{}, 0.1, "0.1", ""},
		{"negative zero", c, NDJSONOptions{}, math.Copysign(0, -1), "-0", ""},
		{"tiny", c, NDJSONOptions{}, 1e-7, "1e-7", ""},
		{"huge", c, NDJSONOptions{}, 1e21, "1e+21", ""},
		{"below huge", c, NDJSONOptions{}, 1e20, "100000000000000000000", ""},
		{"max", c, NDJSONOptions{}, math.MaxFloat64, "1.7976931348623157e+308", ""},
		{"smallest", c, NDJSONOptions{}, math.SmallestNonzeroFloat64, "5e-324", ""},
		{"float32", c, NDJSONOptions{}, float32(0.1), "0.1", ""},
		{"float32 tiny", c, NDJSONOptions{}, float32(1e-7), "1e-7", ""},
		{"NaN", c, NDJSONOptions{}, math.NaN(), `"NaN"`, ""},
		{"+Inf", c, NDJSONOptions{}, math.Inf(1), `"Infinity"`, ""},
		{"-Inf", c, NDJSONOptions{}, math.Inf(-1), `"-Infinity"`, ""},
		{"float32 NaN", c, NDJSONOptions{}, float32(math.NaN()), `"NaN"`, ""},
		{"string refused", c, NDJSONOptions{}, "1.5", "", "unexpected Go type string"},
	})
}

func TestEncodeTimes(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	nst := time.FixedZone("NST", -(3*3600 + 30*60))
	lmt := time.FixedZone("LMT", 9*3600+18*60+59) // seconds in the offset
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 123456789, kst)
	ts := func(scale int) pipeline.Column { return pipeline.Column{Type: pipeline.TypeTimestamp, Scale: scale} }
	tz := func(scale int) pipeline.Column { return pipeline.Column{Type: pipeline.TypeTimestampTZ, Scale: scale} }
	runValueCases(t, []valueCase{
		{"date", col(pipeline.TypeDate), NDJSONOptions{}, t0, `"2024-01-02"`, ""},
		{"date year 1", col(pipeline.TypeDate), NDJSONOptions{}, time.Date(1, 12, 31, 0, 0, 0, 0, time.UTC), `"0001-12-31"`, ""},
		{"datetime wall clock, no zone conversion", col(pipeline.TypeDateTime), NDJSONOptions{}, t0, `"2024-01-02T03:04:05"`, ""},
		{"datetime negative offset", col(pipeline.TypeDateTime), NDJSONOptions{}, time.Date(1999, 12, 31, 23, 59, 59, 999999999, nst), `"1999-12-31T23:59:59"`, ""},
		{"datetime year 9999", col(pipeline.TypeDateTime), NDJSONOptions{}, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), `"9999-12-31T23:59:59"`, ""},
		{"timestamp default 6", ts(0), NDJSONOptions{}, t0, `"2024-01-02T03:04:05.123456"`, ""},
		{"timestamp scale 3 truncates", ts(3), NDJSONOptions{}, time.Date(2024, 1, 2, 3, 4, 5, 999999999, time.UTC), `"2024-01-02T03:04:05.999"`, ""},
		{"timestamp scale 9", ts(9), NDJSONOptions{}, t0, `"2024-01-02T03:04:05.123456789"`, ""},
		{"timestamp scale 1 zero fraction", ts(1), NDJSONOptions{}, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), `"2024-01-02T03:04:05.0"`, ""},
		{"timestamptz own offset", tz(0), NDJSONOptions{}, t0, `"2024-01-02T03:04:05.123456+09:00"`, ""},
		{"timestamptz negative half hour", tz(3), NDJSONOptions{}, time.Date(2024, 7, 1, 12, 0, 0, 5e6, nst), `"2024-07-01T12:00:00.005-03:30"`, ""},
		{"timestamptz UTC", tz(0), NDJSONOptions{}, time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC), `"2024-07-01T12:00:00.000000Z"`, ""},
		{"timestamptz seconds offset becomes UTC", tz(9), NDJSONOptions{}, time.Date(1900, 1, 1, 9, 18, 59, 1, lmt), `"1900-01-01T00:00:00.000000001Z"`, ""},
		{"date wrong type", col(pipeline.TypeDate), NDJSONOptions{}, "2024-01-02", "", "unexpected Go type string"},
		{"timestamp wrong type", ts(0), NDJSONOptions{}, &t0, "", "unexpected Go type *time.Time"},
	})
}

func TestEncodeOtherTypes(t *testing.T) {
	js := col(pipeline.TypeJSON)
	runValueCases(t, []valueCase{
		{"bool true", col(pipeline.TypeBool), NDJSONOptions{}, true, "true", ""},
		{"bool false", col(pipeline.TypeBool), NDJSONOptions{}, false, "false", ""},
		{"bool from int refused", col(pipeline.TypeBool), NDJSONOptions{}, 1, "", "unexpected Go type int"},
		{"bytes base64", col(pipeline.TypeBytes), NDJSONOptions{}, []byte{0, 1, 2, 0xff, 0xfe}, `"AAEC//4="`, ""},
		{"bytes empty", col(pipeline.TypeBytes), NDJSONOptions{}, []byte{}, `""`, ""},
		{"bytes string refused", col(pipeline.TypeBytes), NDJSONOptions{}, "x", "", "unexpected Go type string"},
		{"interval", col(pipeline.TypeInterval), NDJSONOptions{}, "+02 03:04:05.000000", `"+02 03:04:05.000000"`, ""},
		{"json raw", js, NDJSONOptions{}, pipeline.RawJSON(`{"a":[1,2,{"b":null}]}`), `{"a":[1,2,{"b":null}]}`, ""},
		{"json string", js, NDJSONOptions{}, `[1,"x"]`, `[1,"x"]`, ""},
		{"json bytes", js, NDJSONOptions{}, []byte(`"s"`), `"s"`, ""},
		{"json pretty is compacted", js, NDJSONOptions{}, "{\n  \"a b\": \"x y\\\" z\",\r\n\t\"c\": [1, 2]\n}\n", `{"a b":"x y\" z","c":[1,2]}`, ""},
		{"json invalid utf8 repaired", js, NDJSONOptions{}, []byte("[\"a\xffb\"]"), "[\"a\uFFFDb\"]", ""},
		{"json U+2028/2029 in strings escaped", js, NDJSONOptions{}, pipeline.RawJSON("[\"a\u2028b\u2029\", \"€\"]"), `["a\u2028b\u2029","€"]`, ""},
		{"json other U+20xx untouched", js, NDJSONOptions{}, pipeline.RawJSON("[\"€\u2027\"]"), "[\"€\u2027\"]", ""},
		{"json invalid", js, NDJSONOptions{}, `{"a":`, "", "invalid JSON"},
		{"json two values", js, NDJSONOptions{}, `1 2`, "", "invalid JSON"},
		{"json any", js, NDJSONOptions{}, map[string]any{"z": 1, "a": []any{true, nil, "s", 1.5, json.Number("2.50"), math.NaN()}, "m": map[string]any{}}, `{"a":[true,null,"s",1.5,2.50,"NaN"],"m":{},"z":1}`, ""},
		{"json any slice", js, NDJSONOptions{}, []any{int64(1), uint8(2), []byte("hi")}, `[1,2,"aGk="]`, ""},
		{"json any bad element", js, NDJSONOptions{}, []any{struct{}{}}, "", "unexpected Go type struct {}"},
		{"json wrong type", js, NDJSONOptions{}, 5, "", "unexpected Go type int"},
		{"unknown type generic", col(pipeline.TypeUnknown), NDJSONOptions{}, []any{"x", 3}, `["x",3]`, ""},
		{"string wrong type", col(pipeline.TypeString), NDJSONOptions{}, 5, "", `column "C" (STRING): unexpected Go type int`},
	})
}

func TestEncodeStringEscaping(t *testing.T) {
	s := col(pipeline.TypeString)
	var ctl []valueCase
	for b := 0; b < 0x20; b++ {
		want := fmt.Sprintf(`"\u%04x"`, b)
		switch b {
		case '\n':
			want = `"\n"`
		case '\r':
			want = `"\r"`
		case '\t':
			want = `"\t"`
		case '\b':
			want = `"\b"`
		case '\f':
			want = `"\f"`
		}
		ctl = append(ctl, valueCase{fmt.Sprintf("control %#02x", b), s, NDJSONOptions{}, string(rune(b)), want, ""})
	}
	runValueCases(t, ctl)
	runValueCases(t, []valueCase{
		{"empty", s, NDJSONOptions{}, "", `""`, ""},
		{"blank", s, NDJSONOptions{}, " ", `" "`, ""},
		{"quote", s, NDJSONOptions{}, `a"b`, `"a\"b"`, ""},
		{"backslash", s, NDJSONOptions{}, `a\b`, `"a\\b"`, ""},
		{"html not escaped", s, NDJSONOptions{}, "<a href='x'>&amp;</a>", `"<a href='x'>&amp;</a>"`, ""},
		{"slash not escaped", s, NDJSONOptions{}, "a/b", `"a/b"`, ""},
		{"DEL kept", s, NDJSONOptions{}, "\x7f", "\"\x7f\"", ""},
		{"hangul", s, NDJSONOptions{}, "세금계산서 발행", `"세금계산서 발행"`, ""},
		{"emoji", s, NDJSONOptions{}, "😀x", `"😀x"`, ""},
		{"U+2028", s, NDJSONOptions{}, "a\u2028b", `"a\u2028b"`, ""},
		{"U+2029", s, NDJSONOptions{}, "\u2029", `"\u2029"`, ""},
		{"U+FFFD kept", s, NDJSONOptions{}, "\uFFFD", "\"\uFFFD\"", ""},
		{"invalid byte", s, NDJSONOptions{}, "a\xffb", `"a\ufffdb"`, ""},
		{"truncated rune", s, NDJSONOptions{}, "가\xea\xb0", `"가\ufffd\ufffd"`, ""},
		{"surrogate half", s, NDJSONOptions{}, "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`, ""},
		{"overlong", s, NDJSONOptions{}, "\xc0\xaf", `"\ufffd\ufffd"`, ""},
		{"bytes text", s, NDJSONOptions{}, []byte("x\n\"y"), `"x\n\"y"`, ""},
		{"mixed", s, NDJSONOptions{}, "ab\tc\"d\\e\x01f\u2028g\xfe", `"ab\tc\"d\\e\u0001f\u2028g\ufffd"`, ""},
	})
}

func TestEncodeKeys(t *testing.T) {
	cols := []pipeline.Column{
		{Name: `we"ird\key`, Type: pipeline.TypeInt},
		{Name: "줄\n바꿈", Type: pipeline.TypeInt},
		{Name: "A", Type: pipeline.TypeString},
	}
	e, err := NewEncoder(cols, NDJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.AppendRow(nil, []any{1, 2, nil})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"we\\\"ird\\\\key\":1,\"줄\\n바꿈\":2,\"A\":null}\n"
	if string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

func TestEncodeNullsAndShape(t *testing.T) {
	cols := []pipeline.Column{
		{Name: "A", Type: pipeline.TypeString},
		{Name: "B", Type: pipeline.TypeDecimal},
		{Name: "C", Type: pipeline.TypeDateTime},
	}
	cases := []struct {
		name string
		opts NDJSONOptions
		row  []any
		want string
		err  string
	}{
		{"all values", NDJSONOptions{}, []any{"x", "1.0", time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC)}, `{"A":"x","B":1.0,"C":"2020-02-29T00:00:00"}`, ""},
		{"nulls written", NDJSONOptions{}, []any{nil, nil, nil}, `{"A":null,"B":null,"C":null}`, ""},
		{"first null omitted", NDJSONOptions{OmitNulls: true}, []any{nil, "2", nil}, `{"B":2}`, ""},
		{"all null omitted", NDJSONOptions{OmitNulls: true}, []any{nil, nil, nil}, `{}`, ""},
		{"last null omitted", NDJSONOptions{OmitNulls: true}, []any{"a", "2", nil}, `{"A":"a","B":2}`, ""},
		{"short row", NDJSONOptions{}, []any{"x"}, "", "row has 1 values, table has 3 columns"},
		{"long row", NDJSONOptions{}, []any{"x", "1", nil, nil}, "", "row has 4 values"},
		{"error in last column", NDJSONOptions{}, []any{"x", "1", "2020-01-01"}, "", `column "C" (DATETIME)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEncoder(cols, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			out, err := e.AppendRow([]byte("keep\n"), tc.row)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				if string(out) != "keep\n" {
					t.Fatalf("dst after error = %q, want it unchanged", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimPrefix(string(out), "keep\n"); got != tc.want+"\n" {
				t.Fatalf("got %q, want %q", got, tc.want+"\n")
			}
		})
	}
}

func TestNewEncoderErrors(t *testing.T) {
	cases := []struct {
		name string
		col  pipeline.Column
		err  string
	}{
		{"type out of range", pipeline.Column{Name: "X", Type: pipeline.ColumnType(99)}, "unknown column type"},
		{"negative type", pipeline.Column{Name: "X", Type: pipeline.ColumnType(-1)}, "unknown column type"},
		{"timestamp scale 10", pipeline.Column{Name: "X", Type: pipeline.TypeTimestamp, Scale: 10}, "scale 10 out of range"},
		{"timestamptz scale -1", pipeline.Column{Name: "X", Type: pipeline.TypeTimestampTZ, Scale: -1}, "scale -1 out of range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEncoder([]pipeline.Column{tc.col}, NDJSONOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
			if _, err := NDJSON(NDJSONOptions{})([]pipeline.Column{tc.col}); err == nil {
				t.Fatal("NDJSON factory accepted the column")
			}
		})
	}
	// A decimal column's scale is not a fraction count for the encoder.
	if _, err := NewEncoder([]pipeline.Column{{Name: "N", Type: pipeline.TypeDecimal, Scale: 38}}, NDJSONOptions{}); err != nil {
		t.Fatalf("decimal scale 38: %v", err)
	}
}

// TestGoldenRows encodes a small table through AppendRows and compares every
// line after decoding it, by value.
func TestGoldenRows(t *testing.T) {
	kst := time.FixedZone("", 9*3600)
	cols := []pipeline.Column{
		{Name: "MANDT", Type: pipeline.TypeString},
		{Name: "VBELN", Type: pipeline.TypeString},
		{Name: "POSNR", Type: pipeline.TypeInt},
		{Name: "NETWR", Type: pipeline.TypeDecimal, Precision: 15, Scale: 2},
		{Name: "FKDAT", Type: pipeline.TypeDateTime},
		{Name: "AEDAT", Type: pipeline.TypeTimestampTZ, Scale: 3},
		{Name: "KURSK", Type: pipeline.TypeFloat},
		{Name: "RAW", Type: pipeline.TypeBytes},
		{Name: "ARKTX", Type: pipeline.TypeString},
		{Name: "DOC", Type: pipeline.TypeJSON},
	}
	rows := [][]any{
		{"100", "0090000001", 10, "1234.50", time.Date(2024, 3, 1, 0, 0, 0, 0, kst), time.Date(2024, 3, 1, 9, 30, 0, 250e6, kst), 1.25, []byte{1, 2, 3}, "세금 \"A\"", pipeline.RawJSON(`{"k":[1,2]}`)},
		{"100", "0090000001", int64(20), "-.5", time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), math.Inf(-1), nil, " ", nil},
	}
	e, err := NewEncoder(cols, NDJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.AppendRows(nil, rows)
	if err != nil {
		t.Fatal(err)
	}
	golden := `{"MANDT":"100","VBELN":"0090000001","POSNR":10,"NETWR":1234.50,"FKDAT":"2024-03-01T00:00:00","AEDAT":"2024-03-01T09:30:00.250+09:00","KURSK":1.25,"RAW":"AQID","ARKTX":"세금 \"A\"","DOC":{"k":[1,2]}}
{"MANDT":"100","VBELN":"0090000001","POSNR":20,"NETWR":-0.5,"FKDAT":"1999-12-31T23:59:59","AEDAT":"2000-01-01T00:00:00.000Z","KURSK":"-Infinity","RAW":null,"ARKTX":" ","DOC":null}
`
	got := decodeLines(t, out)
	want := decodeLines(t, []byte(golden))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded rows differ\n got %v\nwant %v\nraw %s", got, want, out)
	}
	// Key order is table order.
	for _, line := range bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n")) {
		if !bytes.HasPrefix(line, []byte(`{"MANDT":`)) || !bytes.Contains(line, []byte(`,"DOC":`)) {
			t.Errorf("line %s is not in column order", line)
		}
	}

	// A bad row names its index and leaves what was encoded before it.
	out, err = e.AppendRows(nil, append(rows, []any{"1"}))
	if err == nil || !strings.Contains(err.Error(), "row 2:") {
		t.Fatalf("error %v, want it to name row 2", err)
	}
	if n := bytes.Count(out, []byte("\n")); n != 2 {
		t.Fatalf("after error %d lines remain, want the 2 good ones", n)
	}
}

func decodeLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var rows []map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	for d.More() {
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatalf("decode: %v in %s", err, b)
		}
		rows = append(rows, m)
	}
	return rows
}

func TestEncodeZeroAllocs(t *testing.T) {
	cols, row := vbrpRow()
	e, err := NewEncoder(cols, NDJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 64<<10)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = e.AppendRow(buf[:0], row); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("AppendRow allocates %.1f times per row, want 0", allocs)
	}
	if !json.Valid(bytes.TrimSuffix(buf, []byte("\n"))) {
		t.Fatal("VBRP row is not valid JSON")
	}
}
