package pipeline

import (
	"context"
	"fmt"
	"io"
)

// ColumnType is the logical type of a column. It decides how the encoder
// writes a value; the Go type of the value decides how it is read.
type ColumnType int

// Logical column types. The comment of each says which Go values a Source may
// put in a Batch for it (nil is always NULL) and what the NDJSON encoder writes.
const (
	TypeUnknown ColumnType = iota
	// TypeString: string or []byte text → JSON string (invalid UTF-8 becomes U+FFFD).
	TypeString
	// TypeDecimal: exact decimal digits as string or []byte ("-12.340", "1E+125",
	// "NaN"), or any integer → JSON number (or string with EncodeOptions.DecimalAsString).
	// Never a float64 on the way: the digits are written as the database held them.
	TypeDecimal
	// TypeInt: any Go integer, or its decimal digits as string → JSON number.
	TypeInt
	// TypeFloat: float32/float64 → shortest round-trip JSON number; NaN and ±Inf
	// as the strings "NaN", "Infinity", "-Infinity".
	TypeFloat
	// TypeBool: bool → true/false.
	TypeBool
	// TypeDate: calendar date, time.Time → "YYYY-MM-DD".
	TypeDate
	// TypeDateTime: wall clock without zone to the second (Oracle DATE),
	// time.Time → "YYYY-MM-DDTHH:MM:SS" with no zone conversion.
	TypeDateTime
	// TypeTimestamp: wall clock without zone with fraction, time.Time →
	// "YYYY-MM-DDTHH:MM:SS.ffffff" (fraction to Column.Scale digits, default 6).
	TypeTimestamp
	// TypeTimestampTZ: instant with offset, time.Time → RFC 3339 with its own
	// offset and fraction ("2024-01-02T03:04:05.123456+09:00").
	TypeTimestampTZ
	// TypeBytes: []byte → standard base64 JSON string.
	TypeBytes
	// TypeJSON: valid JSON text as []byte, string or RawJSON → embedded as is.
	// []any and map[string]any are encoded recursively.
	TypeJSON
	// TypeInterval: string (the database's own text form) → JSON string.
	TypeInterval
)

var typeNames = [...]string{"UNKNOWN", "STRING", "DECIMAL", "INT", "FLOAT", "BOOL", "DATE", "DATETIME", "TIMESTAMP", "TIMESTAMPTZ", "BYTES", "JSON", "INTERVAL"}

func (t ColumnType) String() string {
	if int(t) >= 0 && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("ColumnType(%d)", int(t))
}

// MarshalText writes the type's name, so manifests and APIs show "DECIMAL".
func (t ColumnType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (t *ColumnType) UnmarshalText(b []byte) error {
	for i, n := range typeNames {
		if n == string(b) {
			*t = ColumnType(i)
			return nil
		}
	}
	return fmt.Errorf("pipeline: unknown column type %q", b)
}

// RawJSON is valid JSON text that the encoder embeds unchanged.
type RawJSON []byte

// Column describes one column of a table, in table order.
type Column struct {
	Name       string     `json:"name"`
	Type       ColumnType `json:"type"`
	SourceType string     `json:"source_type,omitempty"` // the database's own type, e.g. "NUMBER(13,3)"
	Precision  int        `json:"precision,omitempty"`
	Scale      int        `json:"scale,omitempty"`
	Nullable   bool       `json:"nullable"`
	// Invisible: the column is hidden from SELECT * (Oracle 12c INVISIBLE)
	// and was read by name; its values are exported like any other.
	Invisible bool `json:"invisible,omitempty"`
}

// Batch is a slice of consecutive rows of one table. Rows[i][j] is column j
// of row i, with a Go value allowed for the column's ColumnType.
type Batch struct {
	Seq  int64   // 0, 1, 2, … in source order; the writer restores this order
	Rows [][]any // owned by the pipeline until Release is called
	// Raw, instead of Rows, holds RawRows rows in the source's own wire
	// format (only from a RawSource opened with ReadOptions.Raw); the
	// encode workers decode them with the source's RowDecoder.
	Raw     []byte
	RawRows int
	// Release, if set, is called at most once when the pipeline no longer reads
	// Rows, so a Source may reuse their storage.
	Release func()
}

// Source yields the rows of one table (or one range of it) in batches.
type Source interface {
	// Columns is known before the first row and does not change.
	Columns() []Column
	// Next returns the next batch, or io.EOF after the last one.
	Next(ctx context.Context) (*Batch, error)
	// Close releases the source; it is called once, also after errors.
	Close() error
}

// Len is the number of rows in the batch.
func (b *Batch) Len() int {
	if b.Raw != nil {
		return b.RawRows
	}
	return len(b.Rows)
}

// Sink creates objects. Name is the object's path below the sink's root,
// e.g. "TRP-001/v001/VBRP.jsonl.gz".
type Sink interface {
	Create(ctx context.Context, name string) (Object, error)
}

// Object is one object being written. It becomes visible under its name only
// after a successful Commit; after Abort (or a failed Commit) nothing is
// visible. Exactly one of Commit or Abort is called.
type Object interface {
	io.Writer
	Commit() (ObjectInfo, error)
	Abort() error
}

// ObjectInfo describes a committed object as the storage reports it.
type ObjectInfo struct {
	Name   string   `json:"name"`            // path below the sink root
	URI    string   `json:"uri"`             // gs://bucket/name or file:///abs/path
	Size   int64    `json:"size"`            // bytes stored
	CRC32C uint32   `json:"crc32c"`          // Castagnoli CRC of the stored bytes
	Parts  []string `json:"parts,omitempty"` // names of the parts when the sink split the object
	// CRC32CReported is true when CRC32C is the stored object's checksum as
	// the storage reported it (or the sink computed it from the stored
	// bytes). False means the sink has no checksum of the stored object and
	// CRC32C is not a value: a CRC32C of 0 is a checksum like any other.
	CRC32CReported bool `json:"-"`
}
