package synth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

const (
	// schemaName is the owner of every synthetic table.
	schemaName = "SYNTH"
	// DefaultRows is the row count of a table that Config.Rows does not name.
	DefaultRows = 100_000
	// DefaultSeed is the seed used when Config.Seed is 0.
	DefaultSeed uint64 = 0x5EED_0A2C_5AB1_0001
	// defaultBatchRows is the batch size when ReadOptions.BatchRows is 0.
	defaultBatchRows = 10_000
)

// Config configures a Connector. The zero value is valid.
type Config struct {
	// Rows is the row count per table, keyed by table name (VBRP, VBRK,
	// LIKP; case and surrounding spaces are ignored).
	Rows map[string]int64
	// DefaultRows is the row count of tables not in Rows; 0 means 100,000.
	DefaultRows int64
	// Seed selects the data; 0 means DefaultSeed. Equal seeds give identical rows.
	Seed uint64
}

// Validate reports negative row counts and unknown table names.
func (c Config) Validate() error {
	var errs []error
	if c.DefaultRows < 0 {
		errs = append(errs, fmt.Errorf("default rows %d is negative", c.DefaultRows))
	}
	names := make([]string, 0, len(c.Rows))
	for name := range c.Rows {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n := c.Rows[name]
		if !knownTable(normName(name)) {
			errs = append(errs, fmt.Errorf("rows: unknown table %q (known: VBRP, VBRK, LIKP)", name))
		}
		if n < 0 {
			errs = append(errs, fmt.Errorf("rows of %s: %d is negative", name, n))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("synth: invalid config: %w", err)
	}
	return nil
}

func normName(name string) string { return strings.ToUpper(strings.TrimSpace(name)) }

func knownTable(name string) bool {
	switch name {
	case "VBRP", "VBRK", "LIKP":
		return true
	}
	return false
}

// Connector is the synthetic catalog. It is safe for concurrent use; every
// Source it opens is independent.
type Connector struct {
	tables []*table
	rows   []int64 // per table, same order
}

var (
	_ pipeline.Connector     = (*Connector)(nil)
	_ pipeline.RangeSplitter = (*Connector)(nil)
)

// New validates cfg and precomputes the value pools of every table.
func New(cfg Config) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = DefaultSeed
	}
	def := cfg.DefaultRows
	if def == 0 {
		def = DefaultRows
	}
	rows := make(map[string]int64, len(cfg.Rows))
	for name, n := range cfg.Rows {
		rows[normName(name)] = n
	}
	c := &Connector{}
	for _, f := range schemaFiles {
		t, err := newTable(f, seed)
		if err != nil {
			return nil, err
		}
		n, ok := rows[t.info.Name]
		if !ok {
			n = def
		}
		c.tables = append(c.tables, t)
		c.rows = append(c.rows, n)
	}
	return c, nil
}

// Kind returns "synth".
func (c *Connector) Kind() string { return "synth" }

// TableNames returns the table names in catalog order: VBRP, VBRK, LIKP.
func (c *Connector) TableNames() []string {
	names := make([]string, len(c.tables))
	for i, t := range c.tables {
		names[i] = t.info.Name
	}
	return names
}

// Tables lists every table with its configured (exact) row count and
// without columns.
func (c *Connector) Tables(ctx context.Context, exact bool) ([]pipeline.TableInfo, error) {
	out := make([]pipeline.TableInfo, len(c.tables))
	for i, t := range c.tables {
		info := t.info
		info.Columns = nil
		info.Rows, info.RowsExact = c.rows[i], true
		out[i] = info
	}
	return out, nil
}

// lookup resolves a user-given name the way SQL sources do: an unquoted part
// case-insensitively, a quoted part ("SYNTH"."VBRP", the exact form
// transports store) only by its exact spelling; an owner must be SYNTH.
func (c *Connector) lookup(name string) (int, error) {
	ref, err := pipeline.ParseTableName(name)
	if err != nil {
		return 0, fmt.Errorf("synth: %q: %w", name, err)
	}
	match := func(catalog, typed string, quoted bool) bool {
		if quoted {
			return catalog == typed
		}
		return catalog == normName(typed)
	}
	if ref.Schema != "" && !match(schemaName, ref.Schema, ref.SchemaQuoted) {
		return 0, fmt.Errorf("synth: %q: %w", name, pipeline.ErrTableNotFound)
	}
	for i, t := range c.tables {
		if match(t.info.Name, ref.Name, ref.NameQuoted) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("synth: %q: %w", name, pipeline.ErrTableNotFound)
}

// FoldCase folds an unquoted name as lookup does (upper case).
func (c *Connector) FoldCase(s string) string { return strings.ToUpper(s) }

// Describe returns the table with its columns (a copy the caller may keep).
func (c *Connector) Describe(ctx context.Context, name string) (pipeline.TableInfo, error) {
	i, err := c.lookup(name)
	if err != nil {
		return pipeline.TableInfo{}, err
	}
	info := c.tables[i].info
	info.Columns = append([]pipeline.Column(nil), info.Columns...)
	info.Rows, info.RowsExact = c.rows[i], true
	return info, nil
}

// snapshot is the trivial snapshot of data that never changes.
type snapshot struct{}

func (snapshot) Info() pipeline.SnapshotInfo {
	return pipeline.SnapshotInfo{Kind: "none", Note: "synthetic data has no snapshot"}
}

// TableConsistency is "static": synthetic data never changes, so every
// table is of one point in time.
func (snapshot) TableConsistency(pipeline.TableInfo) (pipeline.TableConsistency, bool) {
	return pipeline.TableConsistency{Mode: pipeline.ConsistencyStatic, AtSnapshot: true}, true
}
func (snapshot) Close() error { return nil }

// Snapshot returns a snapshot of kind "none": synthetic data never changes.
func (c *Connector) Snapshot(ctx context.Context) (pipeline.Snapshot, error) { return snapshot{}, nil }

// Status reports a reachable connector of kind "synth".
func (c *Connector) Status(ctx context.Context) pipeline.Status {
	return pipeline.Status{Kind: "synth", Reachable: true, Version: "synth"}
}

// Close does nothing; Sources stay usable until their own Close.
func (c *Connector) Close() error { return nil }

// Ranges splits [0, rows) of t into n contiguous ranges (fewer if the table
// has fewer rows, at least one) with Lo/Hi as decimal row indexes.
func (c *Connector) Ranges(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, n int) ([]pipeline.Range, error) {
	i, err := c.lookup(qualified(t))
	if err != nil {
		return nil, err
	}
	rows := c.rows[i]
	if n < 1 {
		return nil, fmt.Errorf("synth: ranges of %s: n=%d must be at least 1", t.Name, n)
	}
	if int64(n) > rows {
		n = int(max(rows, 1))
	}
	out := make([]pipeline.Range, n)
	for k := range out {
		lo := rows * int64(k) / int64(n)
		hi := rows * int64(k+1) / int64(n)
		out[k] = pipeline.Range{Index: k, Total: n, Lo: strconv.FormatInt(lo, 10), Hi: strconv.FormatInt(hi, 10)}
	}
	return out, nil
}

func qualified(t pipeline.TableInfo) string { return pipeline.ExactTableName(t.Schema, t.Name) }

// Open returns a reader of rows [0, rows) of t, or of opts.Range ([Lo, Hi)
// as decimal row indexes), stopping after opts.Limit rows if set, in batches
// of opts.BatchRows (default 10,000). snap is ignored.
func (c *Connector) Open(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	if opts.Window != nil {
		return nil, fmt.Errorf("synth: %s: incremental reads are not supported", t.Name)
	}
	i, err := c.lookup(qualified(t))
	if err != nil {
		return nil, err
	}
	tab := c.tables[i]
	lo, hi := int64(0), c.rows[i]
	if r := opts.Range; r != nil {
		rlo, err1 := strconv.ParseInt(r.Lo, 10, 64)
		rhi, err2 := strconv.ParseInt(r.Hi, 10, 64)
		if err1 != nil || err2 != nil || rlo < 0 || rlo > rhi || rhi > hi {
			return nil, fmt.Errorf("synth: open %s: bad range [%q, %q) of %d rows", tab.info.Name, r.Lo, r.Hi, hi)
		}
		lo, hi = rlo, rhi
	}
	if opts.Limit < 0 || opts.BatchRows < 0 {
		return nil, fmt.Errorf("synth: open %s: negative limit or batch rows", tab.info.Name)
	}
	if opts.Limit > 0 && int64(opts.Limit) < hi-lo {
		hi = lo + int64(opts.Limit)
	}
	batch := opts.BatchRows
	if batch == 0 {
		batch = defaultBatchRows
	}
	if n := hi - lo; n > 0 && n < int64(batch) {
		batch = int(n) // no storage for rows that will never come
	}
	return &source{
		t:     tab,
		cols:  append([]pipeline.Column(nil), tab.info.Columns...),
		next:  lo,
		hi:    hi,
		batch: batch,
	}, nil
}

// source reads one table or range. Next and Close are called from one
// goroutine; Release of its batches may come from any goroutine.
type source struct {
	t     *table
	cols  []pipeline.Column
	next  int64
	hi    int64
	batch int
	seq   int64

	mu     sync.Mutex
	free   []*slot
	closed bool
}

func (s *source) Columns() []pipeline.Column { return s.cols }

// Next generates the next batch, or returns io.EOF after the last one, or
// ctx's error once ctx is done.
func (s *source) Next(ctx context.Context) (*pipeline.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.next >= s.hi {
		return nil, io.EOF
	}
	n := int(min(int64(s.batch), s.hi-s.next))
	sl := s.get()
	sl.batch.Seq = s.seq
	sl.batch.Rows = sl.rows[:n]
	s.t.fill(sl, uint64(s.next), n)
	s.seq++
	s.next += int64(n)
	return &sl.batch, nil
}

// get takes a free slot of this source, or one a closed source of the same
// table and batch size left behind, or makes a new one.
func (s *source) get() *slot {
	s.mu.Lock()
	if k := len(s.free); k > 0 {
		sl := s.free[k-1]
		s.free = s.free[:k-1]
		sl.inUse = true
		s.mu.Unlock()
		return sl
	}
	s.mu.Unlock()
	var sl *slot
	for sl == nil {
		v, _ := s.t.idle.Get().(*slot)
		if v == nil {
			break
		}
		if len(v.rows) == s.batch {
			sl = v
		} // else: a slot of another batch size is dropped
	}
	if sl == nil {
		ncol := len(s.t.pools)
		ndoc := len(s.t.docs)
		sl = &slot{
			rows:  make([][]any, s.batch),
			cells: make([]any, s.batch*ncol),
			arena: make([]byte, 0, s.batch*ndoc*docWidth),
			strs:  make([]string, s.batch*ndoc),
		}
	}
	sl.inUse = true
	sl.batch.Release = func() { s.put(sl) }
	return sl
}

// put returns a slot to the free list, or to the table's idle slots once
// the source is closed; a second Release is ignored.
func (s *source) put(sl *slot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !sl.inUse {
		return
	}
	sl.inUse = false
	if s.closed {
		s.t.idle.Put(sl)
		return
	}
	s.free = append(s.free, sl)
}

// Close hands the free slots to the table's idle slots, where the next
// source of the same batch size finds them (until the garbage collector
// drops them); batches still out stay valid until released.
func (s *source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range s.free {
		s.t.idle.Put(sl)
	}
	s.free, s.closed = nil, true
	return nil
}
