package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ora2gcs/ora2gcs/pipeline"
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
		got, err := arrayTextToJSON([]byte(tc.in), &e)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if s := string(got.(pipeline.RawJSON)); s != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, s, tc.want)
		}
	}
	comma := newArrayElem(',', pgtype.BoxOID, -1, "box")
	for _, in := range []string{`{(1,1),(0,0)}}`, `{"a"x}`, `{"2024-13-01"`, `{1`, `[0:1]{1}`} {
		e := &comma
		if in[1] == '"' {
			d := newArrayElem(',', pgtype.DateOID, -1, "date")
			e = &d
		}
		if v, err := arrayTextToJSON([]byte(in), e); err == nil {
			t.Errorf("%s: no error, got %s", in, v)
		}
	}
}
