package oracle

import (
	"context"
	"reflect"
	"testing"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// godrorStmtOptions applies the godror Options among args the way godror's
// statement does (godror v0.51.2 stmt.go:156, type Option
// func(*stmtOptions); FetchArraySize and PrefetchCount, stmt.go:200-225,
// set stmtOptions.fetchArraySize / prefetchCount) and reads the two fields.
func godrorStmtOptions(t *testing.T, args []any) (fetch, prefetch int) {
	t.Helper()
	for _, a := range args {
		o, ok := a.(godror.Option)
		if !ok {
			continue
		}
		fn := reflect.ValueOf(o)
		so := reflect.New(fn.Type().In(0).Elem())
		fn.Call([]reflect.Value{so})
		if f := so.Elem().FieldByName("fetchArraySize"); f.IsValid() && f.Int() != 0 {
			fetch = int(f.Int())
		}
		if f := so.Elem().FieldByName("prefetchCount"); f.IsValid() && f.Int() != 0 {
			prefetch = int(f.Int())
		}
	}
	return fetch, prefetch
}

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
			fetch, prefetch := godrorStmtOptions(t, tableSelectCall(t, fake).Args)
			if fetch != tt.fetch || prefetch != tt.prefet {
				t.Fatalf("godror fetch array %d prefetch %d, want %d %d", fetch, prefetch, tt.fetch, tt.prefet)
			}
		})
	}
}
