package pipeline

import (
	"context"
	"errors"
	"time"
)

// ErrTableNotFound is returned (wrapped) when a table name does not resolve
// to a table the connection can read.
var ErrTableNotFound = errors.New("table not found")

// ErrUnsupportedColumn is returned (wrapped) by Describe for a table with a
// column the source cannot export exactly (Oracle object types, VECTOR); the
// error names the column. Transports refuse such tables at creation.
var ErrUnsupportedColumn = errors.New("column type not supported")

// ErrAmbiguousTable is returned (wrapped) when a name matches several tables
// equally well (e.g. unquoted Mixed where both "Mixed" and mixed exist); the
// error names every candidate, and quoting the name picks one.
var ErrAmbiguousTable = errors.New("ambiguous table name")

// TableInfo describes one table of a Connector's catalog.
type TableInfo struct {
	Schema      string   `json:"schema"`               // owner (Oracle) or schema (PostgreSQL)
	Name        string   `json:"name"`                 // as stored in the catalog
	Columns     []Column `json:"columns,omitempty"`    // filled by Describe
	ColumnCount int      `json:"column_count"`         //
	Rows        int64    `json:"rows"`                 // estimate or exact count; -1 unknown
	RowsExact   bool     `json:"rows_exact"`           // Rows is a COUNT(*)
	Comment     string   `json:"comment,omitempty"`    //
	Partitions  []string `json:"partitions,omitempty"` // partition names where the source knows them
}

// SnapshotInfo says which point in time a job read. Kind is "scn" (Oracle
// AS OF SCN), "pg_snapshot" (an exported PostgreSQL snapshot),
// "read_only" (per-table read-only transactions: each table is consistent in
// itself but tables may differ) or "none" (a source without time, like synth).
type SnapshotInfo struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	Note string `json:"note,omitempty"`
}

// Modes of TableConsistency: how one table was read.
const (
	// ConsistencyAsOfSCN: Oracle read the table AS OF the job's SCN.
	ConsistencyAsOfSCN = "as_of_scn"
	// ConsistencyReadOnlyTransaction: Oracle read the table in a READ ONLY
	// transaction of its own, consistent in itself but from its own moment,
	// not the job's SCN (the user may not read it AS OF SCN).
	ConsistencyReadOnlyTransaction = "read_only_transaction"
	// ConsistencySnapshot: PostgreSQL read the table in a transaction that
	// imported the job's exported snapshot.
	ConsistencySnapshot = "snapshot"
	// ConsistencyStatic: the data never changes (synth).
	ConsistencyStatic = "static"
)

// TableConsistency says how one table of a job was read relative to the
// job's snapshot. AtSnapshot is true when the table shows the database at
// the snapshot's point in time (SnapshotInfo.ID): a job whose tables are all
// AtSnapshot is one point in time; a table that is not was read at a moment
// of its own, and Reason (with the database's Code, e.g. ORA-01031) says
// why.
type TableConsistency struct {
	Mode       string `json:"mode"`
	ID         string `json:"id,omitempty"` // the SCN or snapshot id the table was read at
	AtSnapshot bool   `json:"at_snapshot"`
	Reason     string `json:"reason,omitempty"`
	Code       string `json:"code,omitempty"`
}

// Snapshot is a consistent point in time held open for the length of a job.
type Snapshot interface {
	// Info says which point in time the job reads; its Note may grow while
	// tables are read (read it again at the end of the job).
	Info() SnapshotInfo
	// TableConsistency says how table t was read as of this snapshot; false
	// when the snapshot does not know (the connector did not open t with
	// it). A connector records it when it opens t, so read it after the
	// table's reads, again at the end of the job.
	TableConsistency(t TableInfo) (TableConsistency, bool)
	Close() error
}

// ReadOptions controls one table reader.
type ReadOptions struct {
	BatchRows      int // rows per Batch (Config.ChunkRows)
	FetchArraySize int // rows per database round trip (Config.FetchArraySize)
	Limit          int // stop after this many rows; 0 reads all
	Range          *Range
	// Window, when set, reads only the rows whose watermark column lies in
	// it (incremental extraction); with a Range, the rows of the range
	// that lie in it. A connector that cannot filter (not a Watermarker)
	// fails Open rather than read more or fewer rows.
	Window *Window
	// Raw lets the source hand out batches in its own wire format
	// (Batch.Raw, see RawSource) that the pipeline's encode workers decode
	// in parallel. Only a reader whose batches go to Pipeline.Run (or
	// DecodeRaw) may set it; sources without a raw format ignore it.
	Raw bool
}

// Range is one part of a table for parallel reads (see RangeSplitter).
type Range struct {
	Index int    `json:"index"`
	Total int    `json:"total"`
	Lo    string `json:"lo"` // dialect-specific bounds, e.g. ctid pages or ROWIDs
	Hi    string `json:"hi"`
}

// Status is a connector's health: whether it answered, how fast, and its
// connection pool. How it is shown (the server's status and health
// endpoints, the metrics) is the caller's business.
type Status struct {
	Kind      string
	Reachable bool
	Version   string        // the database's version, if known
	Latency   time.Duration // of the check's round trip
	Pool      PoolStats
	Snapshot  string // the current SCN / txid, if known
	Error     string // why it is not reachable
}

// PoolStats mirrors database/sql.DBStats: the connector's connection pool.
type PoolStats struct {
	MaxOpen int
	MinIdle int
	Open    int
	InUse   int
	Idle    int
}

// Connector is a database (or the synthetic generator) that tables are read
// from. Implementations: sources/synth, sources/postgres, sources/oracle.
type Connector interface {
	// Kind is "synth", "postgres" or "oracle".
	Kind() string
	// Tables lists the readable tables with row counts: estimates from
	// statistics unless exact, which counts every table.
	Tables(ctx context.Context, exact bool) ([]TableInfo, error)
	// Describe resolves a user-given table name against the catalog (with the
	// database's case rules) and returns it with its columns. Unknown names
	// give an error wrapping ErrTableNotFound, names matching several tables
	// equally well one wrapping ErrAmbiguousTable; names are never
	// interpolated. Every connector accepts the exact form
	// ExactTableName(schema, name) (both parts quoted) and resolves it to
	// exactly that table: transports store it and every job resolves it.
	Describe(ctx context.Context, name string) (TableInfo, error)
	// FoldCase folds an unquoted identifier as the source does (Oracle and
	// synth: upper case; PostgreSQL: lower case), so names can be shown in a
	// form that parses back to the same table (DisplayIdent).
	FoldCase(s string) string
	// Snapshot captures one consistent point in time for a job.
	Snapshot(ctx context.Context) (Snapshot, error)
	// Open returns a reader of the table as of snap (nil: the current state).
	// A connector may read a table it cannot read at snap at a moment of its
	// own only when snap is one it took itself (Snapshot), which records it
	// (Snapshot.TableConsistency); with any other snapshot (one known only
	// by its SnapshotInfo, as in another process) it reads at snap or fails.
	Open(ctx context.Context, t TableInfo, snap Snapshot, opts ReadOptions) (Source, error)
	// Status checks the connection.
	Status(ctx context.Context) Status
	Close() error
}

// RangeSplitter is implemented by connectors that can split one table into
// ranges that are read in parallel as of one snapshot.
type RangeSplitter interface {
	Ranges(ctx context.Context, t TableInfo, snap Snapshot, n int) ([]Range, error)
}
