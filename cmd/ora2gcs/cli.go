package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/ora2gcs/ora2gcs/config"
)

// Exit codes, for scripts and schedulers (documented in the README).
const (
	exitOK        = 0 // success
	exitFailure   = 1 // the work failed (a table, the job, bad configuration)
	exitUsage     = 2 // the command line is wrong: unknown command or flag, extra argument
	exitTransient = 3 // the source or target is unavailable: retry later
)

var (
	// errUsage: the command line is wrong; the message was printed (exit 2).
	errUsage = errors.New("usage")
	// errHelp: help was asked for and printed on stdout (exit 0).
	errHelp = errors.New("help")
)

// command describes one subcommand for its usage text.
type command struct {
	name     string
	synopsis string // after "ora2gcs NAME"
	summary  string // one paragraph
}

var commands = map[string]command{
	"run": {"run", "[flags]", "Runs the tables as the next job version of a transport: one gzip NDJSON object, a BigQuery\n" +
		"schema per table and a manifest per job, under {bucket}/{transport}/{version}/."},
	"tables": {"tables", "[flags]", "Lists the source's readable tables with row counts (estimates unless --exact)."},
	"sample": {"sample", "[flags] TABLE", "Prints the first rows of TABLE as NDJSON, exactly as a job would write them."},
	"bench":  {"bench", "[flags]", "Runs the tables through the engine several times and reports rows/s, MB/s, CPU and peak RSS (median)."},
	"serve":  {"serve", "[flags]", "Serves the HTTP API and the dashboard."},
	"config": {"config", "show [flags]", "Prints every setting's effective value and where it came from (default, file:LINE, env VAR,\n" +
		"flag --NAME), reading the config file, the environment and the flags as every command does. Passwords and\n" +
		"API keys show as [REDACTED]. An invalid setting is shown, then reported (exit 1). Reference: docs/CONFIG.md."},
	"watermarks": {"watermarks", "list|rebuild [flags]", "Lists the watermark each incremental table of a transport reached (list), or rebuilds them\n" +
		"from the manifests in the transport's bucket (rebuild), for --transport/--transport-id or every transport."},
	"plan": {"plan", "[flags]", "Takes the job's snapshot, splits its tables into shards and stores the plan as\n" +
		"{bucket}/{transport}/{version}/_plan.json; prints {\"plan\": URI, \"shards\": N} with --json. Run 'ora2gcs shard'\n" +
		"for every shard, then 'ora2gcs finalize' (docs/DISTRIBUTED.md). A PostgreSQL snapshot lives only while this\n" +
		"process does: use --hold."},
	"shard": {"shard", "--plan URI [--index I] [flags]", "Extracts one shard of a plan at the plan's snapshot into a segment below _shards/ and\n" +
		"records it; a shard done already is not read again. The index defaults to CLOUD_RUN_TASK_INDEX or JOB_COMPLETION_INDEX."},
	"finalize": {"finalize", "--plan URI [flags]", "Checks that every shard of the plan has one accepted result, composes each table's\n" +
		"{TABLE}.jsonl.gz, writes {TABLE}.schema.json and _manifest.json and removes _shards/. A missing shard fails, named."},
}

// parseFlags parses args into fs. -h/--help prints the command's usage on
// stdout (errHelp, exit 0); a bad flag prints one line and a pointer to the
// help on stderr (errUsage, exit 2).
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	return parseFlagsEnv(fs, args, stdout, stderr, nil)
}

// parseFlagsEnv is parseFlags where the flags named in noEnv are taken
// from the command line only: the flags that say what to change (--cron,
// --clear, --days, …) must never come from a variable left in the
// environment.
func parseFlagsEnv(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, noEnv map[string]bool) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(fs, stdout)
		return errHelp
	case err != nil:
		fmt.Fprintf(stderr, "ora2gcs %s: %v\nRun 'ora2gcs help %s' for its flags.\n", fs.Name(), err, fs.Name())
		return errUsage
	}
	// a setting's flag given a value its parser refuses: the message config
	// gives for the same value in the environment or the file
	var bad error
	fs.Visit(func(f *flag.Flag) {
		if kv, ok := f.Value.(*knobValue); ok && kv.err != nil && bad == nil {
			bad = fmt.Errorf("--%s: %v", f.Name, kv.err)
		}
	})
	if bad != nil {
		return usageError(stderr, fs.Name(), "%v", bad)
	}
	return applyEnvFlags(fs, lookupEnv, stderr, noEnv)
}

// lookupEnv is os.LookupEnv (a variable for tests).
var lookupEnv = os.LookupEnv

// envName is the variable that sets a flag: the knob's variable
// (config.Knob.Env, e.g. ORACLE_USER for --oracle-username), else ORA2GCS_
// and the flag's name in upper case with '-' as '_' (--transport-id:
// ORA2GCS_TRANSPORT_ID).
func envName(flagName string) string {
	if k, ok := config.KnobByFlag(flagName); ok {
		return k.Env
	}
	return "ORA2GCS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnvFlags sets every flag not given on the command line (and not in
// noEnv) from its variable (envName), so the precedence is flag >
// environment > config file > default (loadConfig applies the file, the
// environment, then the flags given). A bad value is a usage error naming
// the variable: for a setting "VAR: KEY: problem", as config reports it;
// for another flag without the value (it may be a secret).
func applyEnvFlags(fs *flag.FlagSet, lookup func(string) (string, bool), stderr io.Writer, noEnv map[string]bool) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || noEnv[f.Name] || bad != nil {
			return
		}
		v, ok := lookup(envName(f.Name))
		if !ok || v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			bad = fmt.Errorf("%s is not a valid value for --%s", envName(f.Name), f.Name) // the value is not echoed: it may be a secret
			return
		}
		if kv, ok := f.Value.(*knobValue); ok {
			kv.fromEnv = true
			if kv.err != nil {
				bad = fmt.Errorf("%s: %v", envName(f.Name), kv.err)
			}
		}
	})
	if bad != nil {
		return usageError(stderr, fs.Name(), "%v", bad)
	}
	return nil
}

// usageError prints one line about a wrong command line and returns errUsage.
func usageError(stderr io.Writer, cmd, format string, args ...any) error {
	fmt.Fprintf(stderr, "ora2gcs %s: %s\nRun 'ora2gcs help %s' for its flags.\n", cmd, fmt.Sprintf(format, args...), cmd)
	return errUsage
}

// usageFooters replaces the closing note of a command's usage.
var usageFooters = map[string]string{}

// printUsage writes a command's usage and its own flags.
func printUsage(fs *flag.FlagSet, w io.Writer) {
	c := commands[fs.Name()]
	fmt.Fprintf(w, "Usage: ora2gcs %s %s\n\n%s\n\nFlags:\n", fs.Name(), c.synopsis, c.summary)
	printDefaults(fs, w)
	if f, ok := usageFooters[fs.Name()]; ok {
		fmt.Fprint(w, f)
		return
	}
	fmt.Fprint(w, "\nEvery flag can also be set as ORA2GCS_<FLAG> (e.g. ORA2GCS_GZIP_LEVEL; a setting's own variable where it\n"+
		"names one) or in the config file; a flag wins over the environment, which wins over the file (docs/CONFIG.md).\n")
}

// printDefaults is flag.PrintDefaults, naming a setting's type (int,
// string, duration) where PrintDefaults would say "value".
func printDefaults(fs *flag.FlagSet, w io.Writer) {
	fs.VisitAll(func(f *flag.Flag) {
		var b strings.Builder
		fmt.Fprintf(&b, "  -%s", f.Name)
		name, usage := flag.UnquoteUsage(f)
		if kv, ok := f.Value.(*knobValue); ok {
			if name = kv.k.Type(); name == "bool" {
				name = ""
			}
		}
		if name != "" {
			b.WriteString(" " + name)
		}
		if b.Len() <= 4 { // a one-letter bool flag fits on its line
			b.WriteString("\t")
		} else {
			b.WriteString("\n    \t")
		}
		b.WriteString(strings.ReplaceAll(usage, "\n", "\n    \t"))
		switch d := f.DefValue; {
		case d == "" || d == "0" || d == "false" || d == "0s":
		default:
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); isString {
					d = fmt.Sprintf("%q", d)
				}
			}
			fmt.Fprintf(&b, " (default %s)", d)
		}
		fmt.Fprintln(w, b.String())
	})
}

// splitTables splits a --tables list at commas outside double quotes, so
// `s."a,b",vbrp` is two tables.
func splitTables(s string) []string {
	var out []string
	var b strings.Builder
	quoted := false
	flush := func() {
		if t := strings.TrimSpace(b.String()); t != "" {
			out = append(out, t)
		}
		b.Reset()
	}
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			b.WriteRune(r)
		case r == ',' && !quoted:
			flush()
		default:
			b.WriteRune(r)
		}
	}
	flush()
	return out
}

// logger is the CLI's logger on w at --log-level (-v: info); warnings show
// by default.
func (o *options) logger(w io.Writer) (*slog.Logger, error) {
	name := o.logLevel
	if o.verbose && name == "warn" {
		name = "info"
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(name)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", name)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv})), nil
}
