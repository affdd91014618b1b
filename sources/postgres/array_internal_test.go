package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// TestArrayTextToJSON: arrays are cut at their element type's delimiter
// (box: ';', whose elements hold ','), and each element is written like a
// scalar column of its type: dates and timestamps as the RFC 3339 forms of
// the scalars, bytea as base64, floats in their shortest form, oid as text.
func TestArrayTextToJSON(t *testing.T) {
	m := pgtype.NewMap()
	name := func(oid uint32) string {
		if typ, ok := m.TypeForOID(oid); ok {
			return typ.Name
		}
		return ""
	}
	for _, tc := range []struct {
		oid    uint32
		delim  byte
		typmod int32
		in     string
		want   string
	}{
		{pgtype.BoxOID, ';', -1, `{(1,1),(0,0);(3,3),(2,2)}`, `["(1,1),(0,0)","(3,3),(2,2)"]`},
		{pgtype.BoxOID, ';', -1, `{{(1,1),(0,0)};{NULL}}`, `[["(1,1),(0,0)"],[null]]`},
		{pgtype.PointOID, ',', -1, `{"(1,2)",NULL,"(0,0)"}`, `["(1,2)",null,"(0,0)"]`},
		{pgtype.DateOID, ',', -1, `{2024-01-01,"0044-03-15 BC",NULL}`, `["2024-01-01","-0043-03-15",null]`},
		{pgtype.TimestampOID, ',', -1, `{"2024-01-02 03:04:05.5"}`, `["2024-01-02T03:04:05.500000"]`},
		{pgtype.TimestampOID, ',', 0, `{"2024-01-02 03:04:05"}`, `["2024-01-02T03:04:05"]`},
		{pgtype.TimestamptzOID, ',', 3, `{"2024-01-01 00:00:00+00","1999-12-31 23:59:59.123+00"}`, `["2024-01-01T00:00:00.000Z","1999-12-31T23:59:59.123Z"]`},
		{pgtype.ByteaOID, ',', -1, `{"\\x00ff",NULL,"\\x"}`, `["AP8=",null,""]`},
		{pgtype.Float8OID, ',', -1, `{1e-07,NaN,-Infinity,1.2345678901234568e+20}`, `[1e-7,"NaN","-Infinity",123456789012345680000]`},
		{pgtype.Float4OID, ',', -1, `{1.1,3.4028235e+38}`, `[1.1,3.4028235e+38]`},
		{pgtype.NumericOID, ',', -1, `{1.50,NaN,-Infinity}`, `[1.50,"NaN","-Infinity"]`},
		{pgtype.OIDOID, ',', -1, `{1,4294967295}`, `["1","4294967295"]`},
		{pgtype.Int8OID, ',', -1, `[0:1]={-9223372036854775808,NULL}`, `[-9223372036854775808,null]`},
		{pgtype.BoolOID, ',', -1, `{t,f}`, `[true,false]`},
		{pgtype.JSONBOID, ',', -1, `{"{\"a\": [1, 2]}",null,NULL}`, `[{"a":[1,2]},null,null]`},
		{pgtype.TextOID, ',', -1, `{"a,b","NULL","",NULL,"q\"\\"}`, `["a,b","NULL","",null,"q\"\\"]`},
	} {
		e := newArrayElem(tc.delim, tc.oid, tc.typmod, name(tc.oid))
		got, err := newArrayValue([]byte(tc.in), &e).AppendJSON([]byte("x"), stages.NDJSONOptions{})
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if s := string(got); s != "x"+tc.want {
			t.Errorf("%s: got %s, want x%s", tc.in, s, tc.want)
		}
	}
	comma := newArrayElem(',', pgtype.BoxOID, -1, "box")
	for _, in := range []string{`{(1,1),(0,0)}}`, `{"a"x}`, `{"2024-13-01"`, `{1`, `[0:1]{1}`} {
		e := &comma
		if in[1] == '"' {
			d := newArrayElem(',', pgtype.DateOID, -1, "date")
			e = &d
		}
		if v, err := newArrayValue([]byte(in), e).AppendJSON([]byte("x"), stages.NDJSONOptions{}); err == nil || string(v) != "x" {
			t.Errorf("%s: got %s, %v; want an error and dst unchanged", in, v, err)
		}
	}
}

// TestArrayElementsFollowEncoderOptions: numeric[] elements are written
// like numeric columns under the encoder's options: JSON strings with
// DecimalAsString, numbers without; integers and floats are unaffected,
// exactly as their scalar columns are.
func TestArrayElementsFollowEncoderOptions(t *testing.T) {
	m := pgtype.NewMap()
	name := func(oid uint32) string {
		typ, _ := m.TypeForOID(oid)
		return typ.Name
	}
	cols := []pipeline.Column{{Name: "n", Type: pipeline.TypeDecimal}, {Name: "i", Type: pipeline.TypeInt}, {Name: "f", Type: pipeline.TypeFloat},
		{Name: "an", Type: pipeline.TypeJSON}, {Name: "ai", Type: pipeline.TypeJSON}, {Name: "af", Type: pipeline.TypeJSON}}
	num := newArrayElem(',', pgtype.NumericOID, -1, name(pgtype.NumericOID))
	i8 := newArrayElem(',', pgtype.Int8OID, -1, name(pgtype.Int8OID))
	f8 := newArrayElem(',', pgtype.Float8OID, -1, name(pgtype.Float8OID))
	row := []any{"17633890.81", "12", 0.5,
		newArrayValue([]byte("{17633890.81,NULL,NaN}"), &num), newArrayValue([]byte("{12}"), &i8), newArrayValue([]byte("{0.5}"), &f8)}
	for _, tc := range []struct {
		opts stages.NDJSONOptions
		want string
	}{
		{stages.NDJSONOptions{}, `{"n":17633890.81,"i":12,"f":0.5,"an":[17633890.81,null,"NaN"],"ai":[12],"af":[0.5]}` + "\n"},
		{stages.NDJSONOptions{DecimalAsString: true}, `{"n":"17633890.81","i":12,"f":0.5,"an":["17633890.81",null,"NaN"],"ai":[12],"af":[0.5]}` + "\n"},
	} {
		e, err := stages.NewEncoder(cols, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.AppendRow(nil, row)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("%+v:\ngot  %swant %s", tc.opts, got, tc.want)
		}
	}
}
