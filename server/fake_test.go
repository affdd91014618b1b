package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// fakeService is a hand-written in-memory jobs.Service: the layer below the
// server. Jobs do not run by themselves; tests publish their events.
type fakeService struct {
	conn *fakeConnector

	mu         sync.Mutex
	transports map[string]*jobs.Transport
	trpOrder   []string
	jobs       []*jobs.Job // in start order
	events     map[string][]jobs.Event
	subs       map[string][]*fakeSub
	running    *jobs.Job
	nextEvent  int64

	subscribed atomic.Int64 // Subscribe calls that succeeded
	released   atomic.Int64 // subscriptions released (cancel called or ctx ended)

	panicOnList   bool  // ListTransports panics
	getErr        error // GetTransport returns it
	executeCalled atomic.Int64
}

type fakeSub struct {
	ch   chan jobs.Event
	once sync.Once
}

func newFakeService() *fakeService {
	return &fakeService{
		conn:       newFakeConnector(),
		transports: map[string]*jobs.Transport{},
		events:     map[string][]jobs.Event{},
		subs:       map[string][]*fakeSub{},
	}
}

var fakeDay = time.Date(2026, 1, 18, 10, 30, 0, 0, time.UTC)

func (f *fakeService) CreateTransport(ctx context.Context, in jobs.NewTransport) (jobs.Transport, error) {
	tables := make([]string, len(in.Tables))
	for i, name := range in.Tables {
		ti, err := f.conn.Describe(ctx, name)
		if err != nil {
			return jobs.Transport{}, fmt.Errorf("jobs: tables[%d]: %w", i, err)
		}
		tables[i] = ti.Name
	}
	bucket := in.TargetBucket
	if bucket == "" {
		bucket = "oracle-etl-data"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &jobs.Transport{
		ID: fmt.Sprintf("TRP-20260118-%03d", len(f.trpOrder)+1), Name: in.Name, Tables: tables, TargetBucket: bucket,
		Description: in.Description, CreatedAt: fakeDay, Status: jobs.StatusCreated, TableParallelism: in.TableParallelism,
	}
	f.transports[t.ID] = t
	f.trpOrder = append(f.trpOrder, t.ID)
	return *t, nil
}

func (f *fakeService) GetTransport(_ context.Context, id string) (jobs.Transport, error) {
	if f.getErr != nil {
		return jobs.Transport{}, f.getErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.transports[id]
	if !ok {
		return jobs.Transport{}, fmt.Errorf("jobs: transport %q: %w", id, jobs.ErrNotFound)
	}
	return *t, nil
}

func (f *fakeService) ListTransports(_ context.Context, page, pageSize int) (jobs.Page[jobs.Transport], error) {
	if f.panicOnList {
		panic("fake: list exploded with secret internals")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	all := make([]jobs.Transport, 0, len(f.trpOrder))
	for i := len(f.trpOrder) - 1; i >= 0; i-- {
		all = append(all, *f.transports[f.trpOrder[i]])
	}
	return paginate(all, page, pageSize), nil
}

func paginate[T any](all []T, page, size int) jobs.Page[T] {
	lo := min((page-1)*size, len(all))
	hi := min(lo+size, len(all))
	return jobs.Page[T]{Items: all[lo:hi], Page: page, PageSize: size, Total: len(all)}
}

func (f *fakeService) Execute(_ context.Context, transportID string) (jobs.Job, error) {
	f.executeCalled.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.transports[transportID]
	if !ok {
		return jobs.Job{}, fmt.Errorf("jobs: transport %q: %w", transportID, jobs.ErrNotFound)
	}
	if f.running != nil {
		return jobs.Job{}, &jobs.RunningError{JobID: f.running.ID, TransportID: f.running.TransportID}
	}
	version := 1
	for _, j := range f.jobs {
		if j.TransportID == transportID {
			version++
		}
	}
	j := &jobs.Job{
		ID: fmt.Sprintf("JOB-20260118-%03d", len(f.jobs)+1), TransportID: transportID, Version: fmt.Sprintf("v%03d", version),
		StartedAt: fakeDay.Add(time.Duration(len(f.jobs)) * time.Minute), Status: jobs.StatusRunning, Source: "fake",
		Snapshot: pipeline.SnapshotInfo{Kind: "none"},
	}
	for _, name := range t.Tables {
		j.Tables = append(j.Tables, jobs.TableExtraction{TableName: name, Status: jobs.StatusPending, StartedAt: j.StartedAt})
	}
	f.jobs = append(f.jobs, j)
	f.running = j
	t.Status, t.LastJobID, t.LastJobVersion = jobs.StatusRunning, j.ID, j.Version
	f.events[transportID] = nil // a new job's stream
	return *j, nil
}

// finish ends the running job.
func (f *fakeService) finish(status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running == nil {
		return
	}
	now := f.running.StartedAt.Add(time.Second)
	f.running.Status, f.running.CompletedAt = status, &now
	f.transports[f.running.TransportID].Status = status
	f.running = nil
}

func (f *fakeService) GetJob(_ context.Context, id string) (jobs.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.jobs {
		if j.ID == id {
			c := *j
			c.Tables = append([]jobs.TableExtraction(nil), j.Tables...)
			return c, nil
		}
	}
	return jobs.Job{}, fmt.Errorf("jobs: job %q: %w", id, jobs.ErrNotFound)
}

func (f *fakeService) ListJobs(_ context.Context, flt jobs.JobFilter) (jobs.Page[jobs.Job], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []jobs.Job
	for i := len(f.jobs) - 1; i >= 0; i-- {
		j := *f.jobs[i]
		if (flt.TransportID == "" || j.TransportID == flt.TransportID) && (flt.Status == "" || j.Status == flt.Status) {
			j.Tables = nil
			all = append(all, j)
		}
	}
	return paginate(all, flt.Page, flt.PageSize), nil
}

// publish appends an event to the transport's job stream and sends it to
// every subscriber; after "complete" the subscriptions close.
func (f *fakeService) publish(trpID string, ev jobs.Event) jobs.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextEvent++
	ev.ID = f.nextEvent
	ev.TransportID = trpID
	if ev.Time.IsZero() {
		ev.Time = fakeDay
	}
	if f.running != nil && f.running.TransportID == trpID {
		ev.JobID, ev.JobVersion = f.running.ID, f.running.Version
	}
	f.events[trpID] = append(f.events[trpID], ev)
	for _, s := range f.subs[trpID] {
		select {
		case s.ch <- ev:
		default: // a slow reader in a test: drop (the real Manager coalesces progress)
		}
		if ev.Type == jobs.EventComplete {
			s.once.Do(func() { close(s.ch) })
		}
	}
	if ev.Type == jobs.EventComplete {
		f.subs[trpID] = nil
	}
	return ev
}

func (f *fakeService) Subscribe(ctx context.Context, transportID string) (<-chan jobs.Event, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.transports[transportID]; !ok {
		return nil, nil, fmt.Errorf("jobs: transport %q: %w", transportID, jobs.ErrNotFound)
	}
	if f.transports[transportID].LastJobID == "" {
		return nil, nil, fmt.Errorf("jobs: transport %q has no job: %w", transportID, jobs.ErrNotFound)
	}
	s := &fakeSub{ch: make(chan jobs.Event, 1024)}
	done := false
	for _, ev := range f.events[transportID] {
		s.ch <- ev
		done = done || ev.Type == jobs.EventComplete
	}
	if done {
		close(s.ch)
		s.once.Do(func() {})
	} else {
		f.subs[transportID] = append(f.subs[transportID], s)
	}
	f.subscribed.Add(1)
	var released sync.Once
	release := func() {
		released.Do(func() {
			f.released.Add(1)
			f.mu.Lock()
			defer f.mu.Unlock()
			list := f.subs[transportID]
			for i, x := range list {
				if x == s {
					f.subs[transportID] = append(list[:i:i], list[i+1:]...)
					break
				}
			}
			s.once.Do(func() { close(s.ch) })
		})
	}
	go func() { <-ctx.Done(); release() }()
	return s.ch, release, nil
}

func (f *fakeService) liveSubscribers(trpID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs[trpID])
}

func (f *fakeService) Running() (jobs.Job, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running == nil {
		return jobs.Job{}, false
	}
	return *f.running, true
}

func (f *fakeService) Connector() pipeline.Connector { return f.conn }

// fakeConnector serves three tables with typed rows generated on the fly.
type fakeConnector struct {
	mu        sync.Mutex
	tables    []pipeline.TableInfo
	reachable bool
	tablesErr error
	lastExact bool
}

func newFakeConnector() *fakeConnector {
	cols := []pipeline.Column{
		{Name: "VBELN", Type: pipeline.TypeString, SourceType: "VARCHAR2(10)"},
		{Name: "NETWR", Type: pipeline.TypeDecimal, SourceType: "NUMBER(38,3)", Precision: 38, Scale: 3, Nullable: true},
		{Name: "POSNR", Type: pipeline.TypeInt, SourceType: "NUMBER(6)"},
		{Name: "ERDAT", Type: pipeline.TypeDateTime, SourceType: "DATE"},
		{Name: "TS", Type: pipeline.TypeTimestampTZ, SourceType: "TIMESTAMP(6) WITH TIME ZONE", Scale: 6},
		{Name: "RAW", Type: pipeline.TypeBytes, SourceType: "RAW(4)", Nullable: true},
		{Name: "RATE", Type: pipeline.TypeFloat, SourceType: "BINARY_DOUBLE"},
	}
	return &fakeConnector{reachable: true, tables: []pipeline.TableInfo{
		{Schema: "SAPSR3", Name: "VBRP", Columns: cols, ColumnCount: len(cols), Rows: 250},
		{Schema: "SAPSR3", Name: "VBRK", Columns: cols, ColumnCount: len(cols), Rows: 3},
		{Schema: "SAPSR3", Name: "LIKP", Columns: cols, ColumnCount: len(cols), Rows: 0},
	}}
}

func (c *fakeConnector) Kind() string { return "fake" }

func (c *fakeConnector) FoldCase(s string) string { return strings.ToUpper(s) }

func (c *fakeConnector) Tables(_ context.Context, exact bool) ([]pipeline.TableInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastExact = exact
	if c.tablesErr != nil {
		return nil, c.tablesErr
	}
	out := make([]pipeline.TableInfo, len(c.tables))
	for i, t := range c.tables {
		t.Columns, t.RowsExact = nil, exact
		out[i] = t
	}
	return out, nil
}

func (c *fakeConnector) Describe(_ context.Context, name string) (pipeline.TableInfo, error) {
	if strings.EqualFold(name, "GEOM") { // a table with an SDO_GEOMETRY column, as the Oracle connector refuses it
		return pipeline.TableInfo{}, fmt.Errorf("oracle: describe SAPSR3.GEOM: column \"SHAPE\" is of object type MDSYS.SDO_GEOMETRY: %w", pipeline.ErrUnsupportedColumn)
	}
	// Like the real connectors: an unquoted name matches case-insensitively,
	// a quoted one (the exact form transports store) exactly.
	ref, err := pipeline.ParseTableName(name)
	if err != nil {
		return pipeline.TableInfo{}, fmt.Errorf("fake: %w", err)
	}
	for _, t := range c.tables {
		if ref.Schema != "" && (ref.SchemaQuoted && ref.Schema != t.Schema || !ref.SchemaQuoted && !strings.EqualFold(ref.Schema, t.Schema)) {
			continue
		}
		if ref.NameQuoted && t.Name == ref.Name || !ref.NameQuoted && strings.EqualFold(t.Name, ref.Name) {
			return t, nil
		}
	}
	return pipeline.TableInfo{}, fmt.Errorf("fake: %q: %w", name, pipeline.ErrTableNotFound)
}

func (c *fakeConnector) Snapshot(context.Context) (pipeline.Snapshot, error) {
	return nil, errors.New("fake: no snapshots")
}

func (c *fakeConnector) Open(_ context.Context, t pipeline.TableInfo, _ pipeline.Snapshot, o pipeline.ReadOptions) (pipeline.Source, error) {
	n := int(t.Rows)
	if o.Limit > 0 && o.Limit < n {
		n = o.Limit
	}
	return &fakeSource{cols: t.Columns, total: n, batch: 40}, nil
}

func (c *fakeConnector) Status(context.Context) pipeline.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := pipeline.Status{Kind: "fake", Reachable: c.reachable, Latency: 1500 * time.Microsecond,
		Pool: pipeline.PoolStats{MaxOpen: 20, MinIdle: 5, Open: 5, Idle: 5}, Snapshot: "SCN 123456789"}
	if !c.reachable {
		st.Error = "ORA-12541: TNS:no listener"
	}
	return st
}

func (c *fakeConnector) Close() error { return nil }

type fakeSource struct {
	cols         []pipeline.Column
	total, batch int
	done         int
	seq          int64
}

// fakeRow is row i of every fake table.
func fakeRow(i int) []any {
	var raw any
	if i%2 == 0 {
		raw = []byte{0xde, 0xad, byte(i), 0x00}
	}
	var netwr any = fmt.Sprintf("12345678901234567890.%03d", i%1000)
	if i%5 == 4 {
		netwr = nil
	}
	return []any{
		fmt.Sprintf("%010d", 90000000+i), netwr, int64(i + 1),
		time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.FixedZone("", 9*3600)),
		raw, 0.1 * float64(i),
	}
}

func (s *fakeSource) Columns() []pipeline.Column { return s.cols }

func (s *fakeSource) Next(context.Context) (*pipeline.Batch, error) {
	if s.done >= s.total {
		return nil, io.EOF
	}
	n := min(s.batch, s.total-s.done)
	b := &pipeline.Batch{Seq: s.seq}
	for i := 0; i < n; i++ {
		b.Rows = append(b.Rows, fakeRow(s.done+i))
	}
	s.done += n
	s.seq++
	return b, nil
}

func (s *fakeSource) Close() error { return nil }

// sortedKeys is for stable test output.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
