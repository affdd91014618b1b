package stages

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// TestAppendValueMatchesEncoder: AppendValue writes every value exactly as
// the Encoder writes it as a column's value, for every column type, with
// and without options, and NULL as null.
func TestAppendValueMatchesEncoder(t *testing.T) {
	ts := time.Date(-43, 3, 15, 12, 0, 0, 123456789, time.UTC)
	for _, tc := range []struct {
		col pipeline.Column
		v   any
	}{
		{pipeline.Column{Type: pipeline.TypeString}, "a\"b\\c\n\u2028"},
		{pipeline.Column{Type: pipeline.TypeDecimal}, "-00012.5000"},
		{pipeline.Column{Type: pipeline.TypeDecimal}, "NaN"},
		{pipeline.Column{Type: pipeline.TypeInt}, "+0042"},
		{pipeline.Column{Type: pipeline.TypeInt}, int64(math.MinInt64)},
		{pipeline.Column{Type: pipeline.TypeFloat}, 1e-7},
		{pipeline.Column{Type: pipeline.TypeFloat}, float32(math.Inf(-1))},
		{pipeline.Column{Type: pipeline.TypeBool}, true},
		{pipeline.Column{Type: pipeline.TypeDate}, ts},
		{pipeline.Column{Type: pipeline.TypeDateTime}, ts},
		{pipeline.Column{Type: pipeline.TypeTimestamp}, ts},
		{pipeline.Column{Type: pipeline.TypeTimestamp, Scale: 2}, ts},
		{pipeline.Column{Type: pipeline.TypeTimestampTZ, Scale: 9}, ts.In(time.FixedZone("", 5*3600+1800))},
		{pipeline.Column{Type: pipeline.TypeBytes}, []byte{0, 0xff, '"'}},
		{pipeline.Column{Type: pipeline.TypeJSON}, pipeline.RawJSON(`{"a" : [1, 2]}`)},
		{pipeline.Column{Type: pipeline.TypeInterval}, "1 day -00:00:01"},
		{pipeline.Column{Type: pipeline.TypeUnknown}, []any{"x", nil}},
		{pipeline.Column{Type: pipeline.TypeString}, nil},
	} {
		for _, opts := range []NDJSONOptions{{}, {DecimalAsString: true}} {
			tc.col.Name = "k"
			e, err := NewEncoder([]pipeline.Column{tc.col}, opts)
			if err != nil {
				t.Fatal(err)
			}
			row, err := e.AppendRow(nil, []any{tc.v})
			if err != nil {
				t.Fatal(err)
			}
			want := bytes.TrimSuffix(bytes.TrimPrefix(row, []byte(`{"k":`)), []byte("}\n"))
			got, err := AppendValue([]byte("x"), tc.col, tc.v, opts)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "x"+string(want) || !json.Valid(got[1:]) {
				t.Errorf("%v %#v %+v: AppendValue %s, encoder %s", tc.col.Type, tc.v, opts, got[1:], want)
			}
		}
	}
	if _, err := AppendValue(nil, pipeline.Column{Type: pipeline.TypeTimestamp, Scale: 10}, time.Now(), NDJSONOptions{}); err == nil {
		t.Error("scale 10 accepted")
	}
	if _, err := AppendValue(nil, pipeline.Column{Type: pipeline.TypeBool}, "t", NDJSONOptions{}); err == nil {
		t.Error("a string accepted as a bool")
	}
}
