package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCLIConventions: help on stdout with exit 0, usage errors on stderr
// with exit 2, each command listing only its own flags, no work without a
// command.
func TestCLIConventions(t *testing.T) {
	for _, c := range []struct {
		args      []string
		code      int
		out, errs string // substrings wanted on stdout / stderr
		notOut    string // must not be on stdout
		emptyOut  bool
		emptyErrs bool
	}{
		{args: nil, code: 2, errs: "Usage:", emptyOut: true},
		{args: []string{"help"}, code: 0, out: "Usage:", emptyErrs: true},
		{args: []string{"--help"}, code: 0, out: "Exit codes:", emptyErrs: true},
		{args: []string{"help", "run"}, code: 0, out: "Usage: ora2gcs run [flags]", emptyErrs: true},
		{args: []string{"run", "--help"}, code: 0, out: "-gzip-level", emptyErrs: true},
		{args: []string{"run", "-h"}, code: 0, out: "-transport-id", emptyErrs: true},
		{args: []string{"help", "tables"}, code: 0, out: "-exact", notOut: "-gzip-level", emptyErrs: true},
		{args: []string{"help", "sample"}, code: 0, out: "-limit", notOut: "-compressor", emptyErrs: true},
		{args: []string{"help", "serve"}, code: 0, out: "-listen", emptyErrs: true},
		{args: []string{"help", "nosuch"}, code: 2, errs: `unknown command "nosuch"`, emptyOut: true},
		{args: []string{"run", "extra"}, code: 2, errs: `unexpected argument "extra"`, emptyOut: true},
		{args: []string{"tables", "extra"}, code: 2, errs: `unexpected argument "extra"`, emptyOut: true},
		{args: []string{"bench", "--no-such-flag"}, code: 2, errs: "flag provided but not defined: -no-such-flag", emptyOut: true},
		{args: []string{"sample"}, code: 2, errs: "which table?", emptyOut: true},
		{args: []string{"sample", "--limit", "0", "VBRP"}, code: 2, errs: "--limit 0 is out of range", emptyOut: true},
		{args: []string{"run", "--log-level", "loud"}, code: 2, errs: `--log-level "loud"`, emptyOut: true},
		{args: []string{"--version"}, code: 0, out: "(commit ", emptyErrs: true},
		{args: []string{"version"}, code: 0, out: "oracle: ", emptyErrs: true},
	} {
		code, out, errs := cli(t, c.args...)
		if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errs, c.errs) ||
			(c.notOut != "" && strings.Contains(out, c.notOut)) || (c.emptyOut && out != "") || (c.emptyErrs && errs != "") {
			t.Errorf("%q: exit %d\nstdout %q\nstderr %q", c.args, code, out, errs)
		}
	}
}

// TestFlagEnvFilePrecedence: flag > ORA2GCS_<FLAG> > config file > default,
// observed through the rule that the line compressor needs gzip level 1.
func TestFlagEnvFilePrecedence(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte("etl:\n  gzip_level: 6\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(env map[string]string, args ...string) (int, string) {
		t.Helper()
		for k, v := range env {
			t.Setenv(k, v)
		}
		base := []string{"run", "--config", cfgPath, "--rows", "50", "--tables", "VBRK", "--data-dir", dir, "--target", "null", "--quiet", "--compressor", "lines"}
		code, _, errs := cli(t, append(base, args...)...)
		for k := range env {
			os.Unsetenv(k)
		}
		return code, errs
	}
	if code, errs := run(nil); code != 1 || !strings.Contains(errs, "for gzip level 6") {
		t.Fatalf("file only: exit %d %s; want the file's level 6", code, errs)
	}
	if code, errs := run(map[string]string{"ORA2GCS_GZIP_LEVEL": "1"}); code != 0 {
		t.Fatalf("env over file: exit %d %s", code, errs)
	}
	if code, errs := run(map[string]string{"ORA2GCS_GZIP_LEVEL": "6"}, "--gzip-level", "1"); code != 0 {
		t.Fatalf("flag over env: exit %d %s", code, errs)
	}
	if code, errs := run(map[string]string{"ORA2GCS_GZIP_LEVEL": "1"}, "--gzip-level", "6"); code != 1 || !strings.Contains(errs, "for gzip level 6") {
		t.Fatalf("flag over env: exit %d %s", code, errs)
	}
	if code, errs := run(map[string]string{"ORA2GCS_GZIP_LEVEL": "six"}); code != 2 || !strings.Contains(errs, `ORA2GCS_GZIP_LEVEL: etl.gzip_level: "six" is not an integer`) {
		t.Fatalf("bad env value: exit %d %s", code, errs)
	}
	// a flag that is no setting may hold anything: its value is not echoed
	if code, errs := run(map[string]string{"ORA2GCS_JSON": "sekret"}); code != 2 || !strings.Contains(errs, "ORA2GCS_JSON is not a valid value for --json") || strings.Contains(errs, "sekret") {
		t.Fatalf("bad env value of a plain flag: exit %d %s", code, errs)
	}
}

// TestPasswordInPostgresURLRefused: a password in the URL would be visible
// in ps; it is refused before connecting, without echoing it.
func TestPasswordInPostgresURLRefused(t *testing.T) {
	for _, src := range []string{"postgres://u:sekret@127.0.0.1:1/db", "postgresql://u@127.0.0.1:1/db?password=sekret&sslmode=disable"} {
		code, out, errs := cli(t, "tables", "--source", src)
		if code != 1 || !strings.Contains(errs, "PGPASSWORD") || strings.Contains(errs+out, "sekret") {
			t.Errorf("%s: exit %d, stderr %q", src, code, errs)
		}
	}
}

// TestUnreachableSourceIsTransient: a source that refuses connections is
// exit 3 (retry later), in one line.
func TestUnreachableSourceIsTransient(t *testing.T) {
	code, _, errs := cli(t, "tables", "--source", "postgres://u@127.0.0.1:1/db?connect_timeout=5")
	if code != 3 || !strings.Contains(errs, "retry later") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestSplitTables(t *testing.T) {
	got := splitTables(` vbrp, s."a,b" ,"X"."y,z",, public.t `)
	want := []string{"vbrp", `s."a,b"`, `"X"."y,z"`, "public.t"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
}

// TestAdHocRunsGetTheirOwnTransport: after the demo (TRP-LOCAL), an ad-hoc
// run of other tables just works in a transport of its own, and repeating
// it makes the next version of that transport.
func TestAdHocRunsGetTheirOwnTransport(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--data-dir", dir, "--target", "file://" + dir, "--quiet", "--rows", "100"}
	for i, args := range [][]string{{"run"}, {"run", "--tables", "VBRP"}, {"run", "--tables", "vbrp"}, {"run", "--tables", "LIKP,VBRK"}} {
		if code, _, errs := cli(t, append(args, common...)...); code != 0 {
			t.Fatalf("run %d %q: exit %d: %s", i, args, code, errs)
		}
	}
	var got []string
	for _, p := range []string{"TRP-LOCAL/v001", "TRP-LOCAL-*/v001", "TRP-LOCAL-*/v002"} {
		m, _ := filepath.Glob(filepath.Join(dir, "oracle-etl-data", p, "_manifest.json"))
		got = append(got, strings.Repeat("x", len(m)))
	}
	// demo: one; VBRP (twice, as VBRP and vbrp: the same table) and LIKP,VBRK: two v001 and one v002
	if want := []string{"x", "xx", "x"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("manifests per pattern %q, want %q", got, want)
	}
}

// TestBenchTwiceIntoOneFileTarget: bench objects never collide with an
// earlier invocation's (no object is ever replaced, so fixed names failed).
func TestBenchTwiceIntoOneFileTarget(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		if code, _, errs := cli(t, "bench", "--tables", "VBRK", "--rows", "200", "--runs", "1", "--target", "file://"+dir, "--data-dir", dir, "--json"); code != 0 {
			t.Fatalf("bench %d: exit %d: %s", i+1, code, errs)
		}
	}
	m, _ := filepath.Glob(filepath.Join(dir, "oracle-etl-data", "BENCH", "*", "run-001", "VBRK.jsonl.gz"))
	if len(m) != 2 {
		t.Fatalf("objects %v, want one per invocation", m)
	}
}

// TestScheduleConfig: the config's default windows reach the manager (a bad
// zone is refused naming the key) and a CLI job is recorded as trigger cli.
func TestScheduleConfig(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	write := func(s string) {
		if err := os.WriteFile(cfgPath, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("schedule:\n  windows:\n    timezone: Mars/Olympus\n    allow:\n      - {days: mon-sun, from: \"00:00\", to: \"24:00\"}\n")
	code, _, errs := cli(t, "run", "--config", cfgPath, "--tables", "VBRK", "--rows", "10", "--data-dir", dir, "--target", "file://"+dir, "--quiet")
	if code != 1 || !strings.Contains(errs, "windows.timezone") {
		t.Fatalf("bad zone: exit %d: %s", code, errs)
	}
	write("schedule:\n  retention_days: 30\n  windows:\n    timezone: Asia/Seoul\n    allow:\n      - {days: mon-sun, from: \"00:00\", to: \"24:00\"}\n")
	code, out, errs := cli(t, "run", "--config", cfgPath, "--tables", "VBRK", "--rows", "10", "--data-dir", dir, "--target", "file://"+dir, "--quiet", "--json")
	if code != 0 || !strings.Contains(out, `"trigger": "cli"`) {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
}

// TestUnreachableBucketFailsFast: storage that refuses connections is one
// line and exit 3 (retry later) after a few bounded attempts, before any
// version is assigned, instead of the client's unbounded retries.
func TestUnreachableBucketFailsFast(t *testing.T) {
	t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1")
	dir := t.TempDir()
	code, _, errs := cli(t, "run", "--tables", "VBRK", "--rows", "10", "--target", "gs://nosuch-bucket", "--data-dir", dir, "--quiet")
	if code != 3 || !strings.Contains(errs, "bucket nosuch-bucket is not reachable") || !strings.Contains(errs, "retry later") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("not one line: %q", errs)
	}
}

// TestEngineKnobsFromConfigFile: the knobs that were flags only
// (compressor, verification, decimals, nulls) come from the file too, and a
// flag still wins.
func TestEngineKnobsFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte("etl:\n  compressor: pgzip\n  verify_compression: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"run", "--config", cfgPath, "--tables", "VBRK", "--rows", "10", "--data-dir", dir, "--target", "null", "--quiet"}
	if code, _, errs := cli(t, base...); code != 1 || !strings.Contains(errs, "etl.verify_compression: verification checks the lines and blocks compressors, not pgzip") {
		t.Fatalf("file: exit %d %s; want the file's pgzip + verification refused", code, errs)
	}
	if code, _, errs := cli(t, append(base, "--compressor", "lines")...); code != 0 {
		t.Fatalf("flag over file: exit %d %s", code, errs)
	}
	if err := os.WriteFile(cfgPath, []byte("etl:\n  decimals_as_strings: true\n  omit_nulls: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, "sample", "--config", cfgPath, "--limit", "1", "VBRK")
	if code != 0 || !strings.Contains(out, `"NETWR":"`) {
		t.Fatalf("sample with decimals_as_strings: exit %d %s\n%s", code, errs, out)
	}
}
