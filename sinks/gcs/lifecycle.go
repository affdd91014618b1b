package gcs

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// RetainedByLifecycle says the bucket's Object Lifecycle Management expires
// this sink's objects (see EnsureRetention): the jobs' retention sweep
// leaves GCS targets alone (jobs.LifecycleRetention).
func (s *Sink) RetainedByLifecycle() bool { return true }

// errNoMetadata: the sink was made by NewWithClient without WithMetadata.
var errNoMetadata = errors.New("gcs: lifecycle rules need the bucket metadata client (gcs.NewMetadata, Sink.WithMetadata)")

// WithMetadata gives a sink made by NewWithClient the client its lifecycle
// calls use (NewMetadata with the options of the storage client); New
// sets it itself. It returns s.
func (s *Sink) WithMetadata(md *Metadata) *Sink {
	s.md = md
	return s
}

// EnsureRetention makes the bucket's lifecycle configuration hold exactly
// one ora2gcs rule for prefix (e.g. "TRP-20260118-001/"): Delete objects
// whose age is at least days. days <= 0 removes that rule. Every other rule
// of the bucket is kept as it is, in its order. The update is conditional
// on the bucket's metageneration, so a concurrent change of the bucket is
// not overwritten (the call fails and can be retried). It returns whether
// the configuration changed. Needs storage.buckets.get and
// storage.buckets.update.
func (s *Sink) EnsureRetention(ctx context.Context, prefix string, days int) (bool, error) {
	if !strings.HasSuffix(prefix, "/") || len(prefix) < 2 {
		return false, fmt.Errorf("gcs: retention prefix %q must name a folder (end with /)", prefix)
	}
	if s.md == nil {
		return false, errNoMetadata
	}
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	rules, gen, err := s.md.lifecycle(ctx, s.cfg.Bucket)
	if err != nil {
		return false, fmt.Errorf("gcs: read lifecycle of %s: %w", s.cfg.Bucket, err)
	}
	rules, changed := mergeRetention(rules, prefix, days)
	if !changed {
		return false, nil
	}
	if err := s.md.setLifecycle(ctx, s.cfg.Bucket, rules, gen); err != nil {
		return false, fmt.Errorf("gcs: update lifecycle of %s: %w", s.cfg.Bucket, err)
	}
	return true, nil
}

// CheckRetention reports how the bucket's rule for prefix differs from a
// Delete at age days ("" when it matches; with days <= 0, when there is none).
func (s *Sink) CheckRetention(ctx context.Context, prefix string, days int) (string, error) {
	if s.md == nil {
		return "", errNoMetadata
	}
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	rules, _, err := s.md.lifecycle(ctx, s.cfg.Bucket)
	if err != nil {
		return "", fmt.Errorf("gcs: read lifecycle of %s: %w", s.cfg.Bucket, err)
	}
	var ours []int64 // ages
	for _, r := range rules {
		if age, ok := r.isRetention(prefix); ok {
			ours = append(ours, age)
		}
	}
	switch {
	case days <= 0 && len(ours) == 0:
		return "", nil
	case days <= 0:
		return fmt.Sprintf("bucket %s deletes %s after %d days, but no retention is configured", s.cfg.Bucket, prefix, ours[0]), nil
	case len(ours) == 0:
		return fmt.Sprintf("bucket %s has no lifecycle rule deleting %s after %d days", s.cfg.Bucket, prefix, days), nil
	case len(ours) > 1:
		return fmt.Sprintf("bucket %s has %d lifecycle rules for %s", s.cfg.Bucket, len(ours), prefix), nil
	case ours[0] != int64(days):
		return fmt.Sprintf("bucket %s deletes %s after %d days, want %d", s.cfg.Bucket, prefix, ours[0], days), nil
	}
	return "", nil
}

// mergeRetention returns rules with exactly one ora2gcs rule for prefix at
// age days (none if days <= 0), other rules unchanged and in order, and
// whether that differs from rules.
func mergeRetention(rules []lifecycleRule, prefix string, days int) ([]lifecycleRule, bool) {
	out := make([]lifecycleRule, 0, len(rules)+1)
	found, changed := false, false
	for _, r := range rules {
		age, ours := r.isRetention(prefix)
		if !ours {
			out = append(out, r) // as the bucket holds it
			continue
		}
		if days <= 0 || found {
			changed = true // removed, or a duplicate of ours
			continue
		}
		found = true
		if age != int64(days) {
			r = lifecycleRule{raw: retentionRuleJSON(prefix, days)}
			changed = true
		}
		out = append(out, r)
	}
	if days > 0 && !found {
		out = append(out, lifecycleRule{raw: retentionRuleJSON(prefix, days)})
		changed = true
	}
	return out, changed
}

// RetentionRules lists the bucket's rules that have the shape of an
// ora2gcs retention rule (a Delete whose only conditions are one
// matchesPrefix ending in "/" and an age), as prefix → age in days, in the
// bucket's order. Whose they are is the caller's to decide (`ora2gcs
// retention check` counts those of "TRP-…/" prefixes that no transport of
// its state database owns as stale). Needs storage.buckets.get.
func (s *Sink) RetentionRules(ctx context.Context) ([]RetentionRule, error) {
	if s.md == nil {
		return nil, errNoMetadata
	}
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	rules, _, err := s.md.lifecycle(ctx, s.cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("gcs: read lifecycle of %s: %w", s.cfg.Bucket, err)
	}
	var out []RetentionRule
	for _, r := range rules {
		if p, age := r.retentionPrefix(); p != "" {
			out = append(out, RetentionRule{Prefix: p, AgeDays: int(age)})
		}
	}
	return out, nil
}

// RetentionRule is a rule of the retention shape (see RetentionRules).
type RetentionRule struct {
	Prefix  string `json:"prefix"`
	AgeDays int    `json:"age_days"`
}
