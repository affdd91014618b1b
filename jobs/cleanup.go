package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// ErrTargetUnavailable is wrapped by Execute when the pre-flight check of
// the transport's target fails (not reachable, not writable, not listable):
// no job version is assigned then.
var ErrTargetUnavailable = errors.New("target unavailable")

// rangesFolder holds the temporary range segments of a job version (see
// ranges.go): "{trpid}/{version}/_ranges/{table}/…".
const rangesFolder = "_ranges/"

// cleanupTimeout bounds the clean-up of one job's leftovers.
const cleanupTimeout = 2 * time.Minute

// versionPrefix is the folder of a job version in its bucket.
func versionPrefix(transportID, version string) string {
	return transportID + "/" + version + "/"
}

// targetVersions returns the job version numbers that exist in the target
// under "{transportID}/" (every first level named vNNN, object or folder).
// A sink that cannot list gives none.
func targetVersions(ctx context.Context, sink pipeline.Sink, transportID string) ([]int, error) {
	l, ok := sink.(pipeline.Lister)
	if !ok {
		return nil, nil
	}
	prefix := transportID + "/"
	names, err := l.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, n := range names {
		v, _, _ := strings.Cut(strings.TrimPrefix(n, prefix), "/")
		if versionRE.MatchString(v) {
			k, _ := strconv.Atoi(v[1:])
			out = append(out, k)
		}
	}
	return out, nil
}

// preflight checks, before a job version is assigned, that the target of t
// is reachable and writable and that every table of t resolves. It returns
// the sink the job writes through, the job versions the target holds and
// each table as described (the job reads those descriptions: one catalog
// look-up per table and job, not two).
func (m *Manager) preflight(ctx context.Context, t Transport) (pipeline.Sink, []int, []pipeline.TableInfo, error) {
	sink, err := m.cfg.Sinks(t.TargetBucket)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("jobs: target %s: %v: %w", t.TargetBucket, err, ErrTargetUnavailable)
	}
	if c, ok := sink.(pipeline.Checker); ok {
		if err := c.Check(ctx); err != nil {
			return nil, nil, nil, fmt.Errorf("jobs: target %s: %w: %w", t.TargetBucket, err, ErrTargetUnavailable)
		}
	}
	used, err := targetVersions(ctx, sink, t.ID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("jobs: target %s: list job versions of %s: %v: %w", t.TargetBucket, t.ID, err, ErrTargetUnavailable)
	}
	infos := make([]pipeline.TableInfo, len(t.Tables))
	for i, name := range t.Tables {
		ts := &tableState{te: TableExtraction{TableName: name}}
		if len(t.TableRefs) == len(t.Tables) {
			ts.ref = t.TableRefs[i]
		}
		if infos[i], err = m.describe(ctx, ts); err != nil {
			return nil, nil, nil, fmt.Errorf("jobs: execute %s: %w", t.ID, err)
		}
	}
	if err := m.claimTransport(ctx, sink, t); err != nil {
		return nil, nil, nil, err
	}
	return sink, used, infos, nil
}

// cleanupJob removes what a job that did not complete left in the target
// below its version folder: the range segments under _ranges/ (GCS compose
// intermediates included) and the sink's temporary data (the file sink's
// temporary files and the folders left empty). Committed objects stay, also
// the parts a table that did not finish had committed before a crash:
// nothing proves that an object in the folder is this job's (another state
// database racing for the same version may have written it), and deleting
// another job's object would be silent, while removing temporary data or
// segments in use makes the other job fail loudly. No writer of the job may
// be alive.
// Unfinished resumable GCS uploads cannot be listed or removed by a client;
// GCS deletes them a week after they were started.
func cleanupJob(ctx context.Context, sink pipeline.Sink, transportID, version string) (int, error) {
	prefix := versionPrefix(transportID, version)
	removed := 0
	var errs []error
	l, lok := sink.(pipeline.Lister)
	rm, rok := sink.(pipeline.Remover)
	if lok && rok {
		names, err := listTree(ctx, l, prefix+rangesFolder)
		if err != nil {
			errs = append(errs, err)
		}
		for _, n := range names {
			if err := rm.Remove(ctx, n); err != nil {
				errs = append(errs, err)
				continue
			}
			removed++
		}
	}
	if c, ok := sink.(pipeline.Cleaner); ok {
		n, err := c.Clean(ctx, prefix)
		removed += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("jobs: clean up %s: %w", prefix, err)
	}
	return removed, nil
}

// listTree lists every object below prefix, at any depth.
func listTree(ctx context.Context, l pipeline.Lister, prefix string) ([]string, error) {
	names, err := l.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if !strings.HasSuffix(n, "/") {
			out = append(out, n)
			continue
		}
		if n == prefix || !strings.HasPrefix(n, prefix) {
			continue // a listing must descend; never loop
		}
		sub, err := listTree(ctx, l, n)
		if err != nil {
			return out, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// cleanupPending removes the leftovers of every job marked for clean-up
// (those a crash or shutdown interrupted) and unmarks each one cleaned. A
// job whose clean-up fails stays marked and is tried again at the next
// start. It runs in the background from NewManager.
func (m *Manager) cleanupPending(ctx context.Context) {
	defer close(m.cleaned)
	pend, err := m.store.PendingCleanups(ctx)
	if err != nil {
		m.log.Warn("clean-up of interrupted jobs: list them", "error", err)
		return
	}
	for _, p := range pend {
		if ctx.Err() != nil {
			return
		}
		m.cleanupOne(ctx, p)
	}
}

// cleanupOne cleans up one job's leftovers and records the outcome.
func (m *Manager) cleanupOne(ctx context.Context, p PendingCleanup) {
	log := m.log.With("transport_id", p.TransportID, "job_id", p.JobID, "job_version", p.Version)
	sink, err := m.cfg.Sinks(p.Bucket)
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
		var n int
		n, err = cleanupJob(cctx, sink, p.TransportID, p.Version)
		cancel()
		if err == nil {
			if err := m.store.SetCleanupPending(context.WithoutCancel(ctx), p.JobID, false); err != nil {
				log.Warn("record clean-up", "error", err)
			}
			log.Info("cleaned up an interrupted job", "removed", n)
			return
		}
	}
	log.Warn("clean-up of an interrupted job failed; it is tried again at the next start", "error", err)
}

// PendingCleanup is a job whose leftovers in the target are still to be
// removed.
type PendingCleanup struct {
	JobID, TransportID, Version, Bucket string
}

// PendingCleanups lists the jobs marked for clean-up, oldest first.
func (s *Store) PendingCleanups(ctx context.Context) ([]PendingCleanup, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT j.id, j.transport_id, j.version, t.target_bucket FROM jobs j
		JOIN transports t ON t.id = j.transport_id WHERE j.cleanup_pending = 1 AND j.status != 'running'
		ORDER BY j.started_at, j.rowid`)
	if err != nil {
		return nil, fmt.Errorf("jobs: pending clean-ups: %w", err)
	}
	defer rows.Close()
	var out []PendingCleanup
	for rows.Next() {
		var p PendingCleanup
		if err := rows.Scan(&p.JobID, &p.TransportID, &p.Version, &p.Bucket); err != nil {
			return nil, fmt.Errorf("jobs: pending clean-ups: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: pending clean-ups: %w", err)
	}
	return out, nil
}

// SetCleanupPending marks (or unmarks) a job's leftovers for clean-up.
func (s *Store) SetCleanupPending(ctx context.Context, jobID string, pending bool) error {
	v := 0
	if pending {
		v = 1
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE jobs SET cleanup_pending = ? WHERE id = ?`, v, jobID); err != nil {
		return fmt.Errorf("jobs: mark clean-up of %s: %w", jobID, err)
	}
	return nil
}

// afterJobTimeout bounds the clean-up at the end of a job that did not
// complete (it may run during a shutdown); what is left then is cleaned up
// at the next start.
const afterJobTimeout = 15 * time.Second

// cleanupAfter removes what a job that did not complete left in its target
// (its writers have all ended); if that fails, the job is marked for the
// clean-up at the next start.
func (m *Manager) cleanupAfter(ctx context.Context, r *run) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), afterJobTimeout)
	defer cancel()
	n, err := cleanupJob(cctx, r.sink, r.job.TransportID, r.job.Version)
	if err != nil {
		r.log.Warn("clean-up of the job's leftovers failed; it is tried again at the next start", "error", err)
		if err := m.store.SetCleanupPending(context.WithoutCancel(ctx), r.job.ID, true); err != nil {
			r.log.Error("record pending clean-up", "error", err)
		}
		return
	}
	if n > 0 {
		r.log.Info("removed the job's leftovers", "removed", n)
	}
}

// closeCleanupGrace is how long Close waits for the start-up clean-up
// before cancelling it.
const closeCleanupGrace = 10 * time.Second
