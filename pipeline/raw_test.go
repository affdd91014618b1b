package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// rawSource wraps fakeSource's rows into a toy wire format, one row per
// line, cells separated by '|', so the encode workers decode them.
type rawSource struct {
	*fakeSource
	badLineAt int // batch whose second row is malformed; -1 never
}

type pipeDecoder struct{}

func (pipeDecoder) DecodeRow(raw []byte, row []any) ([]byte, error) {
	line, rest, ok := bytes.Cut(raw, []byte{'\n'})
	if !ok {
		return raw, errors.New("no newline")
	}
	cells := strings.Split(string(line), "|")
	if len(cells) != len(row) {
		return raw, fmt.Errorf("%d cells", len(cells))
	}
	for i, c := range cells {
		row[i] = c
	}
	return rest, nil
}

func (s *rawSource) NewRowDecoder() pipeline.RowDecoder { return pipeDecoder{} }

func (s *rawSource) Next(ctx context.Context) (*pipeline.Batch, error) {
	b, err := s.fakeSource.Next(ctx)
	if err != nil {
		return nil, err
	}
	var raw []byte
	for i, r := range b.Rows {
		line := fmt.Sprintf("%d|%s|%s\n", r[0], strings.ReplaceAll(r[1].(string), "\n", "\\n"), r[2])
		if int(b.Seq) == s.badLineAt && i == 1 {
			line = "only|two\n"
		}
		raw = append(raw, line...)
	}
	n := len(b.Rows)
	b.Rows, b.Raw, b.RawRows = nil, raw, n
	return b, nil
}

func TestRunRawBatches(t *testing.T) {
	unescape := func(ctx context.Context, cols []pipeline.Column, b *pipeline.Batch) error {
		if b.Raw != nil {
			return errors.New("transform got a raw batch")
		}
		for _, r := range b.Rows {
			r[1] = strings.ReplaceAll(r[1].(string), "\\n", "\n")
		}
		return nil
	}
	for _, tc := range []struct {
		name       string
		transforms []pipeline.Transform
		line       func(id int) string
	}{
		{"decoded by the workers", nil, func(id int) string {
			return fmt.Sprintf(`{"ID":%d,"NAME":"row \"%d\"\\n","AMOUNT":%d.%02d}`, id, id, id, id%100)
		}},
		{"decoded for transforms", []pipeline.Transform{unescape}, expectedLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &rawSource{fakeSource: newFakeSource(7, 300), badLineAt: -1}
			sink := newMemSink()
			p := newPipeline(src, sink, pipeline.Config{EncodeWorkers: 3, PieceBytes: 2000})
			p.Transforms = tc.transforms
			st, err := p.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if st.Rows != 2100 || st.Batches != 7 {
				t.Fatalf("stats %+v", st)
			}
			b, _ := sink.get(p.Name)
			lines := strings.Split(strings.TrimSuffix(string(testutil.GunzipOne(t, b)), "\n"), "\n")
			if len(lines) != 2100 {
				t.Fatalf("%d lines", len(lines))
			}
			for id, l := range lines {
				if want := tc.line(id); l != want {
					t.Fatalf("line %d = %s, want %s", id, l, want)
				}
			}
		})
	}
}

func TestRunRawDecodeError(t *testing.T) {
	src := &rawSource{fakeSource: newFakeSource(10, 100), badLineAt: 4}
	sink := newMemSink()
	p := newPipeline(src, sink, pipeline.Config{EncodeWorkers: 2})
	_, err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "encode batch 4") || !strings.Contains(err.Error(), "row 1: 2 cells") {
		t.Fatalf("error %v", err)
	}
	if _, ok := sink.get(p.Name); ok {
		t.Fatal("object committed after a decode error")
	}
}

func TestDecodeRaw(t *testing.T) {
	b := &pipeline.Batch{Seq: 3, Raw: []byte("1|a|b\n2|c|d\n"), RawRows: 2}
	rows, err := pipeline.DecodeRaw(pipeDecoder{}, 3, b)
	if err != nil || len(rows) != 2 || rows[1][1] != "c" {
		t.Fatalf("rows %v, %v", rows, err)
	}
	for _, tc := range []struct {
		name string
		b    *pipeline.Batch
		want string
	}{
		{"fewer rows", &pipeline.Batch{Raw: []byte("1|a|b\n"), RawRows: 2}, "1 rows, want 2"},
		{"more bytes", &pipeline.Batch{Raw: []byte("1|a|b\n2|c|d\n"), RawRows: 1}, "bytes after its 1 rows"},
		{"bad row", &pipeline.Batch{Raw: []byte("1|a\n"), RawRows: 1}, "row 0: 2 cells"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := pipeline.DecodeRaw(pipeDecoder{}, 3, tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// failAt wraps a source and replaces the value of column 0 in row `row`
// of batch `batch` with one the encoder refuses.
type failAt struct {
	pipeline.Source
	batch int64
	row   int
}

func (s *failAt) Next(ctx context.Context) (*pipeline.Batch, error) {
	b, err := s.Source.Next(ctx)
	if err == nil && b.Seq == s.batch {
		b.Rows[s.row][0] = struct{}{}
	}
	return b, err
}

// TestEncodeErrorNamesRow: an encode error names the batch and the row of
// the batch, also past the first AppendRows call of a batch (rows are
// encoded in steps).
func TestEncodeErrorNamesRow(t *testing.T) {
	src := &failAt{Source: newFakeSource(3, 500), batch: 0, row: 300}
	p := pipeline.Pipeline{Source: src, Sink: newMemSink(), Name: "T.jsonl.gz", Encoder: stages.NDJSON(stages.NDJSONOptions{}),
		Codec: compression.Must(compression.New(compression.Spec{Name: "pgzip", Level: 1})), Config: pipeline.Config{ChunkRows: 500, EncodeWorkers: 1}}
	_, err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "batch 0: row 300: stages: column \"ID\"") {
		t.Fatalf("err = %v, want batch 0 row 300 and the column named", err)
	}
}
