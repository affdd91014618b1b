package gcs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/gcstest"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

// TestComposeTreeLeavesNoIntermediates composes 70 sources (a tree of
// two levels) and checks that only the sources and the result remain.
func TestComposeTreeLeavesNoIntermediates(t *testing.T) {
	srv := gcstest.Start(t, bucket)
	s := newSink(t, srv.Client, testConfig())
	var srcs []string
	for i := range 70 {
		name := fmt.Sprintf("T/v001/_ranges/X/%05d.deflate", i)
		if _, err := write(t, s, name, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, name)
	}
	if _, err := s.Compose(context.Background(), "T/v001/X.jsonl.gz", srcs); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.Objects(t, bucket)); got != 71 {
		t.Fatalf("%d objects in the bucket, want 70 sources + 1: %v", got, srv.Objects(t, bucket))
	}
}

// TestRangeRunToGCS runs 40 synth ranges into the emulator: the tree
// compose is needed, the result is one gzip member equal to a single
// pipeline's output, and no temporary object remains; then a run whose
// last range fails leaves nothing at all.
func TestRangeRunToGCS(t *testing.T) {
	ctx := context.Background()
	c, err := synth.New(synth.Config{Rows: map[string]int64{"LIKP": 8000}, DefaultRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Describe(ctx, "LIKP")
	if err != nil {
		t.Fatal(err)
	}
	srv := gcstest.Start(t, bucket)
	s := newSink(t, srv.Client, testConfig())
	cfg := pipeline.Config{ChunkRows: 100, EncodeWorkers: 2, Retry: pipeline.Retry{Attempts: 2, Backoff: 1}}

	src, err := c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: cfg.ChunkRows})
	if err != nil {
		t.Fatal(err)
	}
	single := pipeline.Pipeline{Source: src, Sink: s, Name: "T/v000/LIKP.jsonl.gz", Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: compression.Must(compression.New(compression.Spec{Name: "pgzip", Level: 1})), Config: cfg}
	want, err := single.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantGz, _ := srv.Read(t, bucket, single.Name)

	rs, err := c.Ranges(ctx, info, nil, 40)
	if err != nil {
		t.Fatal(err)
	}
	newRun := func(name string, failLast bool) *pipeline.RangeRun {
		return &pipeline.RangeRun{Name: name, TempPrefix: "T/_ranges/" + name + "/", Ranges: rs, Sink: s, Workers: 4,
			Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: compression.Must(compression.New(compression.Spec{Name: "blocks", Level: 1})), Config: cfg,
			Open: func(ctx context.Context, r pipeline.Range) (pipeline.Source, error) {
				if failLast && r.Index == len(rs)-1 {
					return nil, errors.New("table dropped")
				}
				return c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: cfg.ChunkRows, Range: &r})
			}}
	}
	rr := newRun("T/v001/LIKP.jsonl.gz", false)
	st, _, err := rr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := srv.Read(t, bucket, rr.Name)
	if !ok {
		t.Fatal("no final object")
	}
	if !bytes.Equal(testutil.GunzipOne(t, got), testutil.GunzipOne(t, wantGz)) {
		t.Fatal("composed object's content differs from the single pipeline's")
	}
	if st.RawCRC32C != want.RawCRC32C || st.Rows != want.Rows || st.CRC32C != pipeline.CRC32C(got) {
		t.Fatalf("stats %+v, single %+v", st, want)
	}
	if objs := srv.Objects(t, bucket); len(objs) != 2 {
		t.Fatalf("objects left: %v", objs)
	}

	if _, _, err := newRun("T/v002/LIKP.jsonl.gz", true).Run(ctx); err == nil {
		t.Fatal("a failed range did not fail the run")
	}
	if objs := srv.Objects(t, bucket); len(objs) != 2 {
		t.Fatalf("objects after a failed run: %v", objs)
	}
}
