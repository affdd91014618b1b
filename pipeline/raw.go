package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// RawSource is a Source that can hand out batches in its own wire format
// (Batch.Raw) when opened with ReadOptions.Raw: the reader goroutine then
// only cuts the stream into batches of whole rows, and the decoding of
// values, the expensive part, runs in the encode workers in parallel
// (PostgreSQL's COPY text format is such a format).
type RawSource interface {
	Source
	// NewRowDecoder returns a decoder for one encode worker.
	NewRowDecoder() RowDecoder
}

// RowDecoder decodes rows of a RawSource's Batch.Raw. It is used by one
// goroutine at a time.
type RowDecoder interface {
	// DecodeRow decodes the first row of raw into row (one value per
	// column, with the Go types the columns' ColumnType allows) and
	// returns the rest of raw. The values may point into raw and into the
	// decoder's own memory: they are valid only until the next DecodeRow.
	DecodeRow(raw []byte, row []any) (rest []byte, err error)
}

// DecodeRaw turns a raw batch of src into rows whose values own their
// memory (valid after Release and after later DecodeRow calls), for
// callers that need Rows: Transforms, samples, tests.
func DecodeRaw(dec RowDecoder, ncols int, b *Batch) ([][]any, error) {
	rows := make([][]any, b.RawRows)
	raw := b.Raw
	for i := range rows {
		if len(raw) == 0 {
			return nil, fmt.Errorf("pipeline: raw batch %d: %d rows, want %d", b.Seq, i, b.RawRows)
		}
		row := make([]any, ncols)
		var err error
		if raw, err = dec.DecodeRow(raw, row); err != nil {
			return nil, fmt.Errorf("pipeline: raw batch %d row %d: %w", b.Seq, i, err)
		}
		for j, v := range row {
			row[j] = cloneValue(v)
		}
		rows[i] = row
	}
	if len(raw) != 0 {
		return nil, fmt.Errorf("pipeline: raw batch %d: %d bytes after its %d rows", b.Seq, len(raw), b.RawRows)
	}
	return rows, nil
}

// cloneValue copies the memory a decoded value refers to: the bytes of
// strings and slices, and the value itself for types a RowDecoder may box
// into reused memory (numbers, time.Time): returning x from the type switch
// boxes a fresh copy. A RowDecoder may reuse memory only behind these types.
func cloneValue(v any) any {
	switch x := v.(type) {
	case string:
		return strings.Clone(x)
	case []byte:
		return bytes.Clone(x)
	case RawJSON:
		return RawJSON(bytes.Clone(x))
	case json.Number:
		return json.Number(strings.Clone(string(x)))
	case time.Time:
		return x
	case float64:
		return x
	case float32:
		return x
	case int64:
		return x
	case int32:
		return x
	case int:
		return x
	case uint64:
		return x
	}
	return v // nil, bool and types a RowDecoder must not reuse
}

// batchRows appends rows [i, j) of b to dst with enc. For a raw batch,
// cur is where row i starts in b.Raw (rows must be taken in order) and the
// returned cursor is where row j starts; one is a scratch row.
func batchRows(enc RowEncoder, dec RowDecoder, one [][]any, dst []byte, b *Batch, cur []byte, i, j int) ([]byte, []byte, error) {
	if b.Raw == nil {
		out, err := enc.AppendRows(dst, b.Rows[i:j])
		if err != nil {
			// name the failing row by its index in the batch (AppendRows
			// counts from i): encode the rows again one at a time
			for k := i; k < j; k++ {
				if _, rerr := enc.AppendRows(nil, b.Rows[k:k+1]); rerr != nil {
					return out, cur, fmt.Errorf("row %d: %w", k, rerr)
				}
			}
		}
		return out, cur, err
	}
	if dec == nil {
		return dst, cur, fmt.Errorf("raw batch from a source without a RowDecoder")
	}
	for k := i; k < j; k++ {
		if len(cur) == 0 {
			return dst, cur, fmt.Errorf("raw batch has %d rows, not %d", k, b.RawRows)
		}
		var err error
		if cur, err = dec.DecodeRow(cur, one[0]); err != nil {
			return dst, cur, fmt.Errorf("row %d: %w", k, err)
		}
		if dst, err = enc.AppendRows(dst, one); err != nil {
			return dst, cur, fmt.Errorf("row %d: %w", k, err)
		}
	}
	if j == b.RawRows && len(cur) != 0 {
		return dst, cur, fmt.Errorf("raw batch has %d bytes after its %d rows", len(cur), b.RawRows)
	}
	return dst, cur, nil
}
