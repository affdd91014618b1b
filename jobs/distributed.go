package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// DistributedOptions ask for a job run as shards in other processes (or
// machines) by an executor: plan, shards, finalize (package distributed).
type DistributedOptions struct {
	// Executor names the executor that runs the shards ("local",
	// "cloudrun", "beam"; "" is the Distributor's default).
	Executor string `json:"executor,omitempty"`
	// Shards is the target shard count over all tables (0: the
	// Distributor's default); a plan may use fewer for small tables.
	Shards int `json:"shards,omitempty"`
}

// DistributedRun is how a job ran as shards: recorded with the job.
type DistributedRun struct {
	Executor string `json:"executor"`
	// Shards is the target shard count asked for; PlannedShards the
	// shards the plan has (fewer for small tables), once it is stored.
	Shards        int `json:"shards"`
	PlannedShards int `json:"planned_shards,omitempty"`
	// Plan is the URI of the job's _plan.json once it is stored.
	Plan string `json:"plan,omitempty"`
	// FailedShards names the shards without an accepted result when the
	// job failed because of them.
	FailedShards []ShardFailure `json:"failed_shards,omitempty"`
}

// ErrShardsIncomplete is matched (errors.Is) by a distributed job's error
// when shards have no accepted result.
var ErrShardsIncomplete = errors.New("shards without an accepted result")

// ShardFailure names a shard of a distributed job without an accepted
// result, and why (the last error its attempts recorded).
type ShardFailure struct {
	Shard int    `json:"shard"`
	Table string `json:"table"`
	// Range and Ranges: the shard reads range Range of Ranges (1-based) of
	// the table; 0 when it reads the whole table.
	Range  int    `json:"range,omitempty"`
	Ranges int    `json:"ranges,omitempty"`
	Error  string `json:"error"`
}

// ShardsError is a distributed job's failure because of its shards.
type ShardsError struct {
	Failed []ShardFailure
	Err    error
}

func (e *ShardsError) Error() string { return e.Err.Error() }
func (e *ShardsError) Unwrap() error { return e.Err }

// DistributedTable is one table of a distributed job.
type DistributedTable struct {
	Info       pipeline.TableInfo
	Table      string // as the transport lists it
	ObjectBase string // TABLE of {trpid}/{jobver}/TABLE.jsonl.gz
}

// TableProgress is what a distributed job's shards finished so far for one
// table (read from their completion records): absolute figures.
type TableProgress struct {
	Table          int // index in DistributedJob.Tables
	Rows, RawBytes int64
	Bytes          int64
	ShardsDone     int
	ShardsTotal    int
}

// DistributedJob is the work a Distributor does for the Manager.
type DistributedJob struct {
	Options       DistributedOptions
	TransportID   string
	TransportName string
	JobID         string
	JobVersion    string
	Bucket        string
	// Sink is the job's target, opened and checked by the pre-flight.
	Sink   pipeline.Sink
	Tables []DistributedTable
	Log    *slog.Logger
	// Snapshot receives the plan's snapshot as soon as it is taken.
	Snapshot func(pipeline.SnapshotInfo)
	// Planned receives each table's shard count once the plan is stored.
	Planned func(plan string, shardsPerTable []int)
	// Progress receives per-table progress as shards complete.
	Progress func(TableProgress)
}

// Distributor runs a job as shards: it plans (holding the snapshot open
// while the job runs), has an executor run the shards, follows their
// completion records and finalizes. Package distributed implements it;
// the Manager records the job like any other.
type Distributor interface {
	// Check validates options before a job is created and returns them
	// with the defaults filled in (executor name, shard count); an error
	// names the field (a *FieldError).
	Check(opts DistributedOptions) (DistributedOptions, error)
	// Run returns the manifest Finalize wrote. On error nothing is at a
	// final name, and the error names the shards that failed.
	Run(ctx context.Context, job DistributedJob) (Manifest, error)
}

type distKey struct{}

// WithDistributed marks ctx so that Execute runs the job as shards
// (ManagerConfig.Distributor) with these options.
func WithDistributed(ctx context.Context, opts DistributedOptions) context.Context {
	return context.WithValue(ctx, distKey{}, &opts)
}

func distributedOf(ctx context.Context) *DistributedOptions {
	v, _ := ctx.Value(distKey{}).(*DistributedOptions)
	return v
}

// checkDistributed refuses a distributed run this Manager or transport
// cannot do, before any job is created, and returns the options with
// their defaults filled in.
func (m *Manager) checkDistributed(opts *DistributedOptions, incr *IncrementalSpec) (*DistributedOptions, error) {
	if m.cfg.Distributor == nil {
		return nil, &FieldError{"distributed", "this server has no distributed executor configured (distributed in the configuration)"}
	}
	if m.cfg.Pipeline.PartBytes > 0 {
		return nil, &FieldError{"distributed", "a distributed job writes each table as one composed object: it cannot be combined with etl.part_bytes"}
	}
	if incr != nil {
		for _, tm := range incr.Tables {
			if tm.Mode == ModeIncremental {
				return nil, &FieldError{"distributed", fmt.Sprintf("table %s is read incrementally; a distributed job reads whole tables (run it without distributed)", tm.Table)}
			}
		}
	}
	o, err := m.cfg.Distributor.Check(*opts)
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// SetDistributed sets (opts non-nil) or removes (nil) a transport's
// distributed setting: while set, every job of the transport (API,
// schedule, queue) runs as shards with these options unless its execute
// request names its own. Errors: *FieldError, ErrNotFound.
func (m *Manager) SetDistributed(ctx context.Context, transportID string, opts *DistributedOptions) (Transport, error) {
	if _, err := m.store.GetTransport(ctx, transportID); err != nil {
		return Transport{}, err
	}
	raw := ""
	if opts != nil {
		incr, err := m.store.getIncremental(ctx, transportID)
		if err != nil {
			return Transport{}, err
		}
		o, err := m.checkDistributed(opts, incr)
		if err != nil {
			return Transport{}, err
		}
		// keep what the user asked (an empty executor follows the
		// server's default)
		o.Executor, o.Shards = opts.Executor, opts.Shards
		b, err := json.Marshal(o)
		if err != nil {
			return Transport{}, fmt.Errorf("jobs: distributed setting of %s: %w", transportID, err)
		}
		raw = string(b)
	}
	if _, err := m.store.db.ExecContext(ctx, `INSERT INTO transport_policies(transport_id, distributed) VALUES (?, ?)
		ON CONFLICT(transport_id) DO UPDATE SET distributed = excluded.distributed`, transportID, raw); err != nil {
		return Transport{}, fmt.Errorf("jobs: set distributed of %s: %w", transportID, err)
	}
	m.log.Info("distributed setting changed", "transport_id", transportID, "distributed", raw)
	return m.GetTransport(ctx, transportID)
}

// transportDistributed is the transport's distributed setting, nil if none.
func (m *Manager) transportDistributed(ctx context.Context, transportID string) (*DistributedOptions, error) {
	var raw string
	err := m.store.db.QueryRowContext(ctx, `SELECT distributed FROM transport_policies WHERE transport_id = ?`, transportID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) || err == nil && raw == "" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: distributed setting of %s: %w", transportID, err)
	}
	var o DistributedOptions
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		return nil, fmt.Errorf("jobs: distributed setting of %s unreadable: %w", transportID, err)
	}
	return &o, nil
}

// setJobDistributed records how a job runs as shards.
func (s *Store) setJobDistributed(ctx context.Context, jobID string, d DistributedRun) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE jobs SET distributed = ? WHERE id = ?`, string(b), jobID); err != nil {
		return fmt.Errorf("jobs: record distributed run of %s: %w", jobID, err)
	}
	return nil
}

// runDistributed runs the job through the Distributor and records its
// tables from the manifest Finalize wrote. It returns the job's errors.
func (m *Manager) runDistributed(ctx context.Context, r *run) []string {
	sctx := context.WithoutCancel(ctx)
	now := m.now()
	dj := DistributedJob{Options: *r.dist, TransportID: r.job.TransportID, TransportName: r.transport.Name,
		JobID: r.job.ID, JobVersion: r.job.Version, Bucket: r.transport.TargetBucket, Sink: r.sink, Log: r.log}
	r.mu.Lock()
	for _, ts := range r.tables {
		dj.Tables = append(dj.Tables, DistributedTable{Info: ts.info, Table: ts.te.TableName, ObjectBase: ts.objectBase()})
		ts.cols, ts.running = ts.info.Columns, true
		ts.te.Status, ts.te.StartedAt, ts.te.RowEstimate = StatusRunning, now, ts.info.Rows
		ts.te.Mode = ModeFull
		ts.lastEmit = now
		ts.rate.add(now, 0)
	}
	tes := make([]TableExtraction, len(r.tables))
	for i, ts := range r.tables {
		tes[i] = ts.te
		e := r.event(EventTableStart, now)
		e.Table, e.CurrentTable = ts.te.TableName, ts.te.TableName
		r.hub.publish(e)
	}
	r.mu.Unlock()
	for _, te := range tes {
		if err := m.store.UpdateTable(sctx, r.job.ID, te); err != nil {
			r.log.Error("record table start", "error", err)
		}
	}
	dj.Snapshot = func(info pipeline.SnapshotInfo) {
		r.mu.Lock()
		r.job.Snapshot = info
		r.mu.Unlock()
		if err := m.store.UpdateJobSnapshot(sctx, r.job.ID, info); err != nil {
			r.log.Error("record snapshot", "error", err)
		}
		r.log.Info("snapshot taken", "snapshot_kind", info.Kind, "snapshot_id", info.ID)
	}
	dj.Planned = func(plan string, per []int) {
		n := 0
		for _, k := range per {
			n += k
		}
		r.mu.Lock()
		d := *r.job.Distributed
		d.Plan, d.PlannedShards = plan, n
		r.job.Distributed = &d
		r.mu.Unlock()
		if err := m.store.setJobDistributed(sctx, r.job.ID, d); err != nil {
			r.log.Error("record plan", "error", err)
		}
		r.log.Info("plan stored", "plan", plan, "executor", d.Executor, "shards", n, "tables", len(per))
	}
	dj.Progress = func(p TableProgress) { r.distProgress(p) }

	man, err := m.cfg.Distributor.Run(ctx, dj)
	now = m.now()
	byName := map[string]ManifestTable{}
	if err == nil {
		for _, mt := range man.Tables {
			byName[mt.Table] = mt
		}
		for _, ts := range r.tables {
			if _, ok := byName[ts.te.TableName]; !ok {
				err = fmt.Errorf("the manifest of %s %s has no table %s", r.job.TransportID, r.job.Version, ts.te.TableName)
			}
		}
	}
	var jobErrs []string
	var se *ShardsError
	shardsFailed := errors.As(err, &se)
	if err != nil {
		msg := err.Error()
		if ctx.Err() != nil {
			msg = interrupted
		}
		jobErrs = append(jobErrs, msg)
	}
	if shardsFailed {
		r.mu.Lock()
		d := *r.job.Distributed
		d.FailedShards = se.Failed
		r.job.Distributed = &d
		r.mu.Unlock()
		if err := m.store.setJobDistributed(sctx, r.job.ID, d); err != nil {
			r.log.Error("record failed shards", "error", err)
		}
	}
	r.mu.Lock()
	if err == nil {
		r.job.Manifest = man.URIOf(m.manifestName(r))
	}
	var evs []Event
	for _, ts := range r.tables {
		ts.running, ts.done = false, true
		ts.te.CompletedAt = &now
		r.nDone++
		if err != nil {
			msg := "not finalized: " + jobErrs[0]
			code := "table_failed"
			if shardsFailed {
				code = "shard_failed"
			}
			if ctx.Err() != nil {
				msg, code = interrupted, interrupted
			}
			ts.te.Status, ts.te.Error = StatusFailed, &msg
			ts.te.RowCount, ts.te.RawBytes, ts.te.BytesTransferred = 0, 0, 0
			ev := r.event(EventError, now)
			ev.Table, ev.CurrentTable, ev.Error, ev.ErrorCode = ts.te.TableName, ts.te.TableName, msg, code
			evs = append(evs, ev)
			continue
		}
		mt := byName[ts.te.TableName]
		ts.te.Status = StatusCompleted
		ts.te.RowCount, ts.te.RawBytes, ts.te.BytesTransferred = mt.Rows, mt.RawBytes, mt.Bytes
		ts.te.CRC32C, ts.te.GCSPath, ts.te.Attempts, ts.te.Ranges = mt.CRC32C, mt.URI, mt.Attempts, mt.Ranges
		ts.te.Consistency = mt.Consistency
		if ts.te.GCSPath == "" {
			ts.te.GCSPath = mt.Object
		}
		ts.cols, ts.object = ts.info.Columns, mt.Object
		r.jobRows.Add(int(mt.Rows))
		r.jobBytes.Add(int(mt.Bytes))
		ev := r.event(EventTableComplete, now)
		ev.Table, ev.CurrentTable = ts.te.TableName, ts.te.TableName
		ev.RowsProcessed, ev.TotalRows, ev.BytesTransferred = mt.Rows, mt.Rows, mt.Bytes
		ev.DurationSeconds = now.Sub(ts.te.StartedAt).Seconds()
		ev.GCSPath, ev.CRC32C, ev.ProgressPercent = ts.te.GCSPath, ts.te.CRC32C, 100
		ev.Overall = r.overallLocked(now, false)
		evs = append(evs, ev)
	}
	for i, ts := range r.tables {
		tes[i] = ts.te
	}
	for _, ev := range evs {
		r.hub.publish(ev)
	}
	r.mu.Unlock()
	for _, te := range tes {
		if err := m.store.UpdateTable(sctx, r.job.ID, te); err != nil {
			r.log.Error("record table end", "error", err)
		}
		if te.Status == StatusCompleted {
			r.log.Info("table completed", "table", te.TableName, "rows", te.RowCount, "bytes", te.BytesTransferred,
				"attempts", te.Attempts, "crc32c", te.CRC32C, "object", te.GCSPath)
		}
	}
	if err != nil {
		m.metrics.GetOrCreateCounter(`ora2gcs_failed_tables_total`).Add(len(tes))
		r.log.Error("distributed job failed", "error", err)
	}
	return jobErrs
}

// manifestName is the job's manifest object name.
func (m *Manager) manifestName(r *run) string {
	return r.job.TransportID + "/" + r.job.Version + "/_manifest.json"
}

// URIOf returns the URI of the manifest object name as the manifest's
// tables show their objects' (gs://BUCKET/… or file://…), else name.
func (man Manifest) URIOf(name string) string {
	for _, t := range man.Tables {
		if t.URI != "" && t.Object != "" && strings.HasSuffix(t.URI, t.Object) {
			return strings.TrimSuffix(t.URI, t.Object) + name
		}
	}
	return name
}

// distProgress records a table's progress from its shards' completion
// records and emits a progress event (at most every ProgressInterval per
// table, always when a table's last shard is done).
func (r *run) distProgress(p TableProgress) {
	if p.Table < 0 || p.Table >= len(r.tables) {
		return
	}
	ts := r.tables[p.Table]
	now := r.m.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if d := p.Rows - ts.te.RowCount; d > 0 {
		ts.rowsTotal.Add(int(d))
	}
	if d := p.Bytes - ts.te.BytesTransferred; d > 0 {
		ts.bytesTotal.Add(int(d))
	}
	ts.te.RowCount, ts.te.RawBytes, ts.te.BytesTransferred = p.Rows, p.RawBytes, p.Bytes
	if now.Sub(ts.lastEmit) < r.m.cfg.ProgressInterval && p.ShardsDone < p.ShardsTotal {
		return
	}
	ts.lastEmit = now
	e := r.event(EventProgress, now)
	e.Table, e.CurrentTable = ts.te.TableName, ts.te.TableName
	e.RowsProcessed, e.BytesTransferred = ts.te.RowCount, ts.te.BytesTransferred
	e.RowsPerSecond = ts.rate.add(now, ts.te.RowCount)
	switch {
	case ts.te.RowEstimate > 0:
		e.ProgressPercent = min(99, 100*float64(ts.te.RowCount)/float64(ts.te.RowEstimate))
	case p.ShardsTotal > 0:
		e.ProgressPercent = min(99, 100*float64(p.ShardsDone)/float64(p.ShardsTotal))
	}
	e.ShardsDone, e.ShardsTotal = p.ShardsDone, p.ShardsTotal
	e.Overall = r.overallLocked(now, true)
	r.hub.publish(e)
}
