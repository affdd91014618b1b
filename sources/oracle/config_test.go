package oracle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testSecret = "s3cr3t-Pa55"

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNewConfig(t *testing.T) {
	base := map[string]string{EnvPassword: testSecret}
	tests := []struct {
		name    string
		source  string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{name: "ezconnect", source: "oracle://scott@db.example:1521/ORCLPDB1", env: base,
			want: Config{User: "scott", Password: testSecret, ConnectString: "db.example:1521/ORCLPDB1"}},
		{name: "default port", source: "oracle://scott@db.example/ORCL", env: base,
			want: Config{User: "scott", Password: testSecret, ConnectString: "db.example:1521/ORCL"}},
		{name: "tns alias with wallet env", source: "oracle://admin@db_high",
			env:  map[string]string{EnvPassword: testSecret, EnvWalletPath: "/w"},
			want: Config{User: "admin", Password: testSecret, TNSName: "db_high", WalletPath: "/w"}},
		{name: "user from env", source: "oracle://db.example:1521/ORCL",
			env:  map[string]string{EnvPassword: testSecret, EnvUser: "envuser"},
			want: Config{User: "envuser", Password: testSecret, ConnectString: "db.example:1521/ORCL"}},
		{name: "query params", source: "oracle://scott@h:1522/S?pool_min=2&pool_max=8&fetch_array_size=500&prefetch_count=10&wallet=/x&timezone=Asia/Seoul", env: base,
			want: Config{User: "scott", Password: testSecret, ConnectString: "h:1522/S", PoolMin: 2, PoolMax: 8, FetchArraySize: 500, PrefetchCount: 10, WalletPath: "/x"}},
		// a pool smaller than the default minimum: the minimum follows it
		{name: "small pool", source: "oracle://scott@h:1521/S?pool_max=3", env: base,
			want: Config{User: "scott", Password: testSecret, ConnectString: "h:1521/S", PoolMin: 3, PoolMax: 3}},
		{name: "env only (ATP)", source: "",
			env:  map[string]string{EnvUser: "ADMIN", EnvPassword: testSecret, EnvTNSName: "db_high", EnvWalletPath: "/wallet"},
			want: Config{User: "ADMIN", Password: testSecret, TNSName: "db_high", WalletPath: "/wallet"}},
		{name: "password in url", source: "oracle://scott:" + testSecret + "@h:1521/S", env: base, wantErr: "must not contain a password"},
		{name: "wrong scheme", source: "postgres://u@h/db", env: base, wantErr: "not oracle://"},
		{name: "no service", source: "oracle://scott@h:1521", env: base, wantErr: "names no service"},
		{name: "bad int", source: "oracle://scott@h:1521/S?pool_max=many", env: base, wantErr: "pool_max"},
		{name: "bad timezone", source: "oracle://scott@h:1521/S?timezone=Mars/Base", env: base, wantErr: "timezone"},
		{name: "env missing", source: "", env: map[string]string{EnvUser: "u"}, wantErr: "ORACLE_PASSWORD, ORACLE_TNS_NAME not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewConfig(tt.source, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), testSecret) {
					t.Fatalf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want.WithDefaults()
			if tt.name == "query params" {
				loc, _ := time.LoadLocation("Asia/Seoul")
				want.Timezone = loc
			}
			if got.String() != want.String() || got.Password != want.Password {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
			if tt.name == "small pool" {
				if err := got.Validate(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestConfigDefaultsAndRedaction(t *testing.T) {
	c := Config{User: "scott", Password: testSecret, ConnectString: "h:1521/S"}.WithDefaults()
	if c.PoolMin != 5 || c.PoolMax != 20 || c.FetchArraySize != 1000 || c.PrefetchCount != 0 || c.Timezone != time.UTC {
		t.Fatalf("defaults: %s", c)
	}
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, testSecret) {
			t.Fatalf("formatted config shows the password: %s", s)
		}
	}
	if !strings.Contains(c.String(), "password=[redacted]") {
		t.Fatalf("String does not say a password is set: %s", c)
	}
	p := c.Params()
	if strings.Contains(p.String(), testSecret) {
		t.Fatalf("godror params String shows the password: %s", p.String())
	}
	if p.Password.Secret() != testSecret {
		t.Fatal("params lost the password")
	}
}

func TestParams(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cfg    Config
		connTo string
		tz     string
	}{
		{"ezconnect utc", Config{User: "u", Password: "p", ConnectString: "h:1521/S", PoolMin: 2, PoolMax: 7}, "h:1521/S?connect_timeout=10", "+00:00"},
		{"tns region", Config{User: "u", Password: "p", TNSName: "db_high", WalletPath: "/w", Timezone: seoul}, "db_high", "Asia/Seoul"},
		{"fixed zone", Config{User: "u", Password: "p", TNSName: "x", Timezone: time.FixedZone("x", -(3*3600 + 1800))}, "x", "-03:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.cfg.Params()
			c := tt.cfg.WithDefaults()
			if p.ConnectString != tt.connTo || p.Username != "u" || p.ConfigDir != tt.cfg.WalletPath {
				t.Fatalf("connect %q user %q configDir %q", p.ConnectString, p.Username, p.ConfigDir)
			}
			if !p.StandaloneConnection.Valid || p.StandaloneConnection.Bool || p.IsStandalone() {
				t.Fatal("want a session pool, not standalone connections")
			}
			if p.MinSessions != c.PoolMin || p.MaxSessions != c.PoolMax {
				t.Fatalf("pool %d..%d, want %d..%d", p.MinSessions, p.MaxSessions, c.PoolMin, c.PoolMax)
			}
			if p.Timezone != time.UTC || !p.NoTZCheck {
				t.Fatalf("timezone %v (noTZCheck %v): DATE values must be built in UTC, whatever the session zone", p.Timezone, p.NoTZCheck)
			}
			if len(p.AlterSession) != 1 || p.AlterSession[0] != [2]string{"TIME_ZONE", tt.tz} {
				t.Fatalf("alter session %v, want TIME_ZONE=%s", p.AlterSession, tt.tz)
			}
		})
	}
}

func writeWallet(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckWallet(t *testing.T) {
	sqlnet := func(dir string) string {
		return `WALLET_LOCATION = (SOURCE = (METHOD = file) (METHOD_DATA = (DIRECTORY="` + dir + `")))` + "\nSSL_SERVER_DN_MATCH=yes\n"
	}
	tests := []struct {
		name    string
		files   func(dir string) map[string]string
		wantErr string
	}{
		{"complete", func(d string) map[string]string {
			return map[string]string{"cwallet.sso": "x", "tnsnames.ora": "db_high=(…)", "sqlnet.ora": sqlnet(d), "ewallet.p12": "x"}
		}, ""},
		{"tns_admin reference", func(d string) map[string]string {
			return map[string]string{"cwallet.sso": "x", "tnsnames.ora": "", "sqlnet.ora": sqlnet("$TNS_ADMIN")}
		}, ""},
		{"no wallet_location", func(d string) map[string]string {
			return map[string]string{"cwallet.sso": "x", "tnsnames.ora": "", "sqlnet.ora": "SSL_SERVER_DN_MATCH=yes"}
		}, ""},
		{"missing cwallet and tnsnames", func(d string) map[string]string {
			return map[string]string{"sqlnet.ora": sqlnet(d)}
		}, "lacks cwallet.sso, tnsnames.ora"},
		{"missing sqlnet", func(d string) map[string]string {
			return map[string]string{"cwallet.sso": "x", "tnsnames.ora": ""}
		}, "lacks sqlnet.ora"},
		{"default oracle home directory", func(d string) map[string]string {
			return map[string]string{"cwallet.sso": "x", "tnsnames.ora": "", "sqlnet.ora": sqlnet("?/network/admin")}
		}, `edit it to DIRECTORY="`},
		{"directory elsewhere", func(d string) map[string]string {
			return map[string]string{"cwallet.sso": "x", "tnsnames.ora": "", "sqlnet.ora": sqlnet("/nonexistent/wallet")}
		}, "holds no cwallet.sso"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeWallet(t, dir, tt.files(dir))
			err := CheckWallet(dir)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	t.Run("not a folder", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "wallet.zip")
		writeWallet(t, filepath.Dir(f), map[string]string{"wallet.zip": "PK"})
		if err := CheckWallet(f); err == nil || !strings.Contains(err.Error(), "is a file, not a folder") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("absent", func(t *testing.T) {
		if err := CheckWallet(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "not readable") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	good := Config{User: "u", Password: "p", ConnectString: "h:1521/S"}.WithDefaults()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"good", func(*Config) {}, nil},
		{"nothing", func(c *Config) { *c = Config{} }, []string{"user: missing", "password: missing", "database: missing", "pool_max", "fetch_array_size"}},
		{"both names", func(c *Config) { c.TNSName = "db_high" }, []string{"both a host/service and a TNS name"}},
		{"pool inverted", func(c *Config) { c.PoolMin, c.PoolMax = 10, 3 }, []string{"pool_min: 10 is out of range 1..3"}},
		{"fetch too big", func(c *Config) { c.FetchArraySize = 1 << 20 }, []string{"fetch_array_size"}},
		{"wallet missing", func(c *Config) { c.WalletPath = "/nonexistent/w" }, []string{"wallet: /nonexistent/w is not readable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestConnectTimeout: an EZConnect string gets Easy Connect Plus's
// connect_timeout (godror's documented knob: v0.51.2 README.md:74-75 "You
// can specify connection timeout seconds with "?connect_timeout=15" - Ping
// uses this timeout, NOT the Deadline in Context!"), so a listener that
// accepts and never answers fails the connect instead of hanging it.
func TestConnectTimeout(t *testing.T) {
	base := Config{User: "u", Password: "p"}
	tests := []struct {
		name    string
		cs, tns string
		timeout time.Duration
		want    string
	}{
		{"default", "h:1521/S", "", 0, "h:1521/S?connect_timeout=10"},
		{"rounded up to seconds", "h:1521/S", "", 2500 * time.Millisecond, "h:1521/S?connect_timeout=3"},
		{"other parameters", "h:1521/S?sdu=8128", "", 5 * time.Second, "h:1521/S?sdu=8128&connect_timeout=5"},
		{"the string's own wins", "h:1521/S?CONNECT_TIMEOUT=60", "", 0, "h:1521/S?CONNECT_TIMEOUT=60"},
		{"negative: none", "h:1521/S", "", -1, "h:1521/S"},
		{"descriptor untouched", "(DESCRIPTION=(ADDRESS=(HOST=h)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=S)))", "", 0, "(DESCRIPTION=(ADDRESS=(HOST=h)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=S)))"},
		{"tns alias untouched", "", "db_high", 0, "db_high"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			c.ConnectString, c.TNSName, c.ConnectTimeout = tt.cs, tt.tns, tt.timeout
			if got := c.Params().ConnectString; got != tt.want {
				t.Fatalf("connect string %q, want %q", got, tt.want)
			}
		})
	}
	for _, u := range []struct {
		q    string
		want time.Duration
	}{{"", DefaultConnectTimeout}, {"?connect_timeout=3", 3 * time.Second}, {"?connect_timeout=0", -1}} {
		c, err := NewConfig("oracle://u@h:1521/S"+u.q, func(k string) string {
			if k == EnvPassword {
				return "pw"
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		if c.ConnectTimeout != u.want {
			t.Fatalf("source %q: ConnectTimeout %v, want %v", u.q, c.ConnectTimeout, u.want)
		}
	}
	if _, err := NewConfig("oracle://u@h:1521/S?connect_timeout=soon", func(string) string { return "pw" }); err == nil {
		t.Fatal("connect_timeout=soon accepted")
	}
}
