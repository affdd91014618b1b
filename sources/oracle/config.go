package oracle

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Environment variables read by ConfigFromEnv (spec FR-01.1, NFR-03.1).
const (
	EnvUser       = "ORACLE_USER"
	EnvPassword   = "ORACLE_PASSWORD"
	EnvTNSName    = "ORACLE_TNS_NAME"
	EnvWalletPath = "ORACLE_WALLET_PATH"
)

// Defaults of Config (spec FR-01.2, FR-02.1).
const (
	DefaultPoolMin        = 5
	DefaultPoolMax        = 20
	DefaultFetchArraySize = 1000
	// DefaultLOBMemory is Config.LOBMemory's default: 256 MiB.
	DefaultLOBMemory = 256 << 20
	// LOBRowBytes is the LONG data per row the fetch array of a table with a
	// LONG, LONG RAW or XMLTYPE column is sized for: half of LOBMemory holds
	// LOBMemory/2/LOBRowBytes rows (16 by default) of values up to this size.
	LOBRowBytes = 8 << 20
	// DefaultConnectTimeout is Config.ConnectTimeout's default.
	DefaultConnectTimeout = 10 * time.Second
)

// WalletFiles are the files an ATP wallet folder must hold for mTLS with the
// auto-login wallet: the wallet itself, the client network configuration
// (which must point WALLET_LOCATION at the folder) and the TNS aliases.
var WalletFiles = []string{"cwallet.sso", "sqlnet.ora", "tnsnames.ora"}

// Config says how to reach one Oracle database. Exactly one of ConnectString
// (from an oracle:// URL: EZConnect host:port/service) or TNSName (an alias
// of WalletPath's tnsnames.ora, e.g. "db_high") names the database.
//
// The password never comes from a command line: NewConfig and ConfigFromEnv
// take it from ORACLE_PASSWORD. String redacts it; it is never put in an error.
type Config struct {
	// ConnectString is the EZConnect string "host:port/service" parsed from
	// an oracle://user@host:port/service URL.
	ConnectString string `json:"connect_string,omitempty" yaml:"connect_string"`
	// User is the database user.
	User string `json:"user" yaml:"user"`
	// Password is the user's password (from ORACLE_PASSWORD).
	Password string `json:"-" yaml:"-"`
	// TNSName is an alias of tnsnames.ora (ATP: db_high, db_medium, db_low…).
	TNSName string `json:"tns_name,omitempty" yaml:"tns_name"`
	// WalletPath is the folder holding cwallet.sso, sqlnet.ora and
	// tnsnames.ora. It becomes the client's configuration directory
	// (TNS_ADMIN). The Oracle client reads it once per process: every Open in
	// one process must use the same WalletPath.
	WalletPath string `json:"wallet_path,omitempty" yaml:"wallet_path"`
	// PoolMin and PoolMax bound the session pool (defaults 5, at most
	// PoolMax, and 20; sqlsource.CheckPool).
	PoolMin int `json:"pool_min" yaml:"pool_min"`
	PoolMax int `json:"pool_max" yaml:"pool_max"`
	// FetchArraySize is the rows per round trip (default 1000).
	FetchArraySize int `json:"fetch_array_size" yaml:"fetch_array_size"`
	// PrefetchCount is the rows the server sends with the execute reply
	// (0: each query's fetch array size + 1, so a table smaller than one
	// array needs a single round trip).
	PrefetchCount int `json:"prefetch_count" yaml:"prefetch_count"`
	// Timezone is the session TIME_ZONE: TIMESTAMP WITH LOCAL TIME ZONE
	// values arrive in it, and session functions (CURRENT_TIMESTAMP,
	// LOCALTIMESTAMP) use it; SYSTIMESTAMP and SYSDATE keep the database
	// host's zone.
	// Default UTC. It never touches DATE and TIMESTAMP values: they carry no
	// zone, godror builds them in UTC and they are written with the wall
	// clock the database holds, also inside a DST gap of this zone.
	Timezone *time.Location `json:"-" yaml:"-"`
	// LibDir is where the Instant Client libraries are when they are not on
	// the loader path (LD_LIBRARY_PATH / ldconfig). Optional.
	LibDir string `json:"lib_dir,omitempty" yaml:"lib_dir"`

	// LOBMemory bounds the memory of one reader of a table with LOB or LONG
	// columns (CLOB, NCLOB, BLOB, LONG, LONG RAW, XMLTYPE, JSON): an eighth
	// of it for each batch (a batch ends once its values reach that size).
	// CLOB, NCLOB and BLOB values longer than LOBInlineChars characters
	// (LOBInlineBytes bytes) and native JSON are streamed through their
	// locators, so they never sit in the fetch array; LONG, LONG RAW and
	// XMLTYPE have no locator and godror fetches them inline into one
	// buffer per fetch-array row that grows to the largest value and is
	// kept, so a table with such a column gets half of LOBMemory for those
	// buffers (its fetch array shrinks to LOBMemory/2/LOBRowBytes rows).
	// Default DefaultLOBMemory.
	LOBMemory int64 `json:"lob_memory" yaml:"lob_memory"`

	// ConnectTimeout bounds establishing one session: Params adds it to an
	// EZConnect string as Easy Connect Plus's connect_timeout (whole
	// seconds, rounded up), unless the string sets one itself. godror has no
	// parameter of its own for it and documents this one, which also bounds
	// Ping, "NOT the Deadline in Context" (godror v0.51.2 README.md:74-75,
	// doc/connection.md:82-85; it needs an Oracle Client 19c or later). A
	// TNS alias sets its own (CONNECT_TIMEOUT in its tnsnames.ora entry, or
	// SQLNET.OUTBOUND_CONNECT_TIMEOUT in sqlnet.ora). Default
	// DefaultConnectTimeout; negative adds none. Source URL parameter
	// connect_timeout (seconds).
	ConnectTimeout time.Duration `json:"-" yaml:"-"`
	// FetchTimeout and SnapshotTimeout bound a reader's wait for its query
	// and each fetch, and opening a job's snapshot (sqlsource.Options;
	// defaults 5 and 2 minutes, negative: none).
	FetchTimeout    time.Duration `json:"-" yaml:"-"`
	SnapshotTimeout time.Duration `json:"-" yaml:"-"`

	// fetchFromSource: FetchArraySize came from the source URL, the most
	// specific setting, so it wins over ReadOptions.FetchArraySize (which
	// jobs always fill from their own configuration).
	fetchFromSource bool
}

// NewConfig builds a Config from a --source value and the environment
// (getenv is os.Getenv in production). An empty source means the ATP
// settings of ConfigFromEnv. Otherwise source is
//
//	oracle://user@host:port/service     EZConnect
//	oracle://user@alias                 a TNS alias of ORACLE_WALLET_PATH
//
// with the query parameters pool_min, pool_max, fetch_array_size,
// prefetch_count, timezone, connect_timeout (seconds, 0: none) and wallet
// (a wallet folder). The password comes
// from ORACLE_PASSWORD; a URL that embeds one is rejected.
func NewConfig(source string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if strings.TrimSpace(source) == "" {
		return ConfigFromEnv(getenv)
	}
	u, err := url.Parse(source)
	if err != nil {
		// url.Parse quotes the input in its error, password included.
		return Config{}, errors.New("oracle: source is not a valid oracle://user@host:port/service URL")
	}
	if u.Scheme != "oracle" {
		return Config{}, fmt.Errorf("oracle: source scheme %q is not oracle:// (want oracle://user@host:port/service)", u.Scheme)
	}
	if _, has := u.User.Password(); has {
		return Config{}, fmt.Errorf("oracle: the source URL must not contain a password (it would show in process lists and logs): remove it and set %s instead", EnvPassword)
	}
	c := Config{
		User:       u.User.Username(),
		Password:   getenv(EnvPassword),
		WalletPath: getenv(EnvWalletPath),
	}
	if c.User == "" {
		c.User = getenv(EnvUser)
	}
	service := strings.Trim(u.Path, "/")
	switch {
	case u.Host == "":
		return Config{}, errors.New("oracle: source URL has no host (want oracle://user@host:port/service)")
	case service == "" && u.Port() == "":
		c.TNSName = u.Host
	case service == "":
		return Config{}, fmt.Errorf("oracle: source URL names no service: want oracle://user@%s/SERVICE", u.Host)
	default:
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "1521")
		}
		c.ConnectString = host + "/" + service
	}
	q := u.Query()
	if w := q.Get("wallet"); w != "" {
		c.WalletPath = w
	}
	for _, p := range []struct {
		key string
		dst *int
	}{{"pool_min", &c.PoolMin}, {"pool_max", &c.PoolMax}, {"fetch_array_size", &c.FetchArraySize}, {"prefetch_count", &c.PrefetchCount}} {
		if s := q.Get(p.key); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return Config{}, fmt.Errorf("oracle: source parameter %s=%q is not an integer", p.key, s)
			}
			*p.dst = n
			if p.key == "fetch_array_size" {
				c.fetchFromSource = true
			}
		}
	}
	if s := q.Get("connect_timeout"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return Config{}, fmt.Errorf("oracle: source parameter connect_timeout=%q is not a number of seconds", s)
		}
		c.ConnectTimeout = time.Duration(n) * time.Second
		if n == 0 {
			c.ConnectTimeout = -1 // none
		}
	}
	if tz := q.Get("timezone"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return Config{}, fmt.Errorf("oracle: source parameter timezone=%q: %w", tz, err)
		}
		c.Timezone = loc
	}
	return c.WithDefaults(), nil
}

// ConfigFromEnv builds the ATP configuration of the spec from ORACLE_USER,
// ORACLE_PASSWORD, ORACLE_TNS_NAME and ORACLE_WALLET_PATH.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Config{
		User:       getenv(EnvUser),
		Password:   getenv(EnvPassword),
		TNSName:    getenv(EnvTNSName),
		WalletPath: getenv(EnvWalletPath),
	}
	var missing []string
	for _, kv := range [][2]string{{EnvUser, c.User}, {EnvPassword, c.Password}, {EnvTNSName, c.TNSName}} {
		if kv[1] == "" {
			missing = append(missing, kv[0])
		}
	}
	if len(missing) > 0 {
		return Config{}, fmt.Errorf("oracle: no --source given and %s not set (set them, plus %s for ATP, or pass --source oracle://user@host:port/service)",
			strings.Join(missing, ", "), EnvWalletPath)
	}
	return c.WithDefaults(), nil
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.PoolMax == 0 {
		c.PoolMax = DefaultPoolMax
	}
	if c.PoolMin == 0 {
		c.PoolMin = min(DefaultPoolMin, c.PoolMax) // ?pool_max=3 alone is a valid pool
	}
	if c.FetchArraySize == 0 {
		c.FetchArraySize = DefaultFetchArraySize
	}
	if c.Timezone == nil {
		c.Timezone = time.UTC
	}
	if c.LOBMemory == 0 {
		c.LOBMemory = DefaultLOBMemory
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	return c
}

// Validate reports everything wrong with c at once: missing user, password
// or database name, out-of-range pool and fetch sizes, and a wallet folder
// that is missing or lacks one of WalletFiles (naming which).
func (c Config) Validate() error {
	var errs []error
	if c.User == "" {
		errs = append(errs, fmt.Errorf("user: missing (oracle://USER@… or %s)", EnvUser))
	}
	if c.Password == "" {
		errs = append(errs, fmt.Errorf("password: missing (set %s)", EnvPassword))
	}
	switch {
	case c.ConnectString == "" && c.TNSName == "":
		errs = append(errs, fmt.Errorf("database: missing (oracle://user@host:port/service or %s)", EnvTNSName))
	case c.ConnectString != "" && c.TNSName != "":
		errs = append(errs, errors.New("database: both a host/service and a TNS name given; use one"))
	}
	// the pool is a SQL source's (sqlsource.CheckPool), the fetch array
	// the engine's (pipeline.CheckFetchArraySize): one rule each
	minP, maxP := sqlsource.CheckPool(c.PoolMin, c.PoolMax)
	if minP != "" && c.PoolMin != 0 { // 0: the default
		errs = append(errs, fmt.Errorf("pool_min: %s", minP))
	}
	if maxP != "" {
		errs = append(errs, fmt.Errorf("pool_max: %s", maxP))
	}
	if p := pipeline.CheckFetchArraySize(c.FetchArraySize); p != "" {
		errs = append(errs, fmt.Errorf("fetch_array_size: %s", p))
	}
	if c.PrefetchCount < 0 || c.PrefetchCount > pipeline.MaxFetchArraySize+1 {
		errs = append(errs, fmt.Errorf("prefetch_count: %d is out of range (0..%d)", c.PrefetchCount, pipeline.MaxFetchArraySize+1))
	}
	if c.LOBMemory < 0 || (c.LOBMemory > 0 && c.LOBMemory < 2*LOBRowBytes) {
		errs = append(errs, fmt.Errorf("lob_memory: %d is out of range (at least %d bytes)", c.LOBMemory, 2*LOBRowBytes))
	}
	if c.WalletPath != "" {
		if err := CheckWallet(c.WalletPath); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("oracle: invalid config: %w", err)
	}
	return nil
}

var walletDirRE = regexp.MustCompile(`(?is)DIRECTORY\s*=\s*"?([^")]+?)"?\s*\)`)

// CheckWallet checks that dir is a folder holding every one of WalletFiles
// and that its sqlnet.ora points WALLET_LOCATION at a folder with
// cwallet.sso. The error names what is missing and how to fix it; it never
// contains file contents.
func CheckWallet(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("wallet: %s is not readable (%s): unzip the ATP wallet there or fix %s", dir, errText(err), EnvWalletPath)
	}
	if !st.IsDir() {
		return fmt.Errorf("wallet: %s is a file, not a folder: unzip the wallet zip and set %s to the folder", dir, EnvWalletPath)
	}
	var missing []string
	for _, f := range WalletFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("wallet: %s lacks %s (an ATP wallet folder holds %s): download the wallet zip again and unzip all of it",
			dir, strings.Join(missing, ", "), strings.Join(WalletFiles, ", "))
	}
	ora, err := os.ReadFile(filepath.Join(dir, "sqlnet.ora"))
	if err != nil {
		return fmt.Errorf("wallet: read %s: %s", filepath.Join(dir, "sqlnet.ora"), errText(err))
	}
	m := walletDirRE.FindSubmatch(ora)
	if m == nil {
		return nil // no WALLET_LOCATION: the client looks in TNS_ADMIN, which is dir
	}
	loc := strings.TrimSpace(string(m[1]))
	if strings.HasPrefix(loc, "?") {
		return fmt.Errorf(`wallet: %s/sqlnet.ora has WALLET_LOCATION DIRECTORY="%s" (the client's home, not this folder): edit it to DIRECTORY="%s"`, dir, loc, dir)
	}
	if strings.Contains(loc, "$") {
		loc = os.Expand(loc, func(k string) string {
			if k == "TNS_ADMIN" {
				return dir
			}
			return os.Getenv(k)
		})
	}
	if _, err := os.Stat(filepath.Join(loc, "cwallet.sso")); err != nil {
		return fmt.Errorf(`wallet: %s/sqlnet.ora has WALLET_LOCATION DIRECTORY="%s", which holds no cwallet.sso: edit it to DIRECTORY="%s"`, dir, loc, dir)
	}
	return nil
}

// errText is an OS error without the path it repeats.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Database is what the config connects to, for messages: the EZConnect
// string or the TNS alias. It never contains the password.
func (c Config) Database() string {
	if c.ConnectString != "" {
		return c.ConnectString
	}
	return c.TNSName
}

// String describes c for logs; the password shows as [redacted].
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "oracle user=%s database=%s", c.User, c.Database())
	if c.Password != "" {
		b.WriteString(" password=[redacted]")
	}
	if c.WalletPath != "" {
		fmt.Fprintf(&b, " wallet=%s", c.WalletPath)
	}
	fmt.Fprintf(&b, " pool=%d..%d fetch_array_size=%d prefetch_count=%d", c.PoolMin, c.PoolMax, c.FetchArraySize, c.PrefetchCount)
	if c.Timezone != nil {
		fmt.Fprintf(&b, " timezone=%s", c.Timezone)
	}
	return b.String()
}

// GoString keeps %#v from printing the password.
func (c Config) GoString() string { return c.String() }

// Params turns c into godror's connection parameters: a session pool of
// PoolMin..PoolMax, the wallet folder as configuration directory
// (TNS_ADMIN), UTC as godror's Timezone and c.Timezone as the session
// TIME_ZONE (so TIMESTAMP WITH LOCAL TIME ZONE arrives in it).
//
// godror builds every DATE and TIMESTAMP value with time.Date(fields…,
// Params.Timezone) (godror v0.51.2 rows.go:547-563); in a zone with DST,
// Go moves a wall clock of the spring-forward gap by an hour. UTC has no
// gaps, so the wall clock arrives as stored; it also keeps godror from
// asking the database for its OS zone.
func (c Config) Params() godror.ConnectionParams {
	c = c.WithDefaults()
	var p godror.ConnectionParams
	p.Username = c.User
	p.Password = godror.NewPassword(c.Password)
	p.ConnectString = c.Database()
	if c.ConnectString != "" {
		p.ConnectString = withConnectTimeout(c.ConnectString, c.ConnectTimeout)
	}
	p.ConfigDir = c.WalletPath
	p.LibDir = c.LibDir
	p.Timezone = time.UTC
	p.NoTZCheck = true
	p.AlterSession = [][2]string{{"TIME_ZONE", sessionTimeZone(c.Timezone)}}
	p.StandaloneConnection = godror.Bool(false)
	p.MinSessions = c.PoolMin
	p.MaxSessions = c.PoolMax
	p.SessionIncrement = 1
	p.WaitTimeout = 30 * time.Second
	return p
}

// withConnectTimeout adds Easy Connect Plus's connect_timeout=<seconds> to
// an EZConnect string that has none (a descriptor "(DESCRIPTION=…)" is
// left alone: it says CONNECT_TIMEOUT itself).
func withConnectTimeout(cs string, d time.Duration) string {
	if d <= 0 || strings.HasPrefix(strings.TrimSpace(cs), "(") || strings.Contains(strings.ToLower(cs), "connect_timeout") {
		return cs
	}
	sep := "?"
	if strings.Contains(cs, "?") {
		sep = "&"
	}
	return cs + sep + "connect_timeout=" + strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// sessionTimeZone is loc as an Oracle TIME_ZONE value: a region name, or an
// offset for UTC and fixed zones.
func sessionTimeZone(loc *time.Location) string {
	if loc == nil || loc == time.UTC || loc.String() == "UTC" {
		return "+00:00"
	}
	name := loc.String()
	if strings.Contains(name, "/") {
		return name
	}
	_, off := time.Date(2000, 1, 1, 0, 0, 0, 0, loc).Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
}
