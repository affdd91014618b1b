package distributed

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// PlanTable is one table to plan: described by the connector (with its
// columns), with the transport's name for it and its object base name.
type PlanTable struct {
	Info       pipeline.TableInfo
	Table      string
	ObjectBase string
}

// Planner writes a plan.
type Planner struct {
	Connector     pipeline.Connector
	Store         Store
	TransportID   string
	TransportName string
	JobID         string // default "JOB-" + random
	JobVersion    string
	Bucket        string
	Tables        []PlanTable
	Settings      Settings
	Attempts      AttemptPolicy
	// Shards is the target shard count over all tables (default 1 per
	// table). A table gets shards in proportion to its row estimate; a
	// table the source cannot split, or that splits into fewer ranges, gets
	// fewer. ShardRows, if set, is the target rows per shard instead.
	Shards    int
	ShardRows int64
	// ChunkRows is the rows per batch of a single-machine reader (default
	// 10,000); a table read in R shards reads batches of ChunkRows/R rows,
	// as a single-machine run with R parallel ranges does.
	ChunkRows int
	Now       func() time.Time
}

// Plan takes the snapshot, splits the tables and stores the plan. The
// returned snapshot must stay open until Finalize is done when it holds
// something (a PostgreSQL exported snapshot lives only as long as its
// transaction); the caller closes it. The plan is created, never replaced:
// a plan (or any data) of this job version already stored fails Plan.
func (pl *Planner) Plan(ctx context.Context) (*Plan, pipeline.Snapshot, error) {
	if len(pl.Tables) == 0 {
		return nil, nil, fmt.Errorf("distributed: no tables to plan")
	}
	now := time.Now
	if pl.Now != nil {
		now = pl.Now
	}
	attempts := pl.Attempts
	if attempts.Attempts == 0 {
		attempts.Attempts = 3
	}
	if attempts.BackoffSeconds == 0 {
		attempts.BackoffSeconds = 1
	}
	p := &Plan{Format: PlanFormat, PlanID: randomID(16), TransportID: pl.TransportID, TransportName: pl.TransportName,
		JobID: pl.JobID, JobVersion: pl.JobVersion, CreatedAt: now().UTC(), Source: pl.Connector.Kind(),
		Bucket: pl.Bucket, Settings: pl.Settings, Attempts: attempts}
	if p.JobID == "" {
		p.JobID = "JOB-" + randomID(6)
	}
	if pl.Store != nil {
		// fail before the snapshot is taken when the version is taken
		if names, err := pl.Store.List(ctx, p.Prefix()); err == nil && len(names) > 0 {
			return nil, nil, fmt.Errorf("distributed: %s exists already: use a new job version", pl.Store.URI(p.Prefix()))
		}
	}
	snap, err := pl.Connector.Snapshot(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("distributed: snapshot: %w", err)
	}
	fail := func(err error) (*Plan, pipeline.Snapshot, error) {
		_ = snap.Close()
		return nil, nil, err
	}
	p.Snapshot = snap.Info()
	if p.Snapshot.Kind == "read_only" {
		return fail(fmt.Errorf("distributed: the source gave no snapshot shards could share (%s); a distributed job needs one point in time (Oracle: FLASHBACK privileges for AS OF SCN)", p.Snapshot.Note))
	}

	var total int64
	for _, t := range pl.Tables {
		total += max(t.Info.Rows, 0)
	}
	target := pl.Shards
	if target <= 0 {
		target = len(pl.Tables)
	}
	perShard := pl.ShardRows
	if perShard <= 0 {
		perShard = max(1, (total+int64(target)-1)/int64(target))
	}
	chunk := pl.ChunkRows
	if chunk <= 0 {
		chunk = pipeline.DefaultConfig().ChunkRows
	}
	fetch := p.Settings.FetchArraySize
	if fetch <= 0 {
		fetch = pipeline.DefaultConfig().FetchArraySize
	}
	splitter, _ := pl.Connector.(pipeline.RangeSplitter)
	for ti, t := range pl.Tables {
		n := 1
		if t.Info.Rows > perShard {
			n = int(min(int64(MaxShards), (t.Info.Rows+perShard-1)/perShard))
		}
		var ranges []pipeline.Range
		if n > 1 && splitter != nil {
			if ranges, err = splitter.Ranges(ctx, t.Info, snap, n); err != nil {
				return fail(fmt.Errorf("distributed: ranges of %s: %w", t.Table, err))
			}
		}
		pt := Table{Table: t.Table, Schema: t.Info.Schema, Name: t.Info.Name, ObjectBase: t.ObjectBase,
			Object: p.Prefix() + t.ObjectBase + ".jsonl.gz", Columns: t.Info.Columns, RowEstimate: t.Info.Rows, BatchRows: chunk}
		if len(ranges) <= 1 {
			pt.Shards = []int{len(p.Shards)}
			p.Shards = append(p.Shards, Shard{Index: len(p.Shards), Table: ti})
		} else {
			// as jobs' parallel ranges: readers share the table's row budget
			pt.BatchRows = max(chunk/len(ranges), min(fetch, chunk))
			for _, r := range ranges {
				pt.Shards = append(pt.Shards, len(p.Shards))
				p.Shards = append(p.Shards, Shard{Index: len(p.Shards), Table: ti, Range: &r})
			}
		}
		p.Tables = append(p.Tables, pt)
	}
	if err := p.Validate(); err != nil {
		return fail(err)
	}
	if pl.Store != nil {
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return fail(fmt.Errorf("distributed: encode plan: %w", err))
		}
		if _, err := writeOnce(ctx, pl.Store, p.Name(), append(b, '\n')); err != nil {
			if isExists(err) {
				return fail(fmt.Errorf("distributed: %s exists already: use a new job version", pl.Store.URI(p.Name())))
			}
			return fail(fmt.Errorf("distributed: store plan: %w", err))
		}
	}
	return p, snap, nil
}
