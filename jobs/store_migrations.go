package jobs

// The state database's schema migrations, applied in order by Store.migrate.

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
