package oracle

import (
	"context"
	"database/sql/driver"
	"fmt"
	"testing"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// TestFetchArraySizeFromSourceURL: the job always passes its configured
// fetch_array_size (default 1000) in ReadOptions; a fetch_array_size in the
// source URL is the more specific setting and must reach godror.
func TestFetchArraySizeFromSourceURL(t *testing.T) {
	tests := []struct {
		name          string
		source        string
		opts          pipeline.ReadOptions
		fetch, prefet int
	}{
		{"url wins over the job's default", "oracle://u@h:1521/S?fetch_array_size=250", pipeline.ReadOptions{FetchArraySize: 1000}, 250, 251},
		{"url with prefetch", "oracle://u@h:1521/S?fetch_array_size=250&prefetch_count=40", pipeline.ReadOptions{FetchArraySize: 1000}, 250, 40},
		{"no url setting: the job's", "oracle://u@h:1521/S", pipeline.ReadOptions{FetchArraySize: 700}, 700, 701},
		{"neither: the config default", "oracle://u@h:1521/S", pipeline.ReadOptions{}, DefaultFetchArraySize, DefaultFetchArraySize + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := NewConfig(tt.source, func(k string) string {
				if k == EnvPassword {
					return "secret"
				}
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			f := &tableFake{cols: textCols("V"), decl: [][2]string{{"V", "VARCHAR2(1)"}}}
			fake, db := newFakeDB(t, f.answer)
			c, err := New(db, cfg)
			if err != nil {
				t.Fatal(err)
			}
			ti, err := c.Describe(context.Background(), "T.X")
			if err != nil {
				t.Fatal(err)
			}
			src, err := c.Open(context.Background(), ti, nil, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := readAll(t, src); err != nil {
				t.Fatal(err)
			}
			fetch, prefetch := godrorStmtOptions(tableSelectCall(t, fake).Args)
			if fetch != tt.fetch || prefetch != tt.prefet {
				t.Fatalf("godror fetch array %d prefetch %d, want %d %d", fetch, prefetch, tt.fetch, tt.prefet)
			}
		})
	}
}

// TestFetchSizeCountsNumberBuffers: ODPI-C keeps a NUMBER value in its
// OCINumber (DPI_OCI_NUMBER_SIZE, 22 bytes: dpiOracleType.c:128-132, a
// fixed size that overrides godror's requested 40 bytes, dpiVar.c:94-95)
// and, for the text godror asks for (NUMBER as bytes, stmt.go:3464-3469),
// one more DPI_NUMBER_AS_TEXT_CHARS (173) bytes per row of the array
// (dpiVar.c:938-950); a NUMBER(p) of p ≤ 18 digits is fetched as int64
// without the text buffer (dpiOracleType.c:546-548). The fetch array of a
// wide NUMBER table must fit FetchBufferBytes with those sizes.
func TestFetchSizeCountsNumberBuffers(t *testing.T) {
	for _, tt := range []struct {
		decl  string
		value driver.Value
		bytes int // ODPI-C's buffers per value
	}{
		{"NUMBER(15,3)", godror.Number("1.5"), 22 + 173},
		{"NUMBER", godror.Number("1.5"), 22 + 173},
		{"NUMBER(10)", int64(1), 22},
	} {
		t.Run(tt.decl, func(t *testing.T) {
			f := &tableFake{}
			row := make([]driver.Value, 274)
			for i := range row {
				name := fmt.Sprintf("N%03d", i)
				f.cols = append(f.cols, fakeCol{name: name, dbType: "NUMBER"})
				f.decl = append(f.decl, [2]string{name, tt.decl})
				row[i] = tt.value
			}
			f.rows = [][]driver.Value{row}
			fake, c := f.open(t, Config{})
			ti, err := c.Describe(context.Background(), "T.X")
			if err != nil {
				t.Fatal(err)
			}
			src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := readAll(t, src); err != nil {
				t.Fatal(err)
			}
			fetch, _ := godrorStmtOptions(tableSelectCall(t, fake).Args)
			held := fetch * 274 * (dpiDataBytes + tt.bytes)
			if held > FetchBufferBytes {
				t.Fatalf("fetch array %d rows holds %d MiB of NUMBER buffers, budget %d MiB", fetch, held>>20, FetchBufferBytes>>20)
			}
			if want := FetchBufferBytes / (274 * (dpiDataBytes + tt.bytes)); fetch < want {
				t.Fatalf("fetch array %d rows, the budget holds %d", fetch, want)
			}
		})
	}
}
