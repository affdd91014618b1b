package oracle

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

func TestDriverColumn(t *testing.T) {
	tests := []struct {
		dbType      string
		prec, scale int64
		hasPS       bool
		typ         pipeline.ColumnType
		p, s        int
		sourceType  string
	}{
		{"NUMBER", 13, 3, true, pipeline.TypeDecimal, 13, 3, "NUMBER(13,3)"},
		{"NUMBER", 10, 0, true, pipeline.TypeDecimal, 10, 0, "NUMBER(10)"},
		{"NUMBER", 10, -2, true, pipeline.TypeDecimal, 10, -2, "NUMBER(10,-2)"},
		{"NUMBER", 0, -127, true, pipeline.TypeDecimal, 0, 0, "NUMBER"},    // NUMBER without precision
		{"NUMBER", 126, -127, true, pipeline.TypeDecimal, 0, 0, "NUMBER"},  // FLOAT(126): decimal, any scale
		{"FLOAT", 0, 0, false, pipeline.TypeFloat, 0, 0, "BINARY_FLOAT"},   // godror's name for BINARY_FLOAT
		{"DOUBLE", 0, 0, false, pipeline.TypeFloat, 0, 0, "BINARY_DOUBLE"}, // godror's name for BINARY_DOUBLE
		{"BINARY_DOUBLE", 0, 0, false, pipeline.TypeFloat, 0, 0, "BINARY_DOUBLE"},
		{"VARCHAR2", 0, 0, false, pipeline.TypeString, 0, 0, "VARCHAR2"},
		{"NVARCHAR2", 0, 0, false, pipeline.TypeString, 0, 0, "NVARCHAR2"},
		{"CHAR", 0, 0, false, pipeline.TypeString, 0, 0, "CHAR"},
		{"NCHAR", 0, 0, false, pipeline.TypeString, 0, 0, "NCHAR"},
		{"LONG", 0, 0, false, pipeline.TypeString, 0, 0, "LONG"},
		{"CLOB", 0, 0, false, pipeline.TypeString, 0, 0, "CLOB"},
		{"NCLOB", 0, 0, false, pipeline.TypeString, 0, 0, "NCLOB"},
		{"ROWID", 0, 0, false, pipeline.TypeString, 0, 0, "ROWID"},
		{"XMLTYPE", 0, 0, false, pipeline.TypeString, 0, 0, "XMLTYPE"},
		{"DATE", 0, 0, false, pipeline.TypeDateTime, 0, 0, "DATE"},
		{"TIMESTAMP", 6, 0, true, pipeline.TypeTimestamp, 0, 6, "TIMESTAMP(6)"},
		{"TIMESTAMP", 3, 0, true, pipeline.TypeTimestamp, 0, 3, "TIMESTAMP(3)"},
		{"TIMESTAMP", 0, 0, true, pipeline.TypeDateTime, 0, 0, "TIMESTAMP(0)"},
		{"TIMESTAMP WITH TIME ZONE", 9, 0, true, pipeline.TypeTimestampTZ, 0, 9, "TIMESTAMP(9) WITH TIME ZONE"},
		{"TIMESTAMP WITH LOCAL TIME ZONE", 6, 0, true, pipeline.TypeTimestampTZ, 0, 6, "TIMESTAMP(6) WITH LOCAL TIME ZONE"},
		{"INTERVAL DAY TO SECOND", 0, 0, false, pipeline.TypeInterval, 0, 0, "INTERVAL DAY TO SECOND"},
		{"INTERVAL YEAR TO MONTH", 0, 0, false, pipeline.TypeInterval, 0, 0, "INTERVAL YEAR TO MONTH"},
		{"RAW", 0, 0, false, pipeline.TypeBytes, 0, 0, "RAW"},
		{"LONG RAW", 0, 0, false, pipeline.TypeBytes, 0, 0, "LONG RAW"},
		{"BLOB", 0, 0, false, pipeline.TypeBytes, 0, 0, "BLOB"},
		{"BFILE", 0, 0, false, pipeline.TypeBytes, 0, 0, "BFILE"},
		{"BOOLEAN", 0, 0, false, pipeline.TypeBool, 0, 0, "BOOLEAN"},
		{"JSON", 0, 0, false, pipeline.TypeJSON, 0, 0, "JSON"},
		{"OBJECT", 0, 0, false, pipeline.TypeString, 0, 0, "OBJECT"},
	}
	for _, tt := range tests {
		t.Run(tt.sourceType, func(t *testing.T) {
			c := DriverColumn("C", tt.dbType, tt.prec, tt.scale, tt.hasPS, true)
			if c.Type != tt.typ || c.Precision != tt.p || c.Scale != tt.s || c.SourceType != tt.sourceType || c.Name != "C" || !c.Nullable {
				t.Fatalf("got %+v, want %v (%d,%d) %q", c, tt.typ, tt.p, tt.s, tt.sourceType)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	seoul := time.FixedZone("KST", 9*3600)
	col := func(typ pipeline.ColumnType, src string, scale int) pipeline.Column {
		return pipeline.Column{Name: "C", Type: typ, SourceType: src, Scale: scale}
	}
	tests := []struct {
		name string
		col  pipeline.Column
		in   any
		want any
	}{
		{"null", col(pipeline.TypeString, "VARCHAR2", 0), nil, nil},
		{"empty string is null", col(pipeline.TypeString, "VARCHAR2", 0), "", nil},
		{"empty char is null", col(pipeline.TypeString, "CHAR", 0), "", nil},
		{"empty clob is null", col(pipeline.TypeString, "CLOB", 0), "", nil},
		{"text", col(pipeline.TypeString, "NVARCHAR2", 0), "한국어 ✓", "한국어 ✓"},
		{"blank-padded char kept", col(pipeline.TypeString, "CHAR", 0), "AB  ", "AB  "},
		{"number digits", col(pipeline.TypeDecimal, "NUMBER(13,3)", 3), godror.Number("-12.340"), "-12.340"},
		{"number 38 digits", col(pipeline.TypeDecimal, "NUMBER(38)", 0), godror.Number("12345678901234567890123456789012345678"), "12345678901234567890123456789012345678"},
		{"negative scale", col(pipeline.TypeDecimal, "NUMBER(10,-2)", -2), godror.Number("12300"), "12300"},
		{"huge exponent", col(pipeline.TypeDecimal, "NUMBER", 0), godror.Number("1E+125"), "1E+125"},
		{"tiny", col(pipeline.TypeDecimal, "NUMBER", 0), godror.Number("1E-130"), "1E-130"},
		{"empty number is null", col(pipeline.TypeDecimal, "NUMBER", 0), godror.Number(""), nil},
		{"native int", col(pipeline.TypeDecimal, "NUMBER(10)", 0), int64(-42), int64(-42)},
		{"date keeps wall clock", col(pipeline.TypeDateTime, "DATE", 0), time.Date(2024, 2, 29, 23, 59, 58, 0, seoul), time.Date(2024, 2, 29, 23, 59, 58, 0, time.UTC)},
		{"timestamp keeps wall clock", col(pipeline.TypeTimestamp, "TIMESTAMP(9)", 9), time.Date(1, 1, 1, 0, 0, 0, 123456789, seoul), time.Date(1, 1, 1, 0, 0, 0, 123456789, time.UTC)},
		{"tstz keeps offset", col(pipeline.TypeTimestampTZ, "TIMESTAMP(6) WITH TIME ZONE", 6), time.Date(2024, 1, 2, 3, 4, 5, 6000, seoul), time.Date(2024, 1, 2, 3, 4, 5, 6000, seoul)},
		{"interval ds", col(pipeline.TypeInterval, "INTERVAL DAY(2) TO SECOND(6)", 6), 26*time.Hour + 3*time.Minute + 4*time.Second + 500*time.Millisecond, "+01 02:03:04.500000"},
		{"interval ds negative", col(pipeline.TypeInterval, "INTERVAL DAY TO SECOND", 0), -(90 * time.Second), "-00 00:01:30.000000"},
		{"interval ds nanos", col(pipeline.TypeInterval, "INTERVAL DAY TO SECOND(9)", 9), time.Duration(1), "+00 00:00:00.000000001"},
		{"interval ym", col(pipeline.TypeInterval, "INTERVAL YEAR TO MONTH", 0), "1-2", "+01-02"},
		{"interval ym negative", col(pipeline.TypeInterval, "INTERVAL YEAR(3) TO MONTH", 0), "-100--11", "-100-11"},
		{"raw", col(pipeline.TypeBytes, "RAW", 0), []byte{0, 1, 0xff}, []byte{0, 1, 0xff}},
		{"empty blob kept", col(pipeline.TypeBytes, "BLOB", 0), []byte{}, []byte{}},
		{"binary float", col(pipeline.TypeFloat, "BINARY_FLOAT", 0), float32(1.5), float32(1.5)},
		{"binary double inf", col(pipeline.TypeFloat, "BINARY_DOUBLE", 0), math.Inf(-1), math.Inf(-1)},
		{"rowid", col(pipeline.TypeString, "ROWID", 0), "AAAR3sAAEAAAACXAAA", "AAAR3sAAEAAAACXAAA"},
		{"clob via reader", col(pipeline.TypeString, "CLOB", 0), &godror.Lob{Reader: strings.NewReader("long text"), IsClob: true}, "long text"},
		{"blob via reader", col(pipeline.TypeBytes, "BLOB", 0), &godror.Lob{Reader: bytes.NewReader([]byte{9, 8})}, []byte{9, 8}},
		{"bool", col(pipeline.TypeBool, "BOOLEAN", 0), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.col, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if wt, ok := tt.want.(time.Time); ok {
				gt, ok := got.(time.Time)
				if !ok || !gt.Equal(wt) || gt.Location().String() != wt.Location().String() {
					t.Fatalf("got %v, want %v", got, wt)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v (%T), want %#v (%T)", got, got, tt.want, tt.want)
			}
		})
	}
	t.Run("NaN passes", func(t *testing.T) {
		got, err := Normalize(col(pipeline.TypeFloat, "BINARY_DOUBLE", 0), math.NaN())
		if f, ok := got.(float64); err != nil || !ok || !math.IsNaN(f) {
			t.Fatalf("got %v %v", got, err)
		}
	})
	t.Run("unsupported", func(t *testing.T) {
		if _, err := Normalize(col(pipeline.TypeString, "OBJECT", 0), struct{}{}); err == nil || !strings.Contains(err.Error(), "unsupported value type") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("bad year-month", func(t *testing.T) {
		if _, err := Normalize(col(pipeline.TypeInterval, "INTERVAL YEAR TO MONTH", 0), "x"); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("lob read error", func(t *testing.T) {
		lob := &godror.Lob{Reader: errReader{}, IsClob: true}
		if _, err := Normalize(col(pipeline.TypeString, "CLOB", 0), lob); err == nil || !strings.Contains(err.Error(), "read LOB of C") {
			t.Fatalf("err = %v", err)
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("lob gone") }
