// Package connect builds the source connector a configuration names, for
// the commands that read sources (ora2gcs and ora2gcs-beam): one place
// decides what "synth", "postgres://…", "oracle://…" and "oracle" mean.
// Oracle needs cgo (godror); a build without it answers ErrNoOracle.
package connect

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/synth"
)

// DatabaseKind is "postgres" or "oracle" for a database source, else "".
func DatabaseKind(src string) string {
	src = strings.TrimSpace(src)
	switch {
	case strings.HasPrefix(src, "postgres://") || strings.HasPrefix(src, "postgresql://"):
		return "postgres"
	case src == "oracle" || strings.HasPrefix(src, "oracle://"):
		return "oracle"
	}
	return ""
}

// Source builds the source named by cfg.Source: "synth" (synthRows rows
// per table, 0 the default), a postgres:// URL (password from PGPASSWORD or
// a password file, never in the URL), an oracle:// URL or "oracle" (the
// config's oracle section).
func Source(ctx context.Context, cfg config.Config, synthRows int64) (pipeline.Connector, error) {
	src := strings.TrimSpace(cfg.Source)
	switch {
	case src == "" || src == "synth":
		return synth.New(synth.Config{DefaultRows: synthRows})
	case strings.HasPrefix(src, "postgres://") || strings.HasPrefix(src, "postgresql://"):
		if err := RefusePasswordInURL(src); err != nil {
			return nil, err
		}
		return postgres.Open(ctx, src, PostgresOptions(cfg))
	case src == "oracle" || strings.HasPrefix(src, "oracle://"):
		return openOracle(ctx, cfg)
	}
	return nil, fmt.Errorf("unknown source %q: use synth, postgres://…, oracle://… or oracle", src)
}

// PostgresOptions are the PostgreSQL source's options: its own pool
// settings (the postgres section, never the oracle one), its reader and
// the engine's timeouts.
func PostgresOptions(cfg config.Config) postgres.Options {
	opts := postgres.Options{MaxOpen: cfg.Postgres.PoolMax, MinIdle: cfg.Postgres.PoolMin, RowReader: cfg.Postgres.Reader == "rows"}
	opts.FetchTimeout, opts.SnapshotTimeout = cfg.ETL.SourceTimeouts()
	return opts
}

// RefusePasswordInURL refuses a PostgreSQL URL that carries a password (in
// the user info or as ?password=): a command line is visible to every user
// of the machine (ps, /proc), and config files get copied around. The
// password comes from PGPASSWORD, PGPASSFILE or ~/.pgpass instead, as
// oracle:// URLs take ORACLE_PASSWORD. The error never repeats the URL.
func RefusePasswordInURL(src string) error {
	u, err := url.Parse(src)
	if err != nil {
		return errors.New("postgres source: not a valid URL (postgres://user@host:5432/db)")
	}
	_, hasPW := u.User.Password()
	if u.User != nil && hasPW || u.Query().Has("password") {
		return errors.New("postgres source: the URL must not contain a password (it would show in ps and logs): remove it and set PGPASSWORD, or use a password file (PGPASSFILE or ~/.pgpass)")
	}
	return nil
}
