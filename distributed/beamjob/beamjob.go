package beamjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"sync"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/distributed"
	"github.com/ora2gcs/ora2gcs/internal/connect"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
)

func init() {
	register.DoFn3x1[context.Context, int, func(int, int), error](&extractFn{})
	register.Emitter2[int, int]()
	register.DoFn4x1[context.Context, int, func(*int) bool, func(string), error](&finalizeTableFn{})
	register.Iter1[int]()
	register.Emitter1[string]()
	register.DoFn3x1[context.Context, int, func(*string) bool, error](&manifestFn{})
	register.Iter1[string]()
	beam.RegisterType(reflect.TypeOf((*extractFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*finalizeTableFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*manifestFn)(nil)).Elem())
}

// Options are what the pipeline's steps need besides the plan. They
// travel in the job graph to every worker, so they never hold a secret.
type Options struct {
	// Plan is the plan's URI (gs://… or file://…) as `ora2gcs plan` printed it.
	Plan string `json:"plan"`
	// Source is the source as for `ora2gcs shard --source` (synth, a
	// postgres:// URL without password, oracle://… or oracle); empty
	// takes ORA2GCS_SOURCE of the worker's environment.
	Source string `json:"source,omitempty"`
	// SynthRows is the rows per table of the synthetic source (tests).
	SynthRows int64 `json:"synth_rows,omitempty"`
	// Attempts is how many times Run runs the pipeline when it fails
	// (default 3 on Prism, which does not retry a failed bundle; 1 on
	// Dataflow, which retries failed work items itself). A run of the same
	// plan skips the shards with an accepted result.
	Attempts int `json:"-"`
}

// Build adds the pipeline of plan p (stored at o.Plan) to s.
func Build(s beam.Scope, o Options, p *distributed.Plan) {
	idx := make([]int, len(p.Shards))
	for i := range idx {
		idx[i] = i
	}
	shards := beam.CreateList(s.Scope("shards"), idx)
	spread := beam.Reshuffle(s.Scope("spread"), shards)
	done := beam.ParDo(s.Scope("extract"), &extractFn{Options: o}, spread)
	byTable := beam.GroupByKey(s.Scope("by-table"), done)
	tables := beam.ParDo(s.Scope("finalize-table"), &finalizeTableFn{Options: o}, byTable)
	all := beam.GroupByKey(s.Scope("all-tables"), beam.AddFixedKey(s.Scope("all-tables"), tables))
	beam.ParDo0(s.Scope("manifest"), &manifestFn{Options: o}, all)
}

// worker is what every step opens once per DoFn instance: the store the
// plan lives in and the plan.
type worker struct {
	st      distributed.Store
	plan    *distributed.Plan
	closers []func() error
}

func (w *worker) open(ctx context.Context, o Options) error {
	st, closeStore, err := OpenStore(ctx, o.Plan)
	if err != nil {
		return err
	}
	w.closers = append(w.closers, closeStore)
	loc, _ := distributed.ParsePlanURI(o.Plan)
	p, err := distributed.LoadPlan(ctx, st, loc.Name)
	if err != nil {
		return err
	}
	w.st, w.plan = st, p
	return nil
}

func (w *worker) close() error {
	var errs []error
	for i := len(w.closers) - 1; i >= 0; i-- {
		errs = append(errs, w.closers[i]())
	}
	w.closers = nil
	return errors.Join(errs...)
}

// OpenStore opens the store a plan URI points into (GCS with Application
// Default Credentials, STORAGE_EMULATOR_HOST honoured; or a local
// directory); the function returned closes it.
func OpenStore(ctx context.Context, planURI string) (distributed.Store, func() error, error) {
	loc, err := distributed.ParsePlanURI(planURI)
	if err != nil {
		return nil, nil, err
	}
	var sink pipeline.Sink
	closer := func() error { return nil }
	switch loc.Scheme {
	case "file":
		if sink, err = file.New(loc.Dir, loc.Bucket); err != nil {
			return nil, nil, err
		}
	case "gs":
		client, err := storage.NewClient(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("gcs: client: %w", err)
		}
		if sink, err = gcs.NewWithClient(client, gcs.Config{Bucket: loc.Bucket}); err != nil {
			_ = client.Close()
			return nil, nil, err
		}
		closer = client.Close
	}
	st, err := distributed.NewStore(sink)
	if err != nil {
		_ = closer()
		return nil, nil, err
	}
	return st, closer, nil
}

// logger is the steps' log: JSON lines on stderr (Cloud Logging on Dataflow).
func logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// beforeRead, if set (tests), is called before each read of a shard.
var beforeRead func(shard, try int) error

// extractFn extracts one shard per element and emits (table, shard).
type extractFn struct {
	Options Options `json:"options"`

	w    worker
	conn pipeline.Connector
}

func (f *extractFn) Setup(ctx context.Context) error {
	if err := f.w.open(ctx, f.Options); err != nil {
		return err
	}
	conn, release, err := sharedSource(ctx, f.Options)
	if err != nil {
		_ = f.w.close()
		return fmt.Errorf("source: %w", err)
	}
	f.conn = conn
	f.w.closers = append(f.w.closers, release)
	return nil
}

// sources holds one connector (one connection pool) per source for the
// whole process, shared by every extract DoFn instance (a runner makes
// one per bundle thread): the database sees one pool per worker, not one
// per thread, and a failed bundle whose instance is never torn down
// leaks no pool.
var sources = struct {
	sync.Mutex
	m map[Options]*sharedConn
}{m: map[Options]*sharedConn{}}

type sharedConn struct {
	conn pipeline.Connector
	refs int
}

func sharedSource(ctx context.Context, o Options) (pipeline.Connector, func() error, error) {
	key := Options{Source: o.Source, SynthRows: o.SynthRows}
	sources.Lock()
	defer sources.Unlock()
	sc := sources.m[key]
	if sc == nil {
		cfg := config.Default()
		if err := cfg.ApplyEnv(os.LookupEnv); err != nil {
			return nil, nil, err
		}
		if o.Source != "" {
			cfg.Source = o.Source
		}
		conn, err := connect.Source(ctx, cfg, o.SynthRows)
		if err != nil {
			return nil, nil, err
		}
		sc = &sharedConn{conn: conn}
		sources.m[key] = sc
	}
	sc.refs++
	var once sync.Once
	return sc.conn, func() error {
		var err error
		once.Do(func() {
			sources.Lock()
			defer sources.Unlock()
			if sc.refs--; sc.refs == 0 && sources.m[key] == sc {
				delete(sources.m, key)
				err = sc.conn.Close()
			}
		})
		return err
	}, nil
}

// closeSources closes every shared connector (tests, at their end).
func closeSources() {
	sources.Lock()
	defer sources.Unlock()
	for k, sc := range sources.m {
		_ = sc.conn.Close()
		delete(sources.m, k)
	}
}

func (f *extractFn) ProcessElement(ctx context.Context, shard int, emit func(int, int)) error {
	run := &distributed.ShardRun{Plan: f.w.plan, Store: f.w.st, Connector: f.conn, Index: shard, Log: logger()}
	if hook := beforeRead; hook != nil {
		run.BeforeRead = func(try int) error { return hook(shard, try) }
	}
	res, err := run.Run(ctx)
	if err != nil {
		return err
	}
	emit(f.w.plan.Shards[res.Completion.Shard].Table, shard)
	return nil
}

func (f *extractFn) Teardown() error { return f.w.close() }

// finalizeTableFn composes one table once all its shards are done and
// emits its manifest entry (JSON).
type finalizeTableFn struct {
	Options Options `json:"options"`

	w worker
}

func (f *finalizeTableFn) Setup(ctx context.Context) error { return f.w.open(ctx, f.Options) }

func (f *finalizeTableFn) ProcessElement(ctx context.Context, table int, shards func(*int) bool, emit func(string)) error {
	p := f.w.plan
	if table < 0 || table >= len(p.Tables) {
		return fmt.Errorf("beamjob: table index %d is not the plan's", table)
	}
	var got []int
	var s int
	for shards(&s) {
		got = append(got, s)
	}
	slices.Sort(got)
	want := slices.Clone(p.Tables[table].Shards)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		// a runner that delivered a shard twice or not at all
		return fmt.Errorf("beamjob: table %s: shards %v arrived, the plan has %v", p.Tables[table].Table, got, want)
	}
	fin := &distributed.Finalizer{Plan: p, Store: f.w.st, Log: logger()}
	mt, err := fin.Table(ctx, table)
	if err != nil {
		return err
	}
	b, err := json.Marshal(mt)
	if err != nil {
		return err
	}
	emit(string(b))
	return nil
}

func (f *finalizeTableFn) Teardown() error { return f.w.close() }

// manifestFn writes the job's manifest from every table's entry.
type manifestFn struct {
	Options Options `json:"options"`

	w worker
}

func (f *manifestFn) Setup(ctx context.Context) error { return f.w.open(ctx, f.Options) }

func (f *manifestFn) ProcessElement(ctx context.Context, _ int, tables func(*string) bool) error {
	var entries []jobs.ManifestTable
	var s string
	for tables(&s) {
		var mt jobs.ManifestTable
		if err := json.Unmarshal([]byte(s), &mt); err != nil {
			return fmt.Errorf("beamjob: manifest entry: %w", err)
		}
		entries = append(entries, mt)
	}
	fin := &distributed.Finalizer{Plan: f.w.plan, Store: f.w.st, Log: logger()}
	res, err := fin.Manifest(ctx, entries)
	if err != nil {
		return err
	}
	logger().Info("manifest written", "manifest", res.ManifestURI, "rows", res.Manifest.TotalRows, "already_finalized", res.AlreadyFinalized)
	return nil
}

func (f *manifestFn) Teardown() error { return f.w.close() }

// Result is what Run did.
type Result struct {
	Plan *distributed.Plan
	// Finished: the pipeline ran to its end (false for a job submitted
	// without waiting, --execute_async, or a --dry_run).
	Finished bool
	// Manifest is the job's manifest once Finished.
	Manifest    jobs.Manifest
	ManifestURI string
	// AlreadyFinalized: the manifest existed before; nothing ran.
	AlreadyFinalized bool
}

// Run loads the plan o.Plan, builds its pipeline and runs it on the
// runner registered as runner ("prism", "dataflow": the caller imports
// the runner's package). A plan whose manifest exists is not run again.
// When the pipeline fails, Run removes what a finalize step left at a
// final name without a manifest (Finalizer.Abandon) and returns an error
// naming every shard without an accepted result, with the errors its
// attempts recorded; the shards' results stay for a run of the same plan.
func Run(ctx context.Context, runner string, o Options) (Result, error) {
	st, closeStore, err := OpenStore(ctx, o.Plan)
	if err != nil {
		return Result{}, err
	}
	defer closeStore()
	loc, _ := distributed.ParsePlanURI(o.Plan)
	p, err := distributed.LoadPlan(ctx, st, loc.Name)
	if err != nil {
		return Result{}, err
	}
	res := Result{Plan: p}
	if m, ok, err := readManifest(ctx, st, p); err != nil {
		return res, err
	} else if ok {
		res.Finished, res.AlreadyFinalized, res.Manifest, res.ManifestURI = true, true, m, st.URI(p.ManifestName())
		return res, nil
	}
	bp, s := beam.NewPipelineWithRoot()
	Build(s, o, p)
	attempts := o.Attempts
	if attempts <= 0 {
		attempts = 1
		if runner == "prism" {
			attempts = 3
		}
	}
	var pr beam.PipelineResult
	for a := 1; a <= attempts; a++ {
		pr, err = beam.Run(ctx, runner, bp)
		if err == nil || ctx.Err() != nil {
			break
		}
		if a < attempts {
			logger().Warn("pipeline failed: running it again (shards with an accepted result are skipped)", "attempt", a, "error", err)
		}
	}
	if err != nil {
		fin := &distributed.Finalizer{Plan: p, Store: st}
		errs := []error{fmt.Errorf("beamjob: %s %s: the pipeline failed: %w", p.TransportID, p.JobVersion, err)}
		if aerr := fin.Abandon(ctx); aerr != nil {
			errs = append(errs, fmt.Errorf("removing objects at final names: %w", aerr))
		}
		if cerr := fin.Check(ctx); cerr != nil {
			errs = append(errs, cerr)
		}
		return res, errors.Join(errs...)
	}
	m, ok, err := readManifest(ctx, st, p)
	if err != nil {
		return res, err
	}
	if !ok {
		if pr == nil || *jobopts.Async { // a dry run, or submitted without waiting
			return res, nil
		}
		return res, fmt.Errorf("beamjob: %s %s: the pipeline ended without writing %s", p.TransportID, p.JobVersion, st.URI(p.ManifestName()))
	}
	res.Finished, res.Manifest, res.ManifestURI = true, m, st.URI(p.ManifestName())
	return res, nil
}

func readManifest(ctx context.Context, st distributed.Store, p *distributed.Plan) (jobs.Manifest, bool, error) {
	var m jobs.Manifest
	b, err := st.Read(ctx, p.ManifestName())
	if errors.Is(err, distributed.ErrNotFound) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	if err := json.Unmarshal(b, &m); err != nil || m.JobID != p.JobID || m.JobVersion != p.JobVersion {
		return m, false, fmt.Errorf("beamjob: %s is not this plan's manifest", st.URI(p.ManifestName()))
	}
	return m, true, nil
}
