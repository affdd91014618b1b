package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/internal/connect"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/discard"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
	"github.com/ora2gcs/ora2gcs/stages"
)

// options are the flags every command shares; each overrides the config
// file and the environment only when given. The settings' flags are
// declared from config.Knobs; the fields below are those a command reads
// before the configuration is loaded.
type options struct {
	fs         *flag.FlagSet
	configPath string
	source     string
	target     string
	bucket     string
	tables     string
	rows       int64
	tablePar   int
	dataDir    string
	json       bool
	quiet      bool
	compressor string
	// verifyCompression inflates every compressed segment again and
	// compares it with its input (compression.Spec.Verify)
	verifyCompression bool
	logLevel          string
	verbose           bool

	// lazySource (serve): a database source connects on first use and
	// again while it is down, instead of failing the command at start.
	lazySource bool
}

// Flag groups: each command declares only the flags it uses.
const (
	flagsSource   = 1 << iota // --config, --tables, --rows and the source's settings (config.GroupSource)
	flagsTarget               // the target's settings (config.GroupTarget)
	flagsEngine               // parallelism, compression, encoding, parts, ranges (config.GroupEngine)
	flagsOutput               // --json, --quiet, --log-level, -v
	flagsEncoding             // --decimals-as-strings, --omit-nulls (also part of the engine)
	flagsServer               // the server's settings (config.GroupServer)
	flagsAll      = flagsSource | flagsTarget | flagsEngine | flagsOutput | flagsEncoding
)

// knobGroups maps the flag groups to the settings' groups.
var knobGroups = map[config.Group]int{
	config.GroupSource:   flagsSource,
	config.GroupTarget:   flagsTarget,
	config.GroupEngine:   flagsEngine,
	config.GroupEncoding: flagsEngine | flagsEncoding,
	config.GroupServer:   flagsServer,
}

// addCommonFlags declares every shared flag (the server's set).
func addCommonFlags(fs *flag.FlagSet) *options { return addFlags(fs, flagsAll|flagsServer) }

// addFlags declares the shared flags of the given groups; the fields of the
// other groups keep their zero values.
func addFlags(fs *flag.FlagSet, groups int) *options {
	o := &options{fs: fs, logLevel: "warn"}
	if groups&flagsSource != 0 {
		fs.StringVar(&o.configPath, "config", "", "config file (the spec's config.yaml layout; ${VAR} is expanded); default ./config.yaml, then $XDG_CONFIG_HOME/ora2gcs/config.yaml, then /etc/ora2gcs/config.yaml, the first that exists")
		fs.StringVar(&o.tables, "tables", "", `comma-separated tables, schema.table, quoted parts keep their case ('s."Mixed"'); default: every table of the synthetic source; required for databases`)
		fs.Int64Var(&o.rows, "rows", 0, "rows per synthetic table (default 100000)")
	}
	for _, k := range config.Knobs() {
		if k.Flag != "" && knobGroups[k.Group]&groups != 0 {
			o.knobFlag(k, "")
		}
	}
	if groups&flagsOutput != 0 {
		fs.BoolVar(&o.json, "json", false, "machine-readable JSON on stdout")
		fs.BoolVar(&o.quiet, "quiet", false, "no progress output")
		fs.StringVar(&o.logLevel, "log-level", "warn", "log lines on stderr at this level and above: debug, info, warn, error")
		fs.BoolVar(&o.verbose, "v", false, "verbose: same as --log-level info")
	}
	return o
}

// knobFlag declares the flag of a setting (usage: its documentation unless
// given). Its value is kept as given and handed to config.Resolve, which
// parses it with the knob's own parser (the one the environment and the
// file use); bind copies it into the options field a command reads before
// the configuration is loaded.
func (o *options) knobFlag(k config.Knob, usage string) {
	if usage == "" {
		usage = k.Doc
	}
	usage += fmt.Sprintf(" (default %s; env %s; config %s)", quoteEmpty(k.DefaultValue()), k.Env, k.Key)
	v := &knobValue{k: k}
	switch k.Flag {
	case "verify-compression":
		v.bind = func(c *config.Config) { o.verifyCompression = c.ETL.VerifyCompression }
	case "table-parallelism":
		v.bind = func(c *config.Config) { o.tablePar = c.ETL.TableParallelism }
	case "source":
		v.bind = func(c *config.Config) { o.source = c.Source }
	case "target":
		v.bind = func(c *config.Config) { o.target = c.Target }
	case "bucket":
		v.bind = func(c *config.Config) { o.bucket = c.GCS.DefaultBucket }
	case "data-dir":
		v.bind = func(c *config.Config) { o.dataDir = c.DataDir }
	case "compressor":
		v.bind = func(c *config.Config) { o.compressor = c.ETL.Compressor }
	}
	o.fs.Var(v, k.Flag, usage)
}

// knobValue is the flag.Value of a setting's flag. Set never fails: a
// value the knob's parser refuses is kept in err, and parseFlagsEnv and
// applyEnvFlags report it as "--FLAG: KEY: problem" or "VAR: KEY:
// problem", the message config gives for the same value in the
// environment or the file.
type knobValue struct {
	k       config.Knob
	raw     string
	err     error
	fromEnv bool // set by applyEnvFlags from the knob's variable
	bind    func(*config.Config)
}

func (v *knobValue) String() string {
	if v == nil {
		return ""
	}
	return v.raw
}

func (v *knobValue) Set(s string) error {
	var scratch config.Config
	v.raw, v.err, v.fromEnv = s, v.k.Set(&scratch, s), false
	if v.err == nil && v.bind != nil {
		v.bind(&scratch)
	}
	return nil
}

// IsBoolFlag lets a bool setting's flag stand alone (--omit-nulls).
func (v *knobValue) IsBoolFlag() bool { return v.k.Type() == "bool" }

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// loadConfig reads defaults, the config file, the environment, then flags.
func (o *options) loadConfig() (config.Config, error) {
	cfg, _, err := o.resolveConfig()
	return cfg, err
}

// resolveConfig is loadConfig with where each setting came from.
func (o *options) resolveConfig() (config.Config, config.Origins, error) {
	if o.configPath == "" {
		o.configPath = defaultConfigPath()
	}
	// the knob flags given on the command line; those applyEnvFlags set from
	// the environment are the environment's (config reads it itself)
	// (a command's own flag named like a setting, e.g. the state commands'
	// --data-dir and --target, sets the setting too)
	flags := map[string]string{}
	o.fs.Visit(func(f *flag.Flag) {
		if v, ok := f.Value.(*knobValue); ok {
			if !v.fromEnv {
				flags[f.Name] = v.raw
			}
		} else if _, ok := config.KnobByFlag(f.Name); ok {
			flags[f.Name] = f.Value.String()
		}
	})
	cfg, origins, err := config.Layer(config.Sources{File: o.configPath, Lookup: lookupEnv, Flags: flags})
	if err != nil {
		return cfg, origins, err
	}
	if o.target != "" && o.target != cfg.Target { // a target a command sets itself (tables, sample, bench: null)
		cfg.Target = o.target
		origins["target"] = config.Origin{Kind: config.FromFlag, Name: "--target"}
	}
	if cfg.Target == "null" {
		// the discard target is for benchmarks only; config validation knows file and gcs
		t := cfg.Target
		cfg.Target = "file://./data"
		err := cfg.ValidateFrom(origins)
		cfg.Target = t
		return cfg, origins, err
	}
	return cfg, origins, cfg.ValidateFrom(origins)
}

// defaultConfigPath is the first existing file of ./config.yaml,
// $XDG_CONFIG_HOME/ora2gcs/config.yaml (~/.config/…) and
// /etc/ora2gcs/config.yaml, or "" (embedded defaults only).
func defaultConfigPath() string {
	cands := []string{"config.yaml"}
	if d, err := os.UserConfigDir(); err == nil {
		cands = append(cands, filepath.Join(d, "ora2gcs", "config.yaml"))
	}
	cands = append(cands, "/etc/ora2gcs/config.yaml")
	for _, p := range cands {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// env is what a command works with: a source connector and a way to make
// sinks, built from the configuration.
type env struct {
	cfg    config.Config
	conn   pipeline.Connector
	pcfg   pipeline.Config
	ndjson stages.NDJSONOptions
	// codec compresses every object, part and range segment (--compressor,
	// --gzip-level, --verify-compression, validated by the configuration)
	codec  compression.Codec
	bucket string
	tables []string
	sink   func(ctx context.Context, bucket string) (pipeline.Sink, error)
	// server: the env serves the API (retention is enforced with GCS
	// lifecycle rules only then)
	server bool
	// lifecycle: a retention change updates the bucket's lifecycle rule
	// (`ora2gcs transports retention`; serve does it too)
	lifecycle bool
	closers   []func() error

	// sourceErr is why a lazy source could not connect at start (serve
	// runs without it until it comes back).
	sourceErr error
	// configPath is the config file read ("" none)
	configPath string
}

func (o *options) open(ctx context.Context) (*env, error) {
	cfg, err := o.loadConfig()
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, configPath: o.configPath, pcfg: cfg.Pipeline(), bucket: cfg.GCS.DefaultBucket,
		// BigQuery: every object is written with its {TABLE}.schema.json, so
		// every value must load into it exactly (docs/TYPES.md)
		ndjson: stages.NDJSONOptions{DecimalAsString: cfg.ETL.DecimalsAsStrings, OmitNulls: cfg.ETL.OmitNulls, BigQuery: true}}
	// the file's (and environment's) values, overridden by flags in loadConfig
	o.compressor, o.verifyCompression = cfg.ETL.Compressor, cfg.ETL.VerifyCompression
	if e.codec, err = compression.New(compression.Spec{Name: cfg.ETL.Compressor, Level: cfg.ETL.GzipLevel, Verify: cfg.ETL.VerifyCompression}); err != nil {
		return nil, err // config.Validate already refused it
	}
	if o.tables != "" {
		e.tables = splitTables(o.tables)
	}
	if kind := databaseKind(cfg.Source); o.lazySource && kind != "" {
		lc := newLazyConnector(kind, func(ctx context.Context) (pipeline.Connector, error) { return openConnector(ctx, cfg, o.rows) })
		actx, cancel := context.WithTimeout(ctx, startConnectWait)
		_, e.sourceErr = lc.get(actx)
		cancel()
		if e.sourceErr != nil && !isOutage(e.sourceErr) {
			return nil, e.sourceErr
		}
		e.conn = lc
	} else if e.conn, err = openConnector(ctx, cfg, o.rows); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.conn.Close)
	if e.sink, err = e.openTarget(ctx, cfg.Target); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *env) Close() error {
	var errs []error
	for i := len(e.closers) - 1; i >= 0; i-- {
		errs = append(errs, e.closers[i]())
	}
	return errors.Join(errs...)
}

func (e *env) readOptions() pipeline.ReadOptions {
	return pipeline.ReadOptions{BatchRows: e.pcfg.ChunkRows, FetchArraySize: e.pcfg.FetchArraySize, Raw: true}
}

// resolveTables describes the requested tables (default: all of synth).
func (e *env) resolveTables(ctx context.Context) ([]pipeline.TableInfo, error) {
	names := e.tables
	if len(names) == 0 {
		if e.conn.Kind() != "synth" {
			return nil, errors.New("--tables is required for a database source (see 'ora2gcs tables')")
		}
		all, err := e.conn.Tables(ctx, false)
		if err != nil {
			return nil, err
		}
		for _, t := range all {
			names = append(names, t.Name)
		}
	}
	out := make([]pipeline.TableInfo, 0, len(names))
	for _, n := range names {
		t, err := e.conn.Describe(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// startConnectWait bounds serve's first connection attempt.
var startConnectWait = 10 * time.Second

// isOutage tells a source that does not answer (serve starts without it)
// from a configuration error (serve refuses to start).
func isOutage(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) || strings.Contains(err.Error(), "connect")
}

// oracleSupport says whether this build can read Oracle.
const oracleSupport = connect.OracleSupport

// databaseKind is "postgres" or "oracle" for a database source, else "".
func databaseKind(src string) string { return connect.DatabaseKind(src) }

// openConnector builds the source named by cfg.Source.
func openConnector(ctx context.Context, cfg config.Config, synthRows int64) (pipeline.Connector, error) {
	return connect.Source(ctx, cfg, synthRows)
}

// openTarget returns a sink factory for cfg.Target.
func (e *env) openTarget(ctx context.Context, target string) (func(context.Context, string) (pipeline.Sink, error), error) {
	switch {
	case target == "null":
		return func(context.Context, string) (pipeline.Sink, error) { return discard.New(), nil }, nil
	case strings.HasPrefix(target, "file://"):
		dir := strings.TrimPrefix(target, "file://")
		if dir == "" {
			dir = "."
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		return func(_ context.Context, bucket string) (pipeline.Sink, error) { return file.New(abs, bucket) }, nil
	case target == "gcs" || strings.HasPrefix(target, "gs://"):
		if b := strings.TrimPrefix(target, "gs://"); b != target && b != "" {
			e.bucket = strings.TrimSuffix(b, "/")
		}
		var opts []option.ClientOption
		if e.cfg.GCS.CredentialsFile != "" {
			opts = append(opts, option.WithCredentialsFile(e.cfg.GCS.CredentialsFile))
		}
		if e.cfg.GCS.Endpoint != "" {
			opts = append(opts, option.WithEndpoint(e.cfg.GCS.Endpoint))
		}
		client, err := storage.NewClient(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("gcs: client: %w (set GOOGLE_APPLICATION_CREDENTIALS or run 'gcloud auth application-default login')", err)
		}
		e.closers = append(e.closers, client.Close)
		md, err := gcs.NewMetadata(ctx, opts...) // the bucket's lifecycle rules, as the bucket holds them
		if err != nil {
			return nil, err
		}
		return func(_ context.Context, bucket string) (pipeline.Sink, error) {
			s, err := gcs.NewWithClient(client, gcs.Config{Bucket: bucket, ChunkSize: e.cfg.GCS.ChunkSize})
			if err != nil {
				return nil, err
			}
			return s.WithMetadata(md), nil
		}, nil
	}
	return nil, fmt.Errorf("unknown target %q: use file://DIR, gcs, gs://BUCKET or null", target)
}
