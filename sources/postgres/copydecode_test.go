package postgres

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
	"github.com/ora2gcs/ora2gcs/sources/synth"
)

func testDecoder(kinds ...cellKind) *copyDecoder {
	cols := make([]pipeline.Column, len(kinds))
	for i := range cols {
		cols[i].Name = string(rune('a' + i))
	}
	return newCopyDecoder(cols, kinds, make([]*arrayElem, len(kinds)))
}

func TestCopyDecodeRowErrors(t *testing.T) {
	for _, tc := range []struct {
		name, raw, want string
		kinds           []cellKind
	}{
		{"truncated row", "1\tabc", "row ends early", []cellKind{cellText, cellText}},
		{"too few cells", "1\n", "a: row has 1 cells, the table has 2 columns", []cellKind{cellText, cellText}},
		{"too many cells", "1\t2\t3\n", "more cells than the table's 2 columns", []cellKind{cellText, cellText}},
		{"dangling backslash", "ab\\", "row ends early", []cellKind{cellText}},
		{"backslash before newline", "ab\\\n", "a: COPY text ends in a backslash", []cellKind{cellText}},
		{"bad float", "1.2.3\n", "a: float8 \"1.2.3\"", []cellKind{cellFloat8}},
		{"bad bool", "yes\n", "a: bool \"yes\"", []cellKind{cellBool}},
		{"bad date", "2024-13-01\n", "a: unexpected date/time text", []cellKind{cellDate}},
		{"date with time", "2024-01-01 00:00:00\n", "a: unexpected date/time text", []cellKind{cellDate}},
		{"timestamp without offset", "2024-01-01 00:00:00\n", "a: unexpected date/time text", []cellKind{cellTimestampTZ}},
		{"infinity", "infinity\n", "a: infinite date/timestamp", []cellKind{cellTimestamp}},
		{"bytea escape format", "abc\n", "a: bytea is not in hex format", []cellKind{cellBytea}},
		{"bytea bad hex", "\\\\x0g\n", "a: bytea: bad hex digit", []cellKind{cellBytea}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := testDecoder(tc.kinds...)
			row := make([]any, len(tc.kinds))
			_, err := d.DecodeRow([]byte(tc.raw), row)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestCopyDecodeRowValues(t *testing.T) {
	d := testDecoder(cellText, cellText, cellText, cellBytea, cellTimestampTZ, cellDate, cellTimestamp, cellFloat4, cellBool, cellJSON)
	raw := "a\\tb\\\\c\\nd\\101\\x41\\q\t\\N\t\t\\\\x00ff\t2024-01-02 03:04:05.5+05:30\t0044-03-15 BC\t12345-01-02 03:04:05.000001\t-Infinity\tt\t{\"a\":1}\nnext"
	row := make([]any, 10)
	rest, err := d.DecodeRow([]byte(raw), row)
	if err != nil {
		t.Fatal(err)
	}
	if string(rest) != "next" {
		t.Fatalf("rest %q", rest)
	}
	want := []any{"a\tb\\c\ndAAq", nil, "", []byte{0, 0xff},
		time.Date(2024, 1, 1, 21, 34, 5, 5e8, time.UTC), time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC),
		time.Date(12345, 1, 2, 3, 4, 5, 1000, time.UTC), nil, true, pipeline.RawJSON(`{"a":1}`)}
	for i, w := range want {
		switch w := w.(type) {
		case []byte:
			if g, ok := row[i].([]byte); !ok || string(g) != string(w) {
				t.Errorf("cell %d = %#v, want %#v", i, row[i], w)
			}
		case pipeline.RawJSON:
			if g, ok := row[i].(pipeline.RawJSON); !ok || string(g) != string(w) {
				t.Errorf("cell %d = %#v, want %#v", i, row[i], w)
			}
		case time.Time:
			if g, ok := row[i].(time.Time); !ok || !g.Equal(w) || g.Location() != time.UTC {
				t.Errorf("cell %d = %v, want %v", i, row[i], w)
			}
		case nil:
			if i == 7 {
				if f, ok := row[i].(float32); !ok || f > -1e38 {
					t.Errorf("cell 7 = %#v, want -Inf float32", row[i])
				}
			} else if row[i] != nil {
				t.Errorf("cell %d = %#v, want NULL", i, row[i])
			}
		default:
			if row[i] != w {
				t.Errorf("cell %d = %#v, want %#v", i, row[i], w)
			}
		}
	}
	// the next row reuses the scratch memory: a decoded value is only valid
	// until then, which is why pipeline.DecodeRaw copies
	if _, err := d.DecodeRow([]byte("x\t\\N\t\t\\\\x01\t2000-01-01 00:00:00+00\t2000-01-01\t2000-01-01 00:00:00\t1\tf\t[]\n"), row); err != nil {
		t.Fatal(err)
	}
	if row[0] != "x" || row[8] != false {
		t.Fatalf("second row %v", row)
	}
}

func TestCopyDecodeRowAllocs(t *testing.T) {
	d := testDecoder(cellText, cellText, cellFloat8, cellTimestamp, cellDate, cellBool, cellText)
	raw := []byte("0090000001\tab\\tc\t1.5\t2024-01-02 03:04:05\t2024-01-02\tf\t12.500\n")
	row := make([]any, 7)
	if _, err := d.DecodeRow(raw, row); err != nil { // warm the slabs
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := d.DecodeRow(raw, row); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per row, want 0", n)
	}
}

// BenchmarkCopyDecodeVBRP decodes COPY text rows of the synthetic VBRP (as
// pgtest.CreateSynthVBRP loads them) with the encode workers' decoder.
func BenchmarkCopyDecodeVBRP(b *testing.B) {
	ctx := context.Background()
	c, err := synth.New(synth.Config{Rows: map[string]int64{"VBRP": 2000}})
	if err != nil {
		b.Fatal(err)
	}
	t, err := c.Describe(ctx, "VBRP")
	if err != nil {
		b.Fatal(err)
	}
	src, err := c.Open(ctx, t, nil, pipeline.ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var text bytes.Buffer
	if err := pgtest.WriteCopyText(ctx, src, &text); err != nil {
		b.Fatal(err)
	}
	kinds := make([]cellKind, len(t.Columns))
	for i, col := range t.Columns {
		switch col.Type {
		case pipeline.TypeFloat:
			kinds[i] = cellFloat8
		case pipeline.TypeDate:
			kinds[i] = cellDate
		case pipeline.TypeDateTime, pipeline.TypeTimestamp:
			kinds[i] = cellTimestamp
		}
	}
	d := newCopyDecoder(t.Columns, kinds, make([]*arrayElem, len(kinds)))
	row := make([]any, len(kinds))
	b.SetBytes(int64(text.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		raw := text.Bytes()
		for len(raw) > 0 {
			if raw, err = d.DecodeRow(raw, row); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(n), "ns/row")
}
