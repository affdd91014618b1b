package oracle

import (
	"context"
	"testing"

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
