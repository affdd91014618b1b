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
	"path/filepath"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := addCommonFlags(fs)
	transportName := fs.String("transport", "", "transport name: created on first use, reused after (its tables unless --tables differs)")
	transportID := fs.String("transport-id", "TRP-LOCAL", "transport id used when --transport is not given")
	jobVersion := fs.String("job-version", "", "job version (vNNN); default the transport's next version (v001 first)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (tables go in --tables)", fs.Arg(0))
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
	m, err := e.manager(ctx, discardLogger())
	if err != nil {
		return err
	}
	defer m.Close()

	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name
		if t.Schema != "" && e.conn.Kind() != "synth" {
			names[i] = t.Schema + "." + t.Name
		}
	}
	tr, err := ensureTransport(ctx, m, *transportName, *transportID, names, e.bucket, o.tablePar)
	if err != nil {
		return err
	}
	view := newProgressView(stderr)
	job, err := m.ExecuteVersion(ctx, tr.ID, *jobVersion)
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

// ensureTransport finds or creates the transport the run executes.
func ensureTransport(ctx context.Context, m *jobs.Manager, name, id string, tables []string, bucket string, tablePar int) (jobs.Transport, error) {
	var tr jobs.Transport
	var err error
	if name != "" {
		tr, err = m.FindTransportByName(ctx, name)
	} else {
		tr, err = m.GetTransport(ctx, id)
	}
	switch {
	case err == nil:
		if !sameTables(tr.Tables, tables) || tr.TargetBucket != bucket {
			return tr, fmt.Errorf("transport %s (%s) exists with tables %s and bucket %s; use another --transport/--transport-id for %s → %s",
				tr.ID, tr.Name, strings.Join(tr.Tables, ","), tr.TargetBucket, strings.Join(tables, ","), bucket)
		}
		return tr, nil
	case errors.Is(err, jobs.ErrNotFound):
		in := jobs.NewTransport{Name: name, Tables: tables, TargetBucket: bucket, TableParallelism: tablePar,
			Description: "created by ora2gcs run"}
		if name == "" {
			in.ID, in.Name = id, id
		}
		return m.CreateTransport(ctx, in)
	}
	return tr, err
}

func sameTables(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
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
	return jobs.NewManager(ctx, jobs.ManagerConfig{
		Store:     filepath.Join(e.cfg.DataDir, "ora2gcs.db"),
		Connector: e.conn,
		Sinks: func(bucket string) (pipeline.Sink, error) {
			return e.sink(ctx, bucket)
		},
		Encoder:          stages.NDJSON(e.ndjson),
		Compressor:       e.compressor,
		Blocks:           e.blocks,
		Segment:          e.segment,
		Pipeline:         e.pcfg,
		ParallelTables:   e.cfg.ETL.ParallelTables,
		TableParallelism: e.cfg.ETL.TableParallelism,
		RangeMinRows:     e.cfg.ETL.RangeMinRows,
		DefaultBucket:    e.bucket,
		DecimalAsString:  e.ndjson.DecimalAsString,
		Logger:           log,
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
