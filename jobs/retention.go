package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// DefaultRetentionDays is the spec's retention period (BC-02).
const DefaultRetentionDays = 90

// MaxRetentionDays bounds retention_days (GCS lifecycle ages are int32 days).
const MaxRetentionDays = 36500

// retentionSweepEvery is how often Tick sweeps (and once at its first call).
const retentionSweepEvery = 24 * time.Hour

// LifecycleRetention is implemented by sinks whose retention the storage
// enforces itself (GCS Object Lifecycle Management): the sweep leaves
// their objects alone.
type LifecycleRetention interface {
	RetainedByLifecycle() bool
}

// retentionDays is the transport's retention period: its own, else
// ManagerConfig.RetentionDays, else DefaultRetentionDays. 0 or less keeps
// everything.
func (m *Manager) retentionDays(ctx context.Context, transportID string) (int, bool, error) {
	var days int
	err := m.store.db.QueryRowContext(ctx, `SELECT retention_days FROM transport_policies WHERE transport_id = ?`, transportID).Scan(&days)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("jobs: retention of %s: %w", transportID, err)
	}
	if days != 0 {
		return days, true, nil
	}
	if m.cfg.RetentionDays != 0 {
		return m.cfg.RetentionDays, false, nil
	}
	return DefaultRetentionDays, false, nil
}

// SetRetention sets a transport's retention period in days (1..MaxRetentionDays, CheckRetentionDays); 0
// returns it to the server's default. Errors: *FieldError on
// "retention_days", ErrNotFound.
func (m *Manager) SetRetention(ctx context.Context, transportID string, days int) (Transport, error) {
	if p := CheckRetentionDays(days); days != 0 && p != "" {
		return Transport{}, &FieldError{"retention_days", p + " (0: the server's default)"}
	}
	if _, err := m.store.GetTransport(ctx, transportID); err != nil {
		return Transport{}, err
	}
	if _, err := m.store.db.ExecContext(ctx, `INSERT INTO transport_policies(transport_id, retention_days) VALUES (?, ?)
		ON CONFLICT(transport_id) DO UPDATE SET retention_days = excluded.retention_days`, transportID, days); err != nil {
		return Transport{}, fmt.Errorf("jobs: set retention of %s: %w", transportID, err)
	}
	m.log.Info("retention set", "transport_id", transportID, "retention_days", days)
	t, err := m.store.GetTransport(ctx, transportID)
	if err != nil {
		return Transport{}, err
	}
	m.applyRetention(ctx, t, false)
	return m.GetTransport(ctx, transportID)
}

func (m *Manager) decorateRetention(ctx context.Context, t *Transport) error {
	days, _, err := m.retentionDays(ctx, t.ID)
	if err != nil {
		return err
	}
	t.RetentionDays = days
	if st, ok := m.sched.getRetention(t.ID); ok {
		t.Retention = &st
	}
	return nil
}

// RetentionSweep removes, in every transport's target that the storage
// does not expire itself, the job version folders whose job ended more
// than the transport's retention period before now — never the newest
// completed version of a transport, never a running job — and marks those
// jobs expired (the records stay). It returns the objects removed. Errors
// of one transport are logged and do not stop the others.
func (m *Manager) RetentionSweep(ctx context.Context, now time.Time) (int, error) {
	rows, err := m.store.db.QueryContext(ctx, `SELECT id, target_bucket FROM transports ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("jobs: retention sweep: %w", err)
	}
	type trp struct{ id, bucket string }
	var ts []trp
	for rows.Next() {
		var t trp
		if err := rows.Scan(&t.id, &t.bucket); err != nil {
			rows.Close()
			return 0, fmt.Errorf("jobs: retention sweep: %w", err)
		}
		ts = append(ts, t)
	}
	rows.Close()
	total := 0
	var errs []error
	for _, t := range ts {
		n, err := m.sweepTransport(ctx, t.id, t.bucket, now)
		total += n
		if err != nil {
			m.log.Error("retention sweep failed", "transport_id", t.id, "error", err)
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

func (m *Manager) sweepTransport(ctx context.Context, transportID, bucket string, now time.Time) (int, error) {
	days, _, err := m.retentionDays(ctx, transportID)
	if err != nil || days <= 0 {
		return 0, err
	}
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	rows, err := m.store.db.QueryContext(ctx, `SELECT id, version FROM jobs
		WHERE transport_id = ?1 AND status IN ('completed', 'failed') AND expired_at IS NULL
		AND completed_at IS NOT NULL AND completed_at < ?2
		AND id IS NOT (SELECT id FROM jobs WHERE transport_id = ?1 AND status = 'completed' ORDER BY version_no DESC LIMIT 1)
		ORDER BY version_no`, transportID, cutoff.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("jobs: expired versions of %s: %w", transportID, err)
	}
	type ver struct{ id, version string }
	var vs []ver
	for rows.Next() {
		var v ver
		if err := rows.Scan(&v.id, &v.version); err != nil {
			rows.Close()
			return 0, fmt.Errorf("jobs: expired versions of %s: %w", transportID, err)
		}
		vs = append(vs, v)
	}
	rows.Close()
	if len(vs) == 0 {
		return 0, nil
	}
	sink, err := m.cfg.Sinks(bucket)
	if err != nil {
		return 0, fmt.Errorf("jobs: retention of %s: open target %s: %w", transportID, bucket, err)
	}
	if lr, ok := sink.(LifecycleRetention); ok && lr.RetainedByLifecycle() {
		return 0, nil // the bucket's lifecycle rules expire the objects
	}
	l, lok := sink.(pipeline.Lister)
	rm, rok := sink.(pipeline.Remover)
	if !lok || !rok {
		return 0, fmt.Errorf("jobs: retention of %s: the target cannot list and remove objects", transportID)
	}
	total := 0
	for _, v := range vs {
		names, err := listAll(ctx, l, transportID+"/"+v.version+"/")
		if err != nil {
			return total, fmt.Errorf("jobs: retention of %s %s: %w", transportID, v.version, err)
		}
		for _, n := range names {
			if err := rm.Remove(ctx, n); err != nil {
				return total, fmt.Errorf("jobs: retention of %s %s: %w", transportID, v.version, err)
			}
			total++
			m.metrics.GetOrCreateCounter(`ora2gcs_retention_deleted_objects_total`).Inc()
		}
		if _, err := m.store.db.ExecContext(ctx, `UPDATE jobs SET expired_at = ? WHERE id = ?`, now.UnixNano(), v.id); err != nil {
			return total, fmt.Errorf("jobs: mark %s expired: %w", v.id, err)
		}
		m.log.Info("retention: job version expired", "transport_id", transportID, "job_id", v.id, "job_version", v.version,
			"objects_deleted", len(names), "retention_days", days)
	}
	return total, nil
}

// listAll lists every object below prefix, descending into directories.
func listAll(ctx context.Context, l pipeline.Lister, prefix string) ([]string, error) {
	entries, err := l.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e, "/") {
			sub, err := listAll(ctx, l, e)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// maybeSweep runs the retention sweep at the first Tick and then once per
// retentionSweepEvery of the Manager's clock.
func (m *Manager) maybeSweep(ctx context.Context, now time.Time) {
	if !m.sched.lastSweep.IsZero() && now.Sub(m.sched.lastSweep) < retentionSweepEvery {
		return
	}
	if m.sched.lastSweep.IsZero() {
		m.checkRetentionAll(ctx)
	}
	m.sched.lastSweep = now
	n, err := m.RetentionSweep(ctx, now)
	if err != nil {
		m.log.Error("retention sweep", "error", err, "objects_deleted", n)
		return
	}
	m.log.Info("retention sweep done", "objects_deleted", n)
}

// RetentionEnforcer is implemented by targets whose storage expires
// objects by rules (gcs.Sink: bucket lifecycle rules per transport prefix).
type RetentionEnforcer interface {
	EnsureRetention(ctx context.Context, prefix string, days int) (bool, error)
	CheckRetention(ctx context.Context, prefix string, days int) (string, error)
}

// RetentionStatus is how a transport's retention is enforced, shown in its
// representation ("retention").
type RetentionStatus struct {
	Enforced bool   `json:"enforced"`
	By       string `json:"by,omitempty"`     // lifecycle (the bucket's rules) or sweep (the server deletes)
	Reason   string `json:"reason,omitempty"` // why it is not enforced, or the drift found
}

func (s *schedState) setRetention(id string, st RetentionStatus) {
	s.retMu.Lock()
	defer s.retMu.Unlock()
	if s.retention == nil {
		s.retention = map[string]RetentionStatus{}
	}
	s.retention[id] = st
}

func (s *schedState) getRetention(id string) (RetentionStatus, bool) {
	s.retMu.Lock()
	defer s.retMu.Unlock()
	st, ok := s.retention[id]
	return st, ok
}

// applyRetention makes the target enforce the transport's retention: the
// bucket's lifecycle rule for its prefix (added or updated), or the sweep.
// A failure (e.g. no storage.buckets.update permission) does not fail the
// transport: its status says retention is not enforced and why.
func (m *Manager) applyRetention(ctx context.Context, t Transport, check bool) RetentionStatus {
	days, _, err := m.retentionDays(ctx, t.ID)
	st := RetentionStatus{}
	if err != nil {
		st.Reason = err.Error()
		return st
	}
	var enf RetentionEnforcer
	if m.cfg.Lifecycle != nil {
		if enf, err = m.cfg.Lifecycle(t.TargetBucket); err != nil {
			st.Reason = "the target cannot be opened: " + err.Error()
			m.sched.setRetention(t.ID, st)
			return st
		}
	}
	log := m.log.With("transport_id", t.ID, "bucket", t.TargetBucket, "retention_days", days)
	if enf == nil {
		st.Enforced, st.By = days > 0, "sweep"
		m.sched.setRetention(t.ID, st)
		return st
	}
	st.By = "lifecycle"
	if check {
		drift, err := enf.CheckRetention(ctx, t.ID+"/", days)
		switch {
		case err != nil:
			st.Reason = "the bucket's lifecycle rules cannot be read: " + err.Error()
			log.Warn("retention: lifecycle check failed", "error", err)
		case drift != "":
			st.Reason = "drift: " + drift
			log.Warn("retention: lifecycle drift", "drift", drift)
		default:
			st.Enforced = true
		}
		m.sched.setRetention(t.ID, st)
		return st
	}
	changed, err := enf.EnsureRetention(ctx, t.ID+"/", days)
	if err != nil {
		st.Reason = "the bucket's lifecycle rule could not be set (needs storage.buckets.update): " + err.Error()
		log.Warn("retention: lifecycle rule not set", "error", err)
	} else {
		st.Enforced = true
		log.Info("retention: lifecycle rule applied", "changed", changed)
	}
	m.sched.setRetention(t.ID, st)
	return st
}

// checkRetentionAll checks every transport's retention enforcement (the
// scheduler's first tick: at start-up).
func (m *Manager) checkRetentionAll(ctx context.Context) {
	for page := 1; ; page++ {
		p, err := m.store.ListTransports(ctx, page, 200)
		if err != nil {
			m.log.Error("retention: list transports", "error", err)
			return
		}
		for _, t := range p.Items {
			m.applyRetention(ctx, t, true)
		}
		if page*200 >= p.Total {
			return
		}
	}
}

// SweepTransport is RetentionSweep for one transport (`ora2gcs retention
// apply` on a file target): it removes the version folders of its jobs that
// ended more than its retention period before now, never its newest
// completed version, and marks those jobs expired. It returns the objects
// removed; ErrNotFound for an unknown transport.
func (m *Manager) SweepTransport(ctx context.Context, transportID string, now time.Time) (int, error) {
	t, err := m.store.GetTransport(ctx, transportID)
	if err != nil {
		return 0, err
	}
	return m.sweepTransport(ctx, t.ID, t.TargetBucket, now)
}
