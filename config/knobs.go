package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/bucketname"
	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
)

// Group says which commands declare a knob's flag.
type Group int

// Flag groups of the knobs.
const (
	GroupSource   Group = iota + 1 // the source connector and its pool
	GroupTarget                    // the target and its client
	GroupEngine                    // parallelism, compression, parts, ranges, retries
	GroupEncoding                  // how rows become JSON
	GroupServer                    // the HTTP server, its keys and the default retention
)

// Knob is one setting: its config.yaml key, its environment variable, its
// command-line flag, its default (Default's value), its rule and its one
// line of documentation. Every scalar setting is exactly one Knob of
// Knobs; the YAML file, the environment and the CLI's flags all set it
// through Set, and Validate checks it with its one rule.
type Knob struct {
	// Key is the dotted config.yaml path, e.g. "etl.gzip_level".
	Key string
	// Flag is the command-line flag without dashes, e.g. "gzip-level"; ""
	// when the knob has none (NoFlag says why).
	Flag string
	// NoFlag is why the knob has no flag (a secret: a command line is
	// visible to every user of the machine).
	NoFlag string
	// Env is the environment variable that sets the knob.
	Env string
	// Group says which commands declare the flag.
	Group Group
	// Doc is the knob's documentation (the flag's usage and the reference).
	Doc string
	// Secret: the value is never shown (Show prints [REDACTED]).
	Secret bool
	// url: the value may carry a password in a URL or user/password@db,
	// which Show redacts.
	url bool

	ptr   func(*Config) any      // *int, *int64, *string, *bool or *time.Duration
	check func(c *Config) string // "" or the problem, e.g. "12 is out of range 1..9"
}

// Type is the knob's value type as the reference names it: int, string,
// bool or duration.
func (k Knob) Type() string {
	switch k.ptr(&Config{}).(type) {
	case *int, *int64:
		return "int"
	case *bool:
		return "bool"
	case *time.Duration:
		return "duration"
	}
	return "string"
}

// Get returns the knob's value in c as the environment and flags take it.
func (k Knob) Get(c Config) string {
	switch p := k.ptr(&c).(type) {
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *bool:
		return strconv.FormatBool(*p)
	case *time.Duration:
		return p.String()
	case *string:
		return *p
	}
	panic("config: knob " + k.Key + " has an unknown type")
}

// Show is Get with secrets redacted: the value a reference, a log or
// `config show` may print.
func (k Knob) Show(c Config) string {
	v := k.Get(c)
	switch {
	case k.Secret && v != "":
		return redacted
	case k.url:
		return redactURL(v)
	}
	return v
}

// DefaultValue is the knob's value in Default, as Show gives it.
func (k Knob) DefaultValue() string { return k.Show(Default()) }

// Set parses s into the knob's field of c. An error says what s is not
// (without s for a secret).
func (k Knob) Set(c *Config, s string) error {
	s = strings.TrimSpace(s)
	switch p := k.ptr(c).(type) {
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return k.parseError(s, "an integer")
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return k.parseError(s, "an integer")
		}
		*p = n
	case *bool:
		b, ok := parseBool(s)
		if !ok {
			return k.parseError(s, "true or false")
		}
		*p = b
	case *time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return k.parseError(s, "a duration (e.g. 90s, 5m, 1h30m)")
		}
		*p = d
	case *string:
		*p = s
	default:
		panic("config: knob " + k.Key + " has an unknown type")
	}
	return nil
}

func (k Knob) parseError(s, want string) error {
	if k.Secret {
		return fmt.Errorf("%s: the value is not %s", k.Key, want)
	}
	return fmt.Errorf("%s: %q is not %s", k.Key, s, want)
}

// parseBool accepts Go's and YAML 1.1's spellings.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "t", "true", "y", "yes", "on":
		return true, true
	case "0", "f", "false", "n", "no", "off":
		return false, true
	}
	return false, false
}

// Knobs returns every scalar setting in reference order. Structured
// settings (schedule.windows, incremental, auth.api_keys) are YAML-only;
// StructuredKeys lists them.
func Knobs() []Knob { return append([]Knob(nil), knobs...) }

// StructuredKeys are the settings that only the config file sets, each
// with its documentation: lists and nested records have no one-line form.
var StructuredKeys = [][2]string{
	{"auth.api_keys", "further API keys, a YAML list (besides auth.api_key)"},
	{"schedule.windows", "the server's default allowed windows for transports that declare none: {timezone, on_close (finish or stop), allow: [{days, from, to}]}; none: always open"},
	{"incremental", "tables ora2gcs run reads incrementally: {tables: [{table, watermark_column, key_columns, overlap}], full_schedule: {cron, timezone}}"},
	{"distributed", "the server's distributed jobs (docs/DISTRIBUTED.md): {default_executor (local, cloudrun or beam), default_shards, max_shards, poll, timeout, local: {mode (goroutines or processes), parallel, retries}, cloudrun: {job, container, env, timeout}, beam: {command, env}}"},
}

// KnobByKey returns the knob of a config.yaml key.
func KnobByKey(key string) (Knob, bool) {
	for _, k := range knobs {
		if k.Key == key {
			return k, true
		}
	}
	return Knob{}, false
}

// KnobByFlag returns the knob of a flag name (without dashes).
func KnobByFlag(flag string) (Knob, bool) {
	for _, k := range knobs {
		if k.Flag != "" && k.Flag == flag {
			return k, true
		}
	}
	return Knob{}, false
}

const noFlagSecret = "secret; a command line is visible to every user of the machine"

// Rules shared by knobs.
func intRange(v, lo, hi int) string {
	if v < lo || v > hi {
		return fmt.Sprintf("%d is out of range %d..%d", v, lo, hi)
	}
	return ""
}

func durRange(v, lo, hi time.Duration) string {
	if v < lo || v > hi {
		return fmt.Sprintf("%s is out of range %s..%s", v, lo, hi)
	}
	return ""
}

// optDurRange is durRange where 0 (no bound) is valid too.
func optDurRange(v, lo, hi time.Duration) string {
	if v == 0 {
		return ""
	}
	return durRange(v, lo, hi)
}

var knobs = []Knob{
	// the source
	{Key: "source", Flag: "source", Env: "ORA2GCS_SOURCE", Group: GroupSource, url: true,
		Doc: `the source: "synth", "postgres://user@host:5432/db", "oracle://user@host:1521/service" or "oracle" (the oracle section: ATP wallet and TNS alias); the password comes from ORACLE_PASSWORD / PGPASSWORD (or a password file), never from the URL`,
		ptr: func(c *Config) any { return &c.Source }},
	{Key: "data_dir", Flag: "data-dir", Env: "ORA2GCS_DATA_DIR", Group: GroupSource,
		Doc: "state directory: the job database and the generated API key",
		ptr: func(c *Config) any { return &c.DataDir },
		check: func(c *Config) string {
			if strings.TrimSpace(c.DataDir) == "" {
				return "required"
			}
			return ""
		}},
	{Key: "oracle.wallet_path", Flag: "oracle-wallet-path", Env: "ORACLE_WALLET_PATH", Group: GroupSource,
		Doc: "the Autonomous Database wallet folder (cwallet.sso, sqlnet.ora, tnsnames.ora)",
		ptr: func(c *Config) any { return &c.Oracle.WalletPath }},
	{Key: "oracle.tns_name", Flag: "oracle-tns-name", Env: "ORACLE_TNS_NAME", Group: GroupSource,
		Doc: "a TNS alias of the wallet's tnsnames.ora (source oracle), e.g. mydb_high",
		ptr: func(c *Config) any { return &c.Oracle.TNSName }},
	{Key: "oracle.username", Flag: "oracle-username", Env: "ORACLE_USER", Group: GroupSource,
		Doc: "the Oracle user (source oracle, or an oracle:// URL without one)",
		ptr: func(c *Config) any { return &c.Oracle.Username }},
	{Key: "oracle.password", NoFlag: noFlagSecret, Env: "ORACLE_PASSWORD", Group: GroupSource, Secret: true,
		Doc: "the Oracle password",
		ptr: func(c *Config) any { return &c.Oracle.Password }},
	{Key: "oracle.dsn", NoFlag: "it may hold a password (user/password@db); on the command line use --source oracle://user@host:port/service", Env: "ORA2GCS_ORACLE_DSN", Group: GroupSource, url: true,
		Doc: "a connect string or EZConnect host:port/service (source oracle); wins over oracle.tns_name",
		ptr: func(c *Config) any { return &c.Oracle.DSN }},
	{Key: "oracle.pool_min", Flag: "oracle-pool-min", Env: "ORA2GCS_ORACLE_POOL_MIN", Group: GroupSource,
		Doc:   "Oracle sessions the pool keeps open (oracle sources only; the URL's ?pool_min= wins)",
		ptr:   func(c *Config) any { return &c.Oracle.PoolMin },
		check: func(c *Config) string { p, _ := sqlsource.CheckPool(c.Oracle.PoolMin, c.Oracle.PoolMax); return p }},
	{Key: "oracle.pool_max", Flag: "oracle-pool-max", Env: "ORA2GCS_ORACLE_POOL_MAX", Group: GroupSource,
		Doc:   "most Oracle sessions (oracle sources only; the URL's ?pool_max= wins)",
		ptr:   func(c *Config) any { return &c.Oracle.PoolMax },
		check: func(c *Config) string { _, p := sqlsource.CheckPool(c.Oracle.PoolMin, c.Oracle.PoolMax); return p }},
	{Key: "oracle.fetch_array_size", Flag: "oracle-fetch-array-size", Env: "ORA2GCS_ORACLE_FETCH_ARRAY_SIZE", Group: GroupSource,
		Doc:   "rows per database round trip (the URL's ?fetch_array_size= wins)",
		ptr:   func(c *Config) any { return &c.Oracle.FetchArraySize },
		check: func(c *Config) string { return pipeline.CheckFetchArraySize(c.Oracle.FetchArraySize) }},
	{Key: "postgres.pool_min", Flag: "postgres-pool-min", Env: "ORA2GCS_POSTGRES_POOL_MIN", Group: GroupSource,
		Doc:   "PostgreSQL connections the pool keeps open (postgres sources only)",
		ptr:   func(c *Config) any { return &c.Postgres.PoolMin },
		check: func(c *Config) string { p, _ := sqlsource.CheckPool(c.Postgres.PoolMin, c.Postgres.PoolMax); return p }},
	{Key: "postgres.pool_max", Flag: "postgres-pool-max", Env: "ORA2GCS_POSTGRES_POOL_MAX", Group: GroupSource,
		Doc:   "most PostgreSQL connections (postgres sources only)",
		ptr:   func(c *Config) any { return &c.Postgres.PoolMax },
		check: func(c *Config) string { _, p := sqlsource.CheckPool(c.Postgres.PoolMin, c.Postgres.PoolMax); return p }},
	{Key: "postgres.reader", Flag: "postgres-reader", Env: "ORA2GCS_PG_READER", Group: GroupSource,
		Doc: "how PostgreSQL tables are read: copy (COPY text, fastest) or rows (pgx's rows; same output)",
		ptr: func(c *Config) any { return &c.Postgres.Reader },
		check: func(c *Config) string {
			if c.Postgres.Reader != "copy" && c.Postgres.Reader != "rows" {
				return fmt.Sprintf("%q: use copy or rows", c.Postgres.Reader)
			}
			return ""
		}},

	// the target
	{Key: "target", Flag: "target", Env: "ORA2GCS_TARGET", Group: GroupTarget, url: true,
		Doc: `the target: "file://DIR", "gcs" (gcs.default_bucket; Application Default Credentials, STORAGE_EMULATOR_HOST honoured) or "gs://BUCKET"; the CLI also takes "null" (written nowhere, for benchmarks)`,
		ptr: func(c *Config) any { return &c.Target }},
	{Key: "gcs.default_bucket", Flag: "bucket", Env: "ORA2GCS_BUCKET", Group: GroupTarget,
		Doc: "the bucket of transports created without one",
		ptr: func(c *Config) any { return &c.GCS.DefaultBucket },
		check: func(c *Config) string {
			if b := c.GCS.DefaultBucket; b != "" {
				if err := bucketname.Validate(b); err != nil {
					return fmt.Sprintf("bucket name %q %v", b, err)
				}
			}
			return ""
		}},
	{Key: "gcs.project_id", Flag: "gcs-project-id", Env: "GCP_PROJECT_ID", Group: GroupTarget,
		Doc: "the Google Cloud project (empty: the credentials' project)",
		ptr: func(c *Config) any { return &c.GCS.ProjectID }},
	{Key: "gcs.credentials_file", Flag: "gcs-credentials-file", Env: "GOOGLE_APPLICATION_CREDENTIALS", Group: GroupTarget,
		Doc: "a service account key file (empty: Application Default Credentials)",
		ptr: func(c *Config) any { return &c.GCS.CredentialsFile }},
	{Key: "gcs.endpoint", Flag: "gcs-endpoint", Env: "ORA2GCS_GCS_ENDPOINT", Group: GroupTarget,
		Doc: "the storage API endpoint (an emulator); empty: Google's",
		ptr: func(c *Config) any { return &c.GCS.Endpoint }},
	{Key: "gcs.chunk_size", Flag: "gcs-chunk-size", Env: "ORA2GCS_GCS_CHUNK_SIZE", Group: GroupTarget,
		Doc:   "resumable upload chunk in bytes, a multiple of 262144 (256 KiB); 0: the client's 16 MiB. Each open object holds one chunk in memory",
		ptr:   func(c *Config) any { return &c.GCS.ChunkSize },
		check: func(c *Config) string { return gcs.CheckChunkSize(c.GCS.ChunkSize) }},

	// the engine
	{Key: "etl.chunk_size", Flag: "chunk-size", Env: "ORA2GCS_CHUNK_SIZE", Group: GroupEngine,
		Doc:   "rows per batch",
		ptr:   func(c *Config) any { return &c.ETL.ChunkSize },
		check: func(c *Config) string { return pipeline.CheckChunkRows(c.ETL.ChunkSize) }},
	{Key: "etl.parallel_tables", Flag: "parallel", Env: "ORA2GCS_PARALLEL", Group: GroupEngine,
		Doc:   "tables of a job at once",
		ptr:   func(c *Config) any { return &c.ETL.ParallelTables },
		check: func(c *Config) string { return jobs.CheckParallelTables(c.ETL.ParallelTables) }},
	{Key: "etl.table_parallelism", Flag: "table-parallelism", Env: "ORA2GCS_TABLE_PARALLELISM", Group: GroupEngine,
		Doc:   "ranges of one table read at once, all as of the job's snapshot",
		ptr:   func(c *Config) any { return &c.ETL.TableParallelism },
		check: func(c *Config) string { return jobs.CheckTableParallelism(c.ETL.TableParallelism) }},
	{Key: "etl.range_min_rows", Flag: "range-min-rows", Env: "ORA2GCS_RANGE_MIN_ROWS", Group: GroupEngine,
		Doc: "tables with fewer (estimated) rows are not split into ranges; 0: every table is split",
		ptr: func(c *Config) any { return &c.ETL.RangeMinRows },
		check: func(c *Config) string {
			if c.ETL.RangeMinRows < 0 {
				return fmt.Sprintf("%d is negative", c.ETL.RangeMinRows)
			}
			return ""
		}},
	{Key: "etl.part_bytes", Flag: "part-bytes", Env: "ORA2GCS_PART_BYTES", Group: GroupEngine,
		Doc:   "split each table into parts of about this many compressed bytes, {TABLE}.part-00001.jsonl.gz … (BigQuery loads gzip files up to 4 GB; e.g. 3500000000); 0 writes one object",
		ptr:   func(c *Config) any { return &c.ETL.PartBytes },
		check: func(c *Config) string { return pipeline.CheckPartBytes(c.ETL.PartBytes) }},
	{Key: "etl.retry_attempts", Flag: "retry-attempts", Env: "ORA2GCS_RETRY_ATTEMPTS", Group: GroupEngine,
		Doc:   "attempts of a table that fails transiently (read again from the start)",
		ptr:   func(c *Config) any { return &c.ETL.RetryAttempts },
		check: func(c *Config) string { return pipeline.CheckRetryAttempts(c.ETL.RetryAttempts) }},
	{Key: "etl.retry_backoff", Flag: "retry-backoff", Env: "ORA2GCS_RETRY_BACKOFF", Group: GroupEngine,
		Doc:   "pause before the second attempt of a table, doubling after each",
		ptr:   func(c *Config) any { return &c.ETL.RetryBackoff },
		check: func(c *Config) string { return pipeline.CheckRetryBackoff(c.ETL.RetryBackoff) }},
	{Key: "etl.gzip_level", Flag: "gzip-level", Env: "ORA2GCS_GZIP_LEVEL", Group: GroupEngine,
		Doc:   "gzip level 1 (fastest) … 9 (smallest), or -2 (Huffman only)",
		ptr:   func(c *Config) any { return &c.ETL.GzipLevel },
		check: func(c *Config) string { return specMsg(compression.CheckLevel(c.ETL.GzipLevel)) }},
	{Key: "etl.encode_workers", Flag: "workers", Env: "ORA2GCS_WORKERS", Group: GroupEngine,
		Doc:   "NDJSON encode workers per table; 0: one per CPU (GOMAXPROCS)",
		ptr:   func(c *Config) any { return &c.ETL.EncodeWorkers },
		check: func(c *Config) string { return pipeline.CheckEncodeWorkers(c.ETL.EncodeWorkers) }},
	{Key: "etl.fetch_timeout", Flag: "fetch-timeout", Env: "ORA2GCS_FETCH_TIMEOUT", Group: GroupEngine,
		Doc:   "a reader waiting longer for its query or next rows has stalled: a transient error, retried, then the table fails; 0s: no bound",
		ptr:   func(c *Config) any { return &c.ETL.FetchTimeout },
		check: func(c *Config) string { return optDurRange(c.ETL.FetchTimeout, time.Second, 24*time.Hour) }},
	{Key: "etl.snapshot_timeout", Flag: "snapshot-timeout", Env: "ORA2GCS_SNAPSHOT_TIMEOUT", Group: GroupEngine,
		Doc:   "bound on opening a job's snapshot (then the job fails); 0s: no bound",
		ptr:   func(c *Config) any { return &c.ETL.SnapshotTimeout },
		check: func(c *Config) string { return optDurRange(c.ETL.SnapshotTimeout, time.Second, time.Hour) }},
	{Key: "etl.compressor", Flag: "compressor", Env: "ORA2GCS_COMPRESSOR", Group: GroupEngine,
		Doc: `gzip writer: "auto" ("lines" at gzip level 1, else "blocks"), "lines" (the encode workers compress each line against the previous one: level 1 only), "blocks" (the encode workers run flate at the gzip level) or "pgzip" (github.com/klauspost/pgzip after the encoders); every one writes one gzip member per object`,
		ptr: func(c *Config) any { return &c.ETL.Compressor },
		check: func(c *Config) string {
			if c.ETL.Compressor == "" {
				return `"" is not auto, lines, blocks or pgzip`
			}
			return specMsg(compression.CheckName(c.ETL.Compressor))
		}},
	{Key: "etl.verify_compression", Flag: "verify-compression", Env: "ORA2GCS_VERIFY_COMPRESSION", Group: GroupEngine,
		Doc: "inflate every compressed segment again (Go's compress/flate) and compare length and CRC-32 with its input; a mismatch fails the table (lines and blocks compressors)",
		ptr: func(c *Config) any { return &c.ETL.VerifyCompression }},

	// encoding
	{Key: "etl.decimals_as_strings", Flag: "decimals-as-strings", Env: "ORA2GCS_DECIMALS_AS_STRINGS", Group: GroupEncoding,
		Doc: "write decimals as JSON strings instead of numbers (exact in every reader; BigQuery still loads them as NUMERIC/BIGNUMERIC)",
		ptr: func(c *Config) any { return &c.ETL.DecimalsAsStrings }},
	{Key: "etl.omit_nulls", Flag: "omit-nulls", Env: "ORA2GCS_OMIT_NULLS", Group: GroupEncoding,
		Doc: "leave NULL columns out of each line instead of writing null",
		ptr: func(c *Config) any { return &c.ETL.OmitNulls }},

	// the server
	{Key: "server.port", Flag: "port", Env: "ORA2GCS_PORT", Group: GroupServer,
		Doc: "the port the server listens on (all interfaces) when server.listen is empty",
		ptr: func(c *Config) any { return &c.Server.Port },
		check: func(c *Config) string {
			if c.Server.Listen == "" {
				return intRange(c.Server.Port, 0, 65535)
			}
			return ""
		}},
	{Key: "server.listen", Flag: "listen", Env: "ORA2GCS_LISTEN", Group: GroupServer,
		Doc: "host:port the server listens on; wins over server.port",
		ptr: func(c *Config) any { return &c.Server.Listen },
		check: func(c *Config) string {
			if c.Server.Listen != "" {
				if _, _, err := splitHostPort(c.Server.Listen); err != nil {
					return fmt.Sprintf("%q is not host:port", c.Server.Listen)
				}
			}
			return ""
		}},
	{Key: "server.read_timeout", Flag: "read-timeout", Env: "ORA2GCS_READ_TIMEOUT", Group: GroupServer,
		Doc:   "bound on reading one request",
		ptr:   func(c *Config) any { return &c.Server.ReadTimeout },
		check: func(c *Config) string { return durRange(c.Server.ReadTimeout, time.Second, time.Hour) }},
	{Key: "server.write_timeout", Flag: "write-timeout", Env: "ORA2GCS_WRITE_TIMEOUT", Group: GroupServer,
		Doc:   "bound on writing one response (event streams extend it per event)",
		ptr:   func(c *Config) any { return &c.Server.WriteTimeout },
		check: func(c *Config) string { return durRange(c.Server.WriteTimeout, time.Second, 24*time.Hour) }},
	{Key: "server.shutdown_grace", Flag: "shutdown-grace", Env: "ORA2GCS_SHUTDOWN_GRACE", Group: GroupServer,
		Doc:   "after SIGTERM/SIGINT a running job may finish for this long, then it is interrupted; 0s: wait until it ends",
		ptr:   func(c *Config) any { return &c.Server.ShutdownGrace },
		check: func(c *Config) string { return durRange(c.Server.ShutdownGrace, 0, time.Hour) }},
	{Key: "server.source_timeout", Flag: "source-timeout", Env: "ORA2GCS_SOURCE_TIMEOUT", Group: GroupServer,
		Doc:   "bound on an API request waiting for the source (tables, sample, creating a transport); then 503 source_unavailable",
		ptr:   func(c *Config) any { return &c.Server.SourceTimeout },
		check: func(c *Config) string { return durRange(c.Server.SourceTimeout, 100*time.Millisecond, time.Hour) }},
	{Key: "server.public_base_url", Flag: "public-base-url", Env: "ORA2GCS_PUBLIC_BASE_URL", Group: GroupServer,
		Doc: "the absolute URL clients reach the server at (behind a proxy); Location headers start with it. Empty: relative Location headers",
		ptr: func(c *Config) any { return &c.Server.PublicBaseURL }},
	{Key: "auth.api_key", NoFlag: noFlagSecret, Env: "API_KEY", Group: GroupServer, Secret: true,
		Doc: "the API key, or several separated by commas (at least 16 characters each); none: a key is generated into {data_dir}/api_key",
		ptr: func(c *Config) any { return &c.Auth.APIKey },
		check: func(c *Config) string {
			for i, k := range strings.Split(c.Auth.APIKey, ",") {
				if k = strings.TrimSpace(k); k != "" && len(k) < 16 {
					return fmt.Sprintf("key %d is shorter than 16 characters", i+1)
				}
			}
			return ""
		}},
	{Key: "auth.enable_bearer", Flag: "enable-bearer", Env: "ORA2GCS_ENABLE_BEARER", Group: GroupServer,
		Doc: `accept "Authorization: Bearer <key>" besides X-API-Key`,
		ptr: func(c *Config) any { return &c.Auth.EnableBearer }},
	{Key: "schedule.retention_days", Flag: "retention-days", Env: "ORA2GCS_RETENTION_DAYS", Group: GroupServer,
		Doc:   "how long job versions of transports that set no retention are kept",
		ptr:   func(c *Config) any { return &c.Schedule.RetentionDays },
		check: func(c *Config) string { return jobs.CheckRetentionDays(c.Schedule.RetentionDays) }},
}

// specMsg is the problem a compression rule reports, without its prefix.
func specMsg(err error) string {
	var serr *compression.SpecError
	if errors.As(err, &serr) {
		return serr.Msg
	}
	if err != nil {
		return err.Error()
	}
	return ""
}
