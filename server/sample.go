package server

import (
	"fmt"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// encodeSample renders rows as a JSON array of objects with the same encoder
// the pipeline uses for the objects (keys in column order, decimals as
// their exact digits, dates as wall-clock text, bytes as base64), so a
// sample shows exactly what an export will contain.
func encodeSample(cols []pipeline.Column, rows [][]any) ([]byte, error) {
	enc, err := stages.NewEncoder(cols, stages.NDJSONOptions{})
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, 512*len(rows)+2)
	buf = append(buf, '[')
	for i, row := range rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = enc.AppendRow(buf, row); err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		buf = buf[:len(buf)-1] // the line's '\n'
	}
	return append(buf, ']'), nil
}
