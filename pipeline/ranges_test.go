package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

const rangeTable = "VBRK"

func synthTable(t *testing.T, rows int64) (*synth.Connector, pipeline.TableInfo) {
	t.Helper()
	c, err := synth.New(synth.Config{Rows: map[string]int64{rangeTable: rows}, DefaultRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Describe(context.Background(), rangeTable)
	if err != nil {
		t.Fatal(err)
	}
	return c, info
}

func readFile(t *testing.T, s *file.Sink, name string) []byte {
	t.Helper()
	r, err := s.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// flakySource fails with a transient error after its first batch.
type flakySource struct {
	pipeline.Source
	n int
}

func (s *flakySource) Next(ctx context.Context) (*pipeline.Batch, error) {
	if s.n++; s.n == 2 {
		return nil, pipeline.Transient(errors.New("connection reset"))
	}
	return s.Source.Next(ctx)
}

func TestRangeRun(t *testing.T) {
	ctx := context.Background()
	const rows = 4000 // 8 batches of 500; 40 ranges of 100 rows
	c, info := synthTable(t, rows)
	cfg := pipeline.Config{ChunkRows: 500, EncodeWorkers: 2, Retry: pipeline.Retry{Attempts: 3, Backoff: 1}}

	// reference: one pipeline over the whole table
	ref, err := file.New(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: cfg.ChunkRows})
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.Pipeline{Source: src, Sink: ref, Name: "T/v001/VBRK.jsonl.gz", Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: compression.Must(compression.New(compression.Spec{Name: "pgzip", Level: 1})), Config: cfg}
	want, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantNDJSON := testutil.GunzipOne(t, readFile(t, ref, p.Name))

	newRun := func(t *testing.T, n, workers int, open func(ctx context.Context, r pipeline.Range) (pipeline.Source, error)) (*pipeline.RangeRun, *file.Sink) {
		sink, err := file.New(t.TempDir(), "b")
		if err != nil {
			t.Fatal(err)
		}
		rs, err := c.Ranges(ctx, info, nil, n)
		if err != nil {
			t.Fatal(err)
		}
		if open == nil {
			open = func(ctx context.Context, r pipeline.Range) (pipeline.Source, error) {
				return c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: cfg.ChunkRows, Range: &r})
			}
		}
		return &pipeline.RangeRun{Name: p.Name, TempPrefix: "T/v001/_ranges/VBRK/", Ranges: rs, Open: open, Sink: sink,
			Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: flateCodec(1), Config: cfg, Workers: workers}, sink
	}

	for _, tc := range []struct {
		name       string
		n, workers int
		level      int
	}{{"one-range", 1, 1, 1}, {"4-ranges", 4, 4, 1}, {"40-ranges-2-workers", 40, 2, 1}, {"7-ranges-level-6", 7, 3, 6}, {"huffman-only", 3, 3, -2}} {
		t.Run(tc.name, func(t *testing.T) {
			rr, sink := newRun(t, tc.n, tc.workers, nil)
			rr.Codec = flateCodec(tc.level)
			var mu sync.Mutex
			var seen pipeline.Progress
			rr.Observer = func(p pipeline.Progress) { mu.Lock(); seen.Rows += p.Rows; seen.RawBytes += p.RawBytes; mu.Unlock() }
			st, res, err := rr.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := readFile(t, sink, p.Name)
			if !bytes.Equal(testutil.GunzipOne(t, got), wantNDJSON) {
				t.Fatal("decompressed output differs from the single pipeline's")
			}
			if st.Rows != rows || st.RawBytes != want.RawBytes || st.RawCRC32C != want.RawCRC32C {
				t.Fatalf("stats rows %d raw %d crc %08x; single run: %d %d %08x", st.Rows, st.RawBytes, st.RawCRC32C, want.Rows, want.RawBytes, want.RawCRC32C)
			}
			if st.CRC32C != pipeline.CRC32C(got) || st.CompressedBytes != int64(len(got)) || st.Object.Name != p.Name {
				t.Fatalf("stats crc %08x size %d, object has %08x %d", st.CRC32C, st.CompressedBytes, pipeline.CRC32C(got), len(got))
			}
			if seen.Rows != rows || seen.RawBytes != want.RawBytes {
				t.Fatalf("observer saw %d rows %d bytes", seen.Rows, seen.RawBytes)
			}
			if len(res) != tc.n {
				t.Fatalf("%d results, want %d", len(res), tc.n)
			}
			for _, r := range res {
				if r.Attempts != 1 || r.Rows == 0 {
					t.Fatalf("range %d: %d attempts %d rows", r.Range.Index, r.Attempts, r.Rows)
				}
			}
			if files := listFiles(t, sink.Root()); len(files) != 1 || files[0] != p.Name {
				t.Fatalf("files left: %v", files)
			}
		})
	}

	t.Run("retry-one-range", func(t *testing.T) {
		var mu sync.Mutex
		opened := map[int]int{}
		rr, sink := newRun(t, 5, 5, func(ctx context.Context, r pipeline.Range) (pipeline.Source, error) {
			mu.Lock()
			opened[r.Index]++
			first := opened[r.Index] == 1
			mu.Unlock()
			s, err := c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: cfg.ChunkRows, Range: &r})
			if err == nil && r.Index == 2 && first {
				return &flakySource{Source: s}, nil
			}
			return s, err
		})
		var seen int64
		rr.Observer = func(p pipeline.Progress) { seen += p.Rows }
		retried := -1
		rr.OnRetry = func(r pipeline.Range, attempt int, err error) { retried = r.Index }
		st, res, err := rr.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			want := 1
			if r.Range.Index == 2 {
				want = 2
			}
			if r.Attempts != want {
				t.Errorf("range %d: %d attempts, want %d", r.Range.Index, r.Attempts, want)
			}
		}
		if retried != 2 || seen != rows || st.Rows != rows {
			t.Fatalf("retried %d, observer %d rows, stats %d", retried, seen, st.Rows)
		}
		if !bytes.Equal(testutil.GunzipOne(t, readFile(t, sink, p.Name)), wantNDJSON) {
			t.Fatal("output after a retried range differs")
		}
		if files := listFiles(t, sink.Root()); len(files) != 1 {
			t.Fatalf("files left: %v", files)
		}
	})

	t.Run("last-range-fails", func(t *testing.T) {
		boom := errors.New("permission denied")
		rr, sink := newRun(t, 6, 1, func(ctx context.Context, r pipeline.Range) (pipeline.Source, error) {
			if r.Index == 5 {
				return nil, boom
			}
			return c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: cfg.ChunkRows, Range: &r})
		})
		_, res, err := rr.Run(ctx)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
		if res[4].Attempts != 1 || res[4].Rows == 0 {
			t.Fatalf("range 4 should have succeeded first: %+v", res[4])
		}
		if files := listFiles(t, sink.Root()); len(files) != 0 {
			t.Fatalf("files left after failure: %v", files)
		}
	})

	t.Run("transient-exhausted", func(t *testing.T) {
		rr, sink := newRun(t, 3, 3, func(ctx context.Context, r pipeline.Range) (pipeline.Source, error) {
			s, err := c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: cfg.ChunkRows, Range: &r})
			if err == nil && r.Index == 1 {
				return &flakySource{Source: s}, nil
			}
			return s, err
		})
		_, res, err := rr.Run(ctx)
		if err == nil || !pipeline.IsTransient(err) {
			t.Fatalf("err = %v, want a transient error", err)
		}
		if res[1].Attempts != 3 {
			t.Fatalf("range 1: %d attempts, want 3", res[1].Attempts)
		}
		if files := listFiles(t, sink.Root()); len(files) != 0 {
			t.Fatalf("files left after failure: %v", files)
		}
	})

	t.Run("sink-without-compose", func(t *testing.T) {
		rr, _ := newRun(t, 2, 2, nil)
		rr.Sink = createOnly{rr.Sink}
		if _, _, err := rr.Run(ctx); err == nil {
			t.Fatal("a sink without Compose was accepted")
		}
	})
}

type createOnly struct{ pipeline.Sink }

// noRemove is a sink whose every Remove fails.
type noRemove struct{ *file.Sink }

var errNoDelete = errors.New("delete refused")

func (s noRemove) Remove(ctx context.Context, name string) error { return errNoDelete }

// TestRangeRunCleanupFailures: temporary objects that cannot be removed are
// never forgotten silently. After a successful compose (the object is
// complete and verified) every one of them is listed in Stats.CleanupErrors
// with its name and the error; after a failure they are joined into the
// returned error.
func TestRangeRunCleanupFailures(t *testing.T) {
	ctx := context.Background()
	c, info := synthTable(t, 1000)
	cfg := pipeline.Config{ChunkRows: 250, EncodeWorkers: 1, Retry: pipeline.Retry{Attempts: 1, Backoff: 1}}
	run := func(t *testing.T, open func(ctx context.Context, r pipeline.Range) (pipeline.Source, error)) (pipeline.Stats, error, *file.Sink) {
		fs, err := file.New(t.TempDir(), "b")
		if err != nil {
			t.Fatal(err)
		}
		rs, err := c.Ranges(ctx, info, nil, 3)
		if err != nil {
			t.Fatal(err)
		}
		if open == nil {
			open = func(ctx context.Context, r pipeline.Range) (pipeline.Source, error) {
				return c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: cfg.ChunkRows, Range: &r})
			}
		}
		rr := &pipeline.RangeRun{Name: "T/v001/VBRK.jsonl.gz", TempPrefix: "T/v001/_ranges/VBRK/", Ranges: rs, Open: open,
			Sink: noRemove{fs}, Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: flateCodec(1), Config: cfg}
		st, _, err := rr.Run(ctx)
		return st, err, fs
	}

	t.Run("success", func(t *testing.T) {
		st, err, fs := run(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Rows != 1000 {
			t.Fatalf("%d rows", st.Rows)
		}
		var temps []string
		for _, f := range listFiles(t, fs.Root()) {
			if f != "T/v001/VBRK.jsonl.gz" {
				temps = append(temps, f)
			}
		}
		// 3 segments, header and trailer stay behind: each must be reported
		if len(temps) != 5 || len(st.CleanupErrors) != len(temps) {
			t.Fatalf("left %v, reported %q", temps, st.CleanupErrors)
		}
		for i, name := range temps {
			if msg := st.CleanupErrors[i]; !strings.Contains(msg, name) || !strings.Contains(msg, errNoDelete.Error()) {
				t.Errorf("cleanup error %q does not name %s and the cause", msg, name)
			}
		}
	})

	t.Run("failure", func(t *testing.T) {
		boom := errors.New("permission denied")
		_, err, _ := run(t, func(ctx context.Context, r pipeline.Range) (pipeline.Source, error) {
			if r.Index == 2 {
				return nil, boom
			}
			return c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: cfg.ChunkRows, Range: &r})
		})
		if !errors.Is(err, boom) || !errors.Is(err, errNoDelete) {
			t.Fatalf("err = %v, want the range's error and the cleanup's", err)
		}
	})
}

// flateCodec is package compression's flate codec at level (streaming
// flate range segments).
func flateCodec(level int) compression.Codec {
	return compression.Must(compression.New(compression.Spec{Name: "blocks", Level: level}))
}

// TestSegmentWriteAndCompose: two SegmentWrites (as two distributed
// shards) composed by ComposeSegments with the codec's framing are one gzip
// member of both sources' lines; RawCRC32 is the CRC-32 of each segment's
// NDJSON. A SegmentWrite without a codec, or with parts, is refused before
// anything is written.
func TestSegmentWriteAndCompose(t *testing.T) {
	ctx := context.Background()
	fs, err := file.New(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	for _, codec := range []compression.Codec{compression.Default(), flateCodec(6)} {
		t.Run(codec.Name(), func(t *testing.T) {
			var results []pipeline.RangeResult
			var want bytes.Buffer
			for i := range 2 {
				src := newFakeSource(5+i, 40)
				name := fmt.Sprintf("T/_shards/%s-%d.deflate", codec.Name(), i)
				res, err := pipeline.SegmentWrite{Source: src, Sink: fs, Name: name,
					Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: codec}.Run(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var raw bytes.Buffer
				for id := range (5 + i) * 40 {
					raw.WriteString(expectedLine(id) + "\n")
				}
				if res.RawCRC32 != crc32.ChecksumIEEE(raw.Bytes()) || res.RawBytes != int64(raw.Len()) || res.Segment != name {
					t.Fatalf("segment %d: %+v, want CRC-32 %08x of %d bytes", i, res, crc32.ChecksumIEEE(raw.Bytes()), raw.Len())
				}
				want.Write(raw.Bytes())
				results = append(results, res)
			}
			obj := "T/" + codec.Name() + ".jsonl.gz"
			st, err := pipeline.ComposeSegments(ctx, codec, fs, obj, "T/_final/"+codec.Name()+"/", results, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := testutil.GunzipOne(t, readFile(t, fs, obj)); !bytes.Equal(got, want.Bytes()) || st.Rows != 5*40+6*40 {
				t.Fatalf("composed %d bytes (%d rows), want %d", len(got), st.Rows, want.Len())
			}
		})
	}
	// (the path the refusals are checked at holds a written segment)
	if _, err := os.Stat(filepath.Join(fs.Root(), filepath.FromSlash("T/_shards/lines-0.deflate"))); err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string]pipeline.SegmentWrite{
		"no codec": {Source: newFakeSource(1, 1), Sink: fs, Name: "T/x.deflate", Encoder: stages.NDJSON(stages.NDJSONOptions{})},
		"parts": {Source: newFakeSource(1, 1), Sink: fs, Name: "T/y.deflate", Encoder: stages.NDJSON(stages.NDJSONOptions{}),
			Codec: compression.Default(), Config: pipeline.Config{PartBytes: 1 << 20}},
	} {
		if _, err := w.Run(ctx); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := os.Stat(filepath.Join(fs.Root(), filepath.FromSlash(w.Name))); !os.IsNotExist(err) {
			t.Errorf("%s: something was written: %v", name, err)
		}
	}
	if _, err := pipeline.ComposeSegments(ctx, nil, fs, "T/z.jsonl.gz", "T/_f/", nil, nil); err == nil {
		t.Error("ComposeSegments without framing accepted")
	}
}

// TestSegmentWriteWhole: a Whole segment framed alone by ComposeSegments is
// byte for byte the object a Pipeline over the same batches writes, for
// the block codecs (and an empty source too); without Whole, or for pgzip,
// it is the same NDJSON.
func TestSegmentWriteWhole(t *testing.T) {
	ctx := context.Background()
	fs, err := file.New(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	pgz := compression.Must(compression.New(compression.Spec{Name: "pgzip", Level: 1}))
	for _, tc := range []struct {
		codec     compression.Codec
		whole     bool
		batches   int
		identical bool
	}{
		{compression.Default(), true, 7, true}, {flateCodec(6), true, 7, true}, {compression.Default(), true, 0, true},
		{compression.Must(compression.New(compression.Spec{Name: "blocks", Level: 1, Verify: true})), true, 3, true},
		{compression.Default(), false, 7, false}, {pgz, true, 7, false},
	} {
		name := fmt.Sprintf("%s-%d-whole=%v-%d", tc.codec.Name(), tc.codec.Level(), tc.whole, tc.batches)
		t.Run(name, func(t *testing.T) {
			cfg := pipeline.Config{EncodeWorkers: 2, PieceBytes: 8 << 10}
			single := "T/" + name + "/single.jsonl.gz"
			p := pipeline.Pipeline{Source: newFakeSource(tc.batches, 300), Sink: fs, Name: single,
				Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: tc.codec, Config: cfg}
			if _, err := p.Run(ctx); err != nil {
				t.Fatal(err)
			}
			res, err := pipeline.SegmentWrite{Source: newFakeSource(tc.batches, 300), Sink: fs, Name: "T/" + name + "/seg",
				Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: tc.codec, Config: cfg, Whole: tc.whole}.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			composed := "T/" + name + "/composed.jsonl.gz"
			if _, err := pipeline.ComposeSegments(ctx, tc.codec, fs, composed, "T/"+name+"/_f/", []pipeline.RangeResult{res}, nil); err != nil {
				t.Fatal(err)
			}
			s, c := readFile(t, fs, single), readFile(t, fs, composed)
			if !bytes.Equal(testutil.GunzipOne(t, s), testutil.GunzipOne(t, c)) {
				t.Fatal("the NDJSON differs")
			}
			if bytes.Equal(s, c) != tc.identical {
				t.Fatalf("compressed objects identical = %v, want %v (%d and %d bytes)", bytes.Equal(s, c), tc.identical, len(s), len(c))
			}
		})
	}
}
