package stages

import (
	"fmt"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// JSONAppender is a Batch value of a TypeJSON column that writes itself:
// the Encoder calls AppendJSON with its own options, so a value holding
// nested typed values (a PostgreSQL array) writes them exactly as columns
// of their types are written with those options (AppendValue). AppendJSON
// appends valid, compact JSON without line breaks, or returns an error.
type JSONAppender interface {
	AppendJSON(dst []byte, opts NDJSONOptions) ([]byte, error)
}

// AppendValue appends v, a Batch value of column c (nil for NULL), exactly
// as an Encoder made with opts writes it as the value of that column. Sources
// that build JSON themselves use it so that nested values are written like
// columns of their type: the PostgreSQL source writes each element of an
// array exactly as a column of the element's type.
func AppendValue(dst []byte, c pipeline.Column, v any, opts NDJSONOptions) ([]byte, error) {
	if v == nil {
		return append(dst, "null"...), nil
	}
	if c.Type < pipeline.TypeUnknown || c.Type > pipeline.TypeInterval {
		return dst, fmt.Errorf("stages: column %q: unknown column type %v", c.Name, c.Type)
	}
	scale := c.Scale
	if (c.Type == pipeline.TypeTimestamp || c.Type == pipeline.TypeTimestampTZ) && (scale < 0 || scale > 9) {
		return dst, fmt.Errorf("stages: column %q: %v scale %d out of range 0..9", c.Name, c.Type, scale)
	}
	if scale == 0 {
		scale = defaultScale
	}
	col := column{name: c.Name, typ: c.Type, scale: scale}
	e := Encoder{opts: opts}
	return e.appendValue(dst, &col, v)
}
