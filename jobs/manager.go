package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

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
