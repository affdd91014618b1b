package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// QueuedRun is a run waiting for the slot (spec BC-03: one job at a time).
// The queue is first in, first out, persisted in the state database (it
// survives a restart); a run whose transport's window is closed lets the
// runs behind it go first and keeps its place.
type QueuedRun struct {
	ID          string     `json:"id"` // QUE-YYYYMMDD-NNN
	Position    int        `json:"position"`
	TransportID string     `json:"transport_id"`
	Trigger     string     `json:"trigger"`
	Force       bool       `json:"force,omitempty"`  // runs outside the transport's window
	DueAt       *time.Time `json:"due_at,omitempty"` // the scheduled time, for scheduled runs
	EnqueuedAt  time.Time  `json:"enqueued_at"`
}

// ExecuteOptions are the options of a manual execute.
type ExecuteOptions struct {
	// Queue queues the run when a job is running (or others wait) instead
	// of refusing it with a *RunningError.
	Queue bool
	// Force starts the run outside the transport's allowed window.
	Force bool
}

// ExecuteResult is a started job or, with Queue, a queued run.
type ExecuteResult struct {
	Job    *Job
	Queued *QueuedRun
}

// ExecuteWith is Execute with options: outside the transport's window it
// returns an *OutsideWindowError unless opts.Force; while a job runs it
// returns a *RunningError, or with opts.Queue queues the run (also when
// other runs wait, to keep their order). The trigger comes from ctx
// (WithTrigger; default TriggerAPI).
func (m *Manager) ExecuteWith(ctx context.Context, transportID string, opts ExecuteOptions) (ExecuteResult, error) {
	if _, err := m.store.GetTransport(ctx, transportID); err != nil {
		return ExecuteResult{}, err
	}
	if !opts.Force {
		if err := m.checkWindow(ctx, transportID, m.now()); err != nil {
			return ExecuteResult{}, err
		}
	}
	trigger := triggerOf(ctx)
	if opts.Queue {
		n, err := m.store.queueLength(ctx)
		if err != nil {
			return ExecuteResult{}, err
		}
		if n > 0 {
			q, err := m.enqueue(ctx, transportID, trigger, opts.Force, nil)
			if err != nil {
				return ExecuteResult{}, err
			}
			m.Dispatch(ctx)
			return m.resultOf(ctx, q)
		}
	}
	j, err := m.Execute(ctx, transportID)
	var re *RunningError
	if err != nil && opts.Queue && errors.As(err, &re) {
		q, qerr := m.enqueue(ctx, transportID, trigger, opts.Force, nil)
		if qerr != nil {
			return ExecuteResult{}, qerr
		}
		m.poke()
		return ExecuteResult{Queued: &q}, nil
	}
	if err != nil {
		return ExecuteResult{}, err
	}
	return ExecuteResult{Job: &j}, nil
}

// resultOf reports a just-queued run: started already (Dispatch took it)
// or still queued.
func (m *Manager) resultOf(ctx context.Context, q QueuedRun) (ExecuteResult, error) {
	items, err := m.ListQueue(ctx)
	if err != nil {
		return ExecuteResult{}, err
	}
	for _, it := range items {
		if it.ID == q.ID {
			return ExecuteResult{Queued: &it}, nil
		}
	}
	if j, ok := m.Running(); ok && j.TransportID == q.TransportID {
		return ExecuteResult{Job: &j}, nil
	}
	return ExecuteResult{Queued: &q}, nil
}

// enqueue appends a run to the queue.
func (m *Manager) enqueue(ctx context.Context, transportID, trigger string, force bool, due *time.Time) (QueuedRun, error) {
	q, err := m.store.enqueue(ctx, transportID, trigger, force, due, m.now())
	if err != nil {
		return QueuedRun{}, err
	}
	m.refreshQueueLen(ctx)
	m.log.Info("run queued", "transport_id", transportID, "queue_id", q.ID, "trigger", trigger, "position", q.Position)
	return q, nil
}

// ListQueue lists the waiting runs in the order they will start (windows
// permitting).
func (m *Manager) ListQueue(ctx context.Context) ([]QueuedRun, error) { return m.store.listQueue(ctx) }

// CancelQueued removes a waiting run; ErrNotFound if it is not queued
// (any more). It waits for a Dispatch under way, so a run being started
// is either cancelled before it starts or reported as no longer queued,
// never both cancelled and started.
func (m *Manager) CancelQueued(ctx context.Context, id string) error {
	m.sched.dispatchMu.Lock()
	defer m.sched.dispatchMu.Unlock()
	var transportID string // for the log line; a missing row is the dequeue's not found
	_ = m.store.db.QueryRowContext(ctx, `SELECT transport_id FROM run_queue WHERE id = ?`, id).Scan(&transportID)
	ok, err := m.store.dequeue(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("jobs: queued run %s: %w", id, ErrNotFound)
	}
	if err := m.store.updateQueuedRun(ctx, id, RunSkipped, "", "cancelled while queued"); err != nil {
		m.log.Error("record cancelled scheduled run", "queue_id", id, "error", err)
	}
	m.refreshQueueLen(ctx)
	m.log.Info("queued run cancelled", "transport_id", transportID, "queue_id", id)
	return nil
}

// Dispatch starts the first queued run whose window is open, if no job
// runs. It returns whether it started one. The scheduler loop calls it
// when the running job ends; tests call it (or Tick) directly.
func (m *Manager) Dispatch(ctx context.Context) bool {
	m.sched.dispatchMu.Lock()
	defer m.sched.dispatchMu.Unlock()
	if _, running := m.Running(); running {
		return false
	}
	items, err := m.store.listQueue(ctx)
	if err != nil {
		m.log.Error("queue: list", "error", err)
		return false
	}
	now := m.now()
	for _, q := range items {
		if !q.Force {
			if _, closed := m.windowBlocks(ctx, q.TransportID, now); closed {
				continue
			}
		}
		j, err := m.Execute(WithTrigger(ctx, q.Trigger), q.TransportID)
		var re *RunningError
		switch {
		case errors.As(err, &re), errors.Is(err, ErrShutdown):
			return false // stays queued
		case err != nil:
			// it cannot start (target unavailable, transport gone): drop it
			// with its reason rather than block the queue
			m.log.Error("queued run could not start", "transport_id", q.TransportID, "queue_id", q.ID, "error", err)
			if _, derr := m.store.dequeue(ctx, q.ID); derr != nil {
				m.log.Error("queue: remove", "queue_id", q.ID, "error", derr)
			}
			if uerr := m.store.updateQueuedRun(ctx, q.ID, RunFailed, "", err.Error()); uerr != nil {
				m.log.Error("queue: record", "queue_id", q.ID, "error", uerr)
			}
			m.refreshQueueLen(ctx)
			continue
		}
		if _, derr := m.store.dequeue(ctx, q.ID); derr != nil {
			m.log.Error("queue: remove started run", "queue_id", q.ID, "error", derr)
		}
		if uerr := m.store.updateQueuedRun(ctx, q.ID, RunStarted, j.ID, ""); uerr != nil {
			m.log.Error("queue: record", "queue_id", q.ID, "error", uerr)
		}
		m.refreshQueueLen(ctx)
		m.log.Info("queued run started", "transport_id", q.TransportID, "queue_id", q.ID, "job_id", j.ID, "trigger", q.Trigger)
		return true
	}
	return false
}

func (m *Manager) refreshQueueLen(ctx context.Context) {
	n, err := m.store.queueLength(ctx)
	if err != nil {
		return
	}
	m.sched.queueLen.Lock()
	m.sched.qlen = n
	m.sched.queueLen.Unlock()
}

func (s *Store) enqueue(ctx context.Context, transportID, trigger string, force bool, due *time.Time, now time.Time) (QueuedRun, error) {
	q := QueuedRun{TransportID: transportID, Trigger: trigger, Force: force, EnqueuedAt: now.UTC()}
	if due != nil {
		d := due.UTC()
		q.DueAt = &d
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		id, err := nextID(ctx, tx, "QUE", now)
		if err != nil {
			return err
		}
		q.ID = id
		if _, err := tx.ExecContext(ctx, `INSERT INTO run_queue(id, transport_id, trigger_kind, force, due_at, enqueued_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, transportID, trigger, force, nullTimePtr(due), now.UnixNano()); err != nil {
			return fmt.Errorf("jobs: queue run of %s: %w", transportID, err)
		}
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM run_queue`).Scan(&q.Position)
	})
	if err != nil {
		return QueuedRun{}, err
	}
	return q, nil
}

func (s *Store) listQueue(ctx context.Context) ([]QueuedRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, transport_id, trigger_kind, force, due_at, enqueued_at FROM run_queue ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("jobs: list queue: %w", err)
	}
	defer rows.Close()
	out := []QueuedRun{}
	for rows.Next() {
		var q QueuedRun
		var due sql.NullInt64
		var enq int64
		if err := rows.Scan(&q.ID, &q.TransportID, &q.Trigger, &q.Force, &due, &enq); err != nil {
			return nil, fmt.Errorf("jobs: list queue: %w", err)
		}
		q.DueAt, q.EnqueuedAt, q.Position = timePtr(due), fromNanos(enq), len(out)+1
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: list queue: %w", err)
	}
	return out, nil
}

func (s *Store) dequeue(ctx context.Context, id string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM run_queue WHERE id = ?`, id)
	if err != nil {
		return false, fmt.Errorf("jobs: remove queued run %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (s *Store) queueLength(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM run_queue`).Scan(&n); err != nil {
		return 0, fmt.Errorf("jobs: queue length: %w", err)
	}
	return n, nil
}

// queuedFor is the id of a queued run of the transport with that trigger, or "".
func (s *Store) queuedFor(ctx context.Context, transportID, trigger string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM run_queue WHERE transport_id = ? AND trigger_kind = ? ORDER BY seq LIMIT 1`,
		transportID, trigger).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("jobs: queue of %s: %w", transportID, err)
	}
	return id, nil
}

// updateQueuedRun records what became of a queued scheduled run.
func (s *Store) updateQueuedRun(ctx context.Context, queueID, outcome, jobID, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE scheduled_runs SET outcome = ?, job_id = ?, reason = CASE WHEN ? = '' THEN reason ELSE ? END
		WHERE queue_id = ?`, outcome, jobID, reason, reason, queueID)
	if err != nil {
		return fmt.Errorf("jobs: record queued run %s: %w", queueID, err)
	}
	return nil
}
