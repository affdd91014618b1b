package pipeline_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// sliceSource is a Source over rows held in memory, two rows per batch.
type sliceSource struct {
	cols []pipeline.Column
	rows [][]any
	seq  int64
}

func (s *sliceSource) Columns() []pipeline.Column { return s.cols }

func (s *sliceSource) Next(ctx context.Context) (*pipeline.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(s.rows) == 0 {
		return nil, io.EOF
	}
	n := min(2, len(s.rows))
	b := &pipeline.Batch{Seq: s.seq, Rows: s.rows[:n]}
	s.rows, s.seq = s.rows[n:], s.seq+1
	return b, nil
}

func (s *sliceSource) Close() error { return nil }

func mustDate(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// bufferSink keeps committed objects in a map.
type bufferSink map[string][]byte

func (s bufferSink) Create(_ context.Context, name string) (pipeline.Object, error) {
	return &bufferObject{sink: s, name: name}, nil
}

type bufferObject struct {
	sink bufferSink
	name string
	buf  bytes.Buffer
}

func (o *bufferObject) Write(p []byte) (int, error) { return o.buf.Write(p) }

func (o *bufferObject) Commit() (pipeline.ObjectInfo, error) {
	o.sink[o.name] = o.buf.Bytes()
	return pipeline.ObjectInfo{Name: o.name, URI: "mem://" + o.name, Size: int64(o.buf.Len())}, nil
}

func (o *bufferObject) Abort() error { return nil }

// Example runs the library on a program's own Source and Sink: rows become
// one gzip member of NDJSON, committed once complete.
func Example() {
	src := &sliceSource{
		cols: []pipeline.Column{
			{Name: "VBELN", Type: pipeline.TypeString},
			{Name: "NETWR", Type: pipeline.TypeDecimal, Precision: 15, Scale: 2},
			{Name: "FKDAT", Type: pipeline.TypeDateTime},
		},
		rows: [][]any{
			{"0090000001", "1234.50", mustDate("2024-03-01")},
			{"0090000002", "-.5", mustDate("2024-03-02")},
			{"0090000003", nil, mustDate("2024-03-03")},
		},
	}
	sink := bufferSink{}
	p := &pipeline.Pipeline{
		Source:  src,
		Sink:    sink,
		Name:    "TRP-001/v001/VBRK.jsonl.gz",
		Encoder: stages.NDJSON(stages.NDJSONOptions{}),
		Codec:   compression.Default(), // the line compressor at gzip level 1; see package compression
		Config:  pipeline.Config{EncodeWorkers: 2},
	}
	st, err := p.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d rows in %d batches, %d bytes of NDJSON\n", st.Rows, st.Batches, st.RawBytes)

	zr, err := gzip.NewReader(bytes.NewReader(sink[p.Name]))
	if err != nil {
		log.Fatal(err)
	}
	ndjson, _ := io.ReadAll(zr)
	fmt.Print(string(ndjson))
	// Output:
	// 3 rows in 2 batches, 201 bytes of NDJSON
	// {"VBELN":"0090000001","NETWR":1234.50,"FKDAT":"2024-03-01T00:00:00"}
	// {"VBELN":"0090000002","NETWR":-0.5,"FKDAT":"2024-03-02T00:00:00"}
	// {"VBELN":"0090000003","NETWR":null,"FKDAT":"2024-03-03T00:00:00"}
}
