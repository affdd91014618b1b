package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/benchkit"
)

// database is the source database seen directly, next to ora2gcs: its
// version, its CPU (when visible) and a COUNT(*) for the fidelity check.
type database interface {
	meter
	Version(ctx context.Context) (string, error)
	// Count is SELECT COUNT(*) of the table schema.name (exact names).
	Count(ctx context.Context, schema, name string) (int64, error)
	// CPUScope says what CPU reads: "instance", "this server's processes", …
	CPUScope() string
	Close() error
}

// sourceSuite is the suite a user runs against their own database (make
// bench-oracle): the catalog, one wide table in full and as ranges, a
// fetch array size sweep, and a fidelity spot check. Every step runs an
// ora2gcs command; db (nil when it cannot be opened) adds the database's
// CPU and COUNT(*).
type sourceSuite struct {
	t          *tool
	env        []string
	source     string // as ora2gcs takes it: oracle://user@host:port/service, oracle, postgres://…
	table      string // "" picks the widest table of the catalog
	runs       int
	ranges     int
	fetchSizes []int // nil: no sweep
	fetchDef   int   // the configured fetch array size, always in the sweep
	sample     int
	maxRows    int64 // the fidelity check exports tables up to this many rows
	db         database
	dbErr      error // why db is nil
	work       string
	progress   io.Writer
}

// catalogTable is one table of `ora2gcs tables --json` (pipeline.TableInfo).
type catalogTable struct {
	Schema      string `json:"schema"`
	Name        string `json:"name"`
	ColumnCount int    `json:"column_count"`
	Rows        int64  `json:"rows"`
}

// report is what the suite found, printed by write.
type report struct {
	source    string
	dbVersion string
	dbCPU     string // what "db CPU s" means, or why it is not visible
	table     catalogTable
	results   []benchkit.Result
	fidelity  []string
	failed    bool // a fidelity check failed
}

// run performs the suite. An error of the catalog step (nothing works
// without it) ends it; a later step that fails is reported in its row and
// the suite goes on.
func (s *sourceSuite) run(ctx context.Context) (*report, error) {
	rep := &report{source: s.source, dbCPU: "not visible"}
	if s.db != nil {
		rep.dbCPU = s.db.CPUScope()
		if v, err := s.db.Version(ctx); err == nil {
			rep.dbVersion = v
		}
		if _, err := s.db.CPU(ctx); err != nil {
			rep.dbCPU = "not visible: " + oneLine(err)
		}
	} else if s.dbErr != nil {
		rep.dbCPU = "not visible: " + oneLine(s.dbErr)
	}
	var m meter
	if s.db != nil && !strings.HasPrefix(rep.dbCPU, "not visible") {
		m = s.db
	}

	// catalog
	var cat []catalogTable
	var catRun benchkit.Run
	c, err := s.t.run(ctx, s.env, "tables", "--source", s.source, "--json")
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal(c.stdout, &cat); err != nil {
		return rep, fmt.Errorf("ora2gcs tables: unexpected output: %w", err)
	}
	catRun = benchkit.Run{Rows: int64(len(cat)), Seconds: c.wall.Seconds(), CPU: c.cpu, PeakRSS: c.rss}
	cr := benchkit.Summarize("catalog (ora2gcs tables)", []benchkit.Run{catRun})
	cr.RowsPerSec, cr.CPUusRow = 0, 0
	cr.Note = fmt.Sprintf("%d tables listed in %.2f s (rows column: tables)", len(cat), c.wall.Seconds())
	rep.results = append(rep.results, cr)

	tbl, err := pickTable(cat, s.table)
	if err != nil {
		return rep, err
	}
	rep.table = tbl
	name := quoteIdent(tbl.Schema, tbl.Name)
	fmt.Fprintf(s.progress, "table %s.%s: %d columns, ~%d rows\n", tbl.Schema, tbl.Name, tbl.ColumnCount, tbl.Rows)

	add := func(suite string, runs []benchkit.Run, note string, err error) {
		if err != nil {
			rep.results = append(rep.results, benchkit.Result{Suite: suite, DBCPUSec: -1, Note: "error: " + oneLine(err)})
			return
		}
		r := benchkit.Summarize(suite, runs)
		r.Note = note
		rep.results = append(rep.results, r)
		fmt.Fprintf(s.progress, "%s: %.0f rows/s (median of %d)\n", suite, r.RowsPerSec, r.Runs)
	}

	// the table in full: bench (the engine alone), then run (a job into files)
	runs, err := repeat(s.runs, func(int) (benchkit.Run, error) {
		return measured(ctx, m, settle, func() (benchkit.Run, error) {
			return s.t.benchOnce(ctx, s.env, "--source", s.source, "--tables", name, "--target", "null")
		})
	})
	add("table → null (bench)", runs, "", err)

	fidelity := tbl.Rows >= 0 && tbl.Rows <= s.maxRows
	var fullDir, rangesDir string
	for _, p := range []int{1, s.ranges} {
		suite := "table → file (run)"
		if p > 1 {
			suite = fmt.Sprintf("table ranges×%d → file (run)", p)
		}
		var keep string
		runs, err := repeat(s.runs, func(i int) (benchkit.Run, error) {
			dir := filepath.Join(s.work, fmt.Sprintf("p%d-%d", p, i))
			last := i == s.runs-1 && fidelity
			if !last {
				defer os.RemoveAll(dir)
			} else {
				keep = filepath.Join(dir, "out")
			}
			return measured(ctx, m, settle, func() (benchkit.Run, error) {
				j, c, err := s.t.runJob(ctx, s.env, filepath.Join(dir, "state"), "--source", s.source, "--tables", name,
					"--target", "file://"+filepath.Join(dir, "out"), "--table-parallelism", strconv.Itoa(p), "--range-min-rows", "1")
				if err != nil {
					return benchkit.Run{}, err
				}
				if p > 1 && (len(j.Tables) == 0 || len(j.Tables[0].Ranges) < 2) {
					return benchkit.Run{}, fmt.Errorf("the job read no ranges (table parallelism %d): the source cannot split this table", p)
				}
				return j.asRun(c)
			})
		})
		add(suite, runs, "CPU s, peak RSS: the whole ora2gcs process", err)
		if err == nil && p == 1 {
			fullDir = keep
		} else if err == nil {
			rangesDir = keep
		}
	}

	// fetch array size sweep
	if s.fetchSizes != nil {
		for _, n := range benchkit.SweepPlan(s.fetchSizes, s.fetchDef) {
			suite := fmt.Sprintf("fetch_array_size=%d → null (bench)", n)
			src, err := withFetchSize(s.source, n)
			if err != nil {
				rep.results = append(rep.results, benchkit.Result{Suite: "fetch array size sweep", DBCPUSec: -1, Note: "skipped: " + err.Error()})
				break
			}
			runs, err := repeat(1, func(int) (benchkit.Run, error) {
				return measured(ctx, m, settle, func() (benchkit.Run, error) {
					return s.t.benchOnce(ctx, s.env, "--source", src, "--tables", name, "--target", "null")
				})
			})
			note := ""
			if n == s.fetchDef {
				note = "the configured size"
			}
			add(suite, runs, note, err)
		}
	}

	// fidelity spot check
	switch {
	case !fidelity:
		rep.fidelity = append(rep.fidelity, fmt.Sprintf("skipped: the table has ~%d rows, more than -fidelity-max-rows %d", tbl.Rows, s.maxRows))
	case fullDir == "" || rangesDir == "":
		rep.fidelity = append(rep.fidelity, "skipped: an export above failed")
		rep.failed = true
	default:
		s.fidelityCheck(ctx, rep, tbl, name, fullDir, rangesDir)
	}
	return rep, nil
}

// fidelityCheck compares the full export with the ranges export (the
// same lines, each as often), both with COUNT(*) when the database is
// visible, and checks that the first rows `ora2gcs sample` reads (another
// query and decoding path) are lines of the export.
func (s *sourceSuite) fidelityCheck(ctx context.Context, rep *report, tbl catalogTable, name, fullDir, rangesDir string) {
	check := func(ok bool, format string, a ...any) {
		mark := "ok"
		if !ok {
			mark = "MISMATCH"
			rep.failed = true
		}
		rep.fidelity = append(rep.fidelity, fmt.Sprintf(format, a...)+": "+mark)
	}
	full, err := lineDigests(fullDir)
	if err != nil {
		check(false, "read the full export: %v", err)
		return
	}
	ranged, err := lineDigests(rangesDir)
	if err != nil {
		check(false, "read the ranges export: %v", err)
		return
	}
	if s.db != nil {
		n, err := s.db.Count(ctx, tbl.Schema, tbl.Name)
		if err != nil {
			rep.fidelity = append(rep.fidelity, "COUNT(*) not run: "+oneLine(err))
		} else {
			check(n == int64(len(full)) && n == int64(len(ranged)), "rows: COUNT(*) %d, full export %d, ranges export %d", n, len(full), len(ranged))
		}
	} else {
		check(len(full) == len(ranged), "rows: full export %d, ranges export %d (COUNT(*) not visible)", len(full), len(ranged))
	}
	check(equalDigests(full, ranged), "lines: the ranges export holds exactly the full export's lines (order aside)")
	c, err := s.t.run(ctx, s.env, "sample", "--source", s.source, "--limit", strconv.Itoa(s.sample), name)
	if err != nil {
		check(false, "ora2gcs sample: %v", err)
		return
	}
	lines := bytes.Split(bytes.TrimSuffix(c.stdout, []byte("\n")), []byte("\n"))
	if len(c.stdout) == 0 {
		lines = nil
	}
	missing := 0
	for _, l := range lines {
		if !containsDigest(full, digest(l)) {
			missing++
		}
	}
	want := min(int64(s.sample), int64(len(full)))
	check(missing == 0 && int64(len(lines)) == want, "sample: %d rows read by `ora2gcs sample` (another query and decoder), %d not in the export", len(lines), missing)
}

type lineDigest [16]byte

func digest(line []byte) lineDigest {
	h := sha256.Sum256(line)
	var d lineDigest
	copy(d[:], h[:])
	return d
}

// lineDigests is the sorted digests of every line of every *.jsonl.gz
// below dir (parts included).
func lineDigests(dir string) ([]lineDigest, error) {
	var out []lineDigest
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".jsonl.gz") {
			return err
		}
		files++
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		for sc.Scan() {
			out = append(out, digest(sc.Bytes()))
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		return nil
	})
	if err == nil && files == 0 {
		err = errors.New("no .jsonl.gz object")
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	return out, err
}

func equalDigests(a, b []lineDigest) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func containsDigest(sorted []lineDigest, d lineDigest) bool {
	i := sort.Search(len(sorted), func(i int) bool { return bytes.Compare(sorted[i][:], d[:]) >= 0 })
	return i < len(sorted) && sorted[i] == d
}

// pickTable is the catalog's table named want (schema.name or name, case
// folded as the catalog spells it), or with want "" the one with the most
// columns (then the most rows) among those with rows.
func pickTable(cat []catalogTable, want string) (catalogTable, error) {
	if want != "" {
		w := strings.ReplaceAll(want, `"`, "")
		for _, t := range cat {
			if strings.EqualFold(w, t.Name) || strings.EqualFold(w, t.Schema+"."+t.Name) {
				return t, nil
			}
		}
		return catalogTable{}, fmt.Errorf("table %q is not in the catalog ora2gcs lists for this user (see: ora2gcs tables --source …)", want)
	}
	var best *catalogTable
	for i, t := range cat {
		if t.Rows == 0 {
			continue
		}
		if best == nil || t.ColumnCount > best.ColumnCount || (t.ColumnCount == best.ColumnCount && t.Rows > best.Rows) {
			best = &cat[i]
		}
	}
	if best == nil {
		return catalogTable{}, errors.New("the catalog lists no table with rows: name one with -table (ORACLE_TABLE=…)")
	}
	return *best, nil
}

// quoteIdent is schema.name quoted as --tables takes exact names.
func quoteIdent(schema, name string) string {
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	if schema == "" {
		return q(name)
	}
	return q(schema) + "." + q(name)
}

// withFetchSize is an oracle://… source with fetch_array_size=n. Other
// sources have no fetch array size to sweep.
func withFetchSize(source string, n int) (string, error) {
	u, err := url.Parse(source)
	if err != nil || u.Scheme != "oracle" {
		return "", errors.New("the fetch array size sweep needs an oracle://user@host:port/service source")
	}
	q := u.Query()
	q.Set("fetch_array_size", strconv.Itoa(n))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// write prints the report: a header that says what was measured, the
// table, and the fidelity check.
func (r *report) write(w io.Writer, hdr header) {
	hdr.write(w)
	fmt.Fprintf(w, "# source: %s\n", benchkit.Redacted(r.source))
	if r.dbVersion != "" {
		fmt.Fprintf(w, "# database: %s\n", r.dbVersion)
	}
	fmt.Fprintf(w, "# db CPU s: %s\n", r.dbCPU)
	if r.table.Name != "" {
		fmt.Fprintf(w, "# table: %s.%s, %d columns, ~%d rows (catalog)\n", r.table.Schema, r.table.Name, r.table.ColumnCount, r.table.Rows)
	}
	fmt.Fprintln(w)
	benchkit.Print(w, r.results)
	if len(r.fidelity) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "fidelity spot check:")
		for _, l := range r.fidelity {
			fmt.Fprintln(w, "  "+l)
		}
	}
}

// header is the common head of every report.
type header struct {
	title   string
	version string // ora2gcs --version
	when    time.Time
	params  string
}

func (h header) write(w io.Writer) {
	fmt.Fprintf(w, "# %s, %s\n", h.title, h.when.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "# ora2gcs: %s\n", h.version)
	fmt.Fprintf(w, "# host: %s\n", hostLine())
	if h.params != "" {
		fmt.Fprintf(w, "# %s\n", h.params)
	}
}
