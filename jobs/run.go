package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/ora2gcs/ora2gcs/pipeline"
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
					Encoder: m.cfg.Encoder, Codec: m.cfg.Codec, Config: m.cfg.Pipeline,
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

// quoteLabel quotes a Prometheus label value.
func quoteLabel(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}
