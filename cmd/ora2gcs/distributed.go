package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/ora2gcs/ora2gcs/distributed"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Task index variables of the platforms that run shards (Cloud Run Jobs,
// Kubernetes Indexed Jobs), read when --index is not given.
var indexVars = []string{"CLOUD_RUN_TASK_INDEX", "JOB_COMPLETION_INDEX"}

// holdPoll is how often plan --hold looks for the manifest.
var holdPoll = 5 * time.Second

func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	o := addFlags(fs, flagsAll)
	transportID := fs.String("transport-id", "", "transport id (default TRP-LOCAL-<hash of the tables and bucket>, as run)")
	jobVersion := fs.String("job-version", "", "job version (vNNN); default the one after the highest stored below the transport in the bucket")
	shards := fs.Int("shards", 0, "target number of shards over all tables (default one per table); tables get shards in proportion to their rows, small ones fewer")
	shardRows := fs.Int64("shard-rows", 0, "target rows per shard instead of --shards")
	hold := fs.Bool("hold", false, "keep running (and a PostgreSQL snapshot open) until the job's _manifest.json is written or --hold-timeout passes")
	holdTimeout := fs.Duration("hold-timeout", 24*time.Hour, "with --hold: give up (exit 1) after this long")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "plan", "unexpected argument %q (tables go in --tables)", fs.Arg(0))
	}
	if *shards < 0 || *shards > distributed.MaxShards || *shardRows < 0 {
		return usageError(stderr, "plan", "--shards must be 1..%d and --shard-rows positive", distributed.MaxShards)
	}
	// a distributed job writes each table as one composed object: parts are
	// refused whether the flag, the environment or the config file sets them
	if cfg, origins, err := o.resolveConfig(); err == nil && cfg.ETL.PartBytes != 0 {
		return usageError(stderr, "plan", "%s: etl.part_bytes: %d cannot be combined with a distributed job (each table is one composed object); set it to 0",
			origins["etl.part_bytes"], cfg.ETL.PartBytes)
	}
	log, err := o.logger(stderr)
	if err != nil {
		return usageError(stderr, "plan", "%v", err)
	}
	e, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	tables, err := e.resolveTables(ctx)
	if err != nil {
		return err
	}
	sink, err := e.sink(ctx, e.bucket)
	if err != nil {
		return err
	}
	st, err := distributed.NewStore(sink)
	if err != nil {
		return err
	}
	names := e.tables
	if len(names) == 0 {
		for _, t := range tables {
			names = append(names, t.Name)
		}
	}
	pts := make([]distributed.PlanTable, len(tables))
	for i, info := range tables {
		parsed, err := pipeline.ParseTableName(names[i])
		if err != nil {
			return fmt.Errorf("table %q: %w", names[i], err)
		}
		qualified := parsed.Schema != "" && info.Schema != ""
		display := pipeline.DisplayIdent(info.Name, e.conn.FoldCase)
		if qualified {
			display = pipeline.DisplayIdent(info.Schema, e.conn.FoldCase) + "." + display
		}
		pts[i] = distributed.PlanTable{Info: info, Table: display, ObjectBase: pipeline.ObjectBaseName(info.Schema, info.Name, qualified)}
	}
	id := *transportID
	if id == "" {
		id = adHocTransportID(e.conn.Kind(), tables, e.bucket)
	}
	version := *jobVersion
	if version == "" {
		if version, err = nextStoredVersion(ctx, st, id); err != nil {
			return err
		}
	}
	pcfg := e.pcfg.WithDefaults()
	pl := distributed.Planner{Connector: e.conn, Store: st, TransportID: id, JobVersion: version, Bucket: e.bucket,
		Tables: pts, Shards: *shards, ShardRows: *shardRows, ChunkRows: pcfg.ChunkRows,
		Settings: distributed.Settings{Compressor: e.codec.Name(), GzipLevel: e.codec.Level(), VerifyCompression: e.codec.Verify(),
			DecimalsAsStrings: e.ndjson.DecimalAsString, OmitNulls: e.ndjson.OmitNulls, FetchArraySize: pcfg.FetchArraySize,
			PieceBytes: pcfg.PieceBytes, EncodeWorkers: e.pcfg.EncodeWorkers},
		Attempts: distributed.AttemptPolicy{Attempts: pcfg.Retry.Attempts, BackoffSeconds: pcfg.Retry.Backoff.Seconds()}}
	p, snap, err := pl.Plan(ctx)
	if err != nil {
		return err
	}
	defer snap.Close()
	uri := st.URI(p.Name())
	if o.json {
		b, _ := json.Marshal(map[string]any{"plan": uri, "shards": len(p.Shards)})
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		fmt.Fprintf(stdout, "plan %s: %d shards over %d tables, snapshot %s %s\n", uri, len(p.Shards), len(p.Tables), p.Snapshot.Kind, p.Snapshot.ID)
	}
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	log.Info("plan stored", "plan", uri, "shards", len(p.Shards), "snapshot_kind", p.Snapshot.Kind, "snapshot_id", p.Snapshot.ID)
	if !*hold {
		if p.Snapshot.Kind == "pg_snapshot" {
			fmt.Fprintln(stderr, "ora2gcs plan: warning: the PostgreSQL snapshot ends when this process exits; shards started later fail. Use --hold to keep it open until finalize.")
		}
		return nil
	}
	return holdUntilFinalized(ctx, st, p, *holdTimeout, log)
}

// holdUntilFinalized waits until the plan's manifest exists (nil), the
// timeout passes or ctx ends (an error).
func holdUntilFinalized(ctx context.Context, st distributed.Store, p *distributed.Plan, timeout time.Duration, log *slog.Logger) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(holdPoll)
	defer tick.Stop()
	for {
		_, err := st.Read(ctx, p.ManifestName())
		switch {
		case err == nil:
			log.Info("manifest written: releasing the snapshot", "manifest", st.URI(p.ManifestName()))
			return nil
		case !errors.Is(err, distributed.ErrNotFound):
			log.Warn("cannot read the manifest yet", "error", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("plan %s: interrupted before finalize; the snapshot is released", p.Name())
		case <-deadline.C:
			return fmt.Errorf("plan %s: no manifest after %s (--hold-timeout); the snapshot is released", p.Name(), timeout)
		case <-tick.C:
		}
	}
}

var versionDir = regexp.MustCompile(`/v([0-9]{3,9})/$`)

// nextStoredVersion is the version after the highest {id}/vNNN/ stored.
func nextStoredVersion(ctx context.Context, st distributed.Store, id string) (string, error) {
	names, err := st.List(ctx, id+"/")
	if err != nil {
		return "", fmt.Errorf("list %s: %w", st.URI(id+"/"), err)
	}
	hi := 0
	for _, n := range names {
		if m := versionDir.FindStringSubmatch(n); m != nil {
			v, _ := strconv.Atoi(m[1])
			hi = max(hi, v)
		}
	}
	return fmt.Sprintf("v%03d", hi+1), nil
}

// planFlags are the flags shard and finalize share.
type planFlags struct {
	o    *options
	plan *string
}

func addPlanFlags(fs *flag.FlagSet, source bool) planFlags {
	groups := flagsOutput
	if source {
		groups |= flagsSource
	}
	pf := planFlags{o: addFlags(fs, groups)}
	pf.plan = fs.String("plan", "", "the plan's URI as plan printed it: gs://BUCKET/TRP/vNNN/_plan.json or file:///DIR/BUCKET/TRP/vNNN/_plan.json")
	return pf
}

// openPlan opens the store the plan URI lives in and loads the plan.
func openPlan(ctx context.Context, o *options, e *env, uri string) (distributed.Store, *distributed.Plan, error) {
	loc, err := distributed.ParsePlanURI(uri)
	if err != nil {
		return nil, nil, fmt.Errorf("--%w", err)
	}
	target := "gcs"
	if loc.Scheme == "file" {
		target = "file://" + loc.Dir
	}
	mk, err := e.openTarget(ctx, target)
	if err != nil {
		return nil, nil, err
	}
	sink, err := mk(ctx, loc.Bucket)
	if err != nil {
		return nil, nil, err
	}
	name := loc.Name
	st, err := distributed.NewStore(sink)
	if err != nil {
		return nil, nil, err
	}
	p, err := distributed.LoadPlan(ctx, st, name)
	if err != nil {
		return nil, nil, err
	}
	return st, p, nil
}

func cmdShard(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("shard", flag.ContinueOnError)
	pf := addPlanFlags(fs, true)
	index := fs.Int("index", -1, "the shard to extract (default from CLOUD_RUN_TASK_INDEX or JOB_COMPLETION_INDEX)")
	attempt := fs.String("attempt", "", "name of this attempt (letters, digits, '-'; default random, prefixed with CLOUD_RUN_TASK_ATTEMPT when set)")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "shard", "unexpected argument %q", fs.Arg(0))
	}
	idx := *index
	if idx < 0 {
		for _, v := range indexVars {
			if s, ok := lookupEnv(v); ok && s != "" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 0 {
					return usageError(stderr, "shard", "%s=%q is not a shard index", v, s)
				}
				idx = n
				break
			}
		}
	}
	if idx < 0 {
		return usageError(stderr, "shard", "--index is required (or CLOUD_RUN_TASK_INDEX / JOB_COMPLETION_INDEX)")
	}
	att := *attempt
	if att == "" {
		if a, ok := lookupEnv("CLOUD_RUN_TASK_ATTEMPT"); ok && a != "" {
			att = "r" + a + "-"
		}
		att += fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffffff)
	}
	log, err := pf.o.logger(stderr)
	if err != nil {
		return usageError(stderr, "shard", "%v", err)
	}
	e, err := pf.o.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	st, p, err := openPlan(ctx, pf.o, e, *pf.plan)
	if err != nil {
		return err
	}
	res, err := (&distributed.ShardRun{Plan: p, Store: st, Connector: e.conn, Index: idx, Attempt: att, Log: log}).Run(ctx)
	if err != nil {
		return err
	}
	c := res.Completion
	if pf.o.json {
		b, _ := json.Marshal(map[string]any{"shard": idx, "accepted": res.Accepted, "attempt": c.Attempt, "rows": c.Rows, "bytes": c.Bytes})
		fmt.Fprintf(stdout, "%s\n", b)
	} else if res.Accepted {
		fmt.Fprintf(stdout, "%s: %d rows, %d bytes (attempt %s)\n", p.Describe(idx), c.Rows, c.Bytes, c.Attempt)
	} else {
		fmt.Fprintf(stdout, "%s: done already by attempt %s (%d rows); nothing read\n", p.Describe(idx), c.Attempt, c.Rows)
	}
	return nil
}

func cmdFinalize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("finalize", flag.ContinueOnError)
	pf := addPlanFlags(fs, false)
	cfgPath := fs.String("config", "", "config file (for gcs.endpoint and gcs.credentials_file); default as for run")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "finalize", "unexpected argument %q", fs.Arg(0))
	}
	log, err := pf.o.logger(stderr)
	if err != nil {
		return usageError(stderr, "finalize", "%v", err)
	}
	pf.o.configPath = *cfgPath
	cfg, err := pf.o.loadConfig()
	if err != nil {
		return err
	}
	e := &env{cfg: cfg}
	defer e.Close()
	st, p, err := openPlan(ctx, pf.o, e, *pf.plan)
	if err != nil {
		return err
	}
	res, err := (&distributed.Finalizer{Plan: p, Store: st, Log: log}).Run(ctx)
	if err != nil {
		return err
	}
	m := res.Manifest
	if pf.o.json {
		b, _ := json.Marshal(map[string]any{"manifest": res.ManifestURI, "tables": len(m.Tables), "rows": m.TotalRows,
			"bytes": m.TotalBytes, "already_finalized": res.AlreadyFinalized, "cleanup_errors": res.CleanupErrors})
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	}
	rows := make([][]string, 0, len(m.Tables))
	for _, t := range m.Tables {
		rows = append(rows, []string{t.Table, fmt.Sprint(t.Rows), fmt.Sprint(t.Bytes), t.CRC32C, fmt.Sprint(len(t.Ranges)), t.URI})
	}
	state := "finalized"
	if res.AlreadyFinalized {
		state = "finalized before"
	}
	fmt.Fprintf(stdout, "%s %s %s %s (snapshot: %s %s)\n", m.TransportID, m.JobVersion, m.JobID, state, m.Snapshot.Kind, m.Snapshot.ID)
	printTable(stdout, []string{"table", "rows", "bytes", "crc32c", "shards", "path"}, rows)
	fmt.Fprintf(stdout, "manifest %s\n", res.ManifestURI)
	return nil
}
