package gcs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/gcstest"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
	"github.com/ora2gcs/ora2gcs/sinks/sinktest"
)

// manifestJSON is an object shaped and sized like a job's _manifest.json.
func manifestJSON(t *testing.T) []byte {
	t.Helper()
	var tables []map[string]any
	for i := range 12 {
		tables = append(tables, map[string]any{"table": fmt.Sprintf("T%02d", i), "object": fmt.Sprintf("TRP-001/v001/T%02d.jsonl.gz", i),
			"rows": 1000 + i, "bytes": 40000 + i, "crc32c": "AAAAAA==", "status": "completed"})
	}
	b, err := json.MarshalIndent(map[string]any{"transport_id": "TRP-001", "version": 1, "status": "completed", "tables": tables}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// checkCommitted asserts that info describes data and that the bucket holds
// exactly data under name.
func checkCommitted(t *testing.T, srv *gcstest.Server, name string, data []byte, info pipeline.ObjectInfo) {
	t.Helper()
	if info.Name != name || info.Size != int64(len(data)) || info.CRC32C != pipeline.CRC32C(data) || !info.CRC32CReported {
		t.Errorf("ObjectInfo %+v does not describe the %d bytes written (CRC32C %08x, reported)", info, len(data), pipeline.CRC32C(data))
	}
	got, ok := srv.Read(t, bucket, name)
	if !ok || !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes (visible %v), want the %d bytes written", len(got), ok, len(data))
	}
}

// retriedAfter asserts that the proxy injected exactly the faults wanted
// and that the client sent the request of the fault's kind again afterwards
// (so the lost answer was really followed by a retry).
func retriedAfter(t *testing.T, p *gcstest.Proxy, want int) {
	t.Helper()
	inj := p.Injected()
	if len(inj) != want {
		t.Fatalf("proxy injected %v, want %d faults: the test did not exercise what it claims", inj, want)
	}
	reqs := p.Requests()
	for _, f := range inj {
		again := false
		for _, r := range reqs {
			if r.Kind == f.Kind && r.N > f.N && r.Name == f.Name {
				again = true
			}
		}
		if !again {
			t.Fatalf("no retry of %s %q after its lost answer; requests %+v", f.Kind, f.Name, reqs)
		}
	}
}

// TestLostAnswerCommit drops the answer to the request that creates the
// object, after storage has acted on it. The client retries with
// ifGenerationMatch=0 (a single-request upload gets 412) or resends the
// final chunk to a finished session; either way the object at the final
// name is the one this attempt wrote, and Commit must say so.
func TestLostAnswerCommit(t *testing.T) {
	manifest := "TRP-001/v001/_manifest.json"
	cases := []struct {
		name string
		obj  string
		data []byte
		rule gcstest.Rule
	}{
		{"single-request-upload", sinktest.SpecName, sinktest.Random(1000, 7),
			gcstest.Rule{Kind: gcstest.Upload, N: 1, Fault: gcstest.DropAfterForward}},
		{"empty-object", sinktest.SpecName, nil,
			gcstest.Rule{Kind: gcstest.Upload, N: 1, Fault: gcstest.DropAfterForward}},
		{"final-chunk-of-resumable-upload", sinktest.SpecName, sinktest.Random(3<<20+5, 8),
			gcstest.Rule{Kind: gcstest.FinalChunk, N: 1, Fault: gcstest.DropAfterForward}},
		{"manifest", manifest, manifestJSON(t),
			gcstest.Rule{Kind: gcstest.Upload, Name: manifest, N: 1, Fault: gcstest.DropAfterForward}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := gcstest.Start(t, bucket)
			p := srv.Proxy(t, nil, c.rule)
			s := newSink(t, p.Client, testConfig())
			info, err := write(t, s, c.obj, c.data)
			if err != nil {
				t.Fatalf("Commit after a lost answer: %v (requests %+v)", err, p.Requests())
			}
			retriedAfter(t, p, 1)
			checkCommitted(t, srv, c.obj, c.data, info)
			attrs, err := srv.Client.Bucket(bucket).Object(c.obj).Attrs(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if attrs.Metadata[gcs.AttemptMetadataKey] == "" {
				t.Errorf("stored object carries no %s tag: %v", gcs.AttemptMetadataKey, attrs.Metadata)
			}
		})
	}
}

// TestLostAnswerRealConflict: another writer's object already sits at the
// name (with the very same bytes, so only the attempt tag tells them apart).
// The first request fails before reaching storage, the other writer
// finalizes meanwhile, and the retry gets 412: that is a conflict, never
// adopted, and the other object stays untouched.
func TestLostAnswerRealConflict(t *testing.T) {
	small, large := sinktest.Random(1000, 9), sinktest.Random(1<<20+3, 10)
	cases := []struct {
		name  string
		data  []byte
		other func(t *testing.T, srv *gcstest.Server, data []byte) // the other writer
		rule  gcstest.Rule
	}{
		{"already-there-plain-client", small, plainWrite, gcstest.Rule{}},
		{"already-there-another-attempt-same-bytes", small, sinkWrite, gcstest.Rule{}},
		{"appears-before-retry-of-single-request-upload", small, nil,
			gcstest.Rule{Kind: gcstest.Upload, N: 1, Fault: gcstest.Fail503}},
		{"appears-before-retry-of-final-chunk", large, nil,
			gcstest.Rule{Kind: gcstest.FinalChunk, N: 1, Fault: gcstest.Fail503}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := gcstest.Start(t, bucket)
			var rules []gcstest.Rule
			if c.other != nil {
				c.other(t, srv, c.data)
			} else {
				r := c.rule
				r.Before = func() { sinkWrite(t, srv, c.data) }
				rules = append(rules, r)
			}
			before, err := srv.Client.Bucket(bucket).Object(sinktest.SpecName).Attrs(context.Background())
			if c.other != nil && err != nil {
				t.Fatal(err)
			}
			p := srv.Proxy(t, nil, rules...)
			s := newSink(t, p.Client, testConfig())
			_, err = write(t, s, sinktest.SpecName, c.data)
			if len(p.Injected()) != len(rules) {
				t.Fatalf("proxy injected %v; want %d faults", p.Injected(), len(rules))
			}
			if !errors.Is(err, gcs.ErrExists) || !strings.Contains(err.Error(), "use a new job version") {
				t.Fatalf("Commit = %v; want ErrExists", err)
			}
			after, aerr := srv.Client.Bucket(bucket).Object(sinktest.SpecName).Attrs(context.Background())
			if aerr != nil {
				t.Fatalf("the other writer's object is gone: %v", aerr)
			}
			if c.other != nil && after.Generation != before.Generation {
				t.Fatalf("the other writer's object was replaced: generation %d → %d", before.Generation, after.Generation)
			}
			if got, _ := srv.Read(t, bucket, sinktest.SpecName); !bytes.Equal(got, c.data) {
				t.Fatal("the other writer's bytes changed")
			}
		})
	}
}

// plainWrite stores data at SpecName without any attempt tag.
func plainWrite(t *testing.T, srv *gcstest.Server, data []byte) {
	w := srv.Client.Bucket(bucket).Object(sinktest.SpecName).NewWriter(context.Background())
	if _, err := w.Write(data); err != nil {
		t.Error(err)
	}
	if err := w.Close(); err != nil {
		t.Error(err)
	}
}

// sinkWrite stores data at SpecName through another sink: another attempt
// with its own tag.
func sinkWrite(t *testing.T, srv *gcstest.Server, data []byte) {
	s, err := gcs.NewWithClient(srv.Client, testConfig())
	if err != nil {
		t.Error(err)
		return
	}
	obj, err := s.Create(context.Background(), sinktest.SpecName)
	if err != nil {
		t.Error(err)
		return
	}
	if _, err := obj.Write(data); err != nil {
		t.Error(err)
	}
	if _, err := obj.Commit(); err != nil {
		t.Error(err)
	}
}

// writeSources stores each piece as "src/NNNNN" and returns the names.
func writeSources(t *testing.T, s *gcs.Sink, pieces [][]byte) []string {
	t.Helper()
	var names []string
	for i, b := range pieces {
		n := fmt.Sprintf("T/v001/_ranges/X/%05d.deflate", i)
		if _, err := write(t, s, n, b); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

// TestLostAnswerCompose drops compose answers after the emulator composed:
// the retry meets the object (412, which the proxy enforces as GCS does),
// and Compose recognises its own result. With 70 sources the first
// intermediate and the final compose both lose their answers.
func TestLostAnswerCompose(t *testing.T) {
	dst := "T/v001/X.jsonl.gz"
	for _, n := range []int{3, 70} {
		t.Run(fmt.Sprintf("%d-sources", n), func(t *testing.T) {
			srv := gcstest.Start(t, bucket)
			var pieces [][]byte
			for i := range n {
				pieces = append(pieces, sinktest.Random(1000+i, uint64(i)))
			}
			srcs := writeSources(t, newSink(t, srv.Client, testConfig()), pieces)
			rules := []gcstest.Rule{{Kind: gcstest.Compose, Name: dst, N: 1, Fault: gcstest.DropAfterForward}}
			if n > gcs.MaxComposeSources {
				rules = append(rules, gcstest.Rule{Kind: gcstest.Compose, N: 1, Fault: gcstest.DropAfterForward})
			}
			p := srv.Proxy(t, nil, rules...)
			s := newSink(t, p.Client, testConfig())
			info, err := s.Compose(context.Background(), dst, srcs)
			if err != nil {
				t.Fatalf("Compose after a lost answer: %v (requests %+v)", err, p.Requests())
			}
			retriedAfter(t, p, len(rules))
			checkCommitted(t, srv, dst, bytes.Join(pieces, nil), info)
			if got := len(srv.Objects(t, bucket)); got != n+1 {
				t.Fatalf("%d objects in the bucket, want %d sources + 1: %v", got, n, srv.Objects(t, bucket))
			}
		})
	}
}

// TestComposeRealConflict: another writer creates the destination between
// Compose's existence check and its compose request (with the very bytes
// the compose would produce). Compose fails with ErrExists and leaves the
// other object alone.
func TestComposeRealConflict(t *testing.T) {
	dst := "T/v001/X.jsonl.gz"
	srv := gcstest.Start(t, bucket)
	pieces := [][]byte{[]byte("one"), []byte("two")}
	srcs := writeSources(t, newSink(t, srv.Client, testConfig()), pieces)
	var gen int64
	other := func() {
		w := srv.Client.Bucket(bucket).Object(dst).NewWriter(context.Background())
		_, _ = w.Write(bytes.Join(pieces, nil))
		if err := w.Close(); err != nil {
			t.Error(err)
		}
		gen = w.Attrs().Generation
	}
	p := srv.Proxy(t, nil, gcstest.Rule{Kind: gcstest.Compose, Name: dst, N: 1, Before: other})
	s := newSink(t, p.Client, testConfig())
	_, err := s.Compose(context.Background(), dst, srcs)
	if !errors.Is(err, gcs.ErrExists) {
		t.Fatalf("Compose = %v; want ErrExists (requests %+v)", err, p.Requests())
	}
	attrs, aerr := srv.Client.Bucket(bucket).Object(dst).Attrs(context.Background())
	if aerr != nil || attrs.Generation != gen {
		t.Fatalf("the other writer's object was replaced or removed: %v, %+v (its generation %d)", aerr, attrs, gen)
	}
}

// TestComposeIntermediateConflictLeavesOtherObject: an object of another
// writer sits at the name of an intermediate compose object. Compose fails
// with ErrExists and does not delete it in its clean-up.
func TestComposeIntermediateConflictLeavesOtherObject(t *testing.T) {
	srv := gcstest.Start(t, bucket)
	var pieces [][]byte
	for i := range 40 {
		pieces = append(pieces, []byte{byte(i)})
	}
	s := newSink(t, gcstest.NewProxy(t, srv.URL, nil).Client, testConfig())
	srcs := writeSources(t, s, pieces)
	squatter := "T/v001/_ranges/X/_compose.X.jsonl.gz.1.00000"
	plainWriteName(t, srv, squatter, []byte("not ours"))
	_, err := s.Compose(context.Background(), "T/v001/X.jsonl.gz", srcs)
	if !errors.Is(err, gcs.ErrExists) {
		t.Fatalf("Compose = %v; want ErrExists", err)
	}
	if got, ok := srv.Read(t, bucket, squatter); !ok || string(got) != "not ours" {
		t.Fatalf("Compose's clean-up removed or changed another writer's object (%q, %v)", got, ok)
	}
	if _, ok := srv.Read(t, bucket, "T/v001/X.jsonl.gz"); ok {
		t.Fatal("a failed Compose left the destination")
	}
}

func plainWriteName(t *testing.T, srv *gcstest.Server, name string, data []byte) {
	t.Helper()
	w := srv.Client.Bucket(bucket).Object(name).NewWriter(context.Background())
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLostAnswerDeleteOfBadObject: the sink deletes a corrupted object it
// committed, and the delete's answer is lost; the retry finds nothing (404).
// The object is gone, and the error must not claim the delete failed.
func TestLostAnswerDeleteOfBadObject(t *testing.T) {
	srv := gcstest.Start(t, bucket)
	p := srv.Proxy(t, gcstest.Plan{3: gcstest.CorruptByte},
		gcstest.Rule{Kind: gcstest.Delete, N: 1, Fault: gcstest.DropAfterForward})
	_, err := write(t, newSink(t, p.Client, testConfig()), sinktest.SpecName, sinktest.Random(1<<20, 5))
	if !errors.Is(err, gcs.ErrMismatch) {
		t.Fatalf("Commit = %v; want ErrMismatch", err)
	}
	if len(p.Injected()) != 2 {
		t.Fatalf("injected %v; want the corruption and the lost delete answer", p.Injected())
	}
	if strings.Contains(err.Error(), "failed too") {
		t.Fatalf("error claims the delete failed, but the object is gone: %v", err)
	}
	if objs := srv.Objects(t, bucket); len(objs) != 0 {
		t.Fatalf("bucket holds %v", objs)
	}
}

// TestCancelWhileFinalizing: storage creates the object, then the caller
// cancels before the answer arrives (the answer is lost). Commit or Compose
// fails, so the object this attempt created must not stay at the final name
// looking complete; another writer's object is never touched (see
// TestLostAnswerRealConflict).
func TestCancelWhileFinalizing(t *testing.T) {
	const dst = "T/v001/X.jsonl.gz"
	cases := []struct {
		name string
		kind gcstest.Kind
		size int
	}{
		{"single-request-upload", gcstest.Upload, 1000},
		{"final-chunk", gcstest.FinalChunk, 1<<20 + 1},
		{"compose", gcstest.Compose, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := gcstest.Start(t, bucket)
			var srcs []string
			if c.kind == gcstest.Compose {
				srcs = writeSources(t, newSink(t, srv.Client, testConfig()), [][]byte{[]byte("a"), []byte("b")})
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stored := false
			p := srv.Proxy(t, nil, gcstest.Rule{Kind: c.kind, N: 1, Fault: gcstest.DropAfterForward, After: func() {
				_, stored = srv.Read(t, bucket, dst)
				cancel()
			}})
			s := newSink(t, p.Client, testConfig())
			var err error
			if c.kind == gcstest.Compose {
				_, err = s.Compose(ctx, dst, srcs)
			} else {
				var obj pipeline.Object
				if obj, err = s.Create(ctx, dst); err != nil {
					t.Fatal(err)
				}
				if _, err := obj.Write(sinktest.Random(c.size, 3)); err != nil {
					t.Fatal(err)
				}
				_, err = obj.Commit()
			}
			if !stored {
				t.Fatalf("the emulator had not stored the object when the caller cancelled; injected %v", p.Injected())
			}
			if err == nil {
				t.Fatal("Commit/Compose succeeded after its caller cancelled and its answer was lost")
			}
			if _, ok := srv.Read(t, bucket, dst); ok {
				t.Fatalf("failed with %v, but the object stays at the final name", err)
			}
			for _, o := range srv.Objects(t, bucket) {
				if !strings.Contains(o, "/_ranges/") {
					t.Errorf("object left: %s", o)
				}
			}
		})
	}
}
