package jobs

// What a Manager is given: ManagerConfig, its validation and defaults, and a transport's limits.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/bucketname"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Limits of a transport (spec FR-04, API validation).
const (
	MaxNameLen = 200
	MaxTables  = 500
	// MaxParallelTables bounds ManagerConfig.ParallelTables.
	MaxParallelTables = 64
	// MaxTableParallelism bounds the ranges of one table read at once
	// (ManagerConfig.TableParallelism, NewTransport.TableParallelism).
	MaxTableParallelism = 64
	// DefaultRangeMinRows is the default of ManagerConfig.RangeMinRows.
	DefaultRangeMinRows = 200000
	// MaxRanges bounds the ranges of one table.
	MaxRanges = 1000
)

// CheckParallelTables is the rule of ManagerConfig.ParallelTables: "" or
// the problem, e.g. "65 is out of range 1..64". Validate takes 0 as the
// default; package config's etl.parallel_tables is checked with it.
func CheckParallelTables(n int) string { return intRange(n, 1, MaxParallelTables) }

// CheckTableParallelism is the rule of a table parallelism (ManagerConfig,
// NewTransport, the API, etl.table_parallelism); 0 is the default there.
func CheckTableParallelism(n int) string { return intRange(n, 1, MaxTableParallelism) }

// CheckRetentionDays is the rule of a retention period in days
// (ManagerConfig.RetentionDays, SetRetention, NewTransport,
// schedule.retention_days); 0 is the default there.
func CheckRetentionDays(n int) string { return intRange(n, 1, MaxRetentionDays) }

func intRange(v, lo, hi int) string {
	if v < lo || v > hi {
		return fmt.Sprintf("%d is out of range %d..%d", v, lo, hi)
	}
	return ""
}

// ManagerConfig injects everything a Manager uses.
type ManagerConfig struct {
	// Store is the path of the SQLite state database; default DefaultStorePath.
	Store string
	// Connector is the source every job reads.
	Connector pipeline.Connector
	// Sinks returns the sink writing into bucket; called once per job.
	Sinks func(bucket string) (pipeline.Sink, error)
	// Encoder is the row encoder (see package stages).
	Encoder pipeline.EncoderFactory
	// Codec is the compression of every object, part and range segment
	// (compression.New); required. It alone holds the gzip level.
	Codec compression.Codec
	// Pipeline configures the engine, including the retry policy of a table.
	Pipeline pipeline.Config
	// ParallelTables is how many tables of a job run at once (spec
	// etl.parallel_tables); default 4.
	ParallelTables int
	// TableParallelism is how many ranges of one table are read at once
	// (spec etl.table_parallelism); default 1. A transport's TableParallelism
	// overrides it.
	TableParallelism int
	// RangeMinRows is the least row estimate of a table that is split into
	// ranges (spec etl.range_min_rows); smaller tables run as one pipeline.
	// Default DefaultRangeMinRows; negative splits every table.
	RangeMinRows int64
	// RangeRows, if set, is the target rows per range: a table gets
	// max(workers, estimate/RangeRows) ranges (at most MaxRanges), so a
	// failed range costs less to retry. 0: one range per worker.
	RangeRows int64
	// DefaultBucket is used for a transport created without a bucket.
	DefaultBucket string
	// ValidateBucket checks a bucket name; default bucketname.Validate (GCS rules).
	ValidateBucket func(string) error
	// DecimalAsString says the encoder writes decimals as JSON strings. It
	// does not change the BigQuery schema (BigQuery reads quoted NUMERIC
	// and BIGNUMERIC values); kept so configurations stay valid.
	DecimalAsString bool
	// Logger receives the job log; default discards.
	Logger *slog.Logger
	// Clock gives the time; default time.Now.
	Clock func() time.Time
	// ProgressInterval is the least time between two progress events of one
	// table; default 500ms.
	ProgressInterval time.Duration
	// RateWindow is the sliding window of rows_per_second; default 5s.
	RateWindow time.Duration
	// DefaultWindows, if set, are the allowed windows of transports that
	// declare none (config.yaml); nil: always open. See WindowSpec.
	DefaultWindows *WindowSpec
	// RetentionDays is the retention period of transports that set none
	// (config.yaml); 0 means DefaultRetentionDays (90). See RetentionSweep.
	RetentionDays int
	// Lifecycle, if set, returns the lifecycle-rule enforcer of a bucket
	// (the gcs sink) or nil for targets without one; it is used when a
	// transport is created, its retention changes and at start-up. Nil:
	// no target has lifecycle rules (the sweep enforces retention).
	Lifecycle func(bucket string) (RetentionEnforcer, error)
	// Distributor, if set, runs the jobs Execute starts with
	// WithDistributed as shards in other processes (package distributed).
	Distributor Distributor
}

// Validate reports missing dependencies and out-of-range values.
func (c ManagerConfig) Validate() error {
	var errs []error
	if c.DefaultWindows != nil {
		if _, err := c.DefaultWindows.parse("windows."); err != nil {
			errs = append(errs, err)
		}
	}
	rule := func(key string, v int, check func(int) string) {
		if p := check(v); v != 0 && p != "" { // 0: the default
			errs = append(errs, fmt.Errorf("%s: %s", key, p))
		}
	}
	rule("retention_days", c.RetentionDays, CheckRetentionDays)
	if c.Connector == nil {
		errs = append(errs, errors.New("connector is required"))
	}
	if c.Sinks == nil {
		errs = append(errs, errors.New("sinks is required"))
	}
	if c.Encoder == nil {
		errs = append(errs, errors.New("encoder is required"))
	}
	if c.Codec.IsZero() {
		errs = append(errs, errors.New("a compression codec is required"))
	}
	rule("parallel_tables", c.ParallelTables, CheckParallelTables)
	rule("table_parallelism", c.TableParallelism, CheckTableParallelism)
	if c.RangeRows < 0 {
		errs = append(errs, fmt.Errorf("range_rows: %d is negative", c.RangeRows))
	}
	if c.ProgressInterval < 0 || c.RateWindow < 0 {
		errs = append(errs, errors.New("progress interval and rate window must not be negative"))
	}
	if err := c.Pipeline.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("jobs: invalid manager config: %w", err)
	}
	return nil
}

func (c ManagerConfig) withDefaults() ManagerConfig {
	if c.Store == "" {
		c.Store = DefaultStorePath
	}
	if c.ParallelTables == 0 {
		c.ParallelTables = 4
	}
	if c.TableParallelism == 0 {
		c.TableParallelism = 1
	}
	if c.RangeMinRows == 0 {
		c.RangeMinRows = DefaultRangeMinRows
	}
	if c.ValidateBucket == nil {
		c.ValidateBucket = bucketname.Validate
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = 500 * time.Millisecond
	}
	if c.RateWindow == 0 {
		c.RateWindow = 5 * time.Second
	}
	c.Pipeline = c.Pipeline.WithDefaults()
	return c
}
