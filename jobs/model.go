package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Status values of transports, jobs and table extractions (spec data model).
const (
	StatusCreated   = "created"
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// Errors the service returns (wrapped); the server maps them to HTTP codes.
var (
	ErrNotFound   = errors.New("not found")        // 404
	ErrInvalid    = errors.New("invalid")          // 400/422, message says which field
	ErrJobRunning = errors.New("a job is running") // 409, see RunningError
	ErrShutdown   = errors.New("shutting down")    // 503
	ErrUnknownTbl = pipeline.ErrTableNotFound      // 422 on create
	// ErrTableConflict: a transport names one table twice, two tables
	// would share an object name, or a name matches several tables. 422.
	ErrTableConflict = errors.New("table conflict")
)

// RunningError is returned by Execute while another job runs (spec BC-03).
type RunningError struct{ JobID, TransportID string }

func (e *RunningError) Error() string {
	return "job " + e.JobID + " of " + e.TransportID + " is running"
}
func (e *RunningError) Unwrap() error { return ErrJobRunning }

// Transport is a named group of tables exported together (spec FR-04).
type Transport struct {
	ID     string   `json:"id"` // TRP-YYYYMMDD-NNN (UTC, per-day sequence)
	Name   string   `json:"name"`
	Tables []string `json:"tables"` // display names: parts quoted where needed, so each parses back (see TableRef)
	// TableRefs is, position by position, the exact catalog identity every
	// job of the transport reads: a job resolves it to exactly that table or
	// fails. Empty for transports stored before identities were kept, whose
	// jobs resolve the display name.
	TableRefs        []TableRef `json:"resolved_tables,omitempty"`
	TargetBucket     string     `json:"target_bucket"`
	Description      string     `json:"description"`
	CreatedAt        time.Time  `json:"created_at"`
	Status           string     `json:"status"` // created, running, completed, failed
	TableParallelism int        `json:"table_parallelism,omitempty"`
	LastJobID        string     `json:"last_job_id,omitempty"`
	LastJobVersion   string     `json:"last_job_version,omitempty"`
	// Policies (schedule.go, queue.go, retention.go), filled by the
	// Manager's GetTransport and ListTransports.
	Schedule         *Schedule        `json:"schedule,omitempty"`
	LastScheduledRun *ScheduledRun    `json:"last_scheduled_run,omitempty"`
	Windows          *WindowSpec      `json:"windows,omitempty"` // its own, else the server's default
	WindowState      *WindowState     `json:"window_state,omitempty"`
	RetentionDays    int              `json:"retention_days,omitempty"`
	Retention        *RetentionStatus `json:"retention,omitempty"` // how it is enforced
	// Incremental is how each table is read (full or incremental) and when
	// a full read comes round again; nil: every table in full.
	Incremental *IncrementalSpec `json:"incremental,omitempty"`
	// Distributed, if set, runs every job of the transport as shards
	// (plan, shards, finalize) with these options unless a run asks
	// otherwise.
	Distributed *DistributedOptions `json:"distributed,omitempty"`
}

// TableRef is a table's exact identity in the source catalog: schema (owner)
// and name as the catalog spells them, plus the object name part its files
// are stored under ({trpid}/{jobver}/{Object}.jsonl.gz, see
// pipeline.ObjectBaseName for the escaping).
type TableRef struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Object string `json:"object"`
}

// Exact is the quoted "schema"."name" form that resolves only to this table.
func (r TableRef) Exact() string { return pipeline.ExactTableName(r.Schema, r.Name) }

// NewTransport is the body of POST /transport.
type NewTransport struct {
	// ID, if set, is used instead of a generated TRP-YYYYMMDD-NNN (the CLI's
	// --transport-id, default TRP-LOCAL). Not settable through the API.
	ID               string   `json:"-"`
	Name             string   `json:"name"`
	Tables           []string `json:"tables"`
	TargetBucket     string   `json:"target_bucket"`
	Description      string   `json:"description"`
	TableParallelism int      `json:"table_parallelism,omitempty"`
	// Schedule, if set, is stored with the transport (see SetSchedule).
	Schedule *ScheduleSpec `json:"schedule,omitempty"`
	// RetentionDays, if set, is the transport's retention period (else the
	// server's default, spec 90 days).
	RetentionDays int `json:"retention_days,omitempty"`
	// Incremental, if set, is stored with the transport (see SetIncremental).
	Incremental *IncrementalSpec `json:"incremental,omitempty"`
	// TableRefs are the resolved identities of Tables, set by
	// Manager.CreateTransport (never by the API body).
	TableRefs []TableRef `json:"-"`
	// avoidIDs are transport ids a generated id must not take (used in
	// the target by other state databases; see usedTransportIDs).
	avoidIDs map[string]bool
}

// Job is one execution of a transport (spec FR-04.3).
type Job struct {
	ID               string                `json:"id"` // JOB-YYYYMMDD-NNN
	TransportID      string                `json:"transport_id"`
	Version          string                `json:"version"` // v001, v002, … per transport
	StartedAt        time.Time             `json:"started_at"`
	CompletedAt      *time.Time            `json:"completed_at,omitempty"`
	Status           string                `json:"status"` // running, completed, failed
	TotalRows        int64                 `json:"total_rows"`
	BytesTransferred int64                 `json:"bytes_transferred"`
	Error            *string               `json:"error,omitempty"`
	Source           string                `json:"source"` // connector kind
	Snapshot         pipeline.SnapshotInfo `json:"snapshot"`
	Manifest         string                `json:"manifest,omitempty"` // URI of _manifest.json
	Tables           []TableExtraction     `json:"tables,omitempty"`   // filled by GetJob
	// Consistency summarises the tables' consistency (filled by GetJob
	// once the job has ended; nil for jobs stored before it was kept).
	Consistency *Consistency `json:"consistency,omitempty"`
	// Trigger is what started the job: TriggerSchedule, TriggerAPI or
	// TriggerCLI ("" for jobs stored before triggers were kept).
	Trigger string `json:"trigger,omitempty"`
	// ExpiredAt is when retention removed the job's objects (the record
	// stays); nil while they are kept.
	ExpiredAt *time.Time `json:"expired_at,omitempty"`
	// Distributed is set when the job ran as shards (plan, shards,
	// finalize) by an executor; nil for a single-machine job.
	Distributed *DistributedRun `json:"distributed,omitempty"`
}

// TableExtraction is one table of one job (spec data model).
type TableExtraction struct {
	TableName        string     `json:"table_name"`
	RowCount         int64      `json:"row_count"`
	BytesTransferred int64      `json:"bytes_transferred"`
	StartedAt        time.Time  `json:"started_at"`
	CompletedAt      *time.Time `json:"completed_at,omitempty"`
	Status           string     `json:"status"` // pending, running, completed, failed
	GCSPath          string     `json:"gcs_path"`
	RowEstimate      int64      `json:"row_estimate"`
	RawBytes         int64      `json:"raw_bytes"`
	CRC32C           string     `json:"crc32c,omitempty"` // base64 of the big-endian CRC32C, as GCS shows it
	Attempts         int        `json:"attempts"`
	Error            *string    `json:"error,omitempty"`
	// Ranges is set when the table was read as parallel ranges (table
	// parallelism > 1): one entry per range, in range order. The table's
	// own figures describe the composed object.
	Ranges []RangeExtraction `json:"ranges,omitempty"`
	// Warnings are problems that did not fail the table, such as temporary
	// objects that could not be removed (named with the cause).
	Warnings []string `json:"warnings,omitempty"`
	// Mode is how the table was read: "full" or "incremental" ("" for jobs
	// stored before modes were kept). Window says which rows an
	// incremental table's read covered, and for a full read of an
	// incremental table the watermark it recorded.
	Mode   string       `json:"mode,omitempty"`
	Window *TableWindow `json:"window,omitempty"`
	// Consistency is how the source read the table relative to the job's
	// snapshot (at_snapshot false: at a moment of its own, with the
	// reason); nil until the source reports it.
	Consistency *pipeline.TableConsistency `json:"consistency,omitempty"`
}

// Consistency says whether a job's completed tables are one point in time.
type Consistency struct {
	// OnePointInTime: every completed table was read at the job's snapshot
	// (Job.Snapshot / Manifest.Snapshot).
	OnePointInTime bool `json:"one_point_in_time"`
	// NotAtSnapshot names the completed tables read at a moment of their
	// own (e.g. Oracle READ ONLY transactions); each table's consistency
	// says why.
	NotAtSnapshot []string `json:"tables_not_at_snapshot,omitempty"`
	// Unreported names completed tables whose source did not say how it
	// read them: they are not claimed to be at the snapshot.
	Unreported []string `json:"tables_unreported,omitempty"`
}

// consistencyOf summarises the consistency of the completed tables: a
// completed table whose consistency was not reported is not claimed to be
// at the snapshot.
func consistencyOf(tables []TableExtraction) Consistency {
	var c Consistency
	for _, te := range tables {
		c.add(te.TableName, te.Status, te.Consistency)
	}
	return c.done()
}

// ManifestConsistency is the Consistency of a manifest's tables (see
// Manifest.Consistency), for manifests written outside a Manager.
func ManifestConsistency(tables []ManifestTable) Consistency {
	var c Consistency
	for _, mt := range tables {
		c.add(mt.Table, mt.Status, mt.Consistency)
	}
	return c.done()
}

func (c *Consistency) add(table, status string, tc *pipeline.TableConsistency) {
	switch {
	case status != StatusCompleted:
	case tc == nil:
		c.Unreported = append(c.Unreported, table)
	case !tc.AtSnapshot:
		c.NotAtSnapshot = append(c.NotAtSnapshot, table)
	}
}

func (c Consistency) done() Consistency {
	c.OnePointInTime = len(c.NotAtSnapshot) == 0 && len(c.Unreported) == 0
	return c
}

// RangeExtraction is one range of a table read in parallel.
type RangeExtraction struct {
	Index    int    `json:"index"`
	Lo       string `json:"lo,omitempty"` // dialect-specific bounds (ctid pages, ROWIDs, row numbers)
	Hi       string `json:"hi,omitempty"`
	Rows     int64  `json:"rows"`
	RawBytes int64  `json:"raw_bytes"`
	Bytes    int64  `json:"bytes"` // compressed segment
	Attempts int    `json:"attempts"`
}

// Event types of the SSE stream (spec FR-06.1).
const (
	EventTableStart    = "table_start"
	EventProgress      = "progress"
	EventTableComplete = "table_complete"
	EventError         = "error"
	EventComplete      = "complete"
)

// Event is one message of a job's event stream. Fields not relevant to a
// type are omitted from its JSON.
type Event struct {
	ID          int64     `json:"-"` // monotonically increasing per job; SSE "id:"
	Type        string    `json:"-"` // SSE "event:"
	Time        time.Time `json:"timestamp"`
	TransportID string    `json:"transport_id"`
	JobID       string    `json:"job_id"`
	JobVersion  string    `json:"job_version"`

	Table            string  `json:"table,omitempty"`
	RowsProcessed    int64   `json:"rows_processed"`
	RowsPerSecond    float64 `json:"rows_per_second"`
	BytesTransferred int64   `json:"bytes_transferred"`
	ProgressPercent  float64 `json:"progress_percent"`
	CurrentTable     string  `json:"current_table,omitempty"`
	// progress of a distributed job: the table's shards with an accepted
	// result, of all its shards
	ShardsDone  int `json:"shards_done,omitempty"`
	ShardsTotal int `json:"shards_total,omitempty"`

	// progress: the whole job's figures besides the table's
	Overall *Overall `json:"overall,omitempty"`
	// table_complete / complete
	TotalRows            int64   `json:"total_rows,omitempty"`
	DurationSeconds      float64 `json:"duration_seconds,omitempty"`
	TotalDurationSeconds float64 `json:"total_duration_seconds,omitempty"`
	GCSPath              string  `json:"gcs_path,omitempty"`
	CRC32C               string  `json:"crc32c,omitempty"`
	Status               string  `json:"status,omitempty"` // complete: completed|failed
	// table_complete: how the source read the table (see TableExtraction)
	Consistency *pipeline.TableConsistency `json:"consistency,omitempty"`
	// error
	Error     string `json:"error,omitempty"`
	Retrying  bool   `json:"retrying,omitempty"`
	Attempt   int    `json:"attempt,omitempty"`
	ErrorCode string `json:"code,omitempty"`
}

// Overall is the job-wide part of a progress event.
type Overall struct {
	RowsProcessed    int64   `json:"rows_processed"`
	RowsPerSecond    float64 `json:"rows_per_second"`
	BytesTransferred int64   `json:"bytes_transferred"`
	ProgressPercent  float64 `json:"progress_percent"`
	TablesDone       int     `json:"tables_done"`
	TablesTotal      int     `json:"tables_total"`
}

// JobFilter selects jobs for ListJobs; newest first.
type JobFilter struct {
	TransportID string
	Status      string
	Page        int // 1-based
	PageSize    int // default 20, max 200
}

// Page is one page of a listing.
type Page[T any] struct {
	Items    []T `json:"items"`
	Page     int `json:"page"`
	PageSize int `json:"page_size"`
	Total    int `json:"total"`
}

// Service is what the CLI and the HTTP server use. *Manager implements it.
type Service interface {
	CreateTransport(ctx context.Context, in NewTransport) (Transport, error)
	GetTransport(ctx context.Context, id string) (Transport, error)
	ListTransports(ctx context.Context, page, pageSize int) (Page[Transport], error)
	// Execute starts the next job version of a transport in the background
	// (its context derives from the Manager's, not ctx) and returns at once.
	Execute(ctx context.Context, transportID string) (Job, error)
	GetJob(ctx context.Context, id string) (Job, error) // with Tables
	ListJobs(ctx context.Context, f JobFilter) (Page[Job], error)
	// Subscribe returns the events of the transport's current or last job:
	// first a replay giving the current state (table_start/table_complete so
	// far, the latest progress, and the terminal events if done), then live
	// events. The channel is closed after "complete" or when ctx ends; cancel
	// releases the subscription. Progress may be coalesced for a slow reader;
	// other events are never dropped.
	Subscribe(ctx context.Context, transportID string) (<-chan Event, func(), error)
	// Running returns the running job, if any.
	Running() (Job, bool)
	// Connector is the source the service reads (tables, sample, status).
	Connector() pipeline.Connector
}
