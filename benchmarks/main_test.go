package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ora2gcs/ora2gcs/internal/benchkit"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
)

// oraBin is the ora2gcs binary the suites run, built once by TestMain.
var oraBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "benchmarks-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	oraBin = filepath.Join(dir, "ora2gcs")
	// the same build as make build (cgo as the environment has it)
	if out, err := exec.Command("go", "build", "-o", oraBin, "../cmd/ora2gcs").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ora2gcs: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runMain runs the benchmarks command and returns its exit code, stdout
// and stderr.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code := run(ctx, append([]string{"-bin", oraBin, "-work", t.TempDir()}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

type jsonReport struct {
	Results    []benchkit.Result `json:"results"`
	Fidelity   []string          `json:"fidelity"`
	FidelityOK bool              `json:"fidelity_ok"`
	Source     string            `json:"source"`
	DBCPU      string            `json:"db_cpu"`
}

func decode(t *testing.T, out string) jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

func result(t *testing.T, rs []benchkit.Result, prefix string) benchkit.Result {
	t.Helper()
	for _, r := range rs {
		if strings.HasPrefix(r.Suite, prefix) {
			return r
		}
	}
	t.Fatalf("no suite %q in %+v", prefix, rs)
	return benchkit.Result{}
}

// The synthetic suites run the real commands and report what they moved:
// every suite's rows are the rows asked for, rates and bytes are set, the
// ranges suite really read ranges (runRanged refuses a job without), and
// the API suite measured GETs while the job ran.
func TestEndToEndSynth(t *testing.T) {
	code, out, errs := runMain(t, "-suites", "synth,ranges,api", "-rows", "600", "-runs", "2", "-json", "-quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	rep := decode(t, out)
	if len(rep.Results) != 6 {
		t.Fatalf("%d results: %+v", len(rep.Results), rep.Results)
	}
	for _, r := range rep.Results {
		if r.Rows != 600 || r.RowsPerSec <= 0 || r.MBps <= 0 || r.BytesRow <= 0 || r.CPUSec <= 0 || r.PeakRSSMiB <= 0 {
			t.Errorf("%+v", r)
		}
		want := 2
		if strings.HasPrefix(r.Suite, "API") {
			want = 1
		}
		if r.Runs != want || r.DBCPUSec != -1 {
			t.Errorf("%s: runs %d db CPU %v", r.Suite, r.Runs, r.DBCPUSec)
		}
	}
	result(t, rep.Results, "synth VBRP ranges×4")
	if api := result(t, rep.Results, "API GET"); !strings.Contains(api.Note, "GET p50") && !strings.Contains(api.Note, "no GET finished") {
		t.Errorf("API note %q", api.Note)
	}

	// the text table: header lines, then the table with every suite
	code, out, errs = runMain(t, "-suites", "synth", "-rows", "300", "-runs", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"# ora2gcs end-to-end benchmarks", "# host: ", "rows=300 runs=1",
		"suite  ", "rows/s", "peak RSS MiB", "synth VBRP → null ", "synth VBRP → file ", "synth VBRP → emulator "} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "synth VBRP → null: ") {
		t.Errorf("no progress on stderr: %q", errs)
	}
}

// testTable is a table name of this test process (tests of several
// checkouts may share one database, and `make bench` keeps its tables
// there); testPrefix is the -pg-prefix of the end-to-end suites.
func testTable(name string) string { return testPrefix() + "_" + name }

func testPrefix() string { return fmt.Sprintf("ora2gcs_benchtest%d", os.Getpid()) }

func pgDSN(t *testing.T) string {
	t.Helper()
	return pgtest.DSN(t)
}

func pgExec(t *testing.T, dsn string, qs ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range qs {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// The PostgreSQL suites load their tables, measure the server's COPY, both
// readers, ranges and many tables, with the server's CPU when this machine
// sees its processes; the password of the DSN reaches ora2gcs as
// PGPASSWORD (ora2gcs refuses it in the URL) and never the output.
func TestEndToEndPostgres(t *testing.T) {
	dsn := pgDSN(t)
	t.Cleanup(func() {
		qs := []string{"DROP TABLE IF EXISTS " + testTable("vbrp")}
		for i := range 3 {
			qs = append(qs, fmt.Sprintf("DROP TABLE IF EXISTS %s_many_%03d", testPrefix(), i))
		}
		pgExec(t, dsn, qs...)
	})
	code, out, errs := runMain(t, "-suites", "pg,many", "-pg", dsn, "-pg-prefix", testPrefix(), "-rows", "400", "-runs", "1", "-many-tables", "3", "-many-rows", "70", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	if _, pw, _ := splitPassword(dsn); pw != "" && (strings.Contains(out, pw) || strings.Contains(errs, pw)) {
		t.Fatal("the password is in the output")
	}
	rep := decode(t, out)
	if len(rep.Results) != 5 {
		t.Fatalf("%+v", rep.Results)
	}
	for _, r := range rep.Results {
		want := int64(400)
		if strings.Contains(r.Suite, "tables") {
			want = 3 * 70
		}
		if r.Runs != 1 || r.Rows != want || r.RowsPerSec <= 0 {
			t.Errorf("%+v", r)
		}
	}
	copyRow := result(t, rep.Results, "pg COPY TO STDOUT")
	reader := result(t, rep.Results, "pg vbrp → null (COPY reader)")
	if reader.BytesRow <= 0 || copyRow.MBps <= 0 {
		t.Errorf("copy %+v reader %+v", copyRow, reader)
	}
	// the server runs on this machine in these tests: its CPU is visible,
	// measured for every suite (-1 is "not visible"; a tiny suite may take
	// less than one 10 ms clock tick of server CPU) and above 0 in sum
	if s, err := openPG(context.Background(), dsn); err == nil {
		visible := s.postmaster != 0
		s.close()
		sum := 0.0
		for _, r := range rep.Results {
			if visible && r.DBCPUSec < 0 {
				t.Errorf("server CPU not measured: %+v", r)
			}
			sum += r.DBCPUSec
		}
		if visible && sum <= 0 {
			t.Errorf("no server CPU in any suite: %+v", rep.Results)
		}
	}
	// a second run reuses the loaded tables
	code, _, errs = runMain(t, "-suites", "pg", "-pg", dsn, "-pg-prefix", testPrefix(), "-rows", "400", "-runs", "1")
	if code != 0 || strings.Contains(errs, "loading") {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
}

// Without PostgreSQL the PostgreSQL suites are listed as skipped, with why.
func TestEndToEndNoPostgres(t *testing.T) {
	code, out, errs := runMain(t, "-suites", "pg,many", "-pg", "", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rep := decode(t, out)
	if len(rep.Results) != 5 {
		t.Fatalf("%+v", rep.Results)
	}
	for _, r := range rep.Results {
		if r.Runs != 0 || !strings.Contains(r.Note, "skipped: no PostgreSQL") {
			t.Errorf("%+v", r)
		}
	}
}

// The source suite (make bench-oracle) is the same code for every source
// ora2gcs reads: run here against the real PostgreSQL (Oracle needs a
// database and Instant Client this machine does not have). It lists the
// catalog, measures the table in full and as ranges, and its fidelity
// check compares both exports with COUNT(*) and with `ora2gcs sample`.
func TestSourceSuitePostgres(t *testing.T) {
	dsn := pgDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := pgtest.CreateSynthVBRP(ctx, conn.PgConn(), testTable("src"), 250); err != nil {
		t.Fatal(err)
	}
	pgExec(t, dsn, "ANALYZE "+testTable("src"))
	t.Cleanup(func() { pgExec(t, dsn, "DROP TABLE IF EXISTS "+testTable("src")) })

	code, out, errs := runMain(t, "-oracle", dsn, "-table", testTable("src"), "-runs", "1", "-sample", "40")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	if _, pw, _ := splitPassword(dsn); pw != "" && (strings.Contains(out, pw) || strings.Contains(errs, pw)) {
		t.Fatal("the password is in the report")
	}
	for _, want := range []string{
		"# ora2gcs source benchmark (make bench-oracle)", "# source: postgres://", "# database: PostgreSQL",
		"# table: public." + testTable("src") + ", 274 columns",
		"catalog (ora2gcs tables)", "table → null (bench)", "table → file (run)", "table ranges×4 → file (run)",
		"skipped: the fetch array size sweep needs an oracle://",
		"rows: COUNT(*) 250, full export 250, ranges export 250: ok",
		"lines: the ranges export holds exactly the full export's lines (order aside): ok",
		"sample: 40 rows read by `ora2gcs sample` (another query and decoder), 0 not in the export: ok",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "MISMATCH") || strings.Contains(out, "error: ") {
		t.Errorf("report:\n%s", out)
	}

	// above -fidelity-max-rows the export check is skipped, not faked
	// (which table is picked when none is named: TestHelpers, pickTable)
	code, out, errs = runMain(t, "-oracle", dsn, "-table", testTable("src"), "-runs", "1", "-fidelity-max-rows", "10", "-json", "-quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	rep := decode(t, out)
	if len(rep.Fidelity) != 1 || !strings.HasPrefix(rep.Fidelity[0], "skipped: the table has ~") {
		t.Errorf("fidelity %q", rep.Fidelity)
	}
	// a table the catalog does not list: exit 1 with what to do
	code, _, errs = runMain(t, "-oracle", dsn, "-table", "no_such_table_here", "-runs", "1")
	if code != 1 || !strings.Contains(errs, `table "no_such_table_here" is not in the catalog`) {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// writeExport writes lines as one gzip JSON Lines object below dir.
func writeExport(t *testing.T, dir string, lines [][]byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "b", "TRP", "v001"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for _, l := range lines {
		zw.Write(l)
		zw.Write([]byte("\n"))
	}
	zw.Close()
	if err := os.WriteFile(filepath.Join(dir, "b", "TRP", "v001", "T.jsonl.gz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The fidelity check must not call an export good when it is not: a
// ranges export with one row twice and another missing has the right
// count but not the right lines; an export short of a row disagrees with
// COUNT(*) and misses sampled rows.
func TestFidelityCatchesWrongExports(t *testing.T) {
	dsn := pgDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := pgtest.CreateSynthVBRP(ctx, conn.PgConn(), testTable("fid"), 30); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pgExec(t, dsn, "DROP TABLE IF EXISTS "+testTable("fid")) })
	pg, err := openPG(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.close()
	tl := &tool{bin: oraBin}
	// the table's true lines, as ora2gcs encodes them
	c, err := tl.run(ctx, pg.childEnv(), "sample", "--source", pg.childURL, "--limit", "1000", testTable("fid"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(c.stdout, []byte("\n")), []byte("\n"))
	if len(lines) != 30 {
		t.Fatalf("%d lines", len(lines))
	}
	s := &sourceSuite{t: tl, env: pg.childEnv(), source: pg.childURL, sample: 30, db: pgDatabase{pg}}
	tbl := catalogTable{Schema: "public", Name: testTable("fid")}
	check := func(full, ranged [][]byte) *report {
		rep := &report{}
		s.fidelityCheck(ctx, rep, tbl, quoteIdent(tbl.Schema, tbl.Name), writeExport(t, t.TempDir(), full), writeExport(t, t.TempDir(), ranged))
		return rep
	}
	if rep := check(lines, append([][]byte(nil), lines...)); rep.failed {
		t.Fatalf("the true export failed: %q", rep.fidelity)
	}
	dup := append([][]byte(nil), lines...)
	dup[7] = dup[3] // row 3 twice, row 7 missing
	rep := check(lines, dup)
	if !rep.failed || !strings.HasSuffix(rep.fidelity[0], ": ok") || !strings.HasSuffix(rep.fidelity[1], "MISMATCH") {
		t.Fatalf("duplicate+missing row: %q", rep.fidelity)
	}
	short := lines[1:]
	rep = check(short, short)
	if !rep.failed || !strings.Contains(rep.fidelity[0], "COUNT(*) 30, full export 29") || !strings.HasSuffix(rep.fidelity[0], "MISMATCH") ||
		!strings.Contains(rep.fidelity[2], "1 not in the export: MISMATCH") {
		t.Fatalf("missing row: %q", rep.fidelity)
	}
	changed := append([][]byte(nil), lines...)
	changed[0] = append(append([]byte(nil), changed[0][:len(changed[0])-1]...), `,"X":1}`...) // one more value
	rep = check(changed, changed)
	if !rep.failed || !strings.HasSuffix(rep.fidelity[2], "MISMATCH") {
		t.Fatalf("a changed value: %q", rep.fidelity)
	}
}

// make bench-oracle without ORACLE_DSN explains what to set and exits 2,
// before building anything; so does the program without a DSN.
func TestBenchOracleNoDSN(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	cmd := exec.Command("make", "-s", "-C", "..", "bench-oracle")
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "ORACLE_DSN=") && !strings.HasPrefix(e, "MAKEFLAGS=") && !strings.HasPrefix(e, "MFLAGS=") {
			env = append(env, e)
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "bench-oracle: no database: make bench-oracle ORACLE_DSN=oracle://") || strings.Contains(string(out), "go build") {
		t.Fatalf("%s", out)
	}
	code, _, errs := runMain(t, "-oracle", " ")
	if code != 2 || !strings.Contains(errs, "benchmarks: no database: set ORACLE_DSN=") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// A DSN with a password is refused before anything runs, without
// repeating it.
func TestOraclePasswordInDSN(t *testing.T) {
	code, out, errs := runMain(t, "-oracle", "oracle://scott:tig3r-s3cret@db.example:1521/ORCL")
	if code != 2 || !strings.Contains(errs, "must not contain a password") || strings.Contains(out+errs, "tig3r-s3cret") {
		t.Fatalf("exit %d: %q %q", code, out, errs)
	}
}

// An Oracle that cannot be reached — here no Instant Client (or a build
// without cgo), elsewhere nothing listening on port 1 — ends the suite
// with ora2gcs's one-line error and its exit code, never a crash, and
// without the password.
func TestOracleUnreachable(t *testing.T) {
	t.Setenv("ORACLE_PASSWORD", "pw-never-shown")
	code, out, errs := runMain(t, "-oracle", "oracle://scott@127.0.0.1:1/XE", "-runs", "1")
	if code == 0 || code > 3 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "benchmarks: ora2gcs tables: ") || out != "" {
		t.Fatalf("stdout %q stderr %q", out, errs)
	}
	if strings.Contains(errs, "panic") || strings.Contains(errs, "goroutine") || strings.Contains(errs, "pw-never-shown") {
		t.Fatalf("%s", errs)
	}
	if _, err := exec.LookPath("ldconfig"); err == nil {
		if o, _ := exec.Command("ldconfig", "-p").Output(); !bytes.Contains(o, []byte("libclntsh")) && os.Getenv("LD_LIBRARY_PATH") == "" {
			if !strings.Contains(errs, "Instant Client") && !strings.Contains(errs, "no Oracle support") {
				t.Fatalf("no Instant Client here, but the error does not say so: %s", errs)
			}
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"-suites", "synth,bogus"}, {"-runs", "0"}, {"-ranges", "1"}, {"extra"}, {"-pg-prefix", "x; DROP TABLE t"}, {"-pg-prefix", "Upper"}} {
		if code, _, errs := runMain(t, args...); code != 2 || !strings.HasPrefix(errs, "benchmarks: ") {
			t.Errorf("%v: exit %d %q", args, code, errs)
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-bin", "/nonexistent/ora2gcs"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "make build") {
		t.Errorf("exit %d %q", code, errb.String())
	}
}

func TestHelpers(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"oracle://scott@db:1521/ORCL", "oracle://scott@db:1521/ORCL?fetch_array_size=500", ""},
		{"oracle://scott@db:1521/ORCL?pool_max=4&fetch_array_size=9", "oracle://scott@db:1521/ORCL?fetch_array_size=500&pool_max=4", ""},
		{"oracle", "", "needs an oracle://"},
		{"postgres://u@h/db", "", "needs an oracle://"},
	} {
		got, err := withFetchSize(c.in, 500)
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("withFetchSize(%q) = %q, %v", c.in, got, err)
		}
	}
	for _, c := range []struct{ in, url, pw string }{
		{"postgres://u:p%40ss@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?sslmode=disable", "p@ss"},
		{"postgres://u@h/db?password=x1&sslmode=disable", "postgres://u@h/db?sslmode=disable", "x1"},
		{"postgresql://h/db", "postgresql://h/db", ""},
	} {
		u, pw, err := splitPassword(c.in)
		if err != nil || u != c.url || pw != c.pw {
			t.Errorf("splitPassword(%q) = %q %q %v", c.in, u, pw, err)
		}
	}
	if _, _, err := splitPassword("host=h user=u"); err == nil {
		t.Error("key=value DSN accepted")
	}
	cat := []catalogTable{{"S", "NARROW", 3, 1e6}, {"S", "EMPTY", 400, 0}, {"S", "WIDE", 200, 10}, {"S", "WIDE2", 200, 50}}
	if got, err := pickTable(cat, ""); err != nil || got.Name != "WIDE2" {
		t.Errorf("%+v %v", got, err)
	}
	if got, err := pickTable(cat, `s."narrow"`); err != nil || got.Name != "NARROW" {
		t.Errorf("%+v %v", got, err)
	}
	if _, err := pickTable([]catalogTable{{"S", "E", 4, 0}}, ""); err == nil {
		t.Error("no table with rows: no error")
	}
	if q := quoteIdent("S", `a"b`); q != `"S"."a""b"` {
		t.Error(q)
	}
	err := commandError([]string{"tables"}, &exec.ExitError{}, "progress\nora2gcs: error (temporary, retry later): oracle: ORA-12541: no listener\n")
	var te *toolError
	if !errors.As(err, &te) || te.msg != "oracle: ORA-12541: no listener (temporary)" {
		t.Errorf("%#v", err)
	}
	if n := latencyNote([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}); n != "GET p50 2.00 ms, p99 2.00 ms, max 3.00 ms (n=3)" {
		t.Error(n)
	}
}
