package stages

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

func TestBigQueryType(t *testing.T) {
	dec := func(p, s int) pipeline.Column {
		return pipeline.Column{Type: pipeline.TypeDecimal, Precision: p, Scale: s}
	}
	tests := []struct {
		col  pipeline.Column
		want string
	}{
		{pipeline.Column{Type: pipeline.TypeString}, "STRING"},
		{pipeline.Column{Type: pipeline.TypeInterval}, "STRING"},
		{dec(38, 9), "NUMERIC"},
		{dec(29, 0), "NUMERIC"},
		{dec(13, 2), "NUMERIC"},
		{dec(38, 10), "BIGNUMERIC"},
		{dec(31, 1), "BIGNUMERIC"},
		{dec(38, 0), "BIGNUMERIC"},
		{dec(76, 38), "BIGNUMERIC"},
		{dec(39, 0), "STRING"},  // 39 integer digits: beyond BIGNUMERIC
		{dec(40, 39), "STRING"}, // scale 39
		{dec(10, -2), "NUMERIC"},
		{dec(38, -5), "STRING"}, // 43 integer digits
		{dec(3, 5), "NUMERIC"},  // Oracle NUMBER(3,5): 0.00xxx
		{dec(0, 0), "BIGNUMERIC"},
		{pipeline.Column{Type: pipeline.TypeInt}, "INT64"},
		{pipeline.Column{Type: pipeline.TypeInt, Precision: 18}, "INT64"},
		{pipeline.Column{Type: pipeline.TypeInt, Precision: 19}, "NUMERIC"},
		{pipeline.Column{Type: pipeline.TypeInt, Precision: 38}, "BIGNUMERIC"},
		{pipeline.Column{Type: pipeline.TypeInt, Precision: 40}, "STRING"},
		{pipeline.Column{Type: pipeline.TypeFloat}, "FLOAT64"},
		{pipeline.Column{Type: pipeline.TypeBool}, "BOOL"},
		{pipeline.Column{Type: pipeline.TypeDate}, "DATE"},
		{pipeline.Column{Type: pipeline.TypeDateTime}, "DATETIME"},
		{pipeline.Column{Type: pipeline.TypeTimestamp}, "DATETIME"},
		{pipeline.Column{Type: pipeline.TypeTimestamp, Scale: 6}, "DATETIME"},
		{pipeline.Column{Type: pipeline.TypeTimestamp, Scale: 7}, "STRING"},
		{pipeline.Column{Type: pipeline.TypeTimestamp, Scale: 9}, "STRING"},
		{pipeline.Column{Type: pipeline.TypeTimestampTZ, Scale: 3}, "TIMESTAMP"},
		{pipeline.Column{Type: pipeline.TypeTimestampTZ, Scale: 9}, "STRING"},
		{pipeline.Column{Type: pipeline.TypeBytes}, "BYTES"},
		{pipeline.Column{Type: pipeline.TypeJSON}, "JSON"},
		{pipeline.Column{Type: pipeline.TypeUnknown}, "JSON"},
	}
	for _, tc := range tests {
		if got := BigQueryType(tc.col); got != tc.want {
			t.Errorf("%v(%d,%d) → %s, want %s", tc.col.Type, tc.col.Precision, tc.col.Scale, got, tc.want)
		}
	}
}

func TestDecimalShape(t *testing.T) {
	for _, tc := range []struct {
		in         string
		intD, frac int
		ok         bool
	}{
		{"0", 0, 0, true},
		{"-0.000", 0, 0, true},
		{"17633890.81", 8, 2, true},
		{"1E+125", 126, 0, true},
		{"1e-130", 0, 130, true},
		{"123.4500", 3, 2, true},
		{"0.00012", 0, 5, true},
		{"1200", 4, 0, true},
		{"12.5E-1", 1, 2, true},
		{".5", 0, 1, true},
		{"-12345678901234567890123456789.123456789", 29, 9, true},
		{"NaN", 0, 0, false},
		{"-Infinity", 0, 0, false},
		{"~", 0, 0, false},
	} {
		i, f, ok := decimalShape(tc.in)
		if i != tc.intD || f != tc.frac || ok != tc.ok {
			t.Errorf("decimalShape(%q) = %d %d %v, want %d %d %v", tc.in, i, f, ok, tc.intD, tc.frac, tc.ok)
		}
	}
}

// TestEncodeBigQuery: with NDJSONOptions.BigQuery every value is loadable
// exactly into the column's BigQueryType, or the row fails with an error
// naming the column and its BigQuery type.
func TestEncodeBigQuery(t *testing.T) {
	bq := NDJSONOptions{BigQuery: true}
	bqStr := NDJSONOptions{BigQuery: true, DecimalAsString: true}
	dec := func(p, s int) pipeline.Column {
		return pipeline.Column{Type: pipeline.TypeDecimal, Precision: p, Scale: s}
	}
	any := dec(0, 0)
	i64 := pipeline.Column{Type: pipeline.TypeInt}
	day := func(y int) time.Time { return time.Date(y, 3, 4, 0, 0, 0, 0, time.UTC) }
	east := time.FixedZone("+05", 5*3600)
	west := time.FixedZone("-05", -5*3600)
	runValueCases(t, []valueCase{
		// NUMERIC / BIGNUMERIC: no NaN or infinities
		{"numeric NaN", dec(10, 2), bq, "NaN", "", `column "C" (DECIMAL, BigQuery NUMERIC): NaN`},
		{"numeric -Infinity", dec(38, 9), bq, "-Infinity", "", "BigQuery NUMERIC"},
		{"bignumeric Infinity", dec(38, 10), bq, "Infinity", "", "BigQuery BIGNUMERIC"},
		{"unknown NaN", any, bq, "NaN", "", "BigQuery BIGNUMERIC"},
		{"oracle tilde", any, bq, "~", "", "BigQuery BIGNUMERIC"},
		// unknown precision: at most 38 integer and 38 fraction digits
		{"1E+125", any, bq, "1E+125", "", "126 integer and 0 fraction digits"},
		{"38 integer digits", any, bq, "9.9E+37", `"9.9E+37"`, ""},
		{"39 integer digits", any, bq, "1E+38", "", "39 integer"},
		{"38 fraction digits", any, bq, "1E-38", `"1E-38"`, ""},
		{"39 fraction digits", any, bq, "0.000000000000000000000000000000000000001", "", "39 fraction"},
		{"trailing zeros are not digits", any, bq, "1.500000000000000000000000000000000000000000", "1.500000000000000000000000000000000000000000", ""},
		{"zeros up to the point count", any, bq, "1.5E+15", `"1.5E+15"`, ""},
		{"small fraction", any, bq, "0.00012", "0.00012", ""},
		{"long fraction quoted", any, bq, "0.0000000000000001", `"0.0000000000000001"`, ""},
		// more than 15 significant digits: a JSON string, exact
		{"15 digits number", dec(20, 2), bq, "1234567890123.45", "1234567890123.45", ""},
		{"16 digits quoted", dec(20, 2), bq, "12345678901234.56", `"12345678901234.56"`, ""},
		{"declared scale counts", dec(38, 30), bq, "0.3", `"0.3"`, ""},
		{"declared scale short enough", dec(20, 10), bq, "12345.3", "12345.3", ""},
		{"short precision fast path", dec(15, 2), bq, "-1234567890123.45", "-1234567890123.45", ""},
		{"short precision NaN", dec(15, 2), bq, "NaN", "", "BigQuery NUMERIC"},
		{"as string stays string", dec(13, 2), bqStr, "17633890.81", `"17633890.81"`, ""},
		{"go integer long", dec(20, 0), bq, int64(12345678901234567), `"12345678901234567"`, ""},
		{"go integer short", dec(20, 0), bq, int64(-123), "-123", ""},
		// no BigQuery type holds it: STRING, always quoted
		{"string decimal", dec(50, 0), bq, "12", `"12"`, ""},
		{"string decimal NaN", dec(50, 0), bq, "NaN", `"NaN"`, ""},
		// INT64
		{"int64 max quoted", i64, bq, int64(math.MaxInt64), `"9223372036854775807"`, ""},
		{"int64 small", i64, bq, int32(-7), "-7", ""},
		{"uint64 beyond INT64", i64, bq, uint64(math.MaxUint64), "", "outside INT64"},
		{"digits beyond INT64", i64, bq, "9223372036854775808", "", "outside INT64"},
		{"digits min INT64", i64, bq, "-9223372036854775808", `"-9223372036854775808"`, ""},
		{"digits short", i64, bq, "+0042", "42", ""},
		{"int precision 30 digits", pipeline.Column{Type: pipeline.TypeInt, Precision: 30}, bq, "123456789012345678901234567890", `"123456789012345678901234567890"`, ""},
		// years BigQuery holds
		{"date year 1", pipeline.Column{Type: pipeline.TypeDate}, bq, day(1), `"0001-03-04"`, ""},
		{"date year 0", pipeline.Column{Type: pipeline.TypeDate}, bq, day(0), "", "year 0 is outside"},
		{"datetime year 10000", pipeline.Column{Type: pipeline.TypeDateTime}, bq, day(10000), "", "year 10000"},
		{"timestamp year -4712", pipeline.Column{Type: pipeline.TypeTimestamp}, bq, day(-4712), "", "year -4712"},
		{"timestamptz UTC year 10000", pipeline.Column{Type: pipeline.TypeTimestampTZ}, bq,
			time.Date(9999, 12, 31, 23, 0, 0, 0, west), "", "UTC year 10000"},
		{"timestamptz UTC year 0", pipeline.Column{Type: pipeline.TypeTimestampTZ}, bq,
			time.Date(1, 1, 1, 3, 0, 0, 0, east), "", "UTC year 0"},
		{"timestamptz in range", pipeline.Column{Type: pipeline.TypeTimestampTZ}, bq,
			time.Date(9999, 12, 31, 23, 0, 0, 0, east), `"9999-12-31T23:00:00.000000+05:00"`, ""},
		// TIMESTAMP(9) is STRING: every value as its exact text
		{"timestamp(9) is text", pipeline.Column{Type: pipeline.TypeTimestamp, Scale: 9}, bq,
			time.Date(12345, 1, 2, 3, 4, 5, 123456789, time.UTC), `"12345-01-02T03:04:05.123456789"`, ""},
		// untouched without the option
		{"no option NaN", dec(10, 2), NDJSONOptions{}, "NaN", `"NaN"`, ""},
		{"no option long", dec(20, 2), NDJSONOptions{}, "12345678901234.56", "12345678901234.56", ""},
		{"no option year 0", pipeline.Column{Type: pipeline.TypeDate}, NDJSONOptions{}, day(0), `"0000-03-04"`, ""},
	})
}

// TestEncodeBigQueryRowError: the error of a batch names the column and the
// row within the rows encoded.
func TestEncodeBigQueryRowError(t *testing.T) {
	cols := []pipeline.Column{{Name: "ID", Type: pipeline.TypeInt}, {Name: "AMT", Type: pipeline.TypeDecimal, Precision: 10, Scale: 2}}
	e, err := NewEncoder(cols, NDJSONOptions{BigQuery: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.AppendRows(nil, [][]any{{1, "1.00"}, {2, "2.50"}, {3, "NaN"}})
	if err == nil || !strings.Contains(err.Error(), "row 2") || !strings.Contains(err.Error(), `column "AMT"`) {
		t.Fatalf("err = %v, want row 2 and column AMT named", err)
	}
}

// TestBigQuerySchema: types come from BigQueryType (tested above and
// against docs/TYPES.md); the schema adds mode and description.
func TestBigQuerySchema(t *testing.T) {
	cols := []pipeline.Column{
		{Name: "A", Type: pipeline.TypeDecimal, Precision: 13, Scale: 2, SourceType: "NUMBER(13,2)"},
		{Name: "B", Type: pipeline.TypeTimestamp, Scale: 9, SourceType: "TIMESTAMP(9)", Nullable: true},
	}
	want := []BigQueryField{{"A", "NUMERIC", "REQUIRED", "NUMBER(13,2)"}, {"B", "STRING", "NULLABLE", "TIMESTAMP(9)"}}
	got := BigQuerySchema(cols)
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("schema %+v, want %+v", got, want)
	}
}
