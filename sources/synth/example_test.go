package synth_test

import (
	"context"
	"fmt"
	"io"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/synth"
)

// A program reads a synthetic table like any other pipeline.Connector.
func Example() {
	ctx := context.Background()
	c, err := synth.New(synth.Config{Rows: map[string]int64{"VBRP": 25}})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	info, err := c.Describe(ctx, "synth.vbrp")
	if err != nil {
		panic(err)
	}
	src, err := c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: 10})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	rows := 0
	for {
		b, err := src.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		if b.Seq == 0 {
			fmt.Println(info.Columns[1].Name, b.Rows[0][1], info.Columns[2].Name, b.Rows[0][2])
		}
		rows += len(b.Rows)
		b.Release() // values of b must not be used after this
	}
	fmt.Println(info.Name, len(info.Columns), "columns,", rows, "rows")
	// Output:
	// VBELN 0090000000 POSNR 10
	// VBRP 274 columns, 25 rows
}
