package distributed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// PlanFormat identifies the layout of _plan.json (docs/DISTRIBUTED.md).
const PlanFormat = "ora2gcs-plan/1"

// MaxShards bounds the shards of one plan.
const MaxShards = 100000

// Plan is the content of {trpid}/{jobver}/_plan.json: everything a shard
// process needs besides the source's connection (which it gets from its
// own configuration, never from the plan: the plan holds no secret).
type Plan struct {
	Format string `json:"format"`
	// PlanID is random and new for every plan; every shard record carries
	// it, so records of another plan are never mixed in.
	PlanID        string    `json:"plan_id"`
	TransportID   string    `json:"transport_id"`
	TransportName string    `json:"transport_name,omitempty"`
	JobID         string    `json:"job_id"`
	JobVersion    string    `json:"job_version"`
	CreatedAt     time.Time `json:"created_at"`
	// Source is the connector kind ("postgres", "oracle", "synth"); a
	// shard process whose source is another kind refuses the plan.
	Source   string                `json:"source"`
	Snapshot pipeline.SnapshotInfo `json:"snapshot"`
	Bucket   string                `json:"bucket"`
	Settings Settings              `json:"settings"`
	Attempts AttemptPolicy         `json:"attempt_policy"`
	Tables   []Table               `json:"tables"`
	Shards   []Shard               `json:"shards"`
}

// Settings are the engine settings every shard uses, so segments of
// different processes compose into one object exactly as one process
// would have written it.
type Settings struct {
	// Compressor is the segment compressor: "lines" (level 1 line
	// compressor), "blocks" or "pgzip" (both segments of flate at GzipLevel).
	Compressor        string `json:"compressor"`
	GzipLevel         int    `json:"gzip_level"`
	VerifyCompression bool   `json:"verify_compression,omitempty"`
	DecimalsAsStrings bool   `json:"decimals_as_strings,omitempty"`
	OmitNulls         bool   `json:"omit_nulls,omitempty"`
	FetchArraySize    int    `json:"fetch_array_size"`
	PieceBytes        int    `json:"piece_bytes"`
	// EncodeWorkers per shard process; 0 is the process's GOMAXPROCS.
	// The bytes written do not depend on it.
	EncodeWorkers int `json:"encode_workers,omitempty"`
}

// AttemptPolicy is how often one shard process retries its shard after
// a transient error (or ORA-01555) before it gives up; the platform's own
// retries (Cloud Run maxRetries, Kubernetes backoffLimitPerIndex, the
// Beam runner) start new processes on top.
type AttemptPolicy struct {
	Attempts       int     `json:"attempts_per_process"`
	BackoffSeconds float64 `json:"backoff_seconds"`
}

func (a AttemptPolicy) retry() pipeline.Retry {
	return pipeline.Retry{Attempts: max(1, a.Attempts), Backoff: time.Duration(a.BackoffSeconds * float64(time.Second))}
}

// Table is one table of a plan.
type Table struct {
	// Table is the name as the transport lists it.
	Table  string `json:"table"`
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Object is the final object's name below the bucket, ObjectBase
	// its TABLE part ({trpid}/{jobver}/{ObjectBase}.jsonl.gz).
	Object      string            `json:"object"`
	ObjectBase  string            `json:"object_base"`
	Columns     []pipeline.Column `json:"columns"`
	RowEstimate int64             `json:"row_estimate"`
	// BatchRows is the rows per batch of each of the table's shard readers.
	BatchRows int `json:"batch_rows"`
	// Shards are the indexes of the table's shards in plan order; their
	// segments are composed in this order.
	Shards []int `json:"shards"`
}

// Shard is one unit of work: one table, or one range of it.
type Shard struct {
	Index int `json:"index"`
	// Table is the index of the shard's table in Plan.Tables.
	Table int `json:"table"`
	// Range is nil when the shard reads the whole table.
	Range *pipeline.Range `json:"range,omitempty"`
}

// Prefix is "{trpid}/{jobver}/".
func (p *Plan) Prefix() string { return p.TransportID + "/" + p.JobVersion + "/" }

// Name is the plan's object name.
func (p *Plan) Name() string { return p.Prefix() + "_plan.json" }

// ManifestName is the job's manifest object name.
func (p *Plan) ManifestName() string { return p.Prefix() + "_manifest.json" }

// ShardsPrefix is the folder every shard object lives in.
func (p *Plan) ShardsPrefix() string { return p.Prefix() + "_shards/" }

// ShardDir is shard i's own folder.
func (p *Plan) ShardDir(i int) string { return fmt.Sprintf("%s%05d/", p.ShardsPrefix(), i) }

// DoneName is shard i's accepted result.
func (p *Plan) DoneName(i int) string { return p.ShardDir(i) + "done.json" }

// Describe names shard i for messages: "shard 3 (VBRP, range 4 of 4)".
func (p *Plan) Describe(i int) string {
	if i < 0 || i >= len(p.Shards) {
		return fmt.Sprintf("shard %d", i)
	}
	s := p.Shards[i]
	t := p.Tables[s.Table].Table
	if s.Range == nil {
		return fmt.Sprintf("shard %d (%s, whole table)", i, t)
	}
	return fmt.Sprintf("shard %d (%s, range %d of %d)", i, t, s.Range.Index+1, s.Range.Total)
}

// shardFailure describes shard i's failure for the job record.
func (p *Plan) shardFailure(i int, reason string) jobs.ShardFailure {
	f := jobs.ShardFailure{Shard: i, Error: reason}
	if i >= 0 && i < len(p.Shards) {
		s := p.Shards[i]
		f.Table = p.Tables[s.Table].Table
		if s.Range != nil {
			f.Range, f.Ranges = s.Range.Index+1, s.Range.Total
		}
	}
	return f
}

var (
	idRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	versionRE = regexp.MustCompile(`^v[0-9]{3,9}$`)
	planIDRE  = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// Validate checks that p is a well-formed plan: known format, safe names,
// shards and tables that refer to each other consistently.
func (p *Plan) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if p.Format != PlanFormat {
		bad("format %q is not %q (a plan of another ora2gcs version?)", p.Format, PlanFormat)
	}
	if !planIDRE.MatchString(p.PlanID) {
		bad("plan_id %q is not 32 hex digits", p.PlanID)
	}
	if !idRE.MatchString(p.TransportID) || p.TransportID[0] == '_' {
		bad("transport_id %q is not a valid transport id", p.TransportID)
	}
	if !versionRE.MatchString(p.JobVersion) {
		bad("job_version %q is not vNNN", p.JobVersion)
	}
	if _, _, _, err := p.Settings.engine(); err != nil {
		bad("settings: %v", err)
	}
	if len(p.Shards) == 0 || len(p.Shards) > MaxShards {
		bad("%d shards (want 1..%d)", len(p.Shards), MaxShards)
	}
	seen := make([]bool, len(p.Shards))
	objects := map[string]bool{}
	for ti, t := range p.Tables {
		if t.Object != p.Prefix()+t.ObjectBase+".jsonl.gz" || t.ObjectBase == "" || len(t.Columns) == 0 {
			bad("table %d (%s): object %q, %d columns", ti, t.Table, t.Object, len(t.Columns))
		}
		if objects[t.Object] {
			bad("table %d (%s): object %q twice", ti, t.Table, t.Object)
		}
		objects[t.Object] = true
		if len(t.Shards) == 0 {
			bad("table %d (%s) has no shard", ti, t.Table)
		}
		for _, si := range t.Shards {
			if si < 0 || si >= len(p.Shards) || seen[si] || p.Shards[si].Table != ti {
				bad("table %d (%s): shard %d is not its own", ti, t.Table, si)
				continue
			}
			seen[si] = true
		}
	}
	for i, s := range p.Shards {
		if s.Index != i {
			bad("shard %d has index %d", i, s.Index)
		}
		if i < len(seen) && !seen[i] {
			bad("shard %d belongs to no table", i)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("distributed: invalid plan: %w", err)
	}
	return nil
}

// engine returns the encoder, codec and pipeline config of s.
func (s Settings) engine() (pipeline.EncoderFactory, compression.Codec, pipeline.Config, error) {
	cfg := pipeline.Config{FetchArraySize: s.FetchArraySize, PieceBytes: s.PieceBytes, EncodeWorkers: s.EncodeWorkers}
	if err := cfg.Validate(); err != nil {
		return nil, compression.Codec{}, cfg, err
	}
	level := s.GzipLevel
	if level == 0 {
		level = 1 // the documented default of a plan without gzip_level
	}
	// the same codec as a job's ranges (package compression), at the
	// plan's level: lines at any other level is an error, never changed
	codec, err := compression.New(compression.Spec{Name: s.Compressor, Level: level, Verify: s.VerifyCompression})
	if err != nil {
		return nil, compression.Codec{}, cfg, err
	}
	if codec.Name() != s.Compressor { // a plan names the resolved compressor
		return nil, compression.Codec{}, cfg, fmt.Errorf("compressor %q is not lines, blocks or pgzip", s.Compressor)
	}
	enc := stages.NDJSON(stages.NDJSONOptions{DecimalAsString: s.DecimalsAsStrings, OmitNulls: s.OmitNulls, BigQuery: true})
	return enc, codec, cfg, nil
}

// ParsePlan decodes and validates a plan document.
func ParsePlan(b []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("distributed: plan: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// LoadPlan reads and validates the plan stored as name in st.
func LoadPlan(ctx context.Context, st Store, name string) (*Plan, error) {
	b, err := st.Read(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("distributed: plan: %w", err)
	}
	p, err := ParsePlan(b)
	if err != nil {
		return nil, err
	}
	if p.Name() != name {
		return nil, fmt.Errorf("distributed: plan %s names itself %s: a plan is only valid where it was written", st.URI(name), p.Name())
	}
	return p, nil
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// plannedSnapshot is the plan's snapshot as a shard process sees it: the
// identity only (an SCN, an exported snapshot id); the planning process
// holds a PostgreSQL snapshot open.
type plannedSnapshot struct{ info pipeline.SnapshotInfo }

func (s plannedSnapshot) Info() pipeline.SnapshotInfo { return s.info }
func (s plannedSnapshot) Close() error                { return nil }

// TableConsistency: a connector reads a table at a snapshot it did not
// take itself (the plan's, in a shard process) or fails; it never falls
// back to a moment of its own then (see pipeline.Snapshot). So a table a
// shard read is at the plan's snapshot, in the mode of its kind; false for
// a kind this package does not know.
func (s plannedSnapshot) TableConsistency(pipeline.TableInfo) (pipeline.TableConsistency, bool) {
	return plannedConsistency(s.info)
}

// plannedConsistency is how every table of a plan with snapshot info is
// read (see plannedSnapshot.TableConsistency).
func plannedConsistency(info pipeline.SnapshotInfo) (pipeline.TableConsistency, bool) {
	switch info.Kind {
	case "scn": // Oracle
		return pipeline.TableConsistency{Mode: pipeline.ConsistencyAsOfSCN, ID: info.ID, AtSnapshot: true}, true
	case "pg_snapshot": // PostgreSQL
		return pipeline.TableConsistency{Mode: pipeline.ConsistencySnapshot, ID: info.ID, AtSnapshot: true}, true
	case "none": // the synthetic source: its data never changes
		return pipeline.TableConsistency{Mode: pipeline.ConsistencyStatic, AtSnapshot: true}, true
	}
	return pipeline.TableConsistency{}, false
}
