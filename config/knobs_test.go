package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestResolvePrecedence: a knob set in the file is overridden by the
// environment, which is overridden by the flag; a knob only in the file
// keeps the file's value; Origins says where each came from.
func TestResolvePrecedence(t *testing.T) {
	path := writeFile(t, "etl:\n  gzip_level: 6\n  parallel_tables: 2\n  chunk_size: 500\n")
	vars := map[string]string{"ORA2GCS_GZIP_LEVEL": "4", "ORA2GCS_CHUNK_SIZE": "700"}
	c, o, err := Resolve(Sources{File: path, Lookup: env(vars), Flags: map[string]string{"gzip-level": "9"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.ETL.GzipLevel != 9 || c.ETL.ChunkSize != 700 || c.ETL.ParallelTables != 2 || c.ETL.TableParallelism != 1 {
		t.Fatalf("gzip %d chunk %d parallel %d table_par %d; want 9 (flag) 700 (env) 2 (file) 1 (default)",
			c.ETL.GzipLevel, c.ETL.ChunkSize, c.ETL.ParallelTables, c.ETL.TableParallelism)
	}
	want := map[string]string{"etl.gzip_level": "flag --gzip-level", "etl.chunk_size": "env ORA2GCS_CHUNK_SIZE",
		"etl.parallel_tables": "file " + path + ":3", "etl.table_parallelism": "default"}
	for key, label := range want {
		if got := o[key].Label(); got != label {
			t.Errorf("origin of %s = %q, want %q", key, got, label)
		}
	}
	// without the flag the environment wins, without both the file
	c, _, _ = Resolve(Sources{File: path, Lookup: env(vars)})
	if c.ETL.GzipLevel != 4 {
		t.Errorf("env over file: level %d", c.ETL.GzipLevel)
	}
	c, _, _ = Resolve(Sources{File: path, Lookup: env(nil)})
	if c.ETL.GzipLevel != 6 {
		t.Errorf("file over default: level %d", c.ETL.GzipLevel)
	}
}

// TestInvalidValueNamesOrigin: an invalid value from each of the three
// places is one error naming that place and the key; a value overridden
// by a higher layer is not the one checked.
func TestInvalidValueNamesOrigin(t *testing.T) {
	path := writeFile(t, "# comment\netl:\n  parallel_tables: 2\n  gzip_level: 12\n")
	good := writeFile(t, "etl:\n  gzip_level: 6\n")
	const rule = "etl.gzip_level: 12 is out of range 1..9 (or -2 for Huffman only)"
	for _, tt := range []struct {
		name string
		s    Sources
		want string
	}{
		{"file", Sources{File: path}, path + ":4: " + rule},
		{"env", Sources{File: good, Lookup: env(map[string]string{"ORA2GCS_GZIP_LEVEL": "12"})}, "ORA2GCS_GZIP_LEVEL: " + rule},
		{"flag", Sources{File: good, Lookup: env(map[string]string{"ORA2GCS_GZIP_LEVEL": "3"}), Flags: map[string]string{"gzip-level": "12"}}, "--gzip-level: " + rule},
		{"file parse", Sources{File: writeFile(t, "etl:\n  gzip_level: six\n")}, `:2: etl.gzip_level: "six" is not an integer`},
		{"env parse", Sources{Lookup: env(map[string]string{"ORA2GCS_RETRY_BACKOFF": "soon"})}, `ORA2GCS_RETRY_BACKOFF: etl.retry_backoff: "soon" is not a duration`},
		{"flag parse", Sources{Flags: map[string]string{"omit-nulls": "maybe"}}, `--omit-nulls: etl.omit_nulls: "maybe" is not true or false`},
		{"cross-knob, env", Sources{Lookup: env(map[string]string{"ORA2GCS_POSTGRES_POOL_MIN": "30"})}, "ORA2GCS_POSTGRES_POOL_MIN: postgres.pool_min: 30 is out of range 1..20"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.s.Lookup == nil {
				tt.s.Lookup = env(nil)
			}
			_, _, err := Resolve(tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant %q", err, tt.want)
			}
			if n := strings.Count(err.Error(), "\n"); n != 0 {
				t.Errorf("%d errors, want one: %v", n+1, err)
			}
		})
	}
	// the file's 12 is overridden by a valid flag: nothing to report
	if _, _, err := Resolve(Sources{File: path, Lookup: env(nil), Flags: map[string]string{"gzip-level": "9"}}); err != nil {
		t.Errorf("overridden file value reported: %v", err)
	}
}

// TestUnknownKeyIsAnError: a misspelt key fails with its line instead of
// silently keeping the default; so does a value where a section is wanted.
func TestUnknownKeyIsAnError(t *testing.T) {
	for body, want := range map[string]string{
		"etl:\n  gzip_level: 6\n  gzip_levle: 9\n":  `line 3: unknown key "etl.gzip_levle"`,
		"postgres:\n  pool_max: 4\n  poolmax: 9\n":  `line 3: unknown key "postgres.poolmax"`,
		"etl:\n  gzip_level: [1, 2]\n":              "etl.gzip_level: want a single value",
		"oracle:\n  pool_max: 3\nsourc: synth\n":    `line 3: unknown key "sourc"`,
		"schedule:\n  windows:\n    timezon: UTC\n": `unknown key "schedule.windows.timezon"`,
		// the distributed section is structured: every key of it is checked too
		"distributed:\n  default_shards: 4\n  default_shard: 8\n":                             `line 3: unknown key "distributed.default_shard"`,
		"distributed:\n  local: {mode: processes, paralel: 2}\n":                              `line 2: unknown key "distributed.local.paralel"`,
		"distributed:\n  cloudrun:\n    job: projects/p/locations/l/jobs/j\n    tmeout: 1h\n": `line 4: unknown key "distributed.cloudrun.tmeout"`,
		"distributed:\n  beam:\n    comand: [ora2gcs-beam]\n":                                 `line 3: unknown key "distributed.beam.comand"`,
		"distributed:\n  Poll: 1s\n":                                                          `line 2: unknown key "distributed.Poll"`,
		"distributed: local\n":                                                                "config.yaml:1: distributed: line 1: cannot unmarshal",
	} {
		_, _, err := Resolve(Sources{File: writeFile(t, body), Lookup: env(nil)})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
}

// TestSecretsNeverShown: config show, the reference and parse errors
// never print a password, an API key or a password in a URL, from any
// origin.
func TestSecretsNeverShown(t *testing.T) {
	path := writeFile(t, "auth:\n  api_key: file-key-aaaaaaaaaaaa\noracle:\n  dsn: admin/dsn-pass-456@db\n")
	vars := map[string]string{"ORACLE_PASSWORD": "ora-pass-123", "ORA2GCS_SOURCE": "postgres://u:pg-pass-789@h/db"}
	// (the CLI refuses a password in a postgres URL; the config redacts it)
	c, o, err := resolve(Sources{File: path, Lookup: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	out := c.Show(o) + Reference() + c.String()
	for _, s := range []string{"file-key-aaaaaaaaaaaa", "dsn-pass-456", "ora-pass-123", "pg-pass-789"} {
		if strings.Contains(out, s) {
			t.Errorf("output shows secret %q:\n%s", s, out)
		}
	}
	if !regexp.MustCompile(`oracle.password +\[REDACTED\] +env ORACLE_PASSWORD`).MatchString(c.Show(o)) {
		t.Errorf("show:\n%s", c.Show(o))
	}
	for _, k := range Knobs() {
		if k.Secret && k.Flag != "" {
			t.Errorf("secret %s has a flag", k.Key)
		}
	}
}

// TestKnobTable: every scalar field of Config is exactly one knob (or a
// structured file-only setting), with a unique key, flag and variable, a
// document line, and a default that passes its own rule.
func TestKnobTable(t *testing.T) {
	seen := map[string]map[string]bool{"key": {}, "flag": {}, "env": {}}
	for _, k := range Knobs() {
		for kind, v := range map[string]string{"key": k.Key, "flag": k.Flag, "env": k.Env} {
			if v == "" && kind == "flag" {
				if k.NoFlag == "" {
					t.Errorf("%s has no flag and no reason", k.Key)
				}
				continue
			}
			if v == "" || seen[kind][v] {
				t.Errorf("%s: %s %q empty or repeated", k.Key, kind, v)
			}
			seen[kind][v] = true
		}
		if k.Doc == "" || k.Group == 0 {
			t.Errorf("%s: no doc or group", k.Key)
		}
	}
	structured := map[string]bool{}
	for _, s := range StructuredKeys {
		structured[s[0]] = true
	}
	var walk func(t reflect.Type, prefix string, fn func(string))
	walk = func(typ reflect.Type, prefix string, fn func(string)) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			key := prefix + name
			if structured[key] {
				continue
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
				walk(f.Type, key+".", fn)
				continue
			}
			fn(key)
		}
	}
	walk(reflect.TypeOf(Config{}), "", func(key string) {
		if !seen["key"][key] {
			t.Errorf("config field %s is no knob", key)
		}
		delete(seen["key"], key)
	})
	for key := range seen["key"] {
		t.Errorf("knob %s is no config field", key)
	}
	// the file decoder accepts every knob key with its default value
	var doc strings.Builder
	for _, k := range Knobs() {
		sec, leaf, ok := strings.Cut(k.Key, ".")
		if !ok {
			leaf, sec = sec, ""
		}
		v, _ := yaml.Marshal(k.Get(Default()))
		if sec == "" {
			doc.WriteString(leaf + ": " + string(v))
		} else {
			doc.WriteString(sec + ":\n  " + leaf + ": " + string(v))
		}
	}
	c, err := Parse([]byte(doc.String()), env(nil))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc.String())
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("every key at its default != Default():\n%+v", c)
	}
	if err := Default().Validate(); err != nil {
		t.Error(err)
	}
}

// TestReferenceIsCurrent fails when docs/CONFIG.md's generated table does
// not match Knobs: run go generate ./config.
func TestReferenceIsCurrent(t *testing.T) {
	data, err := os.ReadFile("../docs/CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := replaceReference(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if want != string(data) {
		t.Fatal("docs/CONFIG.md's settings reference is stale: run go generate ./config")
	}
}
