package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// fakeTable is one table of fakeConnector: rows i = 0..rows-1 with columns
// ID (int), NAME (string), AMOUNT (decimal), CREATED (timestamp), FLAG (bool).
type fakeTable struct {
	name     string
	rows     int
	estimate int64
	// failures[k] is returned by Next after the first batch of attempt k+1
	// (nil: that attempt succeeds).
	failures []error
	// gate, if set, makes Next block after the first batch until it is
	// closed or the context ends.
	gate chan struct{}
	// delay is slept before every batch.
	delay time.Duration

	opens atomic.Int32
}

var fakeColumns = []pipeline.Column{
	{Name: "ID", Type: pipeline.TypeInt, SourceType: "NUMBER(10)", Precision: 10},
	{Name: "NAME", Type: pipeline.TypeString, SourceType: "VARCHAR2(40)", Nullable: true},
	{Name: "AMOUNT", Type: pipeline.TypeDecimal, SourceType: "NUMBER(13,2)", Precision: 13, Scale: 2, Nullable: true},
	{Name: "CREATED", Type: pipeline.TypeTimestamp, SourceType: "TIMESTAMP(6)", Scale: 6},
	{Name: "FLAG", Type: pipeline.TypeBool, SourceType: "BOOLEAN", Nullable: true},
}

type fakeConnector struct {
	mu        sync.Mutex
	tables    map[string]*fakeTable
	snapshots atomic.Int32
	snapErr   error
	describes atomic.Int32 // Describe calls
	// onDescribe, if set, is called at the start of every Describe (a
	// job's pre-flight runs it synchronously inside Execute).
	onDescribe func()
}

func newFakeConnector(tables ...*fakeTable) *fakeConnector {
	c := &fakeConnector{tables: map[string]*fakeTable{}}
	for _, t := range tables {
		if t.estimate == 0 {
			t.estimate = int64(t.rows)
		}
		c.tables[t.name] = t
	}
	return c
}

func (c *fakeConnector) Kind() string { return "fake" }

func (c *fakeConnector) FoldCase(s string) string { return strings.ToUpper(s) }

func (c *fakeConnector) Tables(ctx context.Context, exact bool) ([]pipeline.TableInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []pipeline.TableInfo
	for _, t := range c.tables {
		out = append(out, pipeline.TableInfo{Schema: "FAKE", Name: t.name, Rows: t.estimate, ColumnCount: len(fakeColumns)})
	}
	return out, nil
}

func (c *fakeConnector) Describe(ctx context.Context, name string) (pipeline.TableInfo, error) {
	c.describes.Add(1)
	c.mu.Lock()
	hook := c.onDescribe
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Like the real connectors: unquoted parts fold to upper case, quoted
	// parts (the exact form transports store) match exactly.
	ref, err := pipeline.ParseTableName(name)
	if err != nil {
		return pipeline.TableInfo{}, fmt.Errorf("fake: %w", err)
	}
	part := func(s string, quoted bool) string {
		if quoted {
			return s
		}
		return strings.ToUpper(s)
	}
	if ref.Schema != "" && part(ref.Schema, ref.SchemaQuoted) != "FAKE" {
		return pipeline.TableInfo{}, fmt.Errorf("fake: %s: %w", name, pipeline.ErrTableNotFound)
	}
	t, ok := c.tables[part(ref.Name, ref.NameQuoted)]
	if !ok {
		return pipeline.TableInfo{}, fmt.Errorf("fake: %s: %w", name, pipeline.ErrTableNotFound)
	}
	return pipeline.TableInfo{Schema: "FAKE", Name: t.name, Columns: fakeColumns, ColumnCount: len(fakeColumns), Rows: t.estimate}, nil
}

type fakeSnap struct{ closed *atomic.Int32 }

func (s fakeSnap) Info() pipeline.SnapshotInfo {
	return pipeline.SnapshotInfo{Kind: "scn", ID: "12345", Note: "fake"}
}
func (s fakeSnap) TableConsistency(pipeline.TableInfo) (pipeline.TableConsistency, bool) {
	return pipeline.TableConsistency{Mode: pipeline.ConsistencyAsOfSCN, ID: "12345", AtSnapshot: true}, true
}
func (s fakeSnap) Close() error { s.closed.Add(1); return nil }

func (c *fakeConnector) Snapshot(ctx context.Context) (pipeline.Snapshot, error) {
	if c.snapErr != nil {
		return nil, c.snapErr
	}
	c.snapshots.Add(1)
	return fakeSnap{closed: new(atomic.Int32)}, nil
}

func (c *fakeConnector) Open(ctx context.Context, info pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	c.mu.Lock()
	t, ok := c.tables[info.Name]
	c.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("fake: %s: %w", info.Name, pipeline.ErrTableNotFound)
	}
	attempt := int(t.opens.Add(1))
	var fail error
	if attempt <= len(t.failures) {
		fail = t.failures[attempt-1]
	}
	bs := opts.BatchRows
	if bs <= 0 {
		bs = 100
	}
	return &fakeSource{t: t, batch: bs, fail: fail}, nil
}

func (c *fakeConnector) Status(ctx context.Context) pipeline.Status {
	return pipeline.Status{Kind: "fake", Reachable: true, Pool: pipeline.PoolStats{MaxOpen: 7, Open: 3, InUse: 1, Idle: 2}}
}

func (c *fakeConnector) Close() error { return nil }

type fakeSource struct {
	t     *fakeTable
	batch int
	next  int
	seq   int64
	fail  error
}

func (s *fakeSource) Columns() []pipeline.Column { return fakeColumns }

var fakeEpoch = time.Date(2026, 1, 18, 10, 30, 0, 0, time.UTC)

func (s *fakeSource) Next(ctx context.Context) (*pipeline.Batch, error) {
	if s.next >= s.t.rows {
		return nil, io.EOF
	}
	if s.seq > 0 {
		if s.fail != nil {
			return nil, s.fail
		}
		if s.t.gate != nil {
			select {
			case <-s.t.gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	if s.t.delay > 0 {
		select {
		case <-time.After(s.t.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b := &pipeline.Batch{Seq: s.seq}
	for ; s.next < s.t.rows && len(b.Rows) < s.batch; s.next++ {
		i := s.next
		var name any = fmt.Sprintf("%s-%d", s.t.name, i)
		if i%7 == 0 {
			name = nil
		}
		b.Rows = append(b.Rows, []any{i, name, fmt.Sprintf("%d.%02d", i*3, i%100), fakeEpoch.Add(time.Duration(i) * time.Second), i%2 == 0})
	}
	s.seq++
	return b, nil
}

func (s *fakeSource) Close() error { return nil }

// jsonEncoder writes each row as a JSON object of column name → value.
type jsonEncoder struct{ cols []pipeline.Column }

func newJSONEncoder(cols []pipeline.Column) (pipeline.RowEncoder, error) {
	return jsonEncoder{cols: cols}, nil
}

func (e jsonEncoder) AppendRows(dst []byte, rows [][]any) ([]byte, error) {
	for _, r := range rows {
		m := make(map[string]any, len(r))
		for j, v := range r {
			if e.cols[j].Type == pipeline.TypeDecimal && v != nil {
				v = json.Number(v.(string))
			}
			m[e.cols[j].Name] = v
		}
		b, err := json.Marshal(m)
		if err != nil {
			return dst, err
		}
		dst = append(append(dst, b...), '\n')
	}
	return dst, nil
}

// dirSink lays objects out in a directory: a temp file renamed on Commit.
type dirSink struct {
	root    string
	aborted atomic.Int32
	failOn  string // Create of a name with this suffix fails
}

func (s *dirSink) Create(ctx context.Context, name string) (pipeline.Object, error) {
	if s.failOn != "" && strings.HasSuffix(name, s.failOn) {
		return nil, errors.New("dirsink: refused")
	}
	f, err := os.CreateTemp(s.root, ".tmp-*")
	if err != nil {
		return nil, err
	}
	return &dirObject{s: s, f: f, name: name, crc: crc32.New(pipeline.Castagnoli)}, nil
}

type dirObject struct {
	s    *dirSink
	f    *os.File
	name string
	n    int64
	crc  interface {
		io.Writer
		Sum32() uint32
	}
}

func (o *dirObject) Write(p []byte) (int, error) {
	n, err := o.f.Write(p)
	o.crc.Write(p[:n])
	o.n += int64(n)
	return n, err
}

func (o *dirObject) Commit() (pipeline.ObjectInfo, error) {
	if err := o.f.Close(); err != nil {
		os.Remove(o.f.Name())
		return pipeline.ObjectInfo{}, err
	}
	dst := filepath.Join(o.s.root, filepath.FromSlash(o.name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		os.Remove(o.f.Name())
		return pipeline.ObjectInfo{}, err
	}
	if err := os.Rename(o.f.Name(), dst); err != nil {
		os.Remove(o.f.Name())
		return pipeline.ObjectInfo{}, err
	}
	return pipeline.ObjectInfo{Name: o.name, URI: "file://" + filepath.ToSlash(dst), Size: o.n, CRC32C: o.crc.Sum32()}, nil
}

func (o *dirObject) Abort() error {
	o.s.aborted.Add(1)
	o.f.Close()
	return os.Remove(o.f.Name())
}

// transientErr is a lost connection worth retrying.
var transientErr = pipeline.Transient(errors.New("fake: connection reset"))
