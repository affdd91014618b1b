package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/VictoriaMetrics/metrics"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/bucketname"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Limits of a transport (spec FR-04, API validation).
const (
	MaxNameLen          = 200
	MaxTables           = 500
	MaxTableParallelism = 64
	// DefaultRangeMinRows is the default of ManagerConfig.RangeMinRows.
	DefaultRangeMinRows = 200000
	// MaxRanges bounds the ranges of one table.
	MaxRanges = 1000
)

// ManagerConfig injects everything a Manager uses.
type ManagerConfig struct {
	// Store is the path of the SQLite state database; default DefaultStorePath.
	Store string
	// Connector is the source every job reads.
	Connector pipeline.Connector
	// Sinks returns the sink writing into bucket; called once per job.
	Sinks func(bucket string) (pipeline.Sink, error)
	// Encoder is the row encoder (see package stages).
	Encoder pipeline.EncoderFactory
	// Codec is the compression of every object, part and range segment
	// (compression.New); required. Pipeline.GzipLevel, if set, must be
	// its level.
	Codec compression.Codec
	// Pipeline configures the engine, including the retry policy of a table.
	Pipeline pipeline.Config
	// ParallelTables is how many tables of a job run at once (spec
	// etl.parallel_tables); default 4.
	ParallelTables int
	// TableParallelism is how many ranges of one table are read at once
	// (spec etl.table_parallelism); default 1. A transport's TableParallelism
	// overrides it.
	TableParallelism int
	// RangeMinRows is the least row estimate of a table that is split into
	// ranges (spec etl.range_min_rows); smaller tables run as one pipeline.
	// Default DefaultRangeMinRows; negative splits every table.
	RangeMinRows int64
	// RangeRows, if set, is the target rows per range: a table gets
	// max(workers, estimate/RangeRows) ranges (at most MaxRanges), so a
	// failed range costs less to retry. 0: one range per worker.
	RangeRows int64
	// DefaultBucket is used for a transport created without a bucket.
	DefaultBucket string
	// ValidateBucket checks a bucket name; default bucketname.Validate (GCS rules).
	ValidateBucket func(string) error
	// DecimalAsString says the encoder writes decimals as JSON strings. It
	// does not change the BigQuery schema (BigQuery reads quoted NUMERIC
	// and BIGNUMERIC values); kept so configurations stay valid.
	DecimalAsString bool
	// Logger receives the job log; default discards.
	Logger *slog.Logger
	// Clock gives the time; default time.Now.
	Clock func() time.Time
	// ProgressInterval is the least time between two progress events of one
	// table; default 500ms.
	ProgressInterval time.Duration
	// RateWindow is the sliding window of rows_per_second; default 5s.
	RateWindow time.Duration
	// DefaultWindows, if set, are the allowed windows of transports that
	// declare none (config.yaml); nil: always open. See WindowSpec.
	DefaultWindows *WindowSpec
	// RetentionDays is the retention period of transports that set none
	// (config.yaml); 0 means DefaultRetentionDays (90). See RetentionSweep.
	RetentionDays int
	// Lifecycle, if set, returns the lifecycle-rule enforcer of a bucket
	// (the gcs sink) or nil for targets without one; it is used when a
	// transport is created, its retention changes and at start-up. Nil:
	// no target has lifecycle rules (the sweep enforces retention).
	Lifecycle func(bucket string) (RetentionEnforcer, error)
	// Distributor, if set, runs the jobs Execute starts with
	// WithDistributed as shards in other processes (package distributed).
	Distributor Distributor
}

// Validate reports missing dependencies and out-of-range values.
func (c ManagerConfig) Validate() error {
	var errs []error
	if c.DefaultWindows != nil {
		if _, err := c.DefaultWindows.parse("windows."); err != nil {
			errs = append(errs, err)
		}
	}
	if c.RetentionDays < 0 || c.RetentionDays > MaxRetentionDays {
		errs = append(errs, fmt.Errorf("retention_days: %d is out of range 1..%d", c.RetentionDays, MaxRetentionDays))
	}
	if c.Connector == nil {
		errs = append(errs, errors.New("connector is required"))
	}
	if c.Sinks == nil {
		errs = append(errs, errors.New("sinks is required"))
	}
	if c.Encoder == nil {
		errs = append(errs, errors.New("encoder is required"))
	}
	if c.Codec.IsZero() {
		errs = append(errs, errors.New("a compression codec is required"))
	} else if err := c.Codec.SameLevel(c.Pipeline); err != nil {
		errs = append(errs, err)
	}
	if c.ParallelTables < 0 || c.ParallelTables > MaxTableParallelism {
		errs = append(errs, fmt.Errorf("parallel_tables: %d is out of range (1..%d)", c.ParallelTables, MaxTableParallelism))
	}
	if c.TableParallelism < 0 || c.TableParallelism > MaxTableParallelism {
		errs = append(errs, fmt.Errorf("table_parallelism: %d is out of range (1..%d)", c.TableParallelism, MaxTableParallelism))
	}
	if c.RangeRows < 0 {
		errs = append(errs, fmt.Errorf("range_rows: %d is negative", c.RangeRows))
	}
	if c.ProgressInterval < 0 || c.RateWindow < 0 {
		errs = append(errs, errors.New("progress interval and rate window must not be negative"))
	}
	if err := c.Pipeline.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("jobs: invalid manager config: %w", err)
	}
	return nil
}

func (c ManagerConfig) withDefaults() ManagerConfig {
	if c.Store == "" {
		c.Store = DefaultStorePath
	}
	if c.ParallelTables == 0 {
		c.ParallelTables = 4
	}
	if c.TableParallelism == 0 {
		c.TableParallelism = 1
	}
	if c.RangeMinRows == 0 {
		c.RangeMinRows = DefaultRangeMinRows
	}
	if c.ValidateBucket == nil {
		c.ValidateBucket = bucketname.Validate
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = 500 * time.Millisecond
	}
	if c.RateWindow == 0 {
		c.RateWindow = 5 * time.Second
	}
	if c.Pipeline.GzipLevel == 0 {
		c.Pipeline.GzipLevel = c.Codec.Level() // Validate checked that they agree
	}
	c.Pipeline = c.Pipeline.WithDefaults()
	return c
}

// Manager runs transports as versioned jobs, one at a time, persists them in
// a Store and streams their events. It implements Service.
type Manager struct {
	cfg     ManagerConfig
	store   *Store
	lock    *storeLock // exclusive use of the state database
	log     *slog.Logger
	metrics *metrics.Set

	base       context.Context
	cancelBase context.CancelFunc

	mu        sync.Mutex
	running   *run
	shutting  bool
	subsOff   bool
	jobWG     sync.WaitGroup
	subWG     sync.WaitGroup
	forceSubs chan struct{}
	closeOnce sync.Once
	closeErr  error

	startMu sync.Mutex     // serializes Execute's pre-flight and job creation
	cleanWG sync.WaitGroup // the start-up clean-up of interrupted jobs
	cleaned chan struct{}  // closed when that clean-up has ended

	statusMu   sync.Mutex
	status     pipeline.Status
	statusTime time.Time

	ended map[string]endedHub // transport → hub of its last job run here (keepHub)

	sched schedState // schedules and the run queue (schedule.go, queue.go)
}

var _ Service = (*Manager)(nil)

// NewManager opens the store (failing jobs a previous process left running)
// and returns a Manager whose jobs run under a context derived from ctx:
// they keep its values but not its cancellation; Shutdown and Close stop them.
// Call Shutdown, then Close.
func NewManager(ctx context.Context, cfg ManagerConfig) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	lock, err := lockStore(cfg.Store)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg.Store, cfg.Clock())
	if err != nil {
		lock.release()
		return nil, err
	}
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m := &Manager{
		cfg: cfg, store: st, lock: lock, log: cfg.Logger, metrics: metrics.NewSet(),
		base: base, cancelBase: cancel, forceSubs: make(chan struct{}),
	}
	m.registerGauges()
	m.initSchedule()
	// What interrupted jobs left in their targets is removed in the
	// background, so an unreachable target does not hold up the start.
	m.cleaned = make(chan struct{})
	m.cleanWG.Add(1)
	go func() { defer m.cleanWG.Done(); m.cleanupPending(base) }()
	return m, nil
}

// Store is the Manager's state database.
func (m *Manager) Store() *Store { return m.store }

// Metrics is the Manager's metric set; the server writes it to /metrics.
func (m *Manager) Metrics() *metrics.Set { return m.metrics }

// Connector is the source the Manager reads.
func (m *Manager) Connector() pipeline.Connector { return m.cfg.Connector }

func (m *Manager) now() time.Time { return m.cfg.Clock().UTC() }

// CreateTransport validates in, resolves every table through the connector to
// its canonical name and stores a new transport. Errors wrap ErrInvalid or
// ErrUnknownTbl and name the field or table.
func (m *Manager) CreateTransport(ctx context.Context, in NewTransport) (Transport, error) {
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.ID != "" && !transportIDRE.MatchString(in.ID):
		return Transport{}, fmt.Errorf("jobs: transport id %q: want letters, digits, '-', '_' or '.' (1..64, starting with a letter or digit): %w", in.ID, ErrInvalid)
	case strings.HasSuffix(in.ID, ".ora2gcs.tmp"): // the file target's temporary names (sinks/file.TempSuffix)
		return Transport{}, fmt.Errorf("jobs: transport id %q: names ending in .ora2gcs.tmp are reserved for temporary files: %w", in.ID, ErrInvalid)
	case in.Name == "":
		return Transport{}, fmt.Errorf("jobs: name is required: %w", ErrInvalid)
	case utf8.RuneCountInString(in.Name) > MaxNameLen:
		return Transport{}, fmt.Errorf("jobs: name is longer than %d characters: %w", MaxNameLen, ErrInvalid)
	case len(in.Tables) == 0:
		return Transport{}, fmt.Errorf("jobs: tables: at least one table is required: %w", ErrInvalid)
	case len(in.Tables) > MaxTables:
		return Transport{}, fmt.Errorf("jobs: tables: %d tables, at most %d allowed: %w", len(in.Tables), MaxTables, ErrInvalid)
	case in.TableParallelism < 0 || in.TableParallelism > MaxTableParallelism:
		return Transport{}, fmt.Errorf("jobs: table_parallelism: %d is out of range (0..%d): %w", in.TableParallelism, MaxTableParallelism, ErrInvalid)
	}
	if in.Schedule != nil {
		if _, err := in.Schedule.parse("schedule."); err != nil {
			return Transport{}, err
		}
	}
	if in.RetentionDays < 0 || in.RetentionDays > MaxRetentionDays {
		return Transport{}, &FieldError{"retention_days", fmt.Sprintf("%d is out of range 1..%d", in.RetentionDays, MaxRetentionDays)}
	}
	if in.TargetBucket == "" {
		in.TargetBucket = m.cfg.DefaultBucket
	}
	if in.TargetBucket == "" {
		return Transport{}, fmt.Errorf("jobs: target_bucket is required (no default bucket configured): %w", ErrInvalid)
	}
	if err := m.cfg.ValidateBucket(in.TargetBucket); err != nil {
		return Transport{}, fmt.Errorf("jobs: target_bucket: bucket name %q %v: %w", in.TargetBucket, err, ErrInvalid)
	}
	fold := m.cfg.Connector.FoldCase
	seen := make(map[string]string, len(in.Tables))    // exact identity → entry
	objects := make(map[string]string, len(in.Tables)) // object name part → entry
	tables := make([]string, 0, len(in.Tables))
	refs := make([]TableRef, 0, len(in.Tables))
	for _, name := range in.Tables {
		name = strings.TrimSpace(name)
		if name == "" {
			return Transport{}, fmt.Errorf("jobs: tables: empty table name: %w", ErrInvalid)
		}
		parsed, err := pipeline.ParseTableName(name)
		if err != nil {
			return Transport{}, fmt.Errorf("jobs: table %q: %w", name, err)
		}
		info, err := m.cfg.Connector.Describe(ctx, name)
		if err != nil {
			switch {
			case errors.Is(err, pipeline.ErrTableNotFound):
				return Transport{}, fmt.Errorf("jobs: table %q: %w", name, err)
			case errors.Is(err, pipeline.ErrAmbiguousTable):
				return Transport{}, fmt.Errorf("jobs: table %q: %v: %w", name, err, ErrTableConflict)
			}
			return Transport{}, fmt.Errorf("jobs: describe table %q: %w", name, err)
		}
		qualified := parsed.Schema != "" && info.Schema != ""
		display := pipeline.DisplayIdent(info.Name, fold)
		if qualified {
			display = pipeline.DisplayIdent(info.Schema, fold) + "." + display
		}
		ref := TableRef{Schema: info.Schema, Name: info.Name, Object: pipeline.ObjectBaseName(info.Schema, info.Name, qualified)}
		// Its longest file name, a part (OBJECT.part-NNNNNN.jsonl.gz), must
		// fit the 255 bytes file systems allow for a name (the file target).
		if n := len(ref.Object) + len(".part-000000.jsonl.gz"); n > maxObjectFileName {
			return Transport{}, fmt.Errorf("jobs: table %q: its object names (%s.jsonl.gz, escaped) would be up to %d bytes, longer than the %d bytes a file name may have; rename the table or name it without its schema: %w",
				name, ref.Object, n, maxObjectFileName, ErrInvalid)
		}
		key := ref.Exact()
		if prev, dup := seen[key]; dup {
			return Transport{}, fmt.Errorf("jobs: tables: %q and %q are the same table %s: %w", prev, name, key, ErrTableConflict)
		}
		seen[key] = name
		if prev, dup := objects[ref.Object]; dup {
			return Transport{}, fmt.Errorf("jobs: tables: %q and %q would both be stored as %s.jsonl.gz: %w", prev, name, ref.Object, ErrTableConflict)
		}
		objects[ref.Object] = name
		tables = append(tables, display)
		refs = append(refs, ref)
	}
	// A table split into parts is stored as OBJECT.part-NNNNN.jsonl.gz: no
	// other entry may be stored under one of those names (schema OBJECT,
	// table part-NNNNN next to an unqualified table OBJECT).
	for _, ref := range refs {
		i := strings.LastIndex(ref.Object, ".part-")
		if i <= 0 {
			continue
		}
		num := ref.Object[i+len(".part-"):]
		if prev, dup := objects[ref.Object[:i]]; dup && num != "" && strings.Trim(num, "0123456789") == "" {
			this := objects[ref.Object]
			return Transport{}, fmt.Errorf("jobs: tables: %q and %q: a part of %q would be stored as %s.jsonl.gz, the object of %q: %w",
				prev, this, prev, ref.Object, this, ErrTableConflict)
		}
	}
	in.TableRefs = refs
	in.Tables = tables
	if in.Incremental != nil {
		// validated against the resolved tables before anything is stored
		probe := Transport{ID: "(new)", Tables: tables, TableRefs: refs}
		if err := m.validateIncremental(ctx, probe, in.Incremental, "incremental."); err != nil {
			return Transport{}, err
		}
	}
	if in.ID == "" {
		in.avoidIDs = m.usedTransportIDs(ctx, in.TargetBucket)
	}
	t, err := m.store.CreateTransport(ctx, in, m.now())
	if err != nil {
		return Transport{}, err
	}
	m.log.Info("transport created", "transport_id", t.ID, "tables", len(t.Tables), "bucket", t.TargetBucket)
	if in.RetentionDays != 0 {
		if t, err = m.SetRetention(ctx, t.ID, in.RetentionDays); err != nil {
			return Transport{}, err
		}
	} else {
		m.applyRetention(ctx, t, false)
	}
	if in.Incremental != nil {
		if err := m.store.setIncremental(ctx, t.ID, *in.Incremental); err != nil {
			return Transport{}, err
		}
	}
	if in.Schedule != nil {
		return m.SetSchedule(ctx, t.ID, *in.Schedule)
	}
	return m.GetTransport(ctx, t.ID)
}

// GetTransport returns a transport or an error wrapping ErrNotFound.
func (m *Manager) GetTransport(ctx context.Context, id string) (Transport, error) {
	t, err := m.store.GetTransport(ctx, id)
	if err != nil {
		return Transport{}, err
	}
	ts := []Transport{t}
	if err := m.decorate(ctx, ts); err != nil {
		return Transport{}, err
	}
	return ts[0], nil
}

// FindTransportByName returns the newest transport called name, or an error
// wrapping ErrNotFound (the CLI reuses transports by name).
func (m *Manager) FindTransportByName(ctx context.Context, name string) (Transport, error) {
	return m.store.FindTransportByName(ctx, strings.TrimSpace(name))
}

// ListTransports lists transports newest first.
func (m *Manager) ListTransports(ctx context.Context, page, pageSize int) (Page[Transport], error) {
	p, err := m.store.ListTransports(ctx, page, pageSize)
	if err != nil {
		return p, err
	}
	return p, m.decorate(ctx, p.Items)
}

// ListJobs lists jobs newest first, without tables.
func (m *Manager) ListJobs(ctx context.Context, f JobFilter) (Page[Job], error) {
	return m.store.ListJobs(ctx, f)
}

// GetJob returns a job with its tables; a running job shows its live counts.
func (m *Manager) GetJob(ctx context.Context, id string) (Job, error) {
	j, err := m.store.GetJob(ctx, id)
	if err != nil {
		return Job{}, err
	}
	m.mu.Lock()
	r := m.running
	m.mu.Unlock()
	if r != nil && r.job.ID == id {
		r.overlay(&j)
	}
	return j, nil
}

// Running returns the running job with its live counts, if any.
func (m *Manager) Running() (Job, bool) {
	m.mu.Lock()
	r := m.running
	m.mu.Unlock()
	if r == nil {
		return Job{}, false
	}
	return r.snapshot(), true
}

// Execute starts the next job version of a transport in the background and
// returns it at once. While a job runs it returns a *RunningError; after
// Shutdown, an error wrapping ErrShutdown.
func (m *Manager) Execute(ctx context.Context, transportID string) (Job, error) {
	return m.ExecuteVersion(ctx, transportID, "")
}

// ExecuteVersion is Execute with an explicit job version ("" is the next);
// an existing version is refused, never overwritten.
//
// Before a version is assigned, a pre-flight checks that the target is
// reachable and writable (error wrapping ErrTargetUnavailable) and that
// every table resolves (ErrUnknownTbl). The version is the next one above
// every version of the transport both in the state database and in the
// target (listed), so another state database writing to the same target
// never gets a version that exists there; should two of them race, the
// sinks' no-replace commits fail the later job rather than mix the two.
func (m *Manager) ExecuteVersion(ctx context.Context, transportID, version string) (Job, error) {
	m.startMu.Lock()
	defer m.startMu.Unlock()
	if err := m.idle(transportID); err != nil {
		return Job{}, err
	}
	t, err := m.store.GetTransport(ctx, transportID)
	if err != nil {
		return Job{}, err
	}
	sink, inTarget, infos, err := m.preflight(ctx, t)
	if err != nil {
		return Job{}, err
	}
	incr, err := m.store.getIncremental(ctx, transportID)
	if err != nil {
		return Job{}, err
	}
	marks, err := m.store.watermarks(ctx, transportID)
	if err != nil {
		return Job{}, err
	}
	_, win := m.transportWindows(ctx, transportID)
	windowOpen := win == nil || win.open(m.now())
	dist := distributedOf(ctx)
	if dist == nil {
		if dist, err = m.transportDistributed(ctx, transportID); err != nil {
			return Job{}, err
		}
	}
	if dist != nil {
		if dist, err = m.checkDistributed(dist, incr); err != nil {
			return Job{}, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.idleLocked(transportID); err != nil {
		return Job{}, err
	}
	j, err := m.store.CreateJobAvoiding(ctx, t, m.cfg.Connector.Kind(), version, inTarget, m.now())
	if err != nil {
		return Job{}, err
	}
	j.Trigger = triggerOf(ctx)
	if err := m.store.setJobTrigger(ctx, j.ID, j.Trigger); err != nil {
		m.log.Error("record job trigger", "job_id", j.ID, "error", err)
	}
	if dist != nil {
		j.Distributed = &DistributedRun{Executor: dist.Executor, Shards: dist.Shards}
		if err := m.store.setJobDistributed(ctx, j.ID, *j.Distributed); err != nil {
			m.log.Error("record distributed run", "job_id", j.ID, "error", err)
		}
	}
	jctx, cancel := context.WithCancel(m.base)
	r := newRun(m, t, j, cancel)
	r.log = r.log.With("request_id", requestIDOf(ctx)) // every line about the job names its request
	r.sink = sink
	r.incr, r.marks, r.forceFull = incr, marks, fullRequested(ctx)
	r.windowOpened.Store(windowOpen)
	r.dist = dist
	if len(infos) == len(r.tables) {
		for i, ts := range r.tables {
			ts.described, ts.info = true, infos[i]
		}
	}
	m.running = r
	m.jobWG.Add(1)
	go m.execute(jctx, r)
	if dist != nil {
		r.log.Info("job started", "tables", len(t.Tables), "trigger", j.Trigger, "distributed_executor", dist.Executor, "shards", dist.Shards)
	} else {
		r.log.Info("job started", "tables", len(t.Tables), "trigger", j.Trigger)
	}
	out := j
	out.Tables = append([]TableExtraction(nil), j.Tables...)
	return out, nil
}

// idle returns nil if a job may start: not shutting down, none running.
func (m *Manager) idle(transportID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idleLocked(transportID)
}

func (m *Manager) idleLocked(transportID string) error {
	if m.shutting {
		return fmt.Errorf("jobs: execute %s: %w", transportID, ErrShutdown)
	}
	if r := m.running; r != nil {
		return &RunningError{JobID: r.job.ID, TransportID: r.job.TransportID}
	}
	return nil
}

// Wait blocks until job id is no longer running (or ctx ends) and returns
// its stored state. The CLI runs a job with Execute then Wait.
func (m *Manager) Wait(ctx context.Context, id string) (Job, error) {
	m.mu.Lock()
	r := m.running
	m.mu.Unlock()
	if r != nil && r.job.ID == id {
		select {
		case <-r.done:
		case <-ctx.Done():
			return Job{}, fmt.Errorf("jobs: wait for %s: %w", id, ctx.Err())
		}
	}
	return m.store.GetJob(ctx, id)
}

// Subscribe streams the events of the transport's current or last job; see
// Service. A transport without a job gives an error wrapping ErrNotFound.
func (m *Manager) Subscribe(ctx context.Context, transportID string) (<-chan Event, func(), error) {
	s := newSubscription()
	if ok, err := m.attachRunning(ctx, s, transportID, ""); err != nil {
		return nil, nil, err
	} else if ok {
		return s.out, s.cancel, nil
	}
	// Not running here: the store has the final state (FinishJob happens
	// before the run is cleared).
	j, err := m.store.LastJob(ctx, transportID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			if _, terr := m.store.GetTransport(ctx, transportID); terr != nil {
				return nil, nil, terr
			}
		}
		return nil, nil, err
	}
	if j.Status == StatusRunning {
		// It started since we looked; or another process runs it, then the
		// stream ends after the state stored so far.
		if ok, err := m.attachRunning(ctx, s, transportID, j.ID); err != nil {
			return nil, nil, err
		} else if ok {
			return s.out, s.cancel, nil
		}
	}
	if ok, err := m.attachEnded(ctx, s, transportID, j.ID); err != nil {
		return nil, nil, err
	} else if ok {
		return s.out, s.cancel, nil
	}
	for _, e := range replayFromStore(j) {
		s.push(e)
	}
	s.finite = true
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subsOff {
		return nil, nil, fmt.Errorf("jobs: subscribe %s: %w", transportID, ErrShutdown)
	}
	m.subWG.Add(1)
	go s.pump(ctx, m.forceSubs, m.subWG.Done)
	return s.out, s.cancel, nil
}

// attachRunning subscribes s to the running job if it belongs to the
// transport (and is job jobID, when given).
func (m *Manager) attachRunning(ctx context.Context, s *subscription, transportID, jobID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subsOff {
		return false, fmt.Errorf("jobs: subscribe %s: %w", transportID, ErrShutdown)
	}
	r := m.running
	if r == nil || r.job.TransportID != transportID || (jobID != "" && r.job.ID != jobID) {
		return false, nil
	}
	r.hub.attach(s)
	m.subWG.Add(1)
	go s.pump(ctx, m.forceSubs, func() { r.hub.detach(s); m.subWG.Done() })
	return true, nil
}

// Shutdown stops accepting jobs (Execute returns ErrShutdown), waits for the
// running job to end until ctx is done, then cancels it: it ends failed with
// "interrupted" and its objects are aborted. Subscribers get the job's final
// complete event; streams still open when ctx is done (and a second
// later, when the job had to be cancelled) are closed. It returns an error
// wrapping ctx.Err() if the job had to be cancelled.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.shutting = true
	r := m.running
	m.mu.Unlock()

	jobsDone := make(chan struct{})
	go func() { m.jobWG.Wait(); close(jobsDone) }()
	var err error
	select {
	case <-jobsDone:
	case <-ctx.Done():
		if r != nil {
			m.log.Warn("shutdown: interrupting job", "transport_id", r.job.TransportID, "job_id", r.job.ID)
			err = fmt.Errorf("jobs: shutdown: job %s interrupted: %w", r.job.ID, ctx.Err())
		}
		m.cancelBase()
		<-jobsDone
	}

	subsDone := make(chan struct{})
	go func() { m.subWG.Wait(); close(subsDone) }()
	grace := time.NewTimer(time.Second)
	defer grace.Stop()
	select {
	case <-subsDone:
	case <-ctx.Done():
		select {
		case <-subsDone:
		case <-grace.C:
		}
	}
	m.mu.Lock()
	if !m.subsOff {
		m.subsOff = true
		close(m.forceSubs)
	}
	m.mu.Unlock()
	<-subsDone
	return err
}

// Close waits a moment (closeCleanupGrace) for the start-up clean-up of
// interrupted jobs, cancels it and any running job, waits for them and
// closes the store. Call Shutdown first for a graceful stop.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.shutting = true
		if !m.subsOff {
			m.subsOff = true
			close(m.forceSubs)
		}
		m.mu.Unlock()
		// a short run (the CLI) must not cut the start-up clean-up off
		// every time: give it a moment, then cancel it (it is retried at
		// the next start)
		grace := time.NewTimer(closeCleanupGrace)
		select {
		case <-m.cleaned:
		case <-grace.C:
		}
		grace.Stop()
		m.cancelBase()
		m.sched.wg.Wait()
		m.jobWG.Wait()
		m.cleanWG.Wait()
		m.subWG.Wait()
		m.closeErr = errors.Join(m.store.Close(), m.lock.release())
	})
	return m.closeErr
}

// maxObjectFileName is the longest last segment of an object name: the
// 255 bytes of a file name on common file systems (the file target).
const maxObjectFileName = 255

var transportIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
