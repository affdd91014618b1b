// Command benchmarks runs ora2gcs's end-to-end benchmark suites and
// prints one comparable table (see benchmarks/README.md):
//
//	make bench                                   # synth, ranges, PostgreSQL, many tables, API latency
//	go run ./benchmarks -bin bin/ora2gcs -suites synth -rows 50000
//	make bench-oracle ORACLE_DSN=oracle://user@host:1521/service [ORACLE_TABLE=SCHEMA.TABLE]
//
// Every suite runs the ora2gcs binary (-bin) as a user does: `bench` for
// the engine alone, `run` for a whole job, `serve` for the API, `tables`
// and `sample` for the catalog and the fidelity check. The go test -bench
// micro-benchmarks stay next to their code (make bench-go).
//
// Exit codes: 0 every suite ran, 1 a suite failed or the fidelity check
// found a mismatch, 2 a usage or configuration error (no DSN, a password in
// the DSN, no ora2gcs binary), 3 the database did not answer (temporary).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/benchkit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageErr is a usage or configuration error (exit code 2).
type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchmarks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "bin/ora2gcs", "the ora2gcs binary to measure (make build)")
	rows := fs.Int64("rows", 200_000, "rows of the synthetic VBRP table and of the PostgreSQL vbrp table")
	runs := fs.Int("runs", 3, "runs per suite; the table shows the median run")
	ranges := fs.Int("ranges", 4, "table parallelism of the ranges suites")
	suites := fs.String("suites", strings.Join(groupNames, ","), "suite groups to run: "+strings.Join(groupNames, ", "))
	pgDSN := fs.String("pg", os.Getenv("ORA2GCS_TEST_POSTGRES_DSN"), "PostgreSQL URL of the pg and many suites (default $ORA2GCS_TEST_POSTGRES_DSN; a password in it is passed to ora2gcs as PGPASSWORD)")
	manyTables := fs.Int("many-tables", 50, "tables of the many-tables suite")
	manyRows := fs.Int("many-rows", 20_000, "rows per table of the many-tables suite")
	prefix := fs.String("pg-prefix", "ora2gcs_bench", "names of the PostgreSQL tables the pg and many suites load and keep: PREFIX_vbrp, PREFIX_many_NNN")
	work := fs.String("work", "", "scratch directory for file targets and state databases (default: a new temporary directory, removed after)")
	asJSON := fs.Bool("json", false, "results as JSON on stdout instead of the table")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	source := fs.String("oracle", "", "run the source suite against this database instead: oracle://user@host:port/service (password in ORACLE_PASSWORD), oracle (ATP wallet from the ORACLE_* variables), or a postgres:// URL")
	table := fs.String("table", "", "source suite: the table to measure (default: the catalog's widest table with rows)")
	fetch := fs.String("fetch-sizes", "100,500,1000,2000,5000,10000", `source suite: fetch array sizes to sweep (oracle:// sources), or "none"`)
	sample := fs.Int("sample", 100, "source suite: rows `ora2gcs sample` reads for the fidelity check")
	maxRows := fs.Int64("fidelity-max-rows", 2_000_000, "source suite: export the table to files for the fidelity check only up to this many (estimated) rows")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "benchmarks: %s\n", oneLine(err))
		return code
	}
	if fs.NArg() > 0 {
		return fail(2, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	sourceMode := false
	fs.Visit(func(f *flag.Flag) { sourceMode = sourceMode || f.Name == "oracle" })
	if *runs < 1 || *rows < 1 || *ranges < 2 || *manyTables < 1 || *manyRows < 1 || *sample < 1 || *sample > 10000 {
		return fail(2, errors.New("-runs, -rows, -many-tables, -many-rows must be at least 1, -ranges at least 2, -sample 1..10000"))
	}
	if !pgPrefixRE.MatchString(*prefix) {
		return fail(2, errors.New("-pg-prefix: want a lower-case SQL name (letters, digits, _), at most 40 characters"))
	}
	groups := map[string]bool{}
	for _, g := range strings.Split(*suites, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if !contains(groupNames, g) {
			return fail(2, fmt.Errorf("-suites: unknown group %q (known: %s)", g, strings.Join(groupNames, ", ")))
		}
		groups[g] = true
	}
	if _, err := os.Stat(*bin); err != nil {
		return fail(2, fmt.Errorf("no ora2gcs binary at %s: build it first (make build) or pass -bin", *bin))
	}
	t := &tool{bin: *bin}
	hdr := header{when: time.Now(), version: binVersion(*bin)}
	var progress io.Writer = stderr
	if *quiet {
		progress = io.Discard
	}
	dir := *work
	if dir == "" {
		d, err := os.MkdirTemp("", "ora2gcs-benchmarks-")
		if err != nil {
			return fail(1, err)
		}
		defer os.RemoveAll(d)
		dir = d
	}

	if sourceMode {
		if strings.TrimSpace(*source) == "" {
			return fail(2, errors.New("no database: set ORACLE_DSN=oracle://user@host:1521/service (password in ORACLE_PASSWORD) or ORACLE_DSN=oracle (wallet from the ORACLE_* variables); see benchmarks/README.md"))
		}
		s := &sourceSuite{t: t, source: strings.TrimSpace(*source), table: *table, runs: *runs, ranges: *ranges,
			sample: *sample, maxRows: *maxRows, work: dir, progress: progress, fetchDef: 1000}
		if *fetch != "none" {
			sizes, err := benchkit.ParseSizes(*fetch)
			if err != nil {
				return fail(2, fmt.Errorf("-fetch-sizes: %v", err))
			}
			s.fetchSizes = sizes
		}
		if err := s.open(ctx); err != nil {
			var u usageErr
			if errors.As(err, &u) {
				return fail(2, err)
			}
			return fail(exitCode(err), err)
		}
		if s.db != nil {
			defer s.db.Close()
		}
		hdr.title = "ora2gcs source benchmark (make bench-oracle)"
		hdr.params = fmt.Sprintf("runs=%d (median) ranges=%d sample=%d", *runs, *ranges, *sample)
		rep, err := s.run(ctx)
		if err != nil {
			return fail(exitCode(err), err)
		}
		if *asJSON {
			writeJSON(stdout, hdr, rep.results, rep)
		} else {
			rep.write(stdout, hdr)
		}
		for _, r := range rep.results {
			if strings.HasPrefix(r.Note, "error: ") {
				return 1
			}
		}
		if rep.failed {
			return 1
		}
		return 0
	}

	hdr.title = "ora2gcs end-to-end benchmarks (make bench)"
	hdr.params = fmt.Sprintf("rows=%d runs=%d (median) ranges=%d many=%d×%d", *rows, *runs, *ranges, *manyTables, *manyRows)
	if *pgDSN != "" && (groups["pg"] || groups["many"]) {
		hdr.params += " postgres=" + benchkit.Redacted(*pgDSN)
	}
	results, err := endToEnd(ctx, t, settings{rows: *rows, runs: *runs, ranges: *ranges, pgDSN: *pgDSN,
		manyTables: *manyTables, manyRows: *manyRows, prefix: *prefix, groups: groups, work: dir, progress: progress})
	if *asJSON {
		writeJSON(stdout, hdr, results, nil)
	} else {
		hdr.write(stdout)
		fmt.Fprintln(stdout)
		benchkit.Print(stdout, results)
	}
	if err != nil {
		return fail(exitCode(err), err)
	}
	return 0
}

// open checks the source and opens the database next to ora2gcs (its CPU
// and COUNT(*)); a database that cannot be opened leaves s.db nil and the
// reason in s.dbErr (ora2gcs's own catalog step reports the error).
func (s *sourceSuite) open(ctx context.Context) error {
	u, err := url.Parse(s.source)
	switch {
	case s.source == "oracle":
	case err != nil:
		return usageErr{"the DSN is not a URL: want oracle://user@host:1521/service (password in ORACLE_PASSWORD)"}
	case u.Scheme == "oracle":
		if _, has := u.User.Password(); has {
			return usageErr{"the DSN must not contain a password (it would show in process lists and in the report): remove it and set ORACLE_PASSWORD"}
		}
	case u.Scheme == "postgres" || u.Scheme == "postgresql":
		pg, err := openPG(ctx, s.source)
		if err != nil {
			return err
		}
		s.source = pg.childURL
		s.env = pg.childEnv()
		s.db = pgDatabase{pg}
		return nil
	default:
		return usageErr{fmt.Sprintf("source scheme %q: want oracle://user@host:1521/service, oracle, or postgres://…", u.Scheme)}
	}
	db, err := openOracleDB(ctx, s.source)
	if err != nil {
		s.dbErr = err
		return nil
	}
	s.db = db
	return nil
}

// pgPrefixRE is what -pg-prefix accepts: a name PostgreSQL keeps as it is
// (unquoted, lower case) with room for "_many_NNN".
var pgPrefixRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,39}$`)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// binVersion is the first line of `ora2gcs --version`.
func binVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return bin + " (version unknown)"
	}
	return strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0]
}

// hostLine describes the machine: OS, architecture, CPUs, memory, load.
func hostLine() string {
	s := fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				var kb int64
				if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb); err == nil {
					s += fmt.Sprintf(", %.1f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			s += ", load " + strings.Join(f[:3], " ")
		}
	}
	return s
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func writeJSON(w io.Writer, h header, results []benchkit.Result, rep *report) {
	v := map[string]any{"title": h.title, "time": h.when.UTC().Format(time.RFC3339), "ora2gcs": h.version,
		"host": hostLine(), "params": h.params, "results": results}
	if rep != nil {
		v["source"] = benchkit.Redacted(rep.source)
		v["database"] = rep.dbVersion
		v["db_cpu"] = rep.dbCPU
		v["table"] = rep.table
		v["fidelity"] = rep.fidelity
		v["fidelity_ok"] = !rep.failed
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
