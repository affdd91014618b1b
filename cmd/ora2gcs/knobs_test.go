package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/config"
)

// knobSamples holds, for every setting, a valid value other than its
// default and invalid values with the problem config names for them ("":
// the knob takes any value). A setting added to config.Knobs without a
// sample fails TestEveryKnobFromFlagEnvFile.
var knobSamples = map[string]struct {
	good string
	bad  map[string]string // value → problem after "KEY: "
}{
	"source":                  {"postgres://etl@db.example:5432/erp", map[string]string{"mysql://x": `unknown kind "mysql"`}},
	"data_dir":                {"/var/lib/ora2gcs", map[string]string{" ": "required"}},
	"oracle.wallet_path":      {"/opt/wallet", nil},
	"oracle.tns_name":         {"erp_high", nil},
	"oracle.username":         {"etl", nil},
	"oracle.password":         {"ora-secret-pw", nil},
	"oracle.dsn":              {"db.example:1521/ERP", nil},
	"oracle.pool_min":         {"7", map[string]string{"21": "21 is out of range 1..20", "x": `"x" is not an integer`}},
	"oracle.pool_max":         {"30", map[string]string{"0": "0 is out of range 1..1000", "x": `"x" is not an integer`}},
	"oracle.fetch_array_size": {"500", map[string]string{"0": "0 is out of range 1..100000", "x": `"x" is not an integer`}},
	"postgres.pool_min":       {"7", map[string]string{"21": "21 is out of range 1..20", "x": `"x" is not an integer`}},
	"postgres.pool_max":       {"30", map[string]string{"1001": "1001 is out of range 1..1000", "x": `"x" is not an integer`}},
	"postgres.reader":         {"rows", map[string]string{"fast": `"fast": use copy or rows`}},
	"target":                  {"gs://etl-bucket", map[string]string{"s3://x": `unknown target "s3://x"`}},
	"gcs.default_bucket":      {"etl-bucket", map[string]string{"Bad_Bucket": `bucket name "Bad_Bucket"`}},
	"gcs.project_id":          {"my-project", nil},
	"gcs.credentials_file":    {"/opt/gcp/sa.json", nil},
	"gcs.endpoint":            {"http://127.0.0.1:4443", nil},
	"gcs.chunk_size":          {"524288", map[string]string{"1000": "1000 is not a non-negative multiple of 262144", "x": `"x" is not an integer`}},
	"etl.chunk_size":          {"500", map[string]string{"0": "0 is out of range 1..1000000", "x": `"x" is not an integer`}},
	"etl.parallel_tables":     {"2", map[string]string{"65": "65 is out of range 1..64", "x": `"x" is not an integer`}},
	"etl.table_parallelism":   {"3", map[string]string{"0": "0 is out of range 1..64", "x": `"x" is not an integer`}},
	"etl.range_min_rows":      {"1000", map[string]string{"-1": "-1 is negative", "x": `"x" is not an integer`}},
	"etl.part_bytes":          {"3500000000", map[string]string{"1000": "1000 is out of range (0, or 1 MiB … 5 TiB)", "x": `"x" is not an integer`}},
	"etl.retry_attempts":      {"5", map[string]string{"21": "21 is out of range 1..20", "x": `"x" is not an integer`}},
	"etl.retry_backoff":       {"2s", map[string]string{"11m": "11m0s is out of range 1ns..10m0s", "soon": `"soon" is not a duration`}},
	"etl.gzip_level":          {"6", map[string]string{"12": "12 is out of range 1..9 (or -2 for Huffman only)", "six": `"six" is not an integer`}},
	"etl.encode_workers":      {"8", map[string]string{"257": "257 is out of range 0..256", "x": `"x" is not an integer`}},
	"etl.fetch_timeout":       {"10m0s", map[string]string{"500ms": "500ms is out of range 1s..24h0m0s", "x": `"x" is not a duration`}},
	"etl.snapshot_timeout":    {"1m0s", map[string]string{"2h": "2h0m0s is out of range 1s..1h0m0s", "x": `"x" is not a duration`}},
	"etl.compressor":          {"pgzip", map[string]string{"zstd": `"zstd" is not auto, lines, blocks or pgzip`}},
	"etl.verify_compression":  {"true", map[string]string{"maybe": `"maybe" is not true or false`}},
	"etl.decimals_as_strings": {"true", map[string]string{"maybe": `"maybe" is not true or false`}},
	"etl.omit_nulls":          {"true", map[string]string{"maybe": `"maybe" is not true or false`}},
	"server.port":             {"9090", map[string]string{"70000": "70000 is out of range 0..65535", "x": `"x" is not an integer`}},
	"server.listen":           {"127.0.0.1:9000", map[string]string{"nocolon": `"nocolon" is not host:port`}},
	"server.read_timeout":     {"1m0s", map[string]string{"0s": "0s is out of range 1s..1h0m0s", "x": `"x" is not a duration`}},
	"server.write_timeout":    {"10m0s", map[string]string{"25h": "25h0m0s is out of range 1s..24h0m0s", "x": `"x" is not a duration`}},
	"server.shutdown_grace":   {"20s", map[string]string{"2h": "2h0m0s is out of range 0s..1h0m0s", "x": `"x" is not a duration`}},
	"server.source_timeout":   {"5s", map[string]string{"1ms": "1ms is out of range 100ms..1h0m0s", "x": `"x" is not a duration`}},
	"server.public_base_url":  {"https://etl.example", nil},
	"auth.api_key":            {"a-key-of-sixteen-chars", map[string]string{"tiny-key-1": "key 1 is shorter than 16 characters"}},
	"auth.enable_bearer":      {"false", map[string]string{"maybe": `"maybe" is not true or false`}},
	"schedule.retention_days": {"30", map[string]string{"0": "0 is out of range 1..36500", "x": `"x" is not an integer`}},
}

// TestEveryKnobFromFlagEnvFile: every setting of config.Knobs is
// reachable from its flag (where it has one), its environment variable and
// the config file — `ora2gcs config show` reports the value and the place
// it came from — and an invalid value is refused from each of the three
// with the same message: "PLACE: KEY: problem" (PLACE: --FLAG, VAR or
// FILE:LINE). A secret's invalid value is never echoed.
func TestEveryKnobFromFlagEnvFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	saved := lookupEnv
	lookupEnv = func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	t.Cleanup(func() { lookupEnv = saved })

	// show runs `config show` with the value in one place; it returns the
	// exit code, stdout, stderr and the place as errors name it.
	show := func(t *testing.T, k config.Knob, place, value string) (int, string, string, string) {
		t.Helper()
		clear(vars)
		args := []string{"config", "show", "--config", empty}
		var origin string
		switch place {
		case "flag":
			args = append(args, "--"+k.Flag+"="+value)
			origin = "--" + k.Flag
		case "env":
			vars[k.Env] = value
			origin = k.Env
		case "file":
			path := filepath.Join(t.TempDir(), "config.yaml")
			doc, line := "# settings\n", 2
			if sec, leaf, ok := strings.Cut(k.Key, "."); ok {
				doc += sec + ":\n  " + leaf + ": '" + value + "'\n"
				line = 3
			} else {
				doc += k.Key + ": '" + value + "'\n"
			}
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			args[3] = path
			origin = path + ":" + string(rune('0'+line))
		}
		code, out, errs := cli(t, args...)
		return code, out, errs, origin
	}
	label := map[string]string{"flag": "flag ", "env": "env ", "file": "file "}
	for _, k := range config.Knobs() {
		s, ok := knobSamples[k.Key]
		if !ok {
			t.Errorf("%s: no sample in knobSamples", k.Key)
			continue
		}
		places := []string{"env", "file"}
		if k.Flag != "" {
			places = append(places, "flag")
		}
		t.Run(k.Key, func(t *testing.T) {
			for _, place := range places {
				code, out, errs, origin := show(t, k, place, s.good)
				want := s.good
				if k.Secret {
					want = "[REDACTED]"
				}
				re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(k.Key) + ` +` + regexp.QuoteMeta(want) + ` +` + regexp.QuoteMeta(label[place]+origin) + `$`)
				if code != 0 || !re.MatchString(out) {
					t.Errorf("%s %q: exit %d, want %s = %s from %s%s\n%s%s", place, s.good, code, k.Key, want, label[place], origin, out, errs)
				}
				if k.Secret && strings.Contains(out+errs, s.good) {
					t.Errorf("%s: the secret is shown", place)
				}
				for bad, problem := range s.bad {
					code, out, errs, origin := show(t, k, place, bad)
					msg := origin + ": " + k.Key + ": " + problem
					if code == 0 || !strings.Contains(errs, msg) {
						t.Errorf("%s %q: exit %d, stderr %q; want %q", place, bad, code, errs, msg)
					}
					if k.Secret && strings.Contains(out+errs, bad) {
						t.Errorf("%s: the invalid secret is shown", place)
					}
				}
			}
		})
	}
}
