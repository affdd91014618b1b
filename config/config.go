package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/distributed"
	"github.com/ora2gcs/ora2gcs/internal/bucketname"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Config is the whole configuration of the CLI and the server.
type Config struct {
	Server ServerConfig `yaml:"server" json:"server"`
	Oracle OracleConfig `yaml:"oracle" json:"oracle"`
	// Postgres holds the settings of postgres:// sources.
	Postgres PostgresConfig `yaml:"postgres" json:"postgres"`
	GCS      GCSConfig      `yaml:"gcs" json:"gcs"`
	ETL      ETLConfig      `yaml:"etl" json:"etl"`
	Auth     AuthConfig     `yaml:"auth" json:"auth"`
	// Source selects the connector: "synth", "postgres://…", "oracle" (the
	// oracle section) or "oracle://…".
	Source string `yaml:"source" json:"source"`
	// Target selects the sink: "file://DIR" or "gcs" (gcs.default_bucket) or
	// "gs://BUCKET".
	Target string `yaml:"target" json:"target"`
	// DataDir holds the state database and the generated API key.
	DataDir string `yaml:"data_dir" json:"data_dir"`
	// Schedule holds the server's defaults for transports that set none:
	// retention and allowed windows (spec BC-01, BC-02).
	Schedule ScheduleConfig `yaml:"schedule" json:"schedule"`
	// Incremental, if set, are the table modes ora2gcs run gives the
	// transport it runs (its command-line --incremental flags win): the
	// tables listed are read incrementally, the others in full.
	Incremental *IncrementalConfig `yaml:"incremental" json:"incremental,omitempty"`
	// Distributed, if set, lets the server run jobs as shards (plan,
	// shards, finalize) through the executors it configures.
	Distributed *DistributedConfig `yaml:"distributed" json:"distributed,omitempty"`
}

// DistributedConfig configures the server's distributed jobs. The "local"
// executor is always configured; "cloudrun" and "beam" when their section
// is set.
type DistributedConfig struct {
	// DefaultExecutor runs the jobs that name none (default "local").
	DefaultExecutor string `yaml:"default_executor" json:"default_executor,omitempty"`
	// DefaultShards is the target shard count when a job gives none
	// (default 4); MaxShards the most a job may ask for (default 1000).
	DefaultShards int `yaml:"default_shards" json:"default_shards,omitempty"`
	MaxShards     int `yaml:"max_shards" json:"max_shards,omitempty"`
	// Poll is how often the shards' completion records are read for
	// progress (default 5s).
	Poll time.Duration `yaml:"poll" json:"poll,omitempty"`
	// Timeout, if set, bounds a whole distributed job.
	Timeout  time.Duration        `yaml:"timeout" json:"timeout,omitempty"`
	Local    LocalExecutorConfig  `yaml:"local" json:"local"`
	CloudRun *CloudRunExecutor    `yaml:"cloudrun" json:"cloudrun,omitempty"`
	Beam     *CommandExecutorConf `yaml:"beam" json:"beam,omitempty"`
}

// LocalExecutorConfig runs shards on the server's machine: "goroutines"
// (default: in the server process, with its source connection settings)
// or "processes" (`ora2gcs shard` processes with the server's config file
// and environment).
type LocalExecutorConfig struct {
	Mode     string `yaml:"mode" json:"mode,omitempty"`
	Parallel int    `yaml:"parallel" json:"parallel,omitempty"` // shards at once (default 4)
	Retries  int    `yaml:"retries" json:"retries,omitempty"`   // processes: starts again after a failed one
}

// CloudRunExecutor starts an execution of an existing Cloud Run Job whose
// container runs `ora2gcs shard` (deploy/cloudrun/).
type CloudRunExecutor struct {
	// Job is projects/PROJECT/locations/REGION/jobs/NAME.
	Job       string            `yaml:"job" json:"job"`
	Container string            `yaml:"container" json:"container,omitempty"`
	Env       map[string]string `yaml:"env" json:"env,omitempty"`
	// Timeout overrides the job's task timeout (0: the job's).
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// CommandExecutorConf runs one program for the whole plan,
// `COMMAND… --plan URI` (the Beam pipeline's command).
type CommandExecutorConf struct {
	Command []string          `yaml:"command" json:"command"`
	Env     map[string]string `yaml:"env" json:"env,omitempty"`
}

var cloudRunJobRE = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/jobs/[^/]+$`)

// validate checks the distributed section; origin names where it was set.
func (d *DistributedConfig) validate(origin string) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: distributed.%s: "+format, append([]any{origin, key}, args...)...))
	}
	intRange := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			bad(key, "%d is out of range %d..%d", v, lo, hi)
		}
	}
	durRange := func(key string, v, lo, hi time.Duration) {
		if v != 0 && (v < lo || v > hi) {
			bad(key, "%s is out of range %s..%s", v, lo, hi)
		}
	}
	// the runner's limits (package distributed): a default above the
	// maximum would be cut to it silently
	if d.MaxShards != 0 {
		intRange("max_shards", d.MaxShards, 1, distributed.MaxShards)
	}
	if d.DefaultShards != 0 {
		intRange("default_shards", d.DefaultShards, 1, distributed.ShardLimit(d.MaxShards))
	}
	durRange("poll", d.Poll, 10*time.Millisecond, time.Hour)
	durRange("timeout", d.Timeout, time.Minute, 7*24*time.Hour)
	switch d.Local.Mode {
	case "", "goroutines", "processes":
	default:
		bad("local.mode", "%q is not goroutines or processes", d.Local.Mode)
	}
	intRange("local.parallel", d.Local.Parallel, 0, 1000)
	intRange("local.retries", d.Local.Retries, 0, 100)
	if d.CloudRun != nil {
		if !cloudRunJobRE.MatchString(d.CloudRun.Job) {
			bad("cloudrun.job", "%q is not projects/PROJECT/locations/REGION/jobs/NAME", d.CloudRun.Job)
		}
		if d.CloudRun.Timeout < 0 {
			bad("cloudrun.timeout", "%s is negative", d.CloudRun.Timeout)
		}
	}
	if d.Beam != nil && (len(d.Beam.Command) == 0 || d.Beam.Command[0] == "") {
		bad("beam.command", "required: the program and its arguments, e.g. [ora2gcs-beam, --runner, dataflow]")
	}
	switch d.DefaultExecutor {
	case "", "local":
	case "cloudrun":
		if d.CloudRun == nil {
			bad("default_executor", "cloudrun needs distributed.cloudrun")
		}
	case "beam":
		if d.Beam == nil {
			bad("default_executor", "beam needs distributed.beam")
		}
	default:
		bad("default_executor", "%q is not local, cloudrun or beam", d.DefaultExecutor)
	}
	return errs
}

// IncrementalConfig lists incremental tables and when they are read in
// full again (which is what removes deleted rows).
type IncrementalConfig struct {
	Tables []IncrementalTableConfig `yaml:"tables" json:"tables"`
	// FullSchedule: a run is full for every incremental table when a time
	// of this cron schedule passed since its last full read.
	FullSchedule *FullScheduleConfig `yaml:"full_schedule" json:"full_schedule,omitempty"`
}

// IncrementalTableConfig is one incremental table.
type IncrementalTableConfig struct {
	Table           string   `yaml:"table" json:"table"`
	WatermarkColumn string   `yaml:"watermark_column" json:"watermark_column"`
	KeyColumns      []string `yaml:"key_columns" json:"key_columns,omitempty"` // default: the primary key
	Overlap         string   `yaml:"overlap" json:"overlap,omitempty"`         // default 10m (time), 0 (number)
}

// FullScheduleConfig is a cron expression read in an IANA time zone.
type FullScheduleConfig struct {
	Cron     string `yaml:"cron" json:"cron"`
	Timezone string `yaml:"timezone" json:"timezone"`
}

// ScheduleConfig is the server's default retention and allowed windows.
type ScheduleConfig struct {
	// RetentionDays is how long job versions are kept (spec BC-02: 90).
	RetentionDays int `yaml:"retention_days" json:"retention_days"`
	// Windows, if set, are the hours jobs may run in (spec BC-01), e.g.
	// weekdays 22:00-06:00 and all day at weekends in Asia/Seoul.
	Windows *WindowsConfig `yaml:"windows" json:"windows,omitempty"`
}

// WindowsConfig is a set of allowed periods in one time zone; OnClose says
// what happens to a job still running when a window closes: "finish"
// (default) or "stop" (interrupted, resumed by the next run).
type WindowsConfig struct {
	Timezone string             `yaml:"timezone" json:"timezone"`
	OnClose  string             `yaml:"on_close" json:"on_close,omitempty"`
	Allow    []WindowRuleConfig `yaml:"allow" json:"allow"`
}

// WindowRuleConfig is one allowed period: days ("mon-fri", "sat,sun") and
// a from-to clock time that may pass midnight ("22:00"-"06:00").
type WindowRuleConfig struct {
	Days string `yaml:"days" json:"days"`
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
}

// ServerConfig is the HTTP server.
type ServerConfig struct {
	Port   int    `yaml:"port" json:"port"`
	Listen string `yaml:"listen" json:"listen"` // host:port; wins over Port when set
	// ReadTimeout bounds reading one request.
	ReadTimeout time.Duration `yaml:"read_timeout" json:"read_timeout"`
	// WriteTimeout bounds writing one response (SSE streams extend it per event).
	WriteTimeout time.Duration `yaml:"write_timeout" json:"write_timeout"`
	// ShutdownGrace is the most a running job may take to finish after
	// SIGTERM/SIGINT (then it is interrupted); 0, the default, waits until it
	// ends (spec NFR-02.4). Set it to the platform's grace period, a little
	// less: Kubernetes terminationGracePeriodSeconds, Cloud Run's 10 s.
	ShutdownGrace time.Duration `yaml:"shutdown_grace" json:"shutdown_grace"`
	// SourceTimeout bounds an API request that waits for the source (tables,
	// sample, creating a transport); it then gets 503 source_unavailable.
	SourceTimeout time.Duration `yaml:"source_timeout" json:"source_timeout"`
	// PublicBaseURL, if set, is the absolute URL clients reach the server at
	// (behind a proxy); Location headers start with it. Default: relative
	// Location headers. The request's Host and X-Forwarded-* are never used.
	PublicBaseURL string `yaml:"public_base_url" json:"public_base_url"`
}

// OracleConfig is the Oracle source (spec FR-01).
type OracleConfig struct {
	WalletPath     string `yaml:"wallet_path" json:"wallet_path"`
	TNSName        string `yaml:"tns_name" json:"tns_name"`
	Username       string `yaml:"username" json:"username"`
	Password       string `yaml:"password" json:"password"`
	DSN            string `yaml:"dsn" json:"dsn"` // full connect string; wins over tns_name
	PoolMin        int    `yaml:"pool_min" json:"pool_min"`
	PoolMax        int    `yaml:"pool_max" json:"pool_max"`
	FetchArraySize int    `yaml:"fetch_array_size" json:"fetch_array_size"`
}

// PostgresConfig is the PostgreSQL source's own settings: its pool is
// sized here, never by the oracle section.
type PostgresConfig struct {
	PoolMin int `yaml:"pool_min" json:"pool_min"`
	PoolMax int `yaml:"pool_max" json:"pool_max"`
	// Reader is how tables are read: copy (COPY text) or rows (pgx rows).
	Reader string `yaml:"reader" json:"reader"`
}

// GCSConfig is the Cloud Storage target (spec FR-03).
type GCSConfig struct {
	ProjectID       string `yaml:"project_id" json:"project_id"`
	CredentialsFile string `yaml:"credentials_file" json:"credentials_file"`
	DefaultBucket   string `yaml:"default_bucket" json:"default_bucket"`
	// Endpoint overrides the API endpoint (an emulator); empty is Google's.
	Endpoint string `yaml:"endpoint" json:"endpoint"`
	// ChunkSize is the resumable upload chunk in bytes (a multiple of 256 KiB); 0 is the client default.
	ChunkSize int `yaml:"chunk_size" json:"chunk_size"`
}

// ETLConfig is the engine (spec FR-02).
type ETLConfig struct {
	ChunkSize        int `yaml:"chunk_size" json:"chunk_size"`               // rows per batch
	ParallelTables   int `yaml:"parallel_tables" json:"parallel_tables"`     // tables of a job at once
	TableParallelism int `yaml:"table_parallelism" json:"table_parallelism"` // ranges of one table at once
	// RangeMinRows is the least row estimate of a table split into ranges
	// when table_parallelism > 1 (smaller tables are read by one reader).
	RangeMinRows int64 `yaml:"range_min_rows" json:"range_min_rows"`
	// PartBytes splits a table's output into parts of about this many
	// compressed bytes ({TABLE}.part-00001.jsonl.gz, …); 0 writes one object.
	// BigQuery loads gzip files of at most 4 GB.
	PartBytes     int64         `yaml:"part_bytes" json:"part_bytes"`
	RetryAttempts int           `yaml:"retry_attempts" json:"retry_attempts"`
	RetryBackoff  time.Duration `yaml:"retry_backoff" json:"retry_backoff"`
	GzipLevel     int           `yaml:"gzip_level" json:"gzip_level"`
	EncodeWorkers int           `yaml:"encode_workers" json:"encode_workers"` // 0: GOMAXPROCS
	// FetchTimeout bounds how long a job's reader waits for the source to
	// start its query or send its next rows; a longer wait is a stall, a
	// transient error retried retry_attempts times, then the table fails.
	// 0: no bound.
	FetchTimeout time.Duration `yaml:"fetch_timeout" json:"fetch_timeout"`
	// SnapshotTimeout bounds opening a job's snapshot (then the job fails).
	// 0: no bound.
	SnapshotTimeout time.Duration `yaml:"snapshot_timeout" json:"snapshot_timeout"`
	// Compressor is the gzip writer: auto (lines at level 1, else
	// blocks), lines, blocks or pgzip.
	Compressor string `yaml:"compressor" json:"compressor"`
	// VerifyCompression inflates every compressed segment again and
	// compares it with its input (lines and blocks only).
	VerifyCompression bool `yaml:"verify_compression" json:"verify_compression"`
	// DecimalsAsStrings writes decimals as JSON strings.
	DecimalsAsStrings bool `yaml:"decimals_as_strings" json:"decimals_as_strings"`
	// OmitNulls leaves NULL columns out of each line.
	OmitNulls bool `yaml:"omit_nulls" json:"omit_nulls"`
}

// SourceTimeouts are FetchTimeout and SnapshotTimeout as the connectors'
// options take them (negative: no bound; their zero means their default).
func (e ETLConfig) SourceTimeouts() (fetch, snapshot time.Duration) {
	off := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	return off(e.FetchTimeout), off(e.SnapshotTimeout)
}

// JobsRangeMinRows is RangeMinRows as jobs.ManagerConfig takes it: 0
// (split every table, as etl.range_min_rows documents) becomes -1, since
// the manager's zero means its default (200,000).
func (e ETLConfig) JobsRangeMinRows() int64 {
	if e.RangeMinRows == 0 {
		return -1
	}
	return e.RangeMinRows
}

// AuthConfig is the API authentication (spec NFR-03.3).
type AuthConfig struct {
	// APIKey is one key, or several separated by commas.
	APIKey string `yaml:"api_key" json:"api_key"`
	// APIKeys lists further keys.
	APIKeys []string `yaml:"api_keys" json:"api_keys"`
	// EnableBearer accepts "Authorization: Bearer <key>" besides X-API-Key.
	EnableBearer bool `yaml:"enable_bearer" json:"enable_bearer"`
}

// Keys returns every configured key: api_key split at commas, then
// api_keys, trimmed, without empty entries and duplicates.
func (a AuthConfig) Keys() []string {
	var out []string
	seen := map[string]bool{}
	add := func(k string) {
		k = strings.TrimSpace(k)
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, k := range strings.Split(a.APIKey, ",") {
		add(k)
	}
	for _, k := range a.APIKeys {
		add(k)
	}
	return out
}

// Default returns the embedded defaults: the synthetic source, a local file
// target in ./data, the spec's timeouts and engine settings.
func Default() Config {
	return Config{
		Server: ServerConfig{
			Port:          8080,
			ReadTimeout:   30 * time.Second,
			WriteTimeout:  300 * time.Second,
			ShutdownGrace: 0, // wait for the running job
			SourceTimeout: 30 * time.Second,
		},
		Oracle:   OracleConfig{PoolMin: 5, PoolMax: 20, FetchArraySize: 1000},
		Postgres: PostgresConfig{PoolMin: 5, PoolMax: 20, Reader: "copy"},
		GCS:      GCSConfig{DefaultBucket: "oracle-etl-data"},
		ETL: ETLConfig{
			ChunkSize:        10000,
			ParallelTables:   4,
			TableParallelism: 1,
			RangeMinRows:     200000,
			RetryAttempts:    3,
			RetryBackoff:     time.Second,
			GzipLevel:        1,
			Compressor:       "auto",
			FetchTimeout:     5 * time.Minute,
			SnapshotTimeout:  2 * time.Minute,
		},
		Auth:     AuthConfig{EnableBearer: true},
		Source:   "synth",
		Target:   "file://./data",
		DataDir:  "./data",
		Schedule: ScheduleConfig{RetentionDays: 90},
	}
}

// ListenAddr is the address the server listens on: server.listen, or
// ":port".
func (c Config) ListenAddr() string {
	if c.Server.Listen != "" {
		return c.Server.Listen
	}
	return ":" + strconv.Itoa(c.Server.Port)
}

// Pipeline returns the engine configuration the etl and oracle sections give.
func (c Config) Pipeline() pipeline.Config {
	return pipeline.Config{
		FetchArraySize: c.Oracle.FetchArraySize,
		ChunkRows:      c.ETL.ChunkSize,
		EncodeWorkers:  c.ETL.EncodeWorkers,
		PartBytes:      c.ETL.PartBytes,
		Retry:          pipeline.Retry{Attempts: c.ETL.RetryAttempts, Backoff: c.ETL.RetryBackoff},
	}.WithDefaults()
}

// Validate reports every invalid value, each as "config: KEY: problem".
func (c Config) Validate() error { return c.validate(nil) }

// ValidateFrom is Validate with each error naming the origin of its key
// ("--gzip-level: …", "ORA2GCS_GZIP_LEVEL: …", "config.yaml:7: …").
func (c Config) ValidateFrom(origins Origins) error { return c.validate(origins) }

// validate checks every knob with its one rule and the settings that
// depend on each other; each error starts with the origin of the key it
// names (origins; nil: "config").
func (c Config) validate(origins Origins) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: "+format, append([]any{origins.of(key), key}, args...)...))
	}
	for _, k := range knobs {
		if k.check == nil {
			continue
		}
		if p := k.check(&c); p != "" {
			bad(k.Key, "%s", p)
		}
	}
	// the compressor with its level and verification (package compression,
	// which also holds the rules of each alone): a level the compressor does
	// not support is an error here, never silently changed
	if compression.CheckLevel(c.ETL.GzipLevel) == nil && compression.CheckName(c.ETL.Compressor) == nil {
		var serr *compression.SpecError
		if err := compression.Check(compression.Spec{Name: c.ETL.Compressor, Level: c.ETL.GzipLevel, Verify: c.ETL.VerifyCompression}); errors.As(err, &serr) {
			key := "etl.compressor"
			if serr.Field == "verify" {
				key = "etl.verify_compression"
			}
			bad(key, "%s", serr.Msg)
		}
	}
	if inc := c.Incremental; inc != nil {
		for i, t := range inc.Tables {
			if strings.TrimSpace(t.Table) == "" {
				errs = append(errs, fmt.Errorf("%s: incremental.tables[%d].table: required", origins.of("incremental"), i))
			}
			if strings.TrimSpace(t.WatermarkColumn) == "" {
				errs = append(errs, fmt.Errorf("%s: incremental.tables[%d].watermark_column: required", origins.of("incremental"), i))
			}
		}
		if fs := inc.FullSchedule; fs != nil && (strings.TrimSpace(fs.Cron) == "" || strings.TrimSpace(fs.Timezone) == "") {
			errs = append(errs, fmt.Errorf("%s: incremental.full_schedule: cron and timezone are both required", origins.of("incremental")))
		}
	}
	if w := c.Schedule.Windows; w != nil {
		o := origins.of("schedule.windows")
		if len(w.Allow) == 0 {
			errs = append(errs, fmt.Errorf("%s: schedule.windows.allow: at least one period is required (or leave schedule.windows out: always open)", o))
		}
		if w.OnClose != "" && w.OnClose != "finish" && w.OnClose != "stop" {
			errs = append(errs, fmt.Errorf("%s: schedule.windows.on_close: %q: use finish or stop", o, w.OnClose))
		}
	}
	if d := c.Distributed; d != nil {
		errs = append(errs, d.validate(origins.of("distributed").String())...)
	}
	for i, k := range c.Auth.APIKeys {
		if k = strings.TrimSpace(k); k != "" && len(k) < 16 {
			errs = append(errs, fmt.Errorf("%s: auth.api_keys: key %d is shorter than 16 characters", origins.of("auth.api_keys"), i+1))
		}
	}

	switch kind := SourceKind(c.Source); kind {
	case "synth", "postgres":
	case "oracle":
		if c.Oracle.DSN == "" && c.Oracle.TNSName == "" && !strings.HasPrefix(c.Source, "oracle://") {
			bad("oracle.tns_name", "required for source %q (or set oracle.dsn)", "oracle")
		}
	case "":
		bad("source", "required (synth, postgres://…, oracle or oracle://…)")
	default:
		bad("source", "unknown kind %q (want synth, postgres://…, oracle or oracle://…)", kind)
	}
	switch {
	case strings.HasPrefix(c.Target, "file://"):
		if strings.TrimPrefix(c.Target, "file://") == "" {
			bad("target", "file:// needs a directory")
		}
	case c.Target == "gcs":
		if c.GCS.DefaultBucket == "" {
			bad("gcs.default_bucket", "required for target gcs")
		}
	case strings.HasPrefix(c.Target, "gs://"):
		b := strings.SplitN(strings.TrimPrefix(c.Target, "gs://"), "/", 2)[0]
		if err := bucketname.Validate(b); err != nil {
			bad("target", "bucket name %q %v", b, err)
		}
	case c.Target == "":
		bad("target", "required (file://DIR, gcs or gs://BUCKET)")
	default:
		bad("target", "unknown target %q (want file://DIR, gcs or gs://BUCKET)", redactURL(c.Target))
	}
	return errors.Join(errs...)
}

// SourceKind is the connector kind a source setting names: "synth",
// "postgres", "oracle", or the unrecognised scheme/word itself.
func SourceKind(source string) string {
	s := strings.ToLower(strings.TrimSpace(source))
	switch {
	case s == "synth" || strings.HasPrefix(s, "synth:"):
		return "synth"
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"), s == "postgres":
		return "postgres"
	case s == "oracle" || strings.HasPrefix(s, "oracle://"):
		return "oracle"
	}
	if i := strings.Index(s, "://"); i > 0 {
		return s[:i]
	}
	return s
}

func splitHostPort(addr string) (string, int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, errors.New("missing port")
	}
	p, err := strconv.Atoi(addr[i+1:])
	if err != nil || p < 0 || p > 65535 {
		return "", 0, errors.New("bad port")
	}
	return addr[:i], p, nil
}

const redacted = "[REDACTED]"

// Redacted returns a copy with the password, API keys and any password in a
// source URL replaced by "[REDACTED]".
func (c Config) Redacted() Config {
	if c.Oracle.Password != "" {
		c.Oracle.Password = redacted
	}
	c.Oracle.DSN = redactURL(c.Oracle.DSN)
	if c.Auth.APIKey != "" {
		c.Auth.APIKey = redacted
	}
	if len(c.Auth.APIKeys) > 0 {
		keys := make([]string, len(c.Auth.APIKeys))
		for i := range keys {
			keys[i] = redacted
		}
		c.Auth.APIKeys = keys
	}
	c.Source = redactURL(c.Source)
	c.Target = redactURL(c.Target)
	if d := c.Distributed; d != nil {
		dc := *d
		if d.CloudRun != nil {
			cr := *d.CloudRun
			cr.Env = redactValues(cr.Env)
			dc.CloudRun = &cr
		}
		if d.Beam != nil {
			b := *d.Beam
			b.Env = redactValues(b.Env)
			dc.Beam = &b
		}
		c.Distributed = &dc
	}
	return c
}

// redactValues hides every value of an environment map (any may be a
// secret).
func redactValues(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = redacted
	}
	return out
}

// redactURL hides the password of a URL ("postgres://u:p@h/db") and of an
// Oracle "user/password@tns" connect string.
func redactURL(s string) string {
	if hasScheme(s) {
		if u, err := url.Parse(s); err == nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
				return strings.Replace(u.String(), "xxxxx", redacted, 1)
			}
			return s
		}
		// Unparseable: drop everything between "://" and "@".
		if i, j := strings.Index(s, "://"), strings.LastIndex(s, "@"); j > i {
			return s[:i+3] + redacted + s[j:]
		}
		return s
	}
	if i, j := strings.Index(s, "/"), strings.LastIndex(s, "@"); i >= 0 && j > i {
		return s[:i+1] + redacted + s[j:]
	}
	return s
}

// hasScheme reports whether s starts with "scheme://".
func hasScheme(s string) bool {
	i := strings.Index(s, "://")
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		ch := s[j]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || j > 0 && (ch >= '0' && ch <= '9' || ch == '+' || ch == '-' || ch == '.')) {
			return false
		}
	}
	return true
}

// String renders the redacted configuration as YAML.
func (c Config) String() string {
	b, err := yaml.Marshal(c.Redacted())
	if err != nil {
		return "config: " + err.Error()
	}
	return string(b)
}

// LogValue makes slog print the redacted configuration.
func (c Config) LogValue() slog.Value {
	r := c.Redacted()
	return slog.GroupValue(
		slog.String("source", r.Source),
		slog.String("target", r.Target),
		slog.String("data_dir", r.DataDir),
		slog.String("listen", r.ListenAddr()),
		slog.Int("parallel_tables", r.ETL.ParallelTables),
		slog.Int("chunk_size", r.ETL.ChunkSize),
		slog.Int("api_keys", len(c.Auth.Keys())),
	)
}
