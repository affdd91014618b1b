package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// scheduleRow is a stored schedule; since is the last scheduled time
// handled (or when the schedule was set): times after it are owed.
type scheduleRow struct {
	transportID, cron, timezone string
	since                       time.Time
}

// PutSchedule stores a transport's schedule; its first run is after now.
func (s *Store) PutSchedule(ctx context.Context, transportID string, spec ScheduleSpec, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM transports WHERE id = ?`, transportID).Scan(&n); err != nil {
			return fmt.Errorf("jobs: set schedule of %s: %w", transportID, err)
		}
		if n == 0 {
			return fmt.Errorf("jobs: transport %s: %w", transportID, ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schedules(transport_id, cron, timezone, since, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(transport_id) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone,
			since = excluded.since, updated_at = excluded.updated_at`,
			transportID, spec.Cron, spec.Timezone, now.UnixNano(), now.UnixNano()); err != nil {
			return fmt.Errorf("jobs: set schedule of %s: %w", transportID, err)
		}
		return nil
	})
}

// DeleteSchedule removes a transport's schedule, if any.
func (s *Store) DeleteSchedule(ctx context.Context, transportID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM schedules WHERE transport_id = ?`, transportID); err != nil {
		return fmt.Errorf("jobs: remove schedule of %s: %w", transportID, err)
	}
	return nil
}

func (s *Store) getSchedule(ctx context.Context, transportID string) (scheduleRow, bool, error) {
	r := scheduleRow{transportID: transportID}
	var since int64
	err := s.db.QueryRowContext(ctx, `SELECT cron, timezone, since FROM schedules WHERE transport_id = ?`, transportID).
		Scan(&r.cron, &r.timezone, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("jobs: schedule of %s: %w", transportID, err)
	}
	r.since = fromNanos(since)
	return r, true, nil
}

func (s *Store) listSchedules(ctx context.Context) ([]scheduleRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT transport_id, cron, timezone, since FROM schedules ORDER BY transport_id`)
	if err != nil {
		return nil, fmt.Errorf("jobs: list schedules: %w", err)
	}
	defer rows.Close()
	var out []scheduleRow
	for rows.Next() {
		var r scheduleRow
		var since int64
		if err := rows.Scan(&r.transportID, &r.cron, &r.timezone, &since); err != nil {
			return nil, fmt.Errorf("jobs: list schedules: %w", err)
		}
		r.since = fromNanos(since)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: list schedules: %w", err)
	}
	return out, nil
}

// recordScheduledRun stores how a scheduled time was handled and moves the
// schedule past it, in one transaction.
func (s *Store) recordScheduledRun(ctx context.Context, transportID string, r ScheduledRun, due time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO scheduled_runs(transport_id, due_at, recorded_at, outcome, missed, job_id, queue_id, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, transportID, r.DueAt.UnixNano(), r.RecordedAt.UnixNano(), r.Outcome, r.Missed,
			r.JobID, r.QueueID, r.Reason); err != nil {
			return fmt.Errorf("jobs: record scheduled run of %s: %w", transportID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schedules SET since = ? WHERE transport_id = ? AND since < ?`,
			due.UnixNano(), transportID, due.UnixNano()); err != nil {
			return fmt.Errorf("jobs: advance schedule of %s: %w", transportID, err)
		}
		return nil
	})
}

// lastScheduledRun is the newest handled scheduled time of a transport,
// with its job's status.
func (s *Store) lastScheduledRun(ctx context.Context, transportID string) (ScheduledRun, bool, error) {
	var r ScheduledRun
	var due, rec int64
	var status sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT r.due_at, r.recorded_at, r.outcome, r.missed, r.job_id, r.queue_id, r.reason, j.status
		FROM scheduled_runs r LEFT JOIN jobs j ON j.id = r.job_id
		WHERE r.transport_id = ? ORDER BY r.id DESC LIMIT 1`, transportID).
		Scan(&due, &rec, &r.Outcome, &r.Missed, &r.JobID, &r.QueueID, &r.Reason, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("jobs: last scheduled run of %s: %w", transportID, err)
	}
	r.DueAt, r.RecordedAt, r.JobStatus = fromNanos(due), fromNanos(rec), status.String
	return r, true, nil
}

// ScheduledRuns lists the handled scheduled times of a transport, oldest first.
func (s *Store) ScheduledRuns(ctx context.Context, transportID string) ([]ScheduledRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.due_at, r.recorded_at, r.outcome, r.missed, r.job_id, r.queue_id, r.reason, COALESCE(j.status, '')
		FROM scheduled_runs r LEFT JOIN jobs j ON j.id = r.job_id WHERE r.transport_id = ? ORDER BY r.id`, transportID)
	if err != nil {
		return nil, fmt.Errorf("jobs: scheduled runs of %s: %w", transportID, err)
	}
	defer rows.Close()
	var out []ScheduledRun
	for rows.Next() {
		var r ScheduledRun
		var due, rec int64
		if err := rows.Scan(&due, &rec, &r.Outcome, &r.Missed, &r.JobID, &r.QueueID, &r.Reason, &r.JobStatus); err != nil {
			return nil, fmt.Errorf("jobs: scheduled runs of %s: %w", transportID, err)
		}
		r.DueAt, r.RecordedAt = fromNanos(due), fromNanos(rec)
		out = append(out, r)
	}
	return out, rows.Err()
}

// setJobTrigger records what started a job.
func (s *Store) setJobTrigger(ctx context.Context, jobID, trigger string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE jobs SET trigger_kind = ? WHERE id = ?`, trigger, jobID); err != nil {
		return fmt.Errorf("jobs: record trigger of %s: %w", jobID, err)
	}
	return nil
}
