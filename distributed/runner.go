package distributed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Launch is the work an Executor runs: every shard of one stored plan.
type Launch struct {
	Plan    *Plan
	PlanURI string
	Store   Store
	Log     *slog.Logger
}

// Executor runs the shards of a plan somewhere: processes on this
// machine, a Cloud Run Job, a Beam pipeline.
type Executor interface {
	// Run starts every shard of the plan and returns once the executor
	// knows they have all ended: nil when each ended well, otherwise an
	// error naming what failed. Cancelling ctx stops the shards as far as
	// the platform allows. Whether a shard's data is complete is decided
	// by its completion record, never by Run's answer.
	Run(ctx context.Context, l Launch) error
}

// Runner runs a jobs.Manager's distributed jobs (it implements
// jobs.Distributor): it plans in this process, holding the snapshot open
// until the job ends, has an Executor run the shards, follows their
// completion records in the bucket for progress, and finalizes.
type Runner struct {
	Connector pipeline.Connector
	// Settings, Attempts and ChunkRows are the plan's (the same as the
	// server's single-machine engine, so objects compare equal).
	Settings  Settings
	Attempts  AttemptPolicy
	ChunkRows int
	// Executors by name; Default is the one used when a request names none.
	Executors map[string]Executor
	Default   string
	// DefaultShards is the shard count when a request gives none
	// (default 4); MaxShards the most a request may ask for (default 1000).
	DefaultShards int
	MaxShards     int
	// Poll is how often completion records are read (default 5s).
	Poll time.Duration
	// Timeout, if set, bounds a whole distributed job (plan to finalize).
	Timeout time.Duration
}

var _ jobs.Distributor = (*Runner)(nil)

// Check validates a request's options and fills in the defaults.
func (r *Runner) Check(opts jobs.DistributedOptions) (jobs.DistributedOptions, error) {
	name := opts.Executor
	if name == "" {
		name = r.Default
	}
	if _, ok := r.Executors[name]; !ok || name == "" {
		return opts, &jobs.FieldError{Field: "distributed.executor", Message: fmt.Sprintf("%q is not a configured executor (configured: %s)", opts.Executor, strings.Join(r.names(), ", "))}
	}
	if hi := r.maxShards(); opts.Shards < 0 || opts.Shards > hi {
		return opts, &jobs.FieldError{Field: "distributed.shards", Message: fmt.Sprintf("%d is out of range 1..%d", opts.Shards, hi)}
	}
	opts.Executor = name
	if opts.Shards == 0 {
		opts.Shards = r.defaultShards()
	}
	return opts, nil
}

func (r *Runner) defaultShards() int {
	if r.DefaultShards > 0 {
		return min(r.DefaultShards, r.maxShards())
	}
	return min(4, r.maxShards())
}

func (r *Runner) names() []string {
	var out []string
	for n := range r.Executors {
		out = append(out, n)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

func (r *Runner) maxShards() int { return ShardLimit(r.MaxShards) }

// DefaultShardLimit is the most shards a request may ask for when
// Runner.MaxShards is unset.
const DefaultShardLimit = 1000

// ShardLimit is the most shards a request may ask for (and the largest
// valid DefaultShards) when Runner.MaxShards is maxShards: maxShards, at
// most MaxShards; 0 (unset) gives DefaultShardLimit. Package config's
// distributed.default_shards is checked against it.
func ShardLimit(maxShards int) int {
	if maxShards > 0 {
		return min(maxShards, MaxShards)
	}
	return DefaultShardLimit
}

// Run plans, runs the shards and finalizes one job.
func (r *Runner) Run(ctx context.Context, job jobs.DistributedJob) (jobs.Manifest, error) {
	opts, err := r.Check(job.Options)
	if err != nil {
		return jobs.Manifest{}, err
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	log := job.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	name, shards := opts.Executor, opts.Shards
	exec := r.Executors[name]
	st, err := NewStore(job.Sink)
	if err != nil {
		return jobs.Manifest{}, err
	}
	pts := make([]PlanTable, len(job.Tables))
	for i, t := range job.Tables {
		pts[i] = PlanTable{Info: t.Info, Table: t.Table, ObjectBase: t.ObjectBase}
	}
	pl := Planner{Connector: r.Connector, Store: st, TransportID: job.TransportID, TransportName: job.TransportName,
		JobID: job.JobID, JobVersion: job.JobVersion, Bucket: job.Bucket, Tables: pts, Settings: r.Settings,
		Attempts: r.Attempts, Shards: shards, ChunkRows: r.ChunkRows}
	log.Info("planning: taking the snapshot", "executor", name, "shards", shards)
	p, snap, err := pl.Plan(ctx)
	if err != nil {
		return jobs.Manifest{}, err
	}
	// the snapshot (a PostgreSQL exported snapshot) stays open until the
	// job has ended
	defer func() {
		if err := snap.Close(); err != nil {
			log.Warn("close snapshot", "error", err)
		}
	}()
	if job.Snapshot != nil {
		job.Snapshot(p.Snapshot)
	}
	uri := st.URI(p.Name())
	if job.Planned != nil {
		per := make([]int, len(p.Tables))
		for i, t := range p.Tables {
			per[i] = len(t.Shards)
		}
		job.Planned(uri, per)
	}

	f := follower{plan: p, store: st, report: job.Progress, done: make([]*Completion, len(p.Shards))}
	execErr := make(chan error, 1)
	ectx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { execErr <- exec.Run(ectx, Launch{Plan: p, PlanURI: uri, Store: st, Log: log}) }()
	poll := r.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var eerr error
wait:
	for {
		select {
		case eerr = <-execErr:
			break wait
		case <-tick.C:
			f.poll(ctx)
		}
	}
	fin := &Finalizer{Plan: p, Store: st, Log: log}
	if ctx.Err() != nil {
		r.discard(fin, log)
		return jobs.Manifest{}, fmt.Errorf("distributed: %s %s: %w", p.TransportID, p.JobVersion, ctx.Err())
	}
	f.poll(ctx)
	if eerr != nil {
		log.Warn("executor reported a failure; finalize decides from the shards' records", "executor", name, "error", eerr)
	}
	res, ferr := fin.Run(ctx)
	if ferr != nil {
		// nothing is at a final name (Finalize removes what it composed);
		// the shards' segments and records go too: the job's record keeps
		// why they failed
		r.discard(fin, log)
		if eerr != nil {
			var se *jobs.ShardsError
			if errors.As(ferr, &se) {
				return jobs.Manifest{}, &jobs.ShardsError{Failed: se.Failed, Err: fmt.Errorf("%w (executor %s: %v)", ferr, name, eerr)}
			}
			return jobs.Manifest{}, fmt.Errorf("%w (executor %s: %v)", ferr, name, eerr)
		}
		return jobs.Manifest{}, ferr
	}
	if eerr != nil {
		log.Warn("every shard has an accepted result although the executor reported a failure", "error", eerr)
	}
	return res.Manifest, nil
}

// discard removes what the shards of a job that did not complete wrote
// below _shards/ (the executor has ended them; the plan stays as the
// record of what was attempted).
func (r *Runner) discard(fin *Finalizer, log *slog.Logger) {
	if errs := fin.cleanup(context.Background()); len(errs) > 0 {
		log.Warn("could not remove the shards' objects of the failed job", "errors", strings.Join(errs, "; "))
	}
}

// follower reads the shards' completion records and reports each table's
// figures.
type follower struct {
	plan   *Plan
	store  Store
	report func(jobs.TableProgress)
	done   []*Completion
}

func (f *follower) poll(ctx context.Context) {
	changed := map[int]bool{}
	for i := range f.plan.Shards {
		if f.done[i] != nil || ctx.Err() != nil {
			continue
		}
		c, err := readCompletion(ctx, f.store, f.plan, i)
		if err != nil {
			continue // not yet, or refused (finalize names it)
		}
		f.done[i] = &c
		changed[f.plan.Shards[i].Table] = true
	}
	if f.report == nil {
		return
	}
	for ti := range f.plan.Tables {
		if !changed[ti] {
			continue
		}
		tp := jobs.TableProgress{Table: ti, ShardsTotal: len(f.plan.Tables[ti].Shards)}
		for _, si := range f.plan.Tables[ti].Shards {
			if c := f.done[si]; c != nil {
				tp.Rows += c.Rows
				tp.RawBytes += c.RawBytes
				tp.Bytes += c.Bytes
				tp.ShardsDone++
			}
		}
		f.report(tp)
	}
}

// InProcess runs the shards as goroutines of this process with its own
// connector: for tests, the demo and a server whose machine is big enough.
type InProcess struct {
	Connector pipeline.Connector
	// Parallel is how many shards run at once (default 4).
	Parallel int
}

// Run runs every shard; it returns the failed shards' errors.
func (x InProcess) Run(ctx context.Context, l Launch) error {
	par := x.Parallel
	if par <= 0 {
		par = 4
	}
	sem := make(chan struct{}, par)
	errs := make([]error, len(l.Plan.Shards))
	done := make(chan struct{})
	n := len(l.Plan.Shards)
	for i := range l.Plan.Shards {
		go func() {
			defer func() { done <- struct{}{} }()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			_, errs[i] = (&ShardRun{Plan: l.Plan, Store: l.Store, Connector: x.Connector, Index: i, Log: l.Log}).Run(ctx)
		}()
	}
	for range n {
		<-done
	}
	return errors.Join(errs...)
}
