package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// state is an open state database: the Manager (lock held) and the env it
// was built from; its source is never connected, its target is opened on
// first use.
type state struct {
	e   *env
	m   *jobs.Manager
	gcs bool // the target is GCS: retention is the bucket's lifecycle rules
}

func (s *state) Close() {
	s.m.Close()
	s.e.Close()
}

// addStateFlags declares the flags of the state commands.
func addStateFlags(fs *flag.FlagSet) *options {
	o := &options{fs: fs, logLevel: "warn"}
	fs.StringVar(&o.configPath, "config", "", "config file (default ./config.yaml, then $XDG_CONFIG_HOME/ora2gcs/config.yaml, then /etc/ora2gcs/config.yaml, the first that exists)")
	fs.StringVar(&o.dataDir, "data-dir", "", "state directory holding ora2gcs.db (default ./data, or data_dir of the config)")
	fs.StringVar(&o.target, "target", "", `the target, as given to serve: "file://DIR" (default file://./data) or "gcs"; it says how retention is enforced`)
	fs.BoolVar(&o.json, "json", false, "print the result as JSON (the API's representation)")
	// error by default: what a command changes or fails to change, it says itself
	o.logLevel = "error"
	fs.StringVar(&o.logLevel, "log-level", "error", "log lines on stderr at this level and above: debug, info, warn, error")
	return o
}

// isGCSTarget says whether a target string names GCS.
func isGCSTarget(target string) bool { return target == "gcs" || strings.HasPrefix(target, "gs://") }

// openState opens the state database of o's data directory. lifecycle: a
// gcs target's lifecycle rules are updated when a retention changes (as
// the server does).
func openState(ctx context.Context, o *options, stderr io.Writer, lifecycle bool) (*state, error) {
	log, err := o.logger(stderr)
	if err != nil {
		return nil, usageError(stderr, o.fs.Name(), "%v", err)
	}
	cfg, err := o.loadConfig()
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(cfg.Target, "file://") && !isGCSTarget(cfg.Target) {
		return nil, usageError(stderr, o.fs.Name(), "--target %q: use file://DIR or gcs", cfg.Target)
	}
	db := filepath.Join(cfg.DataDir, "ora2gcs.db")
	if _, err := os.Stat(db); err != nil {
		return nil, fmt.Errorf("no state database at %s (give the --data-dir of your runs or server): %w", db, err)
	}
	e := &env{cfg: cfg, pcfg: cfg.Pipeline(), bucket: cfg.GCS.DefaultBucket, lifecycle: lifecycle,
		ndjson: stages.NDJSONOptions{DecimalAsString: cfg.ETL.DecimalsAsStrings, OmitNulls: cfg.ETL.OmitNulls, BigQuery: true}}
	if e.codec, err = compression.New(compression.Spec{Name: cfg.ETL.Compressor, Level: cfg.ETL.GzipLevel, Verify: cfg.ETL.VerifyCompression}); err != nil {
		return nil, err
	}
	kind := databaseKind(cfg.Source)
	if kind == "" {
		kind = "synth"
	}
	// never connected by these commands (no job runs); a Manager needs one
	e.conn = newLazyConnector(kind, func(ctx context.Context) (pipeline.Connector, error) { return openConnector(ctx, cfg, 0) })
	e.closers = append(e.closers, e.conn.Close)
	var once sync.Once
	var open func(context.Context, string) (pipeline.Sink, error)
	var openErr error
	// opened once, on first use (the Manager's start-up clean-up may be
	// first; Close runs after the Manager's, which waits for it)
	e.sink = func(ctx context.Context, bucket string) (pipeline.Sink, error) {
		once.Do(func() { open, openErr = e.openTarget(ctx, cfg.Target) })
		if openErr != nil {
			return nil, openErr
		}
		return open(ctx, bucket)
	}
	m, err := e.manager(ctx, log)
	if err != nil {
		e.Close()
		if errors.Is(err, jobs.ErrLocked) {
			return nil, fmt.Errorf("%w; while ora2gcs serve runs on this data directory, change transports through its API or dashboard (docs/SCHEDULING.md)", err)
		}
		return nil, err
	}
	return &state{e: e, m: m, gcs: isGCSTarget(cfg.Target)}, nil
}

// subcommand splits "ID --flags" and "--flags ID": the transport id may come
// before or after the flags.
func parseWithID(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, noEnv map[string]bool, needID bool) (string, error) {
	id := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	for {
		if err := parseFlagsEnv(fs, args, stdout, stderr, noEnv); err != nil {
			return "", err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if id != "" || !needID {
			return "", usageError(stderr, fs.Name(), "unexpected argument %q", rest[0])
		}
		id, args = rest[0], rest[1:] // flags, ID, more flags
	}
	if needID && id == "" {
		return "", usageError(stderr, fs.Name(), "the transport ID is missing (see 'ora2gcs transports list')")
	}
	if !needID && id != "" {
		return "", usageError(stderr, fs.Name(), "unexpected argument %q", id)
	}
	return id, nil
}

// allTransports lists every transport of the state database.
func allTransports(ctx context.Context, m *jobs.Manager) ([]jobs.Transport, error) {
	var out []jobs.Transport
	for page := 1; ; page++ {
		p, err := m.ListTransports(ctx, page, 200)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if len(p.Items) == 0 || len(out) >= p.Total {
			return out, nil
		}
	}
}

// retentionState fills t.Retention as the server shows it: a file target
// is enforced by the sweep; a gcs target's lifecycle rule is checked only
// with check (it reads the bucket), else left unknown (nil).
func (s *state) retentionState(ctx context.Context, t *jobs.Transport, check bool) {
	if t.Retention != nil {
		return
	}
	if !s.gcs {
		t.Retention = &jobs.RetentionStatus{Enforced: t.RetentionDays > 0, By: "sweep"}
		return
	}
	if !check {
		return
	}
	st := &jobs.RetentionStatus{By: "lifecycle"}
	t.Retention = st
	enf, err := s.enforcer(ctx, t.TargetBucket)
	if err != nil {
		st.Reason = "the target cannot be opened: " + err.Error()
		return
	}
	drift, err := enf.CheckRetention(ctx, t.ID+"/", t.RetentionDays)
	switch {
	case err != nil:
		st.Reason = "the bucket's lifecycle rules cannot be read: " + permissionHint(t.TargetBucket, err).Error()
	case drift != "":
		st.Reason = "drift: " + drift
	default:
		st.Enforced = true
	}
}

func (s *state) enforcer(ctx context.Context, bucket string) (jobs.RetentionEnforcer, error) {
	sink, err := s.e.sink(ctx, bucket)
	if err != nil {
		return nil, err
	}
	enf, ok := sink.(jobs.RetentionEnforcer)
	if !ok {
		return nil, fmt.Errorf("the target of bucket %s has no lifecycle rules", bucket)
	}
	return enf, nil
}
