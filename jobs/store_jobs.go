package jobs

// Jobs in the state database: versions, per-table state, watermarks, history.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

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
