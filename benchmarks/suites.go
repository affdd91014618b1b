package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/benchkit"
)

// settings are the end-to-end suites' parameters (flags of main).
type settings struct {
	rows       int64  // rows of the synthetic VBRP and of the PostgreSQL vbrp table
	runs       int    // runs per suite; the median is reported
	ranges     int    // table parallelism of the ranges suites
	pgDSN      string // PostgreSQL URL ("" skips the PostgreSQL suites)
	manyTables int    // tables of the many-tables suite
	manyRows   int    // rows per table of the many-tables suite
	prefix     string // names of the PostgreSQL tables: PREFIX_vbrp, PREFIX_many_NNN
	groups     map[string]bool
	work       string    // scratch directory (file targets, state databases)
	progress   io.Writer // one line per run ("" discards)
}

// groupNames are the suite groups of -suites, in the order they run.
var groupNames = []string{"synth", "ranges", "pg", "many", "api"}

// endToEnd runs the selected suites and returns one result per suite, in
// order; a suite that cannot run (no PostgreSQL) or fails has a result
// without runs whose note says why, and the first failure is returned too.
func endToEnd(ctx context.Context, t *tool, s settings) ([]benchkit.Result, error) {
	var out []benchkit.Result
	var first error
	add := func(name string, runs []benchkit.Run, note string, err error) {
		if err != nil {
			out = append(out, benchkit.Result{Suite: name, DBCPUSec: -1, Note: "error: " + err.Error()})
			if first == nil {
				first = fmt.Errorf("%s: %w", name, err)
			}
			return
		}
		r := benchkit.Summarize(name, runs)
		r.Note = note
		out = append(out, r)
		fmt.Fprintf(s.progress, "%s: %.0f rows/s (median of %d)\n", name, r.RowsPerSec, r.Runs)
	}
	skip := func(name, why string) {
		out = append(out, benchkit.Result{Suite: name, DBCPUSec: -1, Note: "skipped: " + why})
	}
	rows := strconv.FormatInt(s.rows, 10)
	synth := []string{"--source", "synth", "--tables", "VBRP", "--rows", rows}
	if s.groups["synth"] {
		for _, target := range []string{"null", "file", "emulator"} {
			name := "synth VBRP → " + target
			runs, err := repeat(s.runs, func(i int) (benchkit.Run, error) {
				tgt := target
				if target == "file" {
					dir := filepath.Join(s.work, fmt.Sprintf("synth-file-%d", i))
					defer os.RemoveAll(dir)
					tgt = "file://" + dir
				}
				return t.benchOnce(ctx, nil, append(synth, "--target", tgt)...)
			})
			note := ""
			if target == "emulator" {
				note = "in-process fake-gcs-server"
			}
			add(name, runs, note, err)
		}
	}
	if s.groups["ranges"] {
		for _, p := range []int{1, s.ranges} {
			name := fmt.Sprintf("synth VBRP ranges×%d → file (run)", p)
			runs, err := repeat(s.runs, func(i int) (benchkit.Run, error) {
				return runRanged(ctx, t, nil, nil, s.work, fmt.Sprintf("synth-ranges-%d-%d", p, i), p, synth...)
			})
			add(name, runs, "a job: state database, manifest, schema file", err)
		}
	}
	pgSuites := []string{"pg COPY TO STDOUT (baseline)", "pg vbrp → null (COPY reader)", "pg vbrp → null (rows reader)",
		fmt.Sprintf("pg vbrp ranges×%d → file (run)", s.ranges)}
	manyName := fmt.Sprintf("pg %d tables × %d rows → file (run)", s.manyTables, s.manyRows)
	if (s.groups["pg"] || s.groups["many"]) && s.pgDSN == "" {
		if s.groups["pg"] {
			for _, n := range pgSuites {
				skip(n, "no PostgreSQL (set ORA2GCS_TEST_POSTGRES_DSN or -pg)")
			}
		}
		if s.groups["many"] {
			skip(manyName, "no PostgreSQL (set ORA2GCS_TEST_POSTGRES_DSN or -pg)")
		}
	} else if s.groups["pg"] || s.groups["many"] {
		pg, err := openPG(ctx, s.pgDSN)
		if err != nil {
			return out, err
		}
		defer pg.close()
		env := pg.childEnv()
		if s.groups["pg"] {
			table := s.prefix + "_vbrp"
			if err := pg.loadVBRP(ctx, table, s.rows, s.progress); err != nil {
				return out, err
			}
			runs, err := repeat(s.runs, func(int) (benchkit.Run, error) {
				return measured(ctx, pg.meter(), settle, func() (benchkit.Run, error) { return pg.copyOut(ctx, table) })
			})
			add(pgSuites[0], runs, "pgx CopyTo, MB/s of COPY text", err)
			src := []string{"--source", pg.childURL, "--tables", table, "--target", "null"}
			for i, reader := range []string{"copy", "rows"} {
				runs, err := repeat(s.runs, func(int) (benchkit.Run, error) {
					return measured(ctx, pg.meter(), settle, func() (benchkit.Run, error) {
						return t.benchOnce(ctx, append(env, "ORA2GCS_PG_READER="+reader), src...)
					})
				})
				add(pgSuites[1+i], runs, "", err)
			}
			runs, err = repeat(s.runs, func(i int) (benchkit.Run, error) {
				return runRanged(ctx, t, env, pg.meter(), s.work, fmt.Sprintf("pg-ranges-%d", i), s.ranges,
					"--source", pg.childURL, "--tables", table)
			})
			add(pgSuites[3], runs, "", err)
		}
		if s.groups["many"] {
			names, err := pg.loadMany(ctx, s.prefix, s.manyTables, s.manyRows, s.progress)
			if err != nil {
				return out, err
			}
			runs, err := repeat(s.runs, func(i int) (benchkit.Run, error) {
				return measured(ctx, pg.meter(), settle, func() (benchkit.Run, error) {
					dir := filepath.Join(s.work, fmt.Sprintf("pg-many-%d", i))
					defer os.RemoveAll(dir)
					j, c, err := t.runJob(ctx, env, filepath.Join(dir, "state"), "--source", pg.childURL,
						"--tables", strings.Join(names, ","), "--parallel", "4", "--target", "file://"+filepath.Join(dir, "out"))
					if err != nil {
						return benchkit.Run{}, err
					}
					return j.asRun(c)
				})
			})
			add(manyName, runs, "4 tables at once", err)
		}
	}
	if s.groups["api"] {
		r, note, err := apiLatency(ctx, t, s.rows, s.work, s.progress)
		var runs []benchkit.Run
		if err == nil {
			runs = []benchkit.Run{r}
		}
		add("API GET during a job (serve, synth VBRP → null)", runs, note, err)
	}
	return out, first
}

// settle is how long the database's processes get to end and be reaped
// after a command, before its CPU is read again.
const settle = 300 * time.Millisecond

// repeat calls f n times and stops at the first error.
func repeat(n int, f func(i int) (benchkit.Run, error)) ([]benchkit.Run, error) {
	var runs []benchkit.Run
	for i := 0; i < n; i++ {
		r, err := f(i)
		if err != nil {
			return runs, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// runRanged runs one job of `ora2gcs run` into a file target below work
// with the given table parallelism (ranges from any table size), removes
// its output, and checks that a parallelism above 1 really read ranges.
func runRanged(ctx context.Context, t *tool, env []string, m meter, work, name string, parallelism int, src ...string) (benchkit.Run, error) {
	dir := filepath.Join(work, name)
	defer os.RemoveAll(dir)
	return measured(ctx, m, settle, func() (benchkit.Run, error) {
		args := append(append([]string(nil), src...), "--target", "file://"+filepath.Join(dir, "out"),
			"--table-parallelism", strconv.Itoa(parallelism), "--range-min-rows", "1")
		j, c, err := t.runJob(ctx, env, filepath.Join(dir, "state"), args...)
		if err != nil {
			return benchkit.Run{}, err
		}
		if parallelism > 1 && (len(j.Tables) == 0 || len(j.Tables[0].Ranges) < 2) {
			return benchkit.Run{}, fmt.Errorf("the job read no ranges (table parallelism %d)", parallelism)
		}
		return j.asRun(c)
	})
}
