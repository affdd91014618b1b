package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/jobs"
)

// cli runs the command in-process and returns its exit code and output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunWritesTablesAndVersions(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--rows", "700", "--data-dir", dir, "--target", "file://" + dir, "--quiet"}
	code, out, errs := cli(t, append([]string{"run", "--json"}, common...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var job jobs.Job
	if err := json.Unmarshal([]byte(out), &job); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if job.TransportID != "TRP-LOCAL" || job.Version != "v001" || job.Status != "completed" || job.TotalRows != 2100 || len(job.Tables) != 3 {
		t.Fatalf("job %+v", job)
	}
	for _, te := range job.Tables {
		p := filepath.Join(dir, "oracle-etl-data", "TRP-LOCAL", "v001", te.TableName+".jsonl.gz")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		var lines bytes.Buffer
		if _, err := lines.ReadFrom(zr); err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(lines.Bytes(), []byte("\n")); n != 700 {
			t.Fatalf("%s: %d lines", p, n)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "oracle-etl-data", "TRP-LOCAL", "v001", "_manifest.json")); err != nil {
		t.Fatal(err)
	}

	// The summary table names every table, and the next run is v002.
	code, out, errs = cli(t, append([]string{"run"}, common...)...)
	if code != 0 || !strings.Contains(out, "TRP-LOCAL v002") || !strings.Contains(out, "VBRP") || !strings.Contains(out, "crc32c") {
		t.Fatalf("second run: %d\n%s\n%s", code, out, errs)
	}
	// An existing version is refused, never overwritten.
	code, _, errs = cli(t, append([]string{"run", "--job-version", "v001"}, common...)...)
	if code != 1 || !strings.Contains(errs, "v001 exists already") {
		t.Fatalf("explicit existing version: %d %s", code, errs)
	}
	// A named transport of its own tables starts at v001.
	code, out, errs = cli(t, append([]string{"run", "--transport", "headers", "--tables", "vbrk,LIKP"}, common...)...)
	if code != 0 || !strings.Contains(out, " v001 ") || strings.Contains(out, "VBRP") {
		t.Fatalf("named transport: %d\n%s\n%s", code, out, errs)
	}
}

// TestCompressorsWriteTheSameLines: --compressor auto (the default), lines,
// blocks and pgzip write one gzip member each, holding the same NDJSON; so
// do the line compressor's and flate's segments of a table read in ranges,
// with and without --verify-compression.
func TestCompressorsWriteTheSameLines(t *testing.T) {
	dir := t.TempDir()
	got := map[string][]byte{}
	size := map[string]int{}
	ranges := []string{"--table-parallelism", "3", "--range-min-rows", "1"}
	for _, c := range []string{"auto", "lines", "blocks", "pgzip", "auto.ranges", "blocks.ranges", "auto.verify", "blocks.ranges.verify"} {
		name, _, _ := strings.Cut(c, ".")
		args := []string{"run", "--compressor", name, "--tables", "VBRP", "--rows", "1500", "--chunk-size", "400",
			"--transport-id", "TRP-" + c, "--data-dir", filepath.Join(dir, c), "--target", "file://" + dir, "--quiet"}
		if strings.Contains(c, ".ranges") {
			args = append(args, ranges...)
		}
		if strings.HasSuffix(c, ".verify") {
			args = append(args, "--verify-compression")
		}
		code, _, errs := cli(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c, code, errs)
		}
		b, err := os.ReadFile(filepath.Join(dir, "oracle-etl-data", "TRP-"+c, "v001", "VBRP.jsonl.gz"))
		if err != nil {
			t.Fatal(err)
		}
		got[c] = testutil.GunzipOne(t, b)
		size[c] = len(b)
	}
	if n := bytes.Count(got["blocks"], []byte("\n")); n != 1500 {
		t.Fatalf("blocks: %d lines", n)
	}
	for _, c := range []string{"auto", "lines", "pgzip", "auto.ranges", "blocks.ranges", "auto.verify", "blocks.ranges.verify"} {
		if !bytes.Equal(got[c], got["blocks"]) {
			t.Errorf("%s: %d bytes of NDJSON, blocks %d", c, len(got[c]), len(got["blocks"]))
		}
	}
	// auto at level 1 is lines: the same object
	if size["auto"] != size["lines"] || size["lines"] == size["blocks"] || size["auto.ranges"] == size["blocks.ranges"] || size["auto.verify"] != size["auto"] {
		t.Errorf("object sizes %v: auto should be lines, not blocks", size)
	}
}

func TestTablesSampleBench(t *testing.T) {
	code, out, errs := cli(t, "tables", "--json")
	var ts []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &ts) != nil || len(ts) != 3 {
		t.Fatalf("tables: %d %s %s", code, out, errs)
	}
	code, out, errs = cli(t, "sample", "--limit", "3", "vbrp")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("sample: %d %d lines %s", code, len(lines), errs)
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &row); err != nil || len(row) != 274 {
		t.Fatalf("sample row: %v, %d keys", err, len(row))
	}
	code, out, errs = cli(t, "bench", "--tables", "VBRK", "--rows", "3000", "--runs", "2", "--target", "null", "--json", "--compressor", "pgzip")
	var res struct {
		Median benchResult   `json:"median"`
		Runs   []benchResult `json:"runs"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Runs) != 2 || res.Median.Rows != 3000 || res.Median.RowsPerSec <= 0 || res.Median.PeakRSSMiB <= 0 {
		t.Fatalf("bench: %d %s %s", code, out, errs)
	}
	// the table names the compressor auto resolved to, and GOMAXPROCS
	code, out, errs = cli(t, "bench", "--tables", "VBRK", "--rows", "500", "--runs", "1", "--target", "null")
	want := fmt.Sprintf("compressor=lines gzip_level=1 encode_workers=%d GOMAXPROCS=%d", runtime.GOMAXPROCS(0), runtime.GOMAXPROCS(0))
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("bench: %d, want %q in\n%s%s", code, want, out, errs)
	}
}

func TestErrorsAreOneClearLine(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sample", "nosuch"}, 1, `"nosuch": table not found`},
		{[]string{"run", "--source", "mysql://x", "--quiet"}, 1, `unknown kind "mysql"`},
		{[]string{"run", "--target", "s3://x", "--quiet"}, 1, "target"},
		{[]string{"tables", "--source", "oracle://scott:tiger@db:1521/ORCL"}, 1, "must not contain a password"},
		{[]string{"run", "--gzip-level", "42", "--quiet"}, 1, "gzip_level"},
		{[]string{"run", "--compressor", "zstd", "--quiet"}, 1, `etl.compressor: "zstd" is not auto, lines, blocks or pgzip`},
		{[]string{"run", "--compressor", "lines", "--gzip-level", "6", "--quiet"}, 1, `etl.compressor: lines is the gzip level 1 compressor; for gzip level 6 use blocks or pgzip`},
		{[]string{"run", "--compressor", "pgzip", "--verify-compression", "--quiet"}, 1, `etl.verify_compression: verification checks the lines and blocks compressors, not pgzip`},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"run", "--no-such-flag"}, 2, "flag provided but not defined"},
	}
	for _, c := range cases {
		code, _, errs := cli(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.want)
		}
		if strings.Contains(errs, "tiger") {
			t.Errorf("%v: the password is in the error output", c.args)
		}
	}
}

// TestPGReaderVariable: ORA2GCS_PG_READER (postgres.reader) is validated
// with the configuration, before connecting.
func TestPGReaderVariable(t *testing.T) {
	t.Setenv("ORA2GCS_PG_READER", "fast")
	code, _, errs := cli(t, "tables", "--source", "postgres://u@127.0.0.1:1/db?sslmode=disable")
	if code != 1 || !strings.Contains(errs, `ORA2GCS_PG_READER: postgres.reader: "fast": use copy or rows`) {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// TestOracleWithoutInstantClient: on a machine without Oracle Instant Client
// the Oracle source fails with one line that says what to install.
func TestOracleWithoutInstantClient(t *testing.T) {
	t.Setenv("ORACLE_PASSWORD", "pw-never-printed")
	code, _, errs := cli(t, "tables", "--source", "oracle://scott@127.0.0.1:1/ORCL")
	if code != 1 || strings.Contains(errs, "pw-never-printed") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "Instant Client 19") && !strings.Contains(errs, "127.0.0.1") {
		t.Fatalf("error does not say what to install (or, with a client, which host failed): %s", errs)
	}
}

// TestRunPartsManifest: with --part-bytes a table becomes several complete
// gzip files and the manifest lists each with its rows and CRC32C.
func TestRunPartsManifest(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := cli(t, "run", "--tables", "VBRP", "--rows", "10000", "--chunk-size", "1000", "--part-bytes", "1048576",
		"--data-dir", dir, "--target", "file://"+dir, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// an ad-hoc run of one table gets its own transport, not TRP-LOCAL
	trps, _ := filepath.Glob(filepath.Join(dir, "oracle-etl-data", "TRP-LOCAL-*"))
	if len(trps) != 1 {
		t.Fatalf("transports %v, want one TRP-LOCAL-<hash>", trps)
	}
	b, err := os.ReadFile(filepath.Join(trps[0], "v001", "_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Tables []struct {
			Rows  int64
			Parts []struct {
				Object string
				Rows   int64
				CRC32C string `json:"crc32c"`
			}
		}
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	parts := man.Tables[0].Parts
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	var rows int64
	for _, p := range parts {
		f, err := os.ReadFile(filepath.Join(dir, "oracle-etl-data", p.Object))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(f))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(zr); err != nil {
			t.Fatal(err)
		}
		if n := int64(bytes.Count(buf.Bytes(), []byte("\n"))); n != p.Rows || p.CRC32C == "" {
			t.Fatalf("%s: %d lines, manifest %d, crc %q", p.Object, n, p.Rows, p.CRC32C)
		}
		rows += p.Rows
	}
	if rows != 10000 || man.Tables[0].Rows != 10000 {
		t.Fatalf("parts add up to %d rows, table %d", rows, man.Tables[0].Rows)
	}
}

// TestRangeMinRowsZeroSplitsEveryTable: --range-min-rows 0 means what
// etl.range_min_rows documents, no table is too small to split, not the
// manager's default of 200,000 (whose zero means "default").
func TestRangeMinRowsZeroSplitsEveryTable(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		min   string
		split bool
	}{{"0", true}, {"1501", false}, {"1500", true}} {
		code, _, errs := cli(t, "run", "--tables", "VBRK", "--rows", "1500", "--chunk-size", "400", "--table-parallelism", "3",
			"--range-min-rows", tt.min, "--transport-id", "TRP-MIN-"+tt.min, "--data-dir", filepath.Join(dir, tt.min),
			"--target", "file://"+dir, "--quiet", "--log-level", "info")
		if code != 0 {
			t.Fatalf("--range-min-rows %s: exit %d: %s", tt.min, code, errs)
		}
		if got := strings.Contains(errs, "table split into ranges"); got != tt.split {
			t.Errorf("--range-min-rows %s: split %v, want %v\n%s", tt.min, got, tt.split, errs)
		}
	}
}
