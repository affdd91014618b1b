package distributed

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"))
}

func lines() Settings {
	return Settings{Compressor: "lines", GzipLevel: 1}
}

// synthEnv is a synthetic source and a file store.
type synthEnv struct {
	conn  *synth.Connector
	store Store
	dir   string
}

func newSynthEnv(t *testing.T, rows int64) *synthEnv {
	t.Helper()
	conn, err := synth.New(synth.Config{Rows: map[string]int64{"VBRP": rows, "VBRK": rows / 3, "LIKP": 0}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fs, err := file.New(dir, "bkt")
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewStore(fs)
	if err != nil {
		t.Fatal(err)
	}
	return &synthEnv{conn: conn, store: st, dir: dir}
}

func (e *synthEnv) plan(t *testing.T, version string, shards int, tables ...string) *Plan {
	t.Helper()
	ctx := context.Background()
	var pts []PlanTable
	for _, n := range tables {
		info, err := e.conn.Describe(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		pts = append(pts, PlanTable{Info: info, Table: n, ObjectBase: n})
	}
	pl := Planner{Connector: e.conn, Store: e.store, TransportID: "TRP-D", JobVersion: version, Bucket: "bkt",
		Tables: pts, Settings: lines(), Shards: shards, ChunkRows: 1000, Attempts: AttemptPolicy{Attempts: 3, BackoffSeconds: 0.001}}
	p, snap, err := pl.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = snap.Close() })
	return p
}

func (e *synthEnv) shard(t *testing.T, p *Plan, i int) ShardResult {
	t.Helper()
	r, err := (&ShardRun{Plan: p, Store: e.store, Connector: e.conn, Index: i}).Run(context.Background())
	if err != nil {
		t.Fatalf("shard %d: %v", i, err)
	}
	return r
}

func (e *synthEnv) read(t *testing.T, name string) ([]byte, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "bkt", filepath.FromSlash(name)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zr.Read(make([]byte, 1)); err != io.EOF {
		t.Fatal("more than one gzip member")
	}
	return out
}

// singleRun writes table as one pipeline (the single-machine path for a
// table that is not split) and returns the NDJSON.
func singleNDJSON(t *testing.T, conn pipeline.Connector, table string) []byte {
	t.Helper()
	ctx := context.Background()
	info, err := conn.Describe(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	src, err := conn.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: 1000, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := file.New(t.TempDir(), "single")
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.Pipeline{Source: src, Sink: fs, Name: "x.jsonl.gz", Encoder: stages.NDJSON(stages.NDJSONOptions{BigQuery: true}),
		Codec: compression.Default()}
	if _, err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(fs.Root(), "x.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return gunzip(t, b)
}

// TestPlanShardsFinalize: the plan splits the big table, every shard runs
// (in parallel), finalize writes one gzip member per table whose NDJSON is
// that of a single pipeline over the table, the schema and a manifest with
// every shard, and leaves nothing below _shards/.
func TestPlanShardsFinalize(t *testing.T) {
	e := newSynthEnv(t, 9000)
	p := e.plan(t, "v001", 4, "VBRP", "VBRK", "LIKP")
	if len(p.Tables) != 3 || len(p.Tables[0].Shards) < 3 || len(p.Tables[2].Shards) != 1 {
		t.Fatalf("plan shards per table: %v %v %v", p.Tables[0].Shards, p.Tables[1].Shards, p.Tables[2].Shards)
	}
	var wg sync.WaitGroup
	for i := range p.Shards {
		wg.Go(func() { e.shard(t, p, i) })
	}
	wg.Wait()
	res, err := (&Finalizer{Plan: p, Store: e.store}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.CleanupErrors) > 0 {
		t.Fatal(res.CleanupErrors)
	}
	for _, tb := range p.Tables {
		b, ok := e.read(t, tb.Object)
		if !ok {
			t.Fatalf("%s missing", tb.Object)
		}
		if got, want := gunzip(t, b), singleNDJSON(t, e.conn, tb.Table); !bytes.Equal(got, want) {
			t.Fatalf("%s: %d bytes of NDJSON, single run %d", tb.Table, len(got), len(want))
		}
		if _, ok := e.read(t, p.Prefix()+tb.ObjectBase+".schema.json"); !ok {
			t.Fatalf("%s: no schema", tb.Table)
		}
	}
	mb, ok := e.read(t, p.ManifestName())
	if !ok {
		t.Fatal("no manifest")
	}
	var m jobs.Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	if m.Status != "completed" || m.TotalRows != 9000+3000 || len(m.Tables) != 3 || len(m.Tables[0].Ranges) != len(p.Tables[0].Shards) {
		t.Fatalf("manifest %+v", m)
	}
	var sum int64
	for _, r := range m.Tables[0].Ranges {
		sum += r.Rows
		if r.Attempts != 1 {
			t.Fatalf("range %+v", r)
		}
	}
	if sum != 9000 || m.Tables[0].CRC32CHex == "" {
		t.Fatalf("ranges sum %d, %+v", sum, m.Tables[0])
	}
	if left, _ := listAll(context.Background(), e.store, p.ShardsPrefix()); len(left) > 0 {
		t.Fatalf("left below _shards/: %v", left)
	}
	// a second finalize reports the stored manifest and writes nothing
	res2, err := (&Finalizer{Plan: p, Store: e.store}).Run(context.Background())
	if err != nil || !res2.AlreadyFinalized {
		t.Fatalf("second finalize: %v %+v", err, res2)
	}
}

// TestTwoAttemptsOneAccepted: attempts of one shard at once (and again
// after it is done) leave exactly one accepted result and one segment.
func TestTwoAttemptsOneAccepted(t *testing.T) {
	e := newSynthEnv(t, 4000)
	p := e.plan(t, "v001", 2, "VBRP")
	const n = 4
	results := make([]ShardResult, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() {
			r, err := (&ShardRun{Plan: p, Store: e.store, Connector: e.conn, Index: 1, Attempt: fmt.Sprintf("att%d", k)}).Run(context.Background())
			if err != nil {
				t.Error(err)
			}
			results[k] = r
		})
	}
	wg.Wait()
	accepted := 0
	for _, r := range results {
		if r.Accepted {
			accepted++
		}
		if r.Completion.Attempt != results[0].Completion.Attempt {
			t.Fatalf("attempts disagree on the accepted result: %+v", results)
		}
	}
	if accepted != 1 {
		t.Fatalf("%d accepted", accepted)
	}
	names, _ := listAll(context.Background(), e.store, p.ShardsPrefix())
	if len(names) != 2 || names[1] != results[0].Completion.Segment {
		t.Fatalf("objects %v, accepted %s", names, results[0].Completion.Segment)
	}
	// a later attempt does not read at all
	read := false
	r, err := (&ShardRun{Plan: p, Store: e.store, Connector: e.conn, Index: 1,
		BeforeRead: func(int) error { read = true; return nil }}).Run(context.Background())
	if err != nil || r.Accepted || read {
		t.Fatalf("after done: %v %+v read=%v", err, r, read)
	}
}

// TestShardRetriesAndStaysInItsFolder: a transient failure on the first
// read retries the shard into a fresh segment; every object the shard
// leaves is in its own folder and the result is exact.
func TestShardRetriesAndStaysInItsFolder(t *testing.T) {
	e := newSynthEnv(t, 4000)
	p := e.plan(t, "v001", 3, "VBRP")
	var tries atomic.Int32
	var progress atomic.Int64
	r, err := (&ShardRun{Plan: p, Store: e.store, Connector: e.conn, Index: 1,
		Observer:   func(q pipeline.Progress) { progress.Add(q.Rows) },
		BeforeRead: func(try int) error { tries.Add(1); return nil },
	}).Run(context.Background())
	if err != nil || !r.Accepted || r.Completion.Tries != 1 {
		t.Fatalf("%v %+v", err, r)
	}
	// shard 2 fails once mid-read (after it wrote rows), then succeeds
	failOnce := &failingConnector{Connector: e.conn, failAfter: 1}
	r2, err := (&ShardRun{Plan: p, Store: e.store, Connector: failOnce, Index: 2,
		Observer: func(q pipeline.Progress) { progress.Add(q.Rows) }}).Run(context.Background())
	if err != nil || r2.Completion.Tries != 2 {
		t.Fatalf("%v %+v", err, r2)
	}
	if got := progress.Load(); got != r.Completion.Rows+r2.Completion.Rows {
		t.Fatalf("progress %d rows, shards %d", got, r.Completion.Rows+r2.Completion.Rows)
	}
	all, _ := listAll(context.Background(), e.store, "")
	for _, n := range all {
		if n != p.Name() && !strings.HasPrefix(n, p.ShardDir(1)) && !strings.HasPrefix(n, p.ShardDir(2)) {
			t.Fatalf("%s outside the shards' folders", n)
		}
	}
	if len(all) != 5 { // plan, 2 × (segment, done)
		t.Fatalf("objects %v", all)
	}
	for i := range p.Shards {
		if i != 1 && i != 2 {
			e.shard(t, p, i)
		}
	}
	if _, err := (&Finalizer{Plan: p, Store: e.store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := e.read(t, p.Tables[0].Object)
	if !bytes.Equal(gunzip(t, b), singleNDJSON(t, e.conn, "VBRP")) {
		t.Fatal("NDJSON differs after a retried shard")
	}
}

// failingConnector fails the first failAfter opened sources with a
// transient error (or err, if set) after their first batch.
type failingConnector struct {
	pipeline.Connector
	mu        sync.Mutex
	failAfter int
	err       error
}

func (c *failingConnector) Open(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, o pipeline.ReadOptions) (pipeline.Source, error) {
	src, err := c.Connector.Open(ctx, t, snap, o)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failAfter > 0 {
		c.failAfter--
		return &failingSource{Source: src, err: c.err}, nil
	}
	return src, nil
}

type failingSource struct {
	pipeline.Source
	n   int
	err error
}

func (s *failingSource) Next(ctx context.Context) (*pipeline.Batch, error) {
	if s.n++; s.n > 1 {
		if s.err != nil {
			return nil, s.err
		}
		return nil, pipeline.Transient(errors.New("connection reset by peer"))
	}
	return s.Source.Next(ctx)
}

// TestFinalizeNamesMissingAndFailedShards: a shard that failed (and one
// never run) fail finalize naming both, with the recorded error, and
// nothing is written at a final name.
func TestFinalizeNamesMissingAndFailedShards(t *testing.T) {
	e := newSynthEnv(t, 4000)
	p := e.plan(t, "v001", 4, "VBRP", "VBRK")
	for i := range p.Shards {
		switch i {
		case 1:
			_, err := (&ShardRun{Plan: p, Store: e.store, Connector: e.conn, Index: i, Attempt: "doomed",
				BeforeRead: func(int) error { return errors.New("ORA-00942: table or view does not exist") }}).Run(context.Background())
			if err == nil {
				t.Fatal("failing shard succeeded")
			}
		case 2:
		default:
			e.shard(t, p, i)
		}
	}
	_, err := (&Finalizer{Plan: p, Store: e.store}).Run(context.Background())
	if !errors.Is(err, ErrShardsIncomplete) || !strings.Contains(err.Error(), p.Describe(1)) || !strings.Contains(err.Error(), p.Describe(2)) ||
		!strings.Contains(err.Error(), "attempt doomed") || !strings.Contains(err.Error(), "ORA-00942") || strings.Contains(err.Error(), p.Describe(0)) {
		t.Fatalf("finalize: %v", err)
	}
	for _, tb := range p.Tables {
		if _, ok := e.read(t, tb.Object); ok {
			t.Fatalf("%s exists after a failed finalize", tb.Object)
		}
		if _, ok := e.read(t, p.Prefix()+tb.ObjectBase+".schema.json"); ok {
			t.Fatal("schema written")
		}
	}
	if _, ok := e.read(t, p.ManifestName()); ok {
		t.Fatal("manifest written")
	}
}

// TestFinalizeRefusesForeignRecords: a completion record of another plan
// (job version), or naming a segment of another shard, is refused.
func TestFinalizeRefusesForeignRecords(t *testing.T) {
	e := newSynthEnv(t, 4000)
	p1 := e.plan(t, "v001", 2, "VBRP")
	p2 := e.plan(t, "v002", 2, "VBRP")
	for i := range p2.Shards {
		e.shard(t, p2, i)
	}
	// v002's record of shard 0 copied into v001's shard 0
	b, _ := e.read(t, p2.DoneName(0))
	if _, err := writeOnce(context.Background(), e.store, p1.DoneName(0), b); err != nil {
		t.Fatal(err)
	}
	// shard 1 of v001 claims shard 0's segment
	e.shard(t, p1, 1)
	var c Completion
	b1, _ := e.read(t, p1.DoneName(1))
	_ = json.Unmarshal(b1, &c)
	if err := e.store.Remove(context.Background(), p1.DoneName(1)); err != nil {
		t.Fatal(err)
	}
	c.Segment = p1.ShardDir(0) + "seg-x-t1.deflate"
	b1, _ = json.Marshal(c)
	if _, err := writeOnce(context.Background(), e.store, p1.DoneName(1), b1); err != nil {
		t.Fatal(err)
	}
	_, err := (&Finalizer{Plan: p1, Store: e.store}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "belongs to plan "+p2.PlanID) || !strings.Contains(err.Error(), "outside the shard's folder") {
		t.Fatalf("finalize: %v", err)
	}
	if _, ok := e.read(t, p1.Tables[0].Object); ok {
		t.Fatal("object composed from foreign records")
	}
	// a shard of v001 sees the foreign record as no result of its own
	if _, err := (&ShardRun{Plan: p1, Store: e.store, Connector: e.conn, Index: 0}).Run(context.Background()); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("shard over a foreign record: %v", err)
	}
}

// TestTamperedSegmentFailsFinalize: a segment whose bytes differ from its
// record (same length) makes the composed object's CRC32C differ; the
// object is removed and finalize fails.
func TestTamperedSegmentFailsFinalize(t *testing.T) {
	e := newSynthEnv(t, 3000)
	p := e.plan(t, "v001", 2, "VBRP")
	var segs []string
	for i := range p.Shards {
		segs = append(segs, e.shard(t, p, i).Completion.Segment)
	}
	path := filepath.Join(e.dir, "bkt", filepath.FromSlash(segs[1]))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = (&Finalizer{Plan: p, Store: e.store}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "CRC32C") {
		t.Fatalf("finalize: %v", err)
	}
	if _, ok := e.read(t, p.Tables[0].Object); ok {
		t.Fatal("tampered object left at its final name")
	}
	if _, ok := e.read(t, p.ManifestName()); ok {
		t.Fatal("manifest written")
	}
}

// TestPlanRefusesTakenVersion: a version with a plan (or data) cannot be
// planned again, and a plan stored elsewhere than it names is refused.
func TestPlanRefusesTakenVersion(t *testing.T) {
	e := newSynthEnv(t, 100)
	p := e.plan(t, "v001", 1, "LIKP")
	info, _ := e.conn.Describe(context.Background(), "LIKP")
	pl := Planner{Connector: e.conn, Store: e.store, TransportID: "TRP-D", JobVersion: "v001", Bucket: "bkt",
		Tables: []PlanTable{{Info: info, Table: "LIKP", ObjectBase: "LIKP"}}, Settings: lines()}
	if _, _, err := pl.Plan(context.Background()); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("second plan: %v", err)
	}
	b, _ := e.read(t, p.Name())
	if _, err := writeOnce(context.Background(), e.store, "TRP-D/v009/_plan.json", b); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPlan(context.Background(), e.store, "TRP-D/v009/_plan.json"); err == nil || !strings.Contains(err.Error(), "only valid where it was written") {
		t.Fatalf("moved plan: %v", err)
	}
	bad := bytes.Replace(b, []byte(`"TRP-D"`), []byte(`"../x"`), 1)
	if _, err := ParsePlan(bad); err == nil || !strings.Contains(err.Error(), "transport_id") {
		t.Fatalf("bad transport id: %v", err)
	}
}

// TestShardRetriesSnapshotTooOld: a shard whose read fails mid-table with
// ORA-01555 (undo overwritten during a long distributed run; the driver
// reports it as a plain error) is read again as a whole into a fresh
// segment and the table is exact; another non-transient error mid-read
// (ORA-00942) is not retried and fails the shard naming it.
func TestShardRetriesSnapshotTooOld(t *testing.T) {
	e := newSynthEnv(t, 4000)
	p := e.plan(t, "v001", 2, "VBRP")
	tooOld := &failingConnector{Connector: e.conn, failAfter: 1,
		err: errors.New("ORA-01555: snapshot too old: rollback segment number 7 with name \"_SYSSMU7$\" too small")}
	r, err := (&ShardRun{Plan: p, Store: e.store, Connector: tooOld, Index: 0}).Run(context.Background())
	if err != nil || !r.Accepted || r.Completion.Tries != 2 {
		t.Fatalf("ORA-01555: %v %+v", err, r)
	}
	gone := &failingConnector{Connector: e.conn, failAfter: 5, err: errors.New("ORA-00942: table or view does not exist")}
	_, err = (&ShardRun{Plan: p, Store: e.store, Connector: gone, Index: 1, Attempt: "gone"}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ORA-00942") || gone.failAfter != 4 {
		t.Fatalf("ORA-00942: %v (opened %d times)", err, 5-gone.failAfter)
	}
	e.shard(t, p, 1)
	if _, err := (&Finalizer{Plan: p, Store: e.store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := e.read(t, p.Tables[0].Object)
	if !bytes.Equal(gunzip(t, b), singleNDJSON(t, e.conn, "VBRP")) {
		t.Fatal("NDJSON differs after a shard read again for ORA-01555")
	}
}
