package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DefaultStorePath is where the state database lives unless configured.
const DefaultStorePath = "./data/ora2gcs.db"

// interrupted is the error recorded for work cut short by a crash or shutdown.
const interrupted = "interrupted"

// Store persists transports, jobs and table extractions in an embedded
// SQLite database (WAL mode). It is safe for concurrent use, also by several
// processes sharing the file (writes take the database lock at BEGIN and wait
// up to the busy timeout for it).
type Store struct {
	db *sql.DB
}

// OpenStore opens (creating it and its directory if needed) the database at
// path, applies pending migrations and marks jobs left running by a previous
// process as failed with the error "interrupted", at time now.
func OpenStore(ctx context.Context, path string, now time.Time) (*Store, error) {
	if path == "" {
		path = DefaultStorePath
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("jobs: store path %q must not contain '?'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("jobs: create store directory: %w", err)
		}
	}
	dsn := path + "?_busy_timeout=10000&_journal_mode=WAL&_foreign_keys=1&_synchronous=NORMAL&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("jobs: open store %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.failRunning(ctx, now); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("jobs: close store: %w", err)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		if have > len(migrations) {
			return fmt.Errorf("jobs: store schema version %d is newer than this program's %d", have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("jobs: migration %d: %w", v, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, v, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("jobs: migration %d: %w", v, err)
			}
		}
		return nil
	})
}

// SchemaVersion is the number of migrations applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("jobs: schema version: %w", err)
	}
	return v, nil
}

// failRunning marks what a crashed process left running as failed, and its
// leftovers in the target as to be cleaned up (see PendingCleanups).
func (s *Store) failRunning(ctx context.Context, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		n := now.UnixNano()
		stmts := []string{
			`UPDATE table_extractions SET status = 'failed', error = 'interrupted', completed_at = ?1
			 WHERE status IN ('running', 'pending') AND job_id IN (SELECT id FROM jobs WHERE status = 'running')`,
			`UPDATE transports SET status = 'failed'
			 WHERE last_job_id IN (SELECT id FROM jobs WHERE status = 'running')`,
			`UPDATE jobs SET status = 'failed', error = 'interrupted', completed_at = ?1, cleanup_pending = 1 WHERE status = 'running'`,
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q, n); err != nil {
				return fmt.Errorf("jobs: fail interrupted jobs: %w", err)
			}
		}
		return nil
	})
}

// tx runs fn in a transaction (BEGIN IMMEDIATE), committing if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("jobs: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("jobs: commit: %w", err)
	}
	return nil
}

// nextID returns "{kind}-YYYYMMDD-NNN" from the per-day sequence of kind.
func nextID(ctx context.Context, tx *sql.Tx, kind string, now time.Time) (string, error) {
	day := now.UTC().Format("20060102")
	var n int64
	err := tx.QueryRowContext(ctx, `INSERT INTO id_sequences(kind, day, n) VALUES (?, ?, 1)
		ON CONFLICT(kind, day) DO UPDATE SET n = n + 1 RETURNING n`, kind, day).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("jobs: next %s id: %w", kind, err)
	}
	return fmt.Sprintf("%s-%s-%03d", kind, day, n), nil
}

// FormatVersion gives the job version string of the n-th job (1-based): v001.
func FormatVersion(n int) string { return fmt.Sprintf("v%03d", n) }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func nullTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return nullNanos(*t)
}

var versionRE = regexp.MustCompile(`^v[0-9]{3,6}$`)

// maxVersion is the highest job version number versionRE allows.
const maxVersion = 999999
