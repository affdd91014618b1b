package jobs

// A run's progress: per-table and overall counters, rates, and the Job view of a running job.

import (
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

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
