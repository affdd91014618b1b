package config

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const specYAML = `
server:
  port: 8080
  read_timeout: 30s
  write_timeout: 300s  # Long timeout for ETL operations

oracle:
  wallet_path: /opt/wallet
  tns_name: oracle_atp_high
  username: ${ORACLE_USER}
  password: ${ORACLE_PASSWORD}
  pool_min: 5
  pool_max: 20
  fetch_array_size: 1000

gcs:
  project_id: ${GCP_PROJECT_ID}
  credentials_file: /opt/gcp/service-account.json
  default_bucket: oracle-etl-data

etl:
  chunk_size: 10000
  parallel_tables: 4
  retry_attempts: 3
  retry_backoff: 1s

auth:
  api_key: ${API_KEY}
  enable_bearer: true
`

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if c.ListenAddr() != ":8080" || c.Server.ReadTimeout != 30*time.Second || c.Server.WriteTimeout != 300*time.Second {
		t.Errorf("server defaults = %+v", c.Server)
	}
	if c.Source != "synth" || c.Target != "file://./data" || c.DataDir != "./data" || c.GCS.DefaultBucket != "oracle-etl-data" {
		t.Errorf("connector defaults = %q %q %q %q", c.Source, c.Target, c.DataDir, c.GCS.DefaultBucket)
	}
	p := c.Pipeline()
	if p.ChunkRows != 10000 || p.FetchArraySize != 1000 || p.Retry.Attempts != 3 || p.Retry.Backoff != time.Second {
		t.Errorf("Pipeline() = %+v", p)
	}
}

func TestParseSpecLayout(t *testing.T) {
	c, err := Parse([]byte(specYAML), env(map[string]string{
		"ORACLE_USER": "scott", "ORACLE_PASSWORD": "tiger-secret", "GCP_PROJECT_ID": "proj-1", "API_KEY": "k1-0123456789abcdef,k2-0123456789abcdef",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Oracle.Username != "scott" || c.Oracle.Password != "tiger-secret" || c.Oracle.TNSName != "oracle_atp_high" || c.Oracle.WalletPath != "/opt/wallet" {
		t.Errorf("oracle = %+v", c.Oracle)
	}
	if c.GCS.ProjectID != "proj-1" || c.GCS.CredentialsFile != "/opt/gcp/service-account.json" {
		t.Errorf("gcs = %+v", c.GCS)
	}
	if got := c.Auth.Keys(); !reflect.DeepEqual(got, []string{"k1-0123456789abcdef", "k2-0123456789abcdef"}) {
		t.Errorf("keys = %q", got)
	}
	if c.ETL.ParallelTables != 4 || c.ETL.RetryBackoff != time.Second || c.ETL.TableParallelism != 1 {
		t.Errorf("etl = %+v", c.ETL)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
}

func TestExpand(t *testing.T) {
	lookup := env(map[string]string{"A": "x", "EMPTY": "", "PORT": "9090"})
	tests := []struct{ in, want string }{
		{"${A}", "x"},
		{"pre-${A}-post", "pre-x-post"},
		{"${MISSING}", ""},
		{"${MISSING:-def}", "def"},
		{"${EMPTY:-def}", "def"},
		{"${A:-def}", "x"},
		{"$$A and $A", "$A and $A"},
		{"${PORT}${A}", "9090x"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := expand(tt.in, lookup)
			if err != nil || got != tt.want {
				t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"${A", "${}", "${1X}"} {
		if _, err := expand(bad, lookup); err == nil {
			t.Errorf("expand(%q) succeeded", bad)
		}
	}
}

func TestParseTypedExpansion(t *testing.T) {
	y := "server:\n  port: ${PORT:-7070}\n  write_timeout: ${WT:-10m}\netl:\n  parallel_tables: ${PT}\noracle:\n  password: ${PW}\n  username: \"${U}\"\n"
	c, err := Parse([]byte(y), env(map[string]string{"PT": "8", "PW": "123456", "U": "007"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Port != 7070 || c.Server.WriteTimeout != 10*time.Minute || c.ETL.ParallelTables != 8 {
		t.Errorf("typed values = %d %s %d", c.Server.Port, c.Server.WriteTimeout, c.ETL.ParallelTables)
	}
	if c.Oracle.Password != "123456" || c.Oracle.Username != "007" {
		t.Errorf("string values = %q %q", c.Oracle.Password, c.Oracle.Username)
	}
	// Expansion never injects structure.
	c, err = Parse([]byte("oracle:\n  password: ${PW}\n"), env(map[string]string{"PW": "a: b\n# c"}))
	if err != nil || c.Oracle.Password != "a: b\n# c" {
		t.Errorf("password with YAML syntax = %q, %v", c.Oracle.Password, err)
	}
}

func TestParseUnknownKeys(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"server:\n  prot: 1\n", `unknown key "server.prot"`},
		{"etl:\n  chunk_size: 5\n  paralel_tables: 2\n", `unknown key "etl.paralel_tables"`},
		{"bogus: 1\n", `unknown key "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %s", err, tt.want)
			}
		})
	}
}

func TestParseListKeysAndEmpty(t *testing.T) {
	c, err := Parse([]byte("auth:\n  api_keys: [aaaaaaaaaaaaaaaa1, aaaaaaaaaaaaaaaa2]\n  api_key: aaaaaaaaaaaaaaaa1\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Auth.Keys(); !reflect.DeepEqual(got, []string{"aaaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaaa2"}) {
		t.Errorf("keys = %q", got)
	}
	c, err = Parse(nil, env(nil))
	if err != nil || !reflect.DeepEqual(c, Default()) {
		t.Errorf("empty document = %+v, %v", c, err)
	}
	if _, err := Parse([]byte("server: [1, 2"), env(nil)); err == nil {
		t.Error("malformed YAML parsed")
	}
	if _, err := Parse([]byte("server:\n  port: many\n"), env(nil)); err == nil {
		t.Error("non-integer port parsed")
	}
}

func TestLoadFileAndEnvOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(specYAML+"source: synth\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"ORACLE_USER": "u2", "ORACLE_PASSWORD": "p2", "ORACLE_TNS_NAME": "tns2", "ORACLE_WALLET_PATH": "/w2",
		"GCP_PROJECT_ID": "proj2", "GOOGLE_APPLICATION_CREDENTIALS": "/cred.json", "API_KEY": "abcdefghijklmnop",
		"ORA2GCS_SOURCE": "postgres://u:pw@127.0.0.1/db", "ORA2GCS_TARGET": "gcs", "ORA2GCS_BUCKET": "my-bucket",
		"ORA2GCS_LISTEN": "127.0.0.1:9999", "ORA2GCS_DATA_DIR": "/tmp/d",
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Server = ServerConfig{Port: 8080, Listen: "127.0.0.1:9999", ReadTimeout: 30 * time.Second, WriteTimeout: 300 * time.Second, SourceTimeout: 30 * time.Second}
	want.Oracle = OracleConfig{WalletPath: "/w2", TNSName: "tns2", Username: "u2", Password: "p2", PoolMin: 5, PoolMax: 20, FetchArraySize: 1000}
	want.GCS = GCSConfig{ProjectID: "proj2", CredentialsFile: "/cred.json", DefaultBucket: "my-bucket"}
	want.Auth = AuthConfig{APIKey: "abcdefghijklmnop", EnableBearer: true}
	want.Source, want.Target, want.DataDir = "postgres://u:pw@127.0.0.1/db", "gcs", "/tmp/d"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file loaded")
	}
}

func TestValidateNamesKey(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"parallel tables", func(c *Config) { c.ETL.ParallelTables = 0 }, "config: etl.parallel_tables: 0 is out of range 1..64"},
		{"table parallelism", func(c *Config) { c.ETL.TableParallelism = 65 }, "etl.table_parallelism: 65 is out of range 1..64"},
		{"chunk size", func(c *Config) { c.ETL.ChunkSize = -1 }, "etl.chunk_size"},
		{"retry attempts", func(c *Config) { c.ETL.RetryAttempts = 0 }, "etl.retry_attempts"},
		{"retry backoff", func(c *Config) { c.ETL.RetryBackoff = time.Hour }, "etl.retry_backoff"},
		{"gzip level", func(c *Config) { c.ETL.GzipLevel = 10 }, "etl.gzip_level"},
		{"fetch timeout", func(c *Config) { c.ETL.FetchTimeout = 10 * time.Millisecond }, "etl.fetch_timeout: 10ms is out of range 1s..24h0m0s"},
		{"negative fetch timeout", func(c *Config) { c.ETL.FetchTimeout = -time.Second }, "etl.fetch_timeout"},
		{"snapshot timeout", func(c *Config) { c.ETL.SnapshotTimeout = 2 * time.Hour }, "etl.snapshot_timeout"},
		{"port", func(c *Config) { c.Server.Port = 70000 }, "server.port"},
		{"listen", func(c *Config) { c.Server.Listen = "nohost" }, "server.listen"},
		{"read timeout", func(c *Config) { c.Server.ReadTimeout = 0 }, "server.read_timeout"},
		{"write timeout", func(c *Config) { c.Server.WriteTimeout = 0 }, "server.write_timeout"},
		{"pool max", func(c *Config) { c.Oracle.PoolMax = 0 }, "oracle.pool_max"},
		{"pool min", func(c *Config) { c.Oracle.PoolMin = 30 }, "oracle.pool_min: 30 is out of range 1..20"},
		{"fetch size", func(c *Config) { c.Oracle.FetchArraySize = 0 }, "oracle.fetch_array_size"},
		{"bucket", func(c *Config) { c.GCS.DefaultBucket = "Bad_Bucket" }, "gcs.default_bucket"},
		{"gcs chunk", func(c *Config) { c.GCS.ChunkSize = 1000 }, "gcs.chunk_size"},
		{"short key", func(c *Config) { c.Auth.APIKey = "short" }, "auth.api_key: key 1 is shorter"},
		{"source", func(c *Config) { c.Source = "mysql://x" }, `source: unknown kind "mysql"`},
		{"no source", func(c *Config) { c.Source = "" }, "source: required"},
		{"oracle without tns", func(c *Config) { c.Source = "oracle" }, "oracle.tns_name"},
		{"target", func(c *Config) { c.Target = "s3://x" }, "target: unknown target"},
		{"gs target", func(c *Config) { c.Target = "gs://A" }, "target: bucket name"},
		{"data dir", func(c *Config) { c.DataDir = " " }, "data_dir: required"},
		{"retention", func(c *Config) { c.Schedule.RetentionDays = 0 }, "schedule.retention_days: 0 is out of range 1..36500"},
		{"windows without periods", func(c *Config) { c.Schedule.Windows = &WindowsConfig{Timezone: "Asia/Seoul"} }, "schedule.windows.allow"},
		{"windows on_close", func(c *Config) {
			c.Schedule.Windows = &WindowsConfig{Timezone: "Asia/Seoul", OnClose: "pause", Allow: []WindowRuleConfig{{Days: "mon", From: "22:00", To: "06:00"}}}
		}, "schedule.windows.on_close"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	c := Default()
	c.ETL.ParallelTables, c.Server.Port = 0, -1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "etl.parallel_tables") || !strings.Contains(err.Error(), "server.port") {
		t.Errorf("Validate reports only the first problem: %v", err)
	}
}

func TestRedactedNeverShowsSecrets(t *testing.T) {
	c := Default()
	c.Oracle.Password = "ora-pass-123"
	c.Oracle.DSN = "admin/dsn-pass-456@tcps://host:1522/svc"
	c.Auth.APIKey = "key-aaaaaaaaaaaaaaaa"
	c.Auth.APIKeys = []string{"key-bbbbbbbbbbbbbbbb"}
	c.Source = "postgres://etl:pg-pass-789@127.0.0.1:5432/db"
	secrets := []string{"ora-pass-123", "dsn-pass-456", "key-aaaaaaaaaaaaaaaa", "key-bbbbbbbbbbbbbbbb", "pg-pass-789"}

	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("config", "config", c)
	outputs := map[string]string{"String": c.String(), "Redacted": strings.Join([]string{c.Redacted().Oracle.Password, c.Redacted().Oracle.DSN, c.Redacted().Source, c.Redacted().Auth.APIKey}, " "), "slog": logBuf.String()}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output contains secret %q:\n%s", name, s, out)
			}
		}
	}
	r := c.Redacted()
	if r.Source != "postgres://etl:[REDACTED]@127.0.0.1:5432/db" || r.Oracle.DSN != "admin/[REDACTED]@tcps://host:1522/svc" {
		t.Errorf("redacted = %q %q", r.Source, r.Oracle.DSN)
	}
	if !strings.Contains(c.String(), "tns_name") || !strings.Contains(c.String(), "300s") && !strings.Contains(c.String(), "5m0s") {
		t.Errorf("String() lacks the layout:\n%s", c.String())
	}
	if c.Oracle.Password != "ora-pass-123" {
		t.Error("Redacted modified the receiver")
	}
	if c.Auth.APIKeys[0] != "key-bbbbbbbbbbbbbbbb" {
		t.Error("Redacted modified the shared api_keys slice")
	}
}

func TestSourceKind(t *testing.T) {
	for in, want := range map[string]string{"synth": "synth", "SYNTH": "synth", "postgres://x": "postgres", "postgresql://x": "postgres", "oracle": "oracle", "oracle://u@h/s": "oracle", "mysql://x": "mysql", "": ""} {
		if got := SourceKind(in); got != want {
			t.Errorf("SourceKind(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSourceTimeouts: etl.fetch_timeout and etl.snapshot_timeout parse as
// durations, default to 5m and 2m, and 0 turns the bound off (a negative
// value in the connectors' options, whose zero means their default).
func TestSourceTimeouts(t *testing.T) {
	if f, s := Default().ETL.SourceTimeouts(); f != 5*time.Minute || s != 2*time.Minute {
		t.Fatalf("defaults %v %v, want 5m 2m", f, s)
	}
	c, err := Parse([]byte("etl:\n  fetch_timeout: 90s\n  snapshot_timeout: 0s\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if f, s := c.ETL.SourceTimeouts(); f != 90*time.Second || s >= 0 {
		t.Fatalf("fetch %v snapshot %v, want 1m30s and negative (no bound)", f, s)
	}
	if _, err := Parse([]byte("etl:\n  fetch_timeout: soon\n"), env(nil)); err == nil {
		t.Fatal("fetch_timeout: soon accepted")
	}
}

// TestJobsRangeMinRows: etl.range_min_rows 0 (no table too small to split)
// reaches the jobs manager as negative (its zero is its default, 200,000).
func TestJobsRangeMinRows(t *testing.T) {
	for in, want := range map[int64]int64{0: -1, 1: 1, 200000: 200000} {
		if got := (ETLConfig{RangeMinRows: in}).JobsRangeMinRows(); got != want {
			t.Errorf("%d → %d, want %d", in, got, want)
		}
	}
}
