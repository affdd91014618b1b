package stages

import (
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/vbrptest"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// vbrpRow returns VBRP's columns and one row (internal/vbrptest).
func vbrpRow() ([]pipeline.Column, []any) { return vbrptest.Row() }

func TestVBRPShape(t *testing.T) {
	cols, row := vbrpRow()
	counts := map[pipeline.ColumnType]int{}
	for _, c := range cols {
		counts[c.Type]++
	}
	want := map[pipeline.ColumnType]int{pipeline.TypeString: 199, pipeline.TypeDecimal: 58, pipeline.TypeDateTime: 15, pipeline.TypeFloat: 2}
	if len(cols) != 274 || len(counts) != len(want) {
		t.Fatalf("%d columns %v, want 274 %v", len(cols), counts, want)
	}
	for k, v := range want {
		if counts[k] != v {
			t.Fatalf("%v columns: %d, want %d", k, counts[k], v)
		}
	}
	e, err := NewEncoder(cols, NDJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	line, err := e.AppendRow(nil, row)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(line); n < 3000 || n > 4600 { // 274 keys alone are 3.0 KB
		t.Fatalf("VBRP row is %d bytes of JSON, want 3.0–4.6 KB", n)
	}
	if got := decodeLines(t, line); len(got) != 1 || len(got[0]) != 274 {
		t.Fatalf("decoded %d rows with %d keys", len(got), len(got[0]))
	}
}

// vbrpRows returns n VBRP rows that vary like real data (internal/vbrptest).
func vbrpRows(n int) ([]pipeline.Column, [][]any) { return vbrptest.Rows(n) }

// vbrpNDJSON returns n VBRP rows as NDJSON.
func vbrpNDJSON(tb testing.TB, n int) []byte {
	tb.Helper()
	cols, rows := vbrpRows(n)
	e, err := NewEncoder(cols, NDJSONOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	buf, err := e.AppendRows(nil, rows)
	if err != nil {
		tb.Fatal(err)
	}
	return buf
}

// BenchmarkEncodeVBRP encodes one VBRP row, plain and with the BigQuery
// checks the CLI and server use (NDJSONOptions.BigQuery).
func BenchmarkEncodeVBRP(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts NDJSONOptions
	}{{"plain", NDJSONOptions{}}, {"bigquery", NDJSONOptions{BigQuery: true}}} {
		b.Run(bc.name, func(b *testing.B) {
			cols, row := vbrpRow()
			e, err := NewEncoder(cols, bc.opts)
			if err != nil {
				b.Fatal(err)
			}
			buf, _ := e.AppendRow(nil, row)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				buf, err = e.AppendRow(buf[:0], row)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
