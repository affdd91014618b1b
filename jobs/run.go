package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// run is the in-memory state of the running job.
type run struct {
	m         *Manager
	transport Transport
	job       Job // ID, TransportID, Version, StartedAt, Source; Snapshot once taken
	hub       *hub
	sink      pipeline.Sink // the target, opened by the pre-flight
	cancel    context.CancelFunc
	done      chan struct{}
	log       *slog.Logger

	jobRows, jobBytes *metrics.Counter
	rangeWorkers      int // ranges of one table read at once (1: no splitting)
	// incremental extraction: the transport's table modes, the watermarks
	// its tables reached (by table), a full read of every table requested
	incr      *IncrementalSpec
	marks     map[string]WatermarkState
	forceFull bool
	// windowOpened: the transport's window was open at some time the job
	// ran (at its start or at a tick since); only then can the window
	// close on it (on_close stop). A run forced outside its window is not
	// stopped by the window that was already closed.
	windowOpened atomic.Bool
	dist         *DistributedOptions // run as shards by ManagerConfig.Distributor

	mu      sync.Mutex // guards everything below and job.Snapshot
	tables  []*tableState
	overall rateWindow
	nDone   int
}

// tableState is one table of the running job.
type tableState struct {
	te  TableExtraction
	ref TableRef // exact identity; Name "" for transports stored without one
	// described: info holds the pre-flight's description of the table
	described bool
	info      pipeline.TableInfo
	cols      []pipeline.Column
	crc       uint32
	rawCRC    uint32
	object    string
	parts     []pipeline.Part  // when the output was split by Pipeline.PartBytes
	window    *pipeline.Window // incremental read: the rows to read (nil: all)
	mark      *WatermarkState  // the watermark to store when the job completes
	cleanup   []string         // temporary objects that could not be removed (pipeline.Stats.CleanupErrors)
	running   bool
	done      bool
	lastEmit  time.Time
	rate      rateWindow
	// metrics, fed by observe
	rowsTotal, bytesTotal *metrics.Counter
}

func newRun(m *Manager, t Transport, j Job, cancel context.CancelFunc) *run {
	r := &run{
		m: m, transport: t, job: j, hub: newHub(), cancel: cancel, done: make(chan struct{}),
		log:     m.log.With("transport_id", j.TransportID, "job_id", j.ID, "job_version", j.Version),
		overall: rateWindow{span: m.cfg.RateWindow},
	}
	r.job.Tables = nil
	jl := fmt.Sprintf(`{transport_id=%s,job_id=%s}`, quoteLabel(j.TransportID), quoteLabel(j.ID))
	r.jobRows = m.metrics.GetOrCreateCounter(`ora2gcs_job_rows_total` + jl)
	r.jobBytes = m.metrics.GetOrCreateCounter(`ora2gcs_job_bytes_total` + jl)
	for i, te := range j.Tables {
		tl := fmt.Sprintf(`{table=%s}`, quoteLabel(te.TableName))
		var ref TableRef
		if len(t.TableRefs) == len(j.Tables) && t.Tables[i] == te.TableName {
			ref = t.TableRefs[i]
		}
		r.tables = append(r.tables, &tableState{te: te, ref: ref, rate: rateWindow{span: m.cfg.RateWindow},
			rowsTotal:  m.metrics.GetOrCreateCounter(`ora2gcs_rows_total` + tl),
			bytesTotal: m.metrics.GetOrCreateCounter(`ora2gcs_bytes_total` + tl)})
	}
	r.overall.add(j.StartedAt, 0)
	return r
}

func (r *run) event(typ string, now time.Time) Event {
	return Event{Type: typ, Time: now, TransportID: r.job.TransportID, JobID: r.job.ID, JobVersion: r.job.Version}
}

// execute runs the job to its end; it owns r.
func (m *Manager) execute(ctx context.Context, r *run) {
	defer m.jobWG.Done()
	defer r.cancel()
	sctx := context.WithoutCancel(ctx) // store writes must survive an interrupt
	var jobErrs []string
	// manifestCompleted: _manifest.json is stored saying "completed"; an
	// interrupt arriving after that cannot make the job a failure.
	manifestCompleted := false

	var snap pipeline.Snapshot
	var err error
	if r.dist == nil {
		// The connector bounds this wait (etl.snapshot_timeout); the log
		// says what the job is waiting for meanwhile.
		r.log.Info("opening snapshot: waiting for the source", "source", m.cfg.Connector.Kind())
		snap, err = m.cfg.Connector.Snapshot(ctx)
	}
	if r.dist != nil {
		// plan (holding the snapshot), shards, finalize: Finalize writes
		// the schemas and the manifest
		jobErrs = m.runDistributed(ctx, r)
		manifestCompleted = len(jobErrs) == 0
	} else if err != nil {
		r.log.Error("snapshot failed: the job reads no table", "error", err)
		jobErrs = append(jobErrs, fmt.Sprintf("snapshot: %v", err))
	} else {
		info := snap.Info()
		r.mu.Lock()
		r.job.Snapshot = info
		r.mu.Unlock()
		if err := m.store.UpdateJobSnapshot(sctx, r.job.ID, info); err != nil {
			r.log.Error("record snapshot", "error", err)
		}
		r.log.Info("snapshot taken", "snapshot_kind", info.Kind, "snapshot_id", info.ID)
		sink := r.sink // opened and checked by ExecuteVersion's pre-flight
		m.runTables(ctx, r, snap, sink)
		// A source notes per-table fallbacks (Oracle: READ ONLY instead of
		// AS OF SCN, a table read as one range) while reading, whenever a
		// table opens: record the snapshot's final state, and every table's
		// consistency, for the job and its manifest.
		if final := snap.Info(); final != info {
			r.mu.Lock()
			r.job.Snapshot = final
			r.mu.Unlock()
			if err := m.store.UpdateJobSnapshot(sctx, r.job.ID, final); err != nil {
				r.log.Error("record snapshot", "error", err)
			}
		}
		for _, ts := range r.tables {
			if te, changed := r.recordConsistency(ts, snap); changed {
				if err := m.store.UpdateTable(sctx, r.job.ID, te); err != nil {
					r.log.Error("record table consistency", "table", te.TableName, "error", err)
				}
			}
		}
		if ctx.Err() == nil {
			failed := failedTables(r)
			if err := m.writeManifest(ctx, r, sink, failed); err != nil {
				jobErrs = append(jobErrs, err.Error())
			} else {
				manifestCompleted = len(failed) == 0
			}
		}
		if err := snap.Close(); err != nil {
			r.log.Warn("close snapshot", "error", err)
		}
	}

	// Final state.
	now := m.now()
	r.mu.Lock()
	j := r.job
	j.CompletedAt = &now
	for _, ts := range r.tables {
		if ts.te.Status == StatusCompleted {
			j.TotalRows += ts.te.RowCount
			j.BytesTransferred += ts.te.BytesTransferred
		}
	}
	r.mu.Unlock()
	failed := failedTables(r)
	switch {
	case ctx.Err() != nil && !manifestCompleted:
		jobErrs = []string{interrupted}
	case len(failed) > 0:
		jobErrs = append([]string{"tables failed: " + strings.Join(failed, ", ")}, jobErrs...)
	}
	j.Status = StatusCompleted
	if len(jobErrs) > 0 {
		j.Status = StatusFailed
		msg := strings.Join(jobErrs, "; ")
		j.Error = &msg
	}
	if j.Status != StatusCompleted {
		m.cleanupAfter(ctx, r)
	}
	var marks []WatermarkState
	r.mu.Lock()
	for _, ts := range r.tables {
		if ts.mark != nil && ts.te.Status == StatusCompleted {
			marks = append(marks, *ts.mark)
		}
	}
	r.mu.Unlock()
	if err := m.store.FinishJobWatermarks(sctx, j, marks); err != nil {
		r.log.Error("record job end", "error", err)
	}
	dur := now.Sub(j.StartedAt)
	m.metrics.GetOrCreateHistogram(fmt.Sprintf(`ora2gcs_job_duration_seconds{status=%q}`, j.Status)).Update(dur.Seconds())
	m.metrics.GetOrCreateCounter(fmt.Sprintf(`ora2gcs_jobs_total{status=%q}`, j.Status)).Inc()
	if j.Status == StatusCompleted {
		r.log.Info("job completed", "rows", j.TotalRows, "bytes", j.BytesTransferred, "duration_seconds", dur.Seconds())
	} else {
		r.log.Error("job failed", "error", *j.Error, "rows", j.TotalRows, "duration_seconds", dur.Seconds())
	}

	m.mu.Lock()
	m.running = nil
	m.keepHub(r) // reconnecting subscribers keep the ids they saw
	m.retireJobSeries(r)
	m.mu.Unlock()

	e := r.event(EventComplete, now)
	e.Status = j.Status
	e.TotalRows, e.RowsProcessed, e.BytesTransferred = j.TotalRows, j.TotalRows, j.BytesTransferred
	e.TotalDurationSeconds = dur.Seconds()
	if j.Status == StatusCompleted {
		e.ProgressPercent = 100
	}
	if j.Error != nil {
		e.Error = *j.Error
	}
	r.hub.publish(e)
	close(r.done)
}

// recordConsistency reads how the source read ts as of snap into ts.te
// (see pipeline.Snapshot.TableConsistency); changed when that differs from
// what ts.te held, with the table's state to store then. A table not
// described (it never opened) has nothing to report.
func (r *run) recordConsistency(ts *tableState, snap pipeline.Snapshot) (TableExtraction, bool) {
	r.mu.Lock()
	info, known := ts.info, ts.info.Name != ""
	r.mu.Unlock()
	if !known || snap == nil {
		return TableExtraction{}, false
	}
	c, ok := snap.TableConsistency(info)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ok || ts.te.Consistency != nil && *ts.te.Consistency == c {
		return ts.te, false
	}
	ts.te.Consistency = &c
	if !c.AtSnapshot {
		r.log.Warn("table not read at the job's snapshot", "table", ts.te.TableName, "mode", c.Mode, "code", c.Code, "reason", c.Reason)
	}
	return ts.te, true
}

func failedTables(r *run) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ts := range r.tables {
		if ts.te.Status == StatusFailed {
			out = append(out, ts.te.TableName)
		}
	}
	return out
}

// runTables runs every table, at most the parallelism at once.
func (m *Manager) runTables(ctx context.Context, r *run, snap pipeline.Snapshot, sink pipeline.Sink) {
	par := m.cfg.ParallelTables
	r.rangeWorkers = m.rangeWorkers(ctx, r, min(par, len(r.tables)))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, ts := range r.tables {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			m.runTable(ctx, r, ts, snap, sink)
		}()
	}
	wg.Wait()
}

// runTable copies one table, retrying it from the start into a fresh object
// after a transient error, and records the outcome.
func (m *Manager) runTable(ctx context.Context, r *run, ts *tableState, snap pipeline.Snapshot, sink pipeline.Sink) {
	sctx := context.WithoutCancel(ctx)
	name := ts.te.TableName
	log := r.log.With("table", name)
	objName := fmt.Sprintf("%s/%s/%s.jsonl.gz", r.job.TransportID, r.job.Version, ts.objectBase())

	info, derr := ts.info, error(nil)
	if !ts.described { // Execute's pre-flight describes every table
		info, derr = m.describe(ctx, ts)
	}
	now := m.now()
	r.mu.Lock()
	ts.info = info
	ts.cols = info.Columns
	ts.object = objName
	ts.running = true
	ts.te.Status = StatusRunning
	ts.te.StartedAt = now
	ts.te.RowEstimate = -1
	if derr == nil {
		ts.te.RowEstimate = info.Rows
	}
	ts.lastEmit = now
	ts.rate.add(now, 0)
	te := ts.te
	start := r.event(EventTableStart, now)
	start.Table, start.CurrentTable = name, name
	r.hub.publish(start)
	r.mu.Unlock()
	if err := m.store.UpdateTable(sctx, r.job.ID, te); err != nil {
		log.Error("record table start", "error", err)
	}
	log.Info("table started", "row_estimate", te.RowEstimate)

	var st pipeline.Stats
	attempts := 0
	err := derr
	if err == nil {
		var pl plan
		if pl, err = m.planTable(ctx, r, ts, info, snap, log); err == nil {
			r.mu.Lock()
			ts.window, ts.mark = pl.window, pl.mark
			ts.te.Mode, ts.te.Window = pl.mode, pl.shown
			if pl.window != nil {
				ts.te.RowEstimate = -1 // the table's size says nothing of the window's
			}
			te = ts.te
			r.mu.Unlock()
			if pl.shown != nil {
				log.Info("table read mode", "mode", pl.mode, "watermark_column", pl.shown.Column, "low", pl.shown.Low,
					"high", pl.shown.High, "overlap", pl.shown.Overlap, "null_watermarks", pl.shown.NullWatermarks, "full_reason", pl.shown.FullReason)
				if uerr := m.store.UpdateTable(sctx, r.job.ID, te); uerr != nil {
					log.Error("record table mode", "error", uerr)
				}
			}
		}
	}
	ranged := false
	if err == nil {
		ranged, st, attempts, err = m.runRanged(ctx, r, ts, info, snap, sink, log)
	}
	if err == nil && !ranged {
		retry := m.cfg.Pipeline.Retry
		attempts, err = retry.Do(ctx, func(attempt int) error {
			r.resetTable(ts)
			st = pipeline.Stats{}
			var cols []pipeline.Column
			err := func() error {
				src, err := m.cfg.Connector.Open(ctx, info, snap, pipeline.ReadOptions{
					BatchRows: m.cfg.Pipeline.ChunkRows, FetchArraySize: m.cfg.Pipeline.FetchArraySize, Raw: true, Window: ts.window})
				if err != nil {
					return fmt.Errorf("jobs: open %s: %w", name, err)
				}
				cols = src.Columns()
				r.recordConsistency(ts, snap) // shown while the table runs; stored at its end
				p := pipeline.Pipeline{
					Source: src, Sink: sink, Name: objName,
					Encoder: m.cfg.Encoder, Compressor: m.cfg.Codec.Stream(), Blocks: m.cfg.Codec.Blocks(), Config: m.cfg.Pipeline,
					Observer: func(p pipeline.Progress) { r.observe(ts, p) },
				}
				st, err = p.Run(ctx)
				return err
			}()
			if err == nil {
				r.mu.Lock()
				ts.cols = cols
				r.mu.Unlock()
				return nil
			}
			if pipeline.IsTransient(err) && attempt < retry.Attempts && ctx.Err() == nil {
				log.Warn("table attempt failed, retrying", "attempt", attempt, "error", err)
				e := r.event(EventError, m.now())
				e.Table, e.CurrentTable, e.Error, e.Retrying, e.Attempt, e.ErrorCode = name, name, err.Error(), true, attempt, "transient"
				r.hub.publish(e)
			}
			return err
		})
	}

	r.recordConsistency(ts, snap)
	now = m.now()
	r.mu.Lock()
	if ranged && err == nil {
		ts.cols = info.Columns
	}
	ts.running = false
	ts.done = true
	ts.te.Attempts = attempts
	ts.te.CompletedAt = &now
	var ev Event
	if err == nil {
		ts.te.Status = StatusCompleted
		ts.te.RowCount, ts.te.RawBytes, ts.te.BytesTransferred = st.Rows, st.RawBytes, st.CompressedBytes
		r.jobRows.Add(int(st.Rows))
		r.jobBytes.Add(int(st.CompressedBytes))
		ts.te.CRC32C = CRC32CBase64(st.CRC32C)
		ts.crc, ts.rawCRC = st.CRC32C, st.RawCRC32C
		ts.te.GCSPath = st.Object.URI
		if ts.parts = st.Parts; len(st.Parts) > 0 {
			// split: the manifest lists every part with its own CRC32C
			ts.te.GCSPath, ts.te.CRC32C = st.Parts[0].Object.URI, ""
		}
		if ts.te.GCSPath == "" {
			ts.te.GCSPath = objName
		}
		ts.cleanup = st.CleanupErrors
		ts.te.Warnings = append([]string(nil), st.CleanupErrors...)
		r.nDone++
		ev = r.event(EventTableComplete, now)
		ev.Table, ev.CurrentTable = name, name
		ev.RowsProcessed, ev.TotalRows, ev.BytesTransferred = st.Rows, st.Rows, st.CompressedBytes
		ev.DurationSeconds = now.Sub(ts.te.StartedAt).Seconds()
		ev.GCSPath, ev.CRC32C, ev.ProgressPercent = ts.te.GCSPath, ts.te.CRC32C, 100
		ev.Consistency = ts.te.Consistency
		ev.Overall = r.overallLocked(now, false)
	} else {
		msg := err.Error()
		code := "table_failed"
		if ctx.Err() != nil {
			msg, code = interrupted, interrupted
		}
		ts.te.Status = StatusFailed
		ts.te.Error = &msg
		ts.te.RowCount, ts.te.RawBytes, ts.te.BytesTransferred = 0, 0, 0
		r.nDone++
		ev = r.event(EventError, now)
		ev.Table, ev.CurrentTable, ev.Error, ev.Attempt, ev.ErrorCode = name, name, msg, attempts, code
	}
	te = ts.te
	r.hub.publish(ev)
	r.mu.Unlock()

	if err := m.store.UpdateTable(sctx, r.job.ID, te); err != nil {
		log.Error("record table end", "error", err)
	}
	for _, w := range te.Warnings {
		log.Warn("temporary object left behind", "warning", w)
	}
	if te.Status == StatusCompleted {
		log.Info("table completed", "rows", te.RowCount, "bytes", te.BytesTransferred, "attempts", te.Attempts,
			"crc32c", te.CRC32C, "object", te.GCSPath)
	} else {
		m.metrics.GetOrCreateCounter(`ora2gcs_failed_tables_total`).Inc()
		m.metrics.GetOrCreateCounter(fmt.Sprintf(`ora2gcs_table_failures_total{table=%s}`, quoteLabel(name))).Inc()
		log.Error("table failed", "error", *te.Error, "attempts", te.Attempts)
	}
}

// objectBase is the object name part of the table's files (TABLE in
// {trpid}/{jobver}/TABLE.jsonl.gz).
func (ts *tableState) objectBase() string {
	if ts.ref.Object != "" {
		return ts.ref.Object
	}
	// a transport stored without identities: its display name, escaped
	// like new ones where it parses.
	if n, err := pipeline.ParseTableName(ts.te.TableName); err == nil {
		return pipeline.ObjectBaseName(n.Schema, n.Name, n.Schema != "")
	}
	return ts.te.TableName
}

// describe resolves the table to exactly the catalog identity the transport
// stored, or fails: a table dropped, renamed or shadowed since the
// transport was created is an error, never another table's rows.
func (m *Manager) describe(ctx context.Context, ts *tableState) (pipeline.TableInfo, error) {
	if ts.ref.Name == "" {
		return m.cfg.Connector.Describe(ctx, ts.te.TableName)
	}
	info, err := m.cfg.Connector.Describe(ctx, ts.ref.Exact())
	if err != nil {
		return info, fmt.Errorf("table %s: %w", ts.ref.Exact(), err)
	}
	if info.Schema != ts.ref.Schema || info.Name != ts.ref.Name {
		return pipeline.TableInfo{}, fmt.Errorf("table %s resolved to %s: %w", ts.ref.Exact(), pipeline.ExactTableName(info.Schema, info.Name), pipeline.ErrTableNotFound)
	}
	return info, nil
}

// resetTable zeroes a table's counts before an attempt.
func (r *run) resetTable(ts *tableState) {
	r.mu.Lock()
	ts.te.RowCount, ts.te.RawBytes, ts.te.BytesTransferred = 0, 0, 0
	r.mu.Unlock()
}

// observe receives a pipeline's progress (off its hot path) and emits a
// progress event at most every ProgressInterval per table.
func (r *run) observe(ts *tableState, p pipeline.Progress) {
	name := ts.te.TableName
	// Per-table counters count work done as it happens (for rate()), so rows
	// of a failed or retried attempt count too; the per-job counters get a
	// table's committed rows and bytes when it completes, equal to the job
	// record.
	if p.Rows > 0 {
		ts.rowsTotal.Add(int(p.Rows))
	}
	if p.CompressedBytes > 0 {
		ts.bytesTotal.Add(int(p.CompressedBytes))
	}

	now := r.m.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	ts.te.RowCount += p.Rows // negative when a retried range takes its rows back
	ts.te.RawBytes += p.RawBytes
	ts.te.BytesTransferred += p.CompressedBytes
	if now.Sub(ts.lastEmit) < r.m.cfg.ProgressInterval {
		return
	}
	ts.lastEmit = now
	e := r.event(EventProgress, now)
	e.Table, e.CurrentTable = name, name
	e.RowsProcessed, e.BytesTransferred = ts.te.RowCount, ts.te.BytesTransferred
	e.RowsPerSecond = ts.rate.add(now, ts.te.RowCount)
	if est := ts.te.RowEstimate; est > 0 {
		e.ProgressPercent = min(99, 100*float64(ts.te.RowCount)/float64(est))
	}
	e.Overall = r.overallLocked(now, true)
	r.hub.publish(e)
}

// overallLocked computes the job-wide figures. The percentage weighs each
// table by its row estimate (its rows once done) and stays below 100 until
// the job is complete; without any estimate it is the share of tables done.
func (r *run) overallLocked(now time.Time, sample bool) *Overall {
	o := &Overall{TablesDone: r.nDone, TablesTotal: len(r.tables)}
	var num, den float64
	for _, ts := range r.tables {
		o.RowsProcessed += ts.te.RowCount
		o.BytesTransferred += ts.te.BytesTransferred
		switch {
		case ts.done:
			w := float64(max(ts.te.RowEstimate, ts.te.RowCount, 0))
			num += w
			den += w
		case ts.te.RowEstimate > 0:
			den += float64(ts.te.RowEstimate)
			num += float64(min(ts.te.RowCount, ts.te.RowEstimate))
		}
	}
	switch {
	case den > 0:
		o.ProgressPercent = 100 * num / den
	case len(r.tables) > 0:
		o.ProgressPercent = 100 * float64(r.nDone) / float64(len(r.tables))
	}
	o.ProgressPercent = min(o.ProgressPercent, 99)
	if sample {
		o.RowsPerSecond = r.overall.add(now, o.RowsProcessed)
	} else if n := len(r.overall.samples); n > 0 {
		first := r.overall.samples[0]
		if dt := now.Sub(first.t).Seconds(); dt > 0 && o.RowsProcessed >= first.v {
			o.RowsPerSecond = float64(o.RowsProcessed-first.v) / dt
		}
	}
	return o
}

// snapshot is the running job with live counts.
func (r *run) snapshot() Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	j := r.job
	j.Status = StatusRunning
	j.Tables = make([]TableExtraction, len(r.tables))
	for i, ts := range r.tables {
		j.Tables[i] = ts.te
		j.TotalRows += ts.te.RowCount
		j.BytesTransferred += ts.te.BytesTransferred
	}
	return j
}

// overlay puts the live counts of the running job into j read from the store.
func (r *run) overlay(j *Job) {
	live := r.snapshot()
	if j.Status != StatusRunning {
		return
	}
	j.Snapshot = live.Snapshot
	j.TotalRows, j.BytesTransferred = live.TotalRows, live.BytesTransferred
	byName := make(map[string]TableExtraction, len(live.Tables))
	for _, te := range live.Tables {
		byName[te.TableName] = te
	}
	for i, te := range j.Tables {
		if l, ok := byName[te.TableName]; ok && te.Status != StatusCompleted && te.Status != StatusFailed {
			j.Tables[i] = l
		}
	}
}

// writeManifest writes the BigQuery schema of every described table, then
// the job's manifest through sink, and records the manifest's URI in r.job.
// The manifest names only what is stored: a schema that could not be
// written is left out of its table and fails the manifest (and the job).
// A table split into parts names its first part as its object.
func (m *Manager) writeManifest(ctx context.Context, r *run, sink pipeline.Sink, failed []string) error {
	prefix := r.job.TransportID + "/" + r.job.Version + "/"
	r.mu.Lock()
	man := Manifest{
		Format: ManifestFormat, TransportID: r.job.TransportID, TransportName: r.transport.Name,
		JobID: r.job.ID, JobVersion: r.job.Version, Status: StatusCompleted,
		StartedAt: r.job.StartedAt, CompletedAt: m.now(), Source: r.job.Source, Snapshot: r.job.Snapshot,
		Bucket: r.transport.TargetBucket, Tables: make([]ManifestTable, 0, len(r.tables)),
	}
	type schema struct {
		name string
		cols []pipeline.Column
	}
	var schemas []schema
	for _, ts := range r.tables {
		mt := ManifestTable{Table: ts.te.TableName, Status: ts.te.Status, Attempts: ts.te.Attempts,
			Columns: manifestColumns(ts.cols), Ranges: ts.te.Ranges, Mode: ts.te.Mode, Window: ts.te.Window,
			Consistency: ts.te.Consistency}
		if ts.te.Error != nil {
			mt.Error = *ts.te.Error
		}
		if len(ts.cols) > 0 {
			mt.Schema = prefix + ts.objectBase() + ".schema.json"
			schemas = append(schemas, schema{mt.Schema, ts.cols})
		}
		if ts.te.Status == StatusCompleted {
			mt.Object, mt.URI = ts.object, ts.te.GCSPath
			if len(ts.parts) > 0 {
				mt.Object = ts.parts[0].Object.Name
			}
			mt.CleanupErrors = ts.cleanup
			mt.Rows, mt.Bytes, mt.RawBytes = ts.te.RowCount, ts.te.BytesTransferred, ts.te.RawBytes
			mt.CRC32C = ts.te.CRC32C
			if len(ts.parts) == 0 {
				mt.CRC32CHex = fmt.Sprintf("%08x", ts.crc)
			}
			for _, pt := range ts.parts {
				mt.Parts = append(mt.Parts, ManifestPart{Object: pt.Object.Name, URI: pt.Object.URI, Rows: pt.Rows,
					Bytes: pt.Object.Size, RawBytes: pt.RawBytes, CRC32C: CRC32CBase64(pt.Object.CRC32C),
					CRC32CHex: fmt.Sprintf("%08x", pt.Object.CRC32C), RawCRC32C: CRC32CBase64(pt.RawCRC32C)})
			}
			mt.RawCRC32C, mt.RawCRC32Hex = CRC32CBase64(ts.rawCRC), fmt.Sprintf("%08x", ts.rawCRC)
			man.TotalRows += mt.Rows
			man.TotalBytes += mt.Bytes
		}
		man.Tables = append(man.Tables, mt)
	}
	man.Consistency = ManifestConsistency(man.Tables)
	r.mu.Unlock()
	var errs, failures []string
	if len(failed) > 0 {
		failures = append(failures, "tables failed: "+strings.Join(failed, ", "))
	}
	var errList []error
	for _, s := range schemas {
		if _, err := writeJSON(ctx, sink, s.name, stages.BigQuerySchema(s.cols)); err != nil {
			errList = append(errList, err)
			errs = append(errs, err.Error())
			for i := range man.Tables {
				if man.Tables[i].Schema == s.name {
					man.Tables[i].Schema = "" // not stored: never named
				}
			}
		}
	}
	if len(errs) > 0 {
		failures = append(failures, "schemas not written: "+strings.Join(errs, "; "))
	}
	if len(failures) > 0 {
		man.Status = StatusFailed
		man.Error = strings.Join(failures, "; ")
	}
	info, err := writeJSON(ctx, sink, prefix+"_manifest.json", man)
	if err != nil {
		errList = append(errList, err)
	} else {
		uri := info.URI
		if uri == "" {
			uri = prefix + "_manifest.json"
		}
		r.mu.Lock()
		r.job.Manifest = uri
		r.mu.Unlock()
	}
	if err := errors.Join(errList...); err != nil {
		r.log.Error("write manifest", "error", err)
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}

// quoteLabel quotes a Prometheus label value.
func quoteLabel(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}
