package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	o := addFlags(fs, flagsAll)
	transportName := fs.String("transport", "", "transport name: created on first use, reused after (its tables unless --tables differs)")
	transportID := fs.String("transport-id", "", "transport id used when --transport is not given (default: TRP-LOCAL for the demo's tables, else TRP-LOCAL-<hash of the tables and bucket>, so every ad-hoc table set has its own versions)")
	jobVersion := fs.String("job-version", "", "job version (vNNN); default the transport's next version (v001 first)")
	inc := addIncrementalFlags(fs)
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "run", "unexpected argument %q (tables go in --tables)", fs.Arg(0))
	}
	log, err := o.logger(stderr)
	if err != nil {
		return usageError(stderr, "run", "%v", err)
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
	m, err := e.manager(ctx, log)
	if err != nil {
		return err
	}
	defer m.Close()

	// The transport resolves the names again and stores exact identities;
	// the user's spelling is passed on (quoted parts keep their case).
	names := e.tables
	if len(names) == 0 {
		for _, t := range tables {
			names = append(names, pipeline.DisplayIdent(t.Name, e.conn.FoldCase))
		}
	}
	id := *transportID
	if id == "" && *transportName == "" {
		id = adHocTransportID(e.conn.Kind(), tables, e.bucket)
	}
	tr, err := ensureTransport(ctx, m, *transportName, id, names, tables, e.bucket, o.tablePar)
	if err != nil {
		return err
	}
	if spec, ok, err := inc.spec(e.cfg.Incremental, tr); err != nil {
		return usageError(stderr, "run", "%v", err)
	} else if ok {
		if tr, err = m.SetIncremental(ctx, tr.ID, spec); err != nil {
			return withFlagName(err)
		}
	}
	runCtx := jobs.WithTrigger(ctx, jobs.TriggerCLI)
	if inc.full {
		runCtx = jobs.WithFullRun(runCtx)
	}
	view := newProgressView(stderr)
	job, err := m.ExecuteVersion(runCtx, tr.ID, *jobVersion)
	if err != nil {
		return err
	}
	events, cancelSub, err := m.Subscribe(ctx, tr.ID)
	if err != nil {
		return err
	}
	defer cancelSub()
	for ev := range events {
		if ev.JobID != job.ID {
			continue
		}
		if !o.quiet && !o.json {
			view.Handle(ev)
		}
	}
	if ctx.Err() != nil {
		// SIGINT/SIGTERM: cancel the job, which aborts its objects.
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = m.Shutdown(sctx)
	}
	job, err = m.Wait(context.WithoutCancel(ctx), job.ID)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(job); err != nil {
			return err
		}
	} else {
		printSummary(stdout, job)
	}
	if job.Status != jobs.StatusCompleted {
		msg := "job failed"
		if job.Error != nil {
			msg = *job.Error
		}
		return fmt.Errorf("%s %s %s: %s", job.TransportID, job.Version, job.ID, msg)
	}
	return nil
}

// adHocTransportID names the transport of a run without --transport or
// --transport-id: TRP-LOCAL for the embedded demo (every synthetic table,
// the default bucket), else TRP-LOCAL- and 8 hex digits of a SHA-256 over
// the source kind, the tables' exact identities in order and the bucket. The
// same tables into the same bucket always get the same transport (and so
// consecutive versions); a different set never collides with another.
func adHocTransportID(kind string, tables []pipeline.TableInfo, bucket string) string {
	if kind == "synth" && bucket == config.Default().GCS.DefaultBucket && len(tables) == 3 &&
		tables[0].Name == "VBRP" && tables[1].Name == "VBRK" && tables[2].Name == "LIKP" {
		return "TRP-LOCAL"
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", kind, bucket)
	for _, t := range tables {
		fmt.Fprintf(h, "%s\x00", pipeline.ExactTableName(t.Schema, t.Name))
	}
	return fmt.Sprintf("TRP-LOCAL-%x", h.Sum(nil)[:4])
}

// ensureTransport finds or creates the transport the run executes. An
// existing transport is reused only for exactly the same tables (by catalog
// identity, in order) and bucket.
func ensureTransport(ctx context.Context, m *jobs.Manager, name, id string, names []string, tables []pipeline.TableInfo, bucket string, tablePar int) (jobs.Transport, error) {
	var tr jobs.Transport
	var err error
	if name != "" {
		tr, err = m.FindTransportByName(ctx, name)
	} else {
		tr, err = m.GetTransport(ctx, id)
	}
	switch {
	case err == nil:
		if !sameTables(tr, names, tables) || tr.TargetBucket != bucket {
			return tr, fmt.Errorf("transport %s (%s) exists with tables %s and bucket %s; use another --transport/--transport-id for %s → %s",
				tr.ID, tr.Name, strings.Join(tr.Tables, ","), tr.TargetBucket, strings.Join(names, ","), bucket)
		}
		return tr, nil
	case errors.Is(err, jobs.ErrNotFound):
		in := jobs.NewTransport{Name: name, Tables: names, TargetBucket: bucket, TableParallelism: tablePar,
			Description: "created by ora2gcs run"}
		if name == "" {
			in.ID, in.Name = id, id
		}
		return m.CreateTransport(ctx, in)
	}
	return tr, err
}

// sameTables says whether transport tr reads exactly tables: by exact
// identity, or for a transport stored without identities by name.
func sameTables(tr jobs.Transport, names []string, tables []pipeline.TableInfo) bool {
	if len(tr.TableRefs) > 0 {
		if len(tr.TableRefs) != len(tables) {
			return false
		}
		for i, r := range tr.TableRefs {
			if r.Schema != tables[i].Schema || r.Name != tables[i].Name {
				return false
			}
		}
		return true
	}
	if len(tr.Tables) != len(names) {
		return false
	}
	for i := range names {
		if !strings.EqualFold(tr.Tables[i], names[i]) {
			return false
		}
	}
	return true
}

func printSummary(w io.Writer, job jobs.Job) {
	rows := make([][]string, 0, len(job.Tables)+1)
	for _, t := range job.Tables {
		secs := "-" // absent: not started or not ended
		if t.CompletedAt != nil && !t.StartedAt.IsZero() {
			secs = fmt.Sprintf("%.2f", t.CompletedAt.Sub(t.StartedAt).Seconds())
		}
		path := t.GCSPath
		if t.Status != jobs.StatusCompleted {
			path = t.Status
			if t.Error != nil {
				path += ": " + *t.Error
			}
		}
		rows = append(rows, []string{t.TableName, fmt.Sprint(t.RowCount), fmt.Sprint(t.BytesTransferred), t.CRC32C, secs, path})
	}
	total := "-"
	if job.CompletedAt != nil && !job.StartedAt.IsZero() {
		total = fmt.Sprintf("%.2f", job.CompletedAt.Sub(job.StartedAt).Seconds())
	}
	rows = append(rows, []string{"TOTAL", fmt.Sprint(job.TotalRows), fmt.Sprint(job.BytesTransferred), "", total, job.Manifest})
	snap := job.Snapshot.Kind
	if job.Snapshot.ID != "" {
		snap += " " + job.Snapshot.ID
	}
	if job.Snapshot.Note != "" {
		snap += "; " + job.Snapshot.Note
	}
	fmt.Fprintf(w, "%s %s %s %s (snapshot: %s)\n", job.TransportID, job.Version, job.ID, job.Status, snap)
	printTable(w, []string{"table", "rows", "bytes", "crc32c", "seconds", "path"}, rows)
	if job.CompletedAt != nil && !job.StartedAt.IsZero() && job.TotalRows > 0 {
		if secs := job.CompletedAt.Sub(job.StartedAt).Seconds(); secs > 0 {
			fmt.Fprintf(w, "%.0f rows/s\n", float64(job.TotalRows)/secs)
		}
	}
}

// manager opens the job store in the data directory with this env's engine.
func (e *env) manager(ctx context.Context, log *slog.Logger) (*jobs.Manager, error) {
	if err := os.MkdirAll(e.cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	var dist jobs.Distributor
	if e.server && e.cfg.Distributed != nil {
		d, err := e.distributor()
		if err != nil {
			return nil, err
		}
		dist = d
	}
	return jobs.NewManager(ctx, jobs.ManagerConfig{
		Store:     filepath.Join(e.cfg.DataDir, "ora2gcs.db"),
		Connector: e.conn,
		Sinks: func(bucket string) (pipeline.Sink, error) {
			return e.sink(ctx, bucket)
		},
		Encoder:          stages.NDJSON(e.ndjson),
		Codec:            e.codec,
		Pipeline:         e.pcfg,
		ParallelTables:   e.cfg.ETL.ParallelTables,
		TableParallelism: e.cfg.ETL.TableParallelism,
		RangeMinRows:     e.cfg.ETL.JobsRangeMinRows(),
		DefaultBucket:    e.bucket,
		DecimalAsString:  e.ndjson.DecimalAsString,
		Logger:           log,
		RetentionDays:    e.cfg.Schedule.RetentionDays,
		DefaultWindows:   windowSpec(e.cfg.Schedule.Windows),
		Lifecycle: func(bucket string) (jobs.RetentionEnforcer, error) {
			if !e.server && !e.lifecycle {
				return nil, nil // a CLI run never changes a bucket's lifecycle rules
			}
			s, err := e.sink(ctx, bucket)
			if err != nil {
				return nil, err
			}
			if r, ok := s.(jobs.RetentionEnforcer); ok {
				return r, nil // GCS: the bucket's lifecycle rules
			}
			return nil, nil // file target: the daily sweep
		},
		Distributor: dist,
	})
}

// windowSpec converts the config's default windows (nil: always open).
func windowSpec(w *config.WindowsConfig) *jobs.WindowSpec {
	if w == nil {
		return nil
	}
	spec := &jobs.WindowSpec{Timezone: w.Timezone, OnClose: w.OnClose}
	for _, r := range w.Allow {
		spec.Allow = append(spec.Allow, jobs.WindowRule{Days: r.Days, From: r.From, To: r.To})
	}
	return spec
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
