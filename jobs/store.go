package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DefaultStorePath is where the state database lives unless configured.
const DefaultStorePath = "./data/ora2gcs.db"

// interrupted is the error recorded for work cut short by a crash or shutdown.
const interrupted = "interrupted"

// migrations are applied in order; each runs once, recorded in
// schema_migrations by its 1-based index. Never edit a released one: append.
var migrations = []string{
	// 1: transports, their tables, jobs, table extractions, per-day ID sequences.
	`CREATE TABLE transports (
		id                TEXT PRIMARY KEY,
		name              TEXT NOT NULL,
		target_bucket     TEXT NOT NULL,
		description       TEXT NOT NULL DEFAULT '',
		table_parallelism INTEGER NOT NULL DEFAULT 0,
		status            TEXT NOT NULL,
		created_at        INTEGER NOT NULL,
		last_job_id       TEXT NOT NULL DEFAULT '',
		last_job_version  TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX transports_by_name ON transports(name);
	CREATE INDEX transports_by_created ON transports(created_at);
	CREATE TABLE transport_tables (
		transport_id TEXT NOT NULL REFERENCES transports(id) ON DELETE CASCADE,
		position     INTEGER NOT NULL,
		table_name   TEXT NOT NULL,
		PRIMARY KEY (transport_id, position),
		UNIQUE (transport_id, table_name)
	);
	CREATE INDEX transport_tables_by_table ON transport_tables(table_name);
	CREATE TABLE jobs (
		id                TEXT PRIMARY KEY,
		transport_id      TEXT NOT NULL REFERENCES transports(id),
		version_no        INTEGER NOT NULL,
		version           TEXT NOT NULL,
		status            TEXT NOT NULL,
		started_at        INTEGER NOT NULL,
		completed_at      INTEGER,
		total_rows        INTEGER NOT NULL DEFAULT 0,
		bytes_transferred INTEGER NOT NULL DEFAULT 0,
		error             TEXT,
		source            TEXT NOT NULL DEFAULT '',
		snapshot_kind     TEXT NOT NULL DEFAULT '',
		snapshot_id       TEXT NOT NULL DEFAULT '',
		snapshot_note     TEXT NOT NULL DEFAULT '',
		manifest          TEXT NOT NULL DEFAULT '',
		UNIQUE (transport_id, version_no)
	);
	CREATE INDEX jobs_by_started ON jobs(started_at);
	CREATE INDEX jobs_by_status ON jobs(status, started_at);
	CREATE INDEX jobs_by_transport ON jobs(transport_id, started_at);
	CREATE TABLE table_extractions (
		job_id            TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
		position          INTEGER NOT NULL,
		table_name        TEXT NOT NULL,
		status            TEXT NOT NULL,
		row_count         INTEGER NOT NULL DEFAULT 0,
		bytes_transferred INTEGER NOT NULL DEFAULT 0,
		raw_bytes         INTEGER NOT NULL DEFAULT 0,
		row_estimate      INTEGER NOT NULL DEFAULT -1,
		crc32c            TEXT NOT NULL DEFAULT '',
		gcs_path          TEXT NOT NULL DEFAULT '',
		attempts          INTEGER NOT NULL DEFAULT 0,
		started_at        INTEGER,
		completed_at      INTEGER,
		error             TEXT,
		PRIMARY KEY (job_id, table_name)
	);
	CREATE TABLE id_sequences (
		kind TEXT NOT NULL,
		day  TEXT NOT NULL,
		n    INTEGER NOT NULL,
		PRIMARY KEY (kind, day)
	);`,
	// 2: per-range details of tables read in parallel (JSON array).
	`ALTER TABLE table_extractions ADD COLUMN ranges TEXT NOT NULL DEFAULT '';`,
	// 3: each transport table's exact catalog identity and object name part
	// (NULL for transports stored before: their jobs resolve table_name).
	`ALTER TABLE transport_tables ADD COLUMN source_schema TEXT;
	ALTER TABLE transport_tables ADD COLUMN source_name TEXT;
	ALTER TABLE transport_tables ADD COLUMN object_name TEXT;`,
	// 4: jobs whose leftovers (temporary files, range segments) in the
	// target still have to be removed: interrupted ones, including those
	// interrupted before this migration.
	`ALTER TABLE jobs ADD COLUMN cleanup_pending INTEGER NOT NULL DEFAULT 0;
	UPDATE jobs SET cleanup_pending = 1 WHERE status = 'failed' AND error = 'interrupted';`,
	// 5: problems that did not fail a table, e.g. temporary objects that
	// could not be removed (JSON array of strings).
	`ALTER TABLE table_extractions ADD COLUMN warnings TEXT NOT NULL DEFAULT '';`,
	// 6: what started a job (schedule, api, cli; '' before), when a job's
	// objects expired; schedules, their handled runs, the run queue and
	// per-transport policies (retention, windows). See schedule.go, queue.go.
	`ALTER TABLE jobs ADD COLUMN trigger_kind TEXT NOT NULL DEFAULT '';
	ALTER TABLE jobs ADD COLUMN expired_at INTEGER;
	CREATE TABLE schedules (
		transport_id TEXT PRIMARY KEY REFERENCES transports(id) ON DELETE CASCADE,
		cron         TEXT NOT NULL,
		timezone     TEXT NOT NULL,
		since        INTEGER NOT NULL,
		updated_at   INTEGER NOT NULL
	);
	CREATE TABLE scheduled_runs (
		id           INTEGER PRIMARY KEY AUTOINCREMENT,
		transport_id TEXT NOT NULL REFERENCES transports(id) ON DELETE CASCADE,
		due_at       INTEGER NOT NULL,
		recorded_at  INTEGER NOT NULL,
		outcome      TEXT NOT NULL,
		missed       INTEGER NOT NULL DEFAULT 0,
		job_id       TEXT NOT NULL DEFAULT '',
		queue_id     TEXT NOT NULL DEFAULT '',
		reason       TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX scheduled_runs_by_transport ON scheduled_runs(transport_id, id);
	CREATE TABLE run_queue (
		seq          INTEGER PRIMARY KEY AUTOINCREMENT,
		id           TEXT NOT NULL UNIQUE,
		transport_id TEXT NOT NULL REFERENCES transports(id) ON DELETE CASCADE,
		trigger_kind TEXT NOT NULL,
		force        INTEGER NOT NULL DEFAULT 0,
		due_at       INTEGER,
		enqueued_at  INTEGER NOT NULL
	);
	CREATE TABLE transport_policies (
		transport_id   TEXT PRIMARY KEY REFERENCES transports(id) ON DELETE CASCADE,
		retention_days INTEGER NOT NULL DEFAULT 0,
		windows        TEXT NOT NULL DEFAULT '',
		window_policy  TEXT NOT NULL DEFAULT ''
	);`,
	// 7: incremental extraction: each transport's table modes (JSON of
	// IncrementalSpec), the watermark each table reached (written in the
	// transaction that completes its job) and each table's mode and window
	// per job (JSON of TableWindow).
	`CREATE TABLE transport_incremental (
		transport_id TEXT PRIMARY KEY REFERENCES transports(id) ON DELETE CASCADE,
		spec         TEXT NOT NULL
	);
	CREATE TABLE watermarks (
		transport_id     TEXT NOT NULL REFERENCES transports(id) ON DELETE CASCADE,
		table_name       TEXT NOT NULL,
		watermark_column TEXT NOT NULL,
		kind             TEXT NOT NULL,
		high             TEXT NOT NULL,
		job_id           TEXT NOT NULL,
		job_version      TEXT NOT NULL,
		full_job_id      TEXT NOT NULL DEFAULT '',
		full_at          INTEGER,
		updated_at       INTEGER NOT NULL,
		PRIMARY KEY (transport_id, table_name)
	);
	ALTER TABLE table_extractions ADD COLUMN mode TEXT NOT NULL DEFAULT '';
	ALTER TABLE table_extractions ADD COLUMN read_window TEXT NOT NULL DEFAULT '';`,
	// 8: how the source read each table relative to the job's snapshot
	// (JSON pipeline.TableConsistency; '' not reported, and before).
	`ALTER TABLE table_extractions ADD COLUMN consistency TEXT NOT NULL DEFAULT '';`,
	// 9: distributed jobs: how a job ran as shards (JSON of DistributedRun;
	// '' a single-machine job) and a transport's distributed setting (JSON
	// of DistributedOptions; '' none).
	`ALTER TABLE jobs ADD COLUMN distributed TEXT NOT NULL DEFAULT '';
	ALTER TABLE transport_policies ADD COLUMN distributed TEXT NOT NULL DEFAULT '';`,
}

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

// CreateTransport stores a new transport with a fresh ID; in's fields must be
// validated and its tables canonical.
func (s *Store) CreateTransport(ctx context.Context, in NewTransport, now time.Time) (Transport, error) {
	t := Transport{
		Name:             in.Name,
		Tables:           append([]string(nil), in.Tables...),
		TableRefs:        append([]TableRef(nil), in.TableRefs...),
		TargetBucket:     in.TargetBucket,
		Description:      in.Description,
		CreatedAt:        now.UTC(),
		Status:           StatusCreated,
		TableParallelism: in.TableParallelism,
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if in.ID != "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM transports WHERE id = ?`, in.ID).Scan(&n); err != nil {
				return fmt.Errorf("jobs: check transport id: %w", err)
			}
			if n > 0 {
				return fmt.Errorf("jobs: transport %s exists already: %w", in.ID, ErrInvalid)
			}
			t.ID = in.ID
			return s.insertTransport(ctx, tx, &t, now)
		}
		var id string
		for tries := 0; ; tries++ {
			var err error
			if id, err = nextID(ctx, tx, "TRP", now); err != nil {
				return err
			}
			if !in.avoidIDs[id] || tries >= 999 {
				break
			}
		}
		t.ID = id
		return s.insertTransport(ctx, tx, &t, now)
	})
	if err != nil {
		return Transport{}, err
	}
	return t, nil
}

func (s *Store) insertTransport(ctx context.Context, tx *sql.Tx, t *Transport, now time.Time) error {
	{
		if _, err := tx.ExecContext(ctx, `INSERT INTO transports(id, name, target_bucket, description, table_parallelism, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, t.Name, t.TargetBucket, t.Description, t.TableParallelism, t.Status, now.UnixNano()); err != nil {
			return fmt.Errorf("jobs: insert transport: %w", err)
		}
		if len(t.TableRefs) != 0 && len(t.TableRefs) != len(t.Tables) {
			return fmt.Errorf("jobs: insert transport: %d tables but %d resolved identities", len(t.Tables), len(t.TableRefs))
		}
		for i, name := range t.Tables {
			var schema, source, object any // NULL: no identity (resolved by name)
			if len(t.TableRefs) != 0 {
				schema, source, object = t.TableRefs[i].Schema, t.TableRefs[i].Name, t.TableRefs[i].Object
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO transport_tables(transport_id, position, table_name, source_schema, source_name, object_name)
				VALUES (?, ?, ?, ?, ?, ?)`, t.ID, i, name, schema, source, object); err != nil {
				return fmt.Errorf("jobs: insert transport table %s: %w", name, err)
			}
		}
	}
	return nil
}

const transportCols = `id, name, target_bucket, description, table_parallelism, status, created_at, last_job_id, last_job_version`

func scanTransport(sc interface{ Scan(...any) error }) (Transport, error) {
	var t Transport
	var created int64
	err := sc.Scan(&t.ID, &t.Name, &t.TargetBucket, &t.Description, &t.TableParallelism, &t.Status, &created, &t.LastJobID, &t.LastJobVersion)
	t.CreatedAt = fromNanos(created)
	return t, err
}

// GetTransport returns one transport with its tables, or ErrNotFound.
func (s *Store) GetTransport(ctx context.Context, id string) (Transport, error) {
	t, err := scanTransport(s.db.QueryRowContext(ctx, `SELECT `+transportCols+` FROM transports WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Transport{}, fmt.Errorf("jobs: transport %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Transport{}, fmt.Errorf("jobs: get transport %s: %w", id, err)
	}
	ts := []Transport{t}
	if err := s.fillTables(ctx, ts); err != nil {
		return Transport{}, err
	}
	return ts[0], nil
}

// FindTransportByName returns the newest transport named name, or ErrNotFound.
func (s *Store) FindTransportByName(ctx context.Context, name string) (Transport, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM transports WHERE name = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Transport{}, fmt.Errorf("jobs: transport named %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Transport{}, fmt.Errorf("jobs: find transport %q: %w", name, err)
	}
	return s.GetTransport(ctx, id)
}

func (s *Store) fillTables(ctx context.Context, ts []Transport) error {
	if len(ts) == 0 {
		return nil
	}
	idx := make(map[string]int, len(ts))
	args := make([]any, len(ts))
	for i, t := range ts {
		idx[t.ID] = i
		args[i] = t.ID
		ts[i].Tables = []string{}
		ts[i].TableRefs = nil
	}
	q := `SELECT transport_id, table_name, source_schema, source_name, object_name FROM transport_tables WHERE transport_id IN (?` +
		strings.Repeat(",?", len(ts)-1) + `) ORDER BY transport_id, position`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("jobs: transport tables: %w", err)
	}
	defer rows.Close()
	legacy := make([]bool, len(ts))
	for rows.Next() {
		var id, name string
		var schema, source, object sql.NullString
		if err := rows.Scan(&id, &name, &schema, &source, &object); err != nil {
			return fmt.Errorf("jobs: transport tables: %w", err)
		}
		i := idx[id]
		ts[i].Tables = append(ts[i].Tables, name)
		ts[i].TableRefs = append(ts[i].TableRefs, TableRef{Schema: schema.String, Name: source.String, Object: object.String})
		if !source.Valid {
			legacy[i] = true
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("jobs: transport tables: %w", err)
	}
	for i := range ts {
		if legacy[i] {
			ts[i].TableRefs = nil // stored without identities: resolved by name
		}
	}
	return nil
}

func normPage(page, size int) (int, int) {
	if page < 1 {
		page = 1
	}
	if size <= 0 {
		size = 20
	}
	if size > 200 {
		size = 200
	}
	return page, size
}

// ListTransports lists transports newest first.
func (s *Store) ListTransports(ctx context.Context, page, pageSize int) (Page[Transport], error) {
	page, pageSize = normPage(page, pageSize)
	p := Page[Transport]{Items: []Transport{}, Page: page, PageSize: pageSize}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM transports`).Scan(&p.Total); err != nil {
		return p, fmt.Errorf("jobs: count transports: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+transportCols+` FROM transports ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
		pageSize, (page-1)*pageSize)
	if err != nil {
		return p, fmt.Errorf("jobs: list transports: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanTransport(rows)
		if err != nil {
			return p, fmt.Errorf("jobs: list transports: %w", err)
		}
		p.Items = append(p.Items, t)
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("jobs: list transports: %w", err)
	}
	rows.Close()
	return p, s.fillTables(ctx, p.Items)
}

// CreateJob stores the next job version of transport t as running, with a
// pending TableExtraction per table, and sets the transport running.
// version "" takes the next free vNNN; an explicit version must be well
// formed and not used yet.
func (s *Store) CreateJob(ctx context.Context, t Transport, source, version string, now time.Time) (Job, error) {
	return s.CreateJobAvoiding(ctx, t, source, version, nil, now)
}

// CreateJobAvoiding is CreateJob for a target that already holds the job
// versions inTarget of t (found by listing it): the next version is above
// every version of t in this database and in the target, so a lost, wiped or
// second state database never reuses a version; an explicit version in
// either is refused.
func (s *Store) CreateJobAvoiding(ctx context.Context, t Transport, source, version string, inTarget []int, now time.Time) (Job, error) {
	want := 0
	if version != "" {
		if !versionRE.MatchString(version) {
			return Job{}, fmt.Errorf("jobs: job version %q: want v001…v999999: %w", version, ErrInvalid)
		}
		want, _ = strconv.Atoi(version[1:])
	}
	j := Job{TransportID: t.ID, StartedAt: now.UTC(), Status: StatusRunning, Source: source}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		id, err := nextID(ctx, tx, "JOB", now)
		if err != nil {
			return err
		}
		j.ID = id
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_no), 0) + 1 FROM jobs WHERE transport_id = ?`, t.ID).Scan(&n); err != nil {
			return fmt.Errorf("jobs: next version: %w", err)
		}
		for _, v := range inTarget {
			n = max(n, v+1)
		}
		if want == 0 && n > maxVersion {
			return fmt.Errorf("jobs: %s has used every job version up to %s: %w", t.ID, FormatVersion(maxVersion), ErrInvalid)
		}
		if want > 0 {
			var used int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE transport_id = ? AND version_no = ?`, t.ID, want).Scan(&used); err != nil {
				return fmt.Errorf("jobs: check version: %w", err)
			}
			if used > 0 {
				return fmt.Errorf("jobs: %s %s exists already (next free version is %s): %w", t.ID, FormatVersion(want), FormatVersion(n), ErrInvalid)
			}
			if slices.Contains(inTarget, want) {
				return fmt.Errorf("jobs: %s %s exists already in the target (next free version is %s): %w", t.ID, FormatVersion(want), FormatVersion(n), ErrInvalid)
			}
			n = want
		}
		j.Version = FormatVersion(n)
		if _, err := tx.ExecContext(ctx, `INSERT INTO jobs(id, transport_id, version_no, version, status, started_at, source)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, j.ID, j.TransportID, n, j.Version, j.Status, now.UnixNano(), source); err != nil {
			return fmt.Errorf("jobs: insert job: %w", err)
		}
		j.Tables = make([]TableExtraction, len(t.Tables))
		for i, name := range t.Tables {
			j.Tables[i] = TableExtraction{TableName: name, Status: StatusPending, RowEstimate: -1}
			if _, err := tx.ExecContext(ctx, `INSERT INTO table_extractions(job_id, position, table_name, status) VALUES (?, ?, ?, ?)`,
				j.ID, i, name, StatusPending); err != nil {
				return fmt.Errorf("jobs: insert table extraction %s: %w", name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE transports SET status = ?, last_job_id = ?, last_job_version = ? WHERE id = ?`,
			StatusRunning, j.ID, j.Version, t.ID); err != nil {
			return fmt.Errorf("jobs: update transport: %w", err)
		}
		return nil
	})
	if err != nil {
		return Job{}, err
	}
	return j, nil
}

// UpdateJobSnapshot records the snapshot a running job reads.
func (s *Store) UpdateJobSnapshot(ctx context.Context, jobID string, snap pipeline.SnapshotInfo) error {
	_, err := s.db.ExecContext(ctx, `UPDATE jobs SET snapshot_kind = ?, snapshot_id = ?, snapshot_note = ? WHERE id = ?`,
		snap.Kind, snap.ID, snap.Note, jobID)
	if err != nil {
		return fmt.Errorf("jobs: record snapshot of %s: %w", jobID, err)
	}
	return nil
}

// UpdateTable writes the state of one table of a job.
func (s *Store) UpdateTable(ctx context.Context, jobID string, te TableExtraction) error {
	var ranges string
	if len(te.Ranges) > 0 {
		b, err := json.Marshal(te.Ranges)
		if err != nil {
			return fmt.Errorf("jobs: update table %s of %s: %w", te.TableName, jobID, err)
		}
		ranges = string(b)
	}
	var warnings string
	if len(te.Warnings) > 0 {
		b, err := json.Marshal(te.Warnings)
		if err != nil {
			return fmt.Errorf("jobs: update table %s of %s: %w", te.TableName, jobID, err)
		}
		warnings = string(b)
	}
	var window string
	if te.Window != nil {
		b, err := json.Marshal(te.Window)
		if err != nil {
			return fmt.Errorf("jobs: update table %s of %s: %w", te.TableName, jobID, err)
		}
		window = string(b)
	}
	var consistency string
	if te.Consistency != nil {
		b, err := json.Marshal(te.Consistency)
		if err != nil {
			return fmt.Errorf("jobs: update table %s of %s: %w", te.TableName, jobID, err)
		}
		consistency = string(b)
	}
	_, err := s.db.ExecContext(ctx, `UPDATE table_extractions SET status = ?, row_count = ?, bytes_transferred = ?, raw_bytes = ?,
		row_estimate = ?, crc32c = ?, gcs_path = ?, attempts = ?, started_at = ?, completed_at = ?, error = ?, ranges = ?, warnings = ?,
		mode = ?, read_window = ?, consistency = ?
		WHERE job_id = ? AND table_name = ?`,
		te.Status, te.RowCount, te.BytesTransferred, te.RawBytes, te.RowEstimate, te.CRC32C, te.GCSPath, te.Attempts,
		nullNanos(te.StartedAt), nullTimePtr(te.CompletedAt), te.Error, ranges, warnings, te.Mode, window, consistency, jobID, te.TableName)
	if err != nil {
		return fmt.Errorf("jobs: update table %s of %s: %w", te.TableName, jobID, err)
	}
	return nil
}

// FinishJob writes a job's final state, fails its tables still pending or
// running with the job's error, and sets its transport's status to the
// job's if it is the transport's last job.
func (s *Store) FinishJob(ctx context.Context, j Job) error {
	return s.FinishJobWatermarks(ctx, j, nil)
}

// FinishJobWatermarks is FinishJob that, when j completed, also stores the
// watermarks its tables reached, in the same transaction: a job is
// completed with its watermarks or not at all, and a failed or interrupted
// job never moves a watermark.
func (s *Store) FinishJobWatermarks(ctx context.Context, j Job, marks []WatermarkState) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if j.Status == StatusCompleted && len(marks) > 0 {
			if err := putWatermarks(ctx, tx, j.TransportID, marks, time.Now()); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, completed_at = ?, total_rows = ?, bytes_transferred = ?, error = ?,
			manifest = ? WHERE id = ?`, j.Status, nullTimePtr(j.CompletedAt), j.TotalRows, j.BytesTransferred, j.Error, j.Manifest, j.ID); err != nil {
			return fmt.Errorf("jobs: finish job %s: %w", j.ID, err)
		}
		msg := interrupted
		if j.Error != nil {
			msg = *j.Error
		}
		if _, err := tx.ExecContext(ctx, `UPDATE table_extractions SET status = 'failed', error = COALESCE(error, ?), completed_at = ?
			WHERE job_id = ? AND status IN ('pending', 'running')`, msg, nullTimePtr(j.CompletedAt), j.ID); err != nil {
			return fmt.Errorf("jobs: finish tables of %s: %w", j.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE transports SET status = ? WHERE id = ? AND last_job_id = ?`, j.Status, j.TransportID, j.ID); err != nil {
			return fmt.Errorf("jobs: update transport of %s: %w", j.ID, err)
		}
		return nil
	})
}

const jobCols = `id, transport_id, version, status, started_at, completed_at, total_rows, bytes_transferred, error, source,
	snapshot_kind, snapshot_id, snapshot_note, manifest, trigger_kind, expired_at, distributed`

func scanJob(sc interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var started int64
	var completed, expired sql.NullInt64
	var jerr sql.NullString
	var dist string
	err := sc.Scan(&j.ID, &j.TransportID, &j.Version, &j.Status, &started, &completed, &j.TotalRows, &j.BytesTransferred, &jerr,
		&j.Source, &j.Snapshot.Kind, &j.Snapshot.ID, &j.Snapshot.Note, &j.Manifest, &j.Trigger, &expired, &dist)
	if err == nil && dist != "" {
		var d DistributedRun
		if json.Unmarshal([]byte(dist), &d) == nil {
			j.Distributed = &d
		}
	}
	j.StartedAt = fromNanos(started)
	j.ExpiredAt = timePtr(expired)
	j.CompletedAt = timePtr(completed)
	if jerr.Valid {
		j.Error = &jerr.String
	}
	return j, err
}

// GetJob returns a job with its table extractions, or ErrNotFound.
func (s *Store) GetJob(ctx context.Context, id string) (Job, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("jobs: job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Job{}, fmt.Errorf("jobs: get job %s: %w", id, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT table_name, status, row_count, bytes_transferred, raw_bytes, row_estimate, crc32c,
		gcs_path, attempts, started_at, completed_at, error, ranges, warnings, mode, read_window, consistency FROM table_extractions WHERE job_id = ? ORDER BY position`, id)
	if err != nil {
		return Job{}, fmt.Errorf("jobs: tables of %s: %w", id, err)
	}
	defer rows.Close()
	j.Tables = []TableExtraction{}
	for rows.Next() {
		var te TableExtraction
		var started, completed sql.NullInt64
		var terr sql.NullString
		var ranges, warnings, window, consistency string
		if err := rows.Scan(&te.TableName, &te.Status, &te.RowCount, &te.BytesTransferred, &te.RawBytes, &te.RowEstimate, &te.CRC32C,
			&te.GCSPath, &te.Attempts, &started, &completed, &terr, &ranges, &warnings, &te.Mode, &window, &consistency); err != nil {
			return Job{}, fmt.Errorf("jobs: tables of %s: %w", id, err)
		}
		if consistency != "" {
			te.Consistency = new(pipeline.TableConsistency)
			if err := json.Unmarshal([]byte(consistency), te.Consistency); err != nil {
				return Job{}, fmt.Errorf("jobs: consistency of %s in %s: %w", te.TableName, id, err)
			}
		}
		if window != "" {
			if err := json.Unmarshal([]byte(window), &te.Window); err != nil {
				return Job{}, fmt.Errorf("jobs: window of %s in %s: %w", te.TableName, id, err)
			}
		}
		if warnings != "" {
			if err := json.Unmarshal([]byte(warnings), &te.Warnings); err != nil {
				return Job{}, fmt.Errorf("jobs: warnings of %s in %s: %w", te.TableName, id, err)
			}
		}
		if ranges != "" {
			if err := json.Unmarshal([]byte(ranges), &te.Ranges); err != nil {
				return Job{}, fmt.Errorf("jobs: ranges of %s in %s: %w", te.TableName, id, err)
			}
		}
		if started.Valid {
			te.StartedAt = fromNanos(started.Int64)
		}
		te.CompletedAt = timePtr(completed)
		if terr.Valid {
			te.Error = &terr.String
		}
		j.Tables = append(j.Tables, te)
	}
	if err := rows.Err(); err != nil {
		return Job{}, fmt.Errorf("jobs: tables of %s: %w", id, err)
	}
	// jobs stored before tables' consistency was kept have none to summarise
	if j.Status != StatusRunning && j.Status != StatusPending && slices.ContainsFunc(j.Tables, func(te TableExtraction) bool { return te.Consistency != nil }) {
		c := consistencyOf(j.Tables)
		j.Consistency = &c
	}
	return j, nil
}

// LastJob returns the newest job of a transport (with tables), or ErrNotFound.
func (s *Store) LastJob(ctx context.Context, transportID string) (Job, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM jobs WHERE transport_id = ? ORDER BY version_no DESC LIMIT 1`, transportID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("jobs: transport %s has no job: %w", transportID, ErrNotFound)
	}
	if err != nil {
		return Job{}, fmt.Errorf("jobs: last job of %s: %w", transportID, err)
	}
	return s.GetJob(ctx, id)
}

// ListJobs lists jobs newest first, without their tables.
func (s *Store) ListJobs(ctx context.Context, f JobFilter) (Page[Job], error) {
	page, size := normPage(f.Page, f.PageSize)
	p := Page[Job]{Items: []Job{}, Page: page, PageSize: size}
	where, args := []string{"1 = 1"}, []any{}
	if f.TransportID != "" {
		where, args = append(where, "transport_id = ?"), append(args, f.TransportID)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	cond := strings.Join(where, " AND ")
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE `+cond, args...).Scan(&p.Total); err != nil {
		return p, fmt.Errorf("jobs: count jobs: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE `+cond+` ORDER BY started_at DESC, rowid DESC LIMIT ? OFFSET ?`,
		append(args, size, (page-1)*size)...)
	if err != nil {
		return p, fmt.Errorf("jobs: list jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return p, fmt.Errorf("jobs: list jobs: %w", err)
		}
		p.Items = append(p.Items, j)
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("jobs: list jobs: %w", err)
	}
	return p, nil
}

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
