package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ora2gcs/ora2gcs/internal/benchkit"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
)

// pgServer is the PostgreSQL of the pg and many suites: a connection for
// loading and the COPY baseline, the URL ora2gcs gets (without the
// password, which goes in PGPASSWORD: ora2gcs refuses a password in the
// URL), and the server's main process when it is visible in /proc.
type pgServer struct {
	conn       *pgx.Conn
	childURL   string
	password   string
	postmaster int    // 0 when not visible
	invisible  string // why the server's CPU is not visible
}

// splitPassword is dsn without its password (user info or ?password=)
// and the password. Only postgres:// URLs are accepted.
func splitPassword(dsn string) (string, string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return "", "", errors.New("the PostgreSQL DSN must be a postgres://user@host:port/db URL")
	}
	pw, _ := u.User.Password()
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if p := q.Get("password"); p != "" {
		pw = p
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String(), pw, nil
}

func openPG(ctx context.Context, dsn string) (*pgServer, error) {
	child, pw, err := splitPassword(dsn)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL %s: %w", benchkit.Redacted(dsn), redactErr(err, pw))
	}
	s := &pgServer{conn: conn, childURL: child, password: pw}
	var backend int
	if err := conn.QueryRow(cctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	// the backend's parent is the postmaster, if it runs on this machine
	// (and in this PID namespace)
	if pm, err := benchkit.ParentPID(backend); err != nil {
		s.invisible = "the server's processes are not visible here"
	} else if _, err := benchkit.TreeCPU(pm); err != nil {
		s.invisible = "the server's processes are not readable here"
	} else {
		s.postmaster = pm
	}
	return s, nil
}

func redactErr(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "***"))
}

func (s *pgServer) close() { _ = s.conn.Close(context.Background()) }

// childEnv is the environment ora2gcs needs for the server's password.
func (s *pgServer) childEnv() []string {
	if s.password == "" {
		return nil
	}
	return []string{"PGPASSWORD=" + s.password}
}

// meter is the server's CPU (postmaster and every backend), or nil when
// it is not visible.
func (s *pgServer) meter() meter {
	if s.postmaster == 0 {
		return nil
	}
	return treeMeter(s.postmaster)
}

type treeMeter int

func (m treeMeter) CPU(context.Context) (time.Duration, error) { return benchkit.TreeCPU(int(m)) }

// loadVBRP makes table hold rows synthetic VBRP rows (pgtest.CreateSynthVBRP:
// the rows of the synth source), unless it holds exactly that many already.
func (s *pgServer) loadVBRP(ctx context.Context, table string, rows int64, progress io.Writer) error {
	var n int64
	err := s.conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n)
	if err == nil && n == rows {
		return nil
	}
	fmt.Fprintf(progress, "loading %d VBRP rows into PostgreSQL table %s…\n", rows, table)
	if err := pgtest.CreateSynthVBRP(ctx, s.conn.PgConn(), table, int(rows)); err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	_, err = s.conn.Exec(ctx, "ANALYZE "+pgx.Identifier{table}.Sanitize())
	return err
}

// loadMany makes tables narrow tables (ten columns of common types) of
// rows rows each, named PREFIX_many_NNN, and returns their names.
// Tables that already hold rows rows are kept.
func (s *pgServer) loadMany(ctx context.Context, prefix string, tables, rows int, progress io.Writer) ([]string, error) {
	names := make([]string, 0, tables)
	loaded := false
	for i := range tables {
		n := fmt.Sprintf("%s_many_%03d", prefix, i)
		names = append(names, n)
		var have int
		if err := s.conn.QueryRow(ctx, "SELECT count(*) FROM "+n).Scan(&have); err == nil && have == rows {
			continue
		}
		if !loaded {
			fmt.Fprintf(progress, "creating %d PostgreSQL tables of %d rows…\n", tables, rows)
			loaded = true
		}
		for _, q := range []string{"DROP TABLE IF EXISTS " + n, fmt.Sprintf(`CREATE TABLE %s AS SELECT g AS id, md5(g::text) AS code,
			(g %% 977)::numeric(12,2) / 7 AS amount, g * 1.5::float8 AS ratio, timestamp '2026-01-01' - g * interval '1 minute' AS created,
			(g %% 2 = 0) AS flag, to_hex(g) AS hex, g %% 13 AS small, repeat('x', (g %% 20)) AS pad, date '2026-01-01' - (g %% 400) AS day
			FROM generate_series(1, %d) g`, n, rows), "ANALYZE " + n} {
			if _, err := s.conn.Exec(ctx, q); err != nil {
				return nil, fmt.Errorf("create %s: %w", n, err)
			}
		}
	}
	return names, nil
}

// countingWriter counts the bytes written to it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// copyOut is one COPY table TO STDOUT into nothing: the server's own
// export, the baseline of the PostgreSQL suites. CPU is this process's.
func (s *pgServer) copyOut(ctx context.Context, table string) (benchkit.Run, error) {
	var w countingWriter
	cpu0 := selfCPU()
	start := time.Now()
	tag, err := s.conn.PgConn().CopyTo(ctx, &w, "COPY "+pgx.Identifier{table}.Sanitize()+" TO STDOUT")
	if err != nil {
		return benchkit.Run{}, err
	}
	return benchkit.Run{Rows: tag.RowsAffected(), Seconds: time.Since(start).Seconds(), RawBytes: w.n, CPU: selfCPU() - cpu0}, nil
}
