package gcs

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"cloud.google.com/go/storage"
)

// RetainedByLifecycle says the bucket's Object Lifecycle Management expires
// this sink's objects (see EnsureRetention): the jobs' retention sweep
// leaves GCS targets alone (jobs.LifecycleRetention).
func (s *Sink) RetainedByLifecycle() bool { return true }

// isRetentionRule says whether r is the rule ora2gcs keeps for prefix: a
// Delete action whose only conditions are matchesPrefix = [prefix] and an
// age. A rule with any other condition is someone else's and never touched.
func isRetentionRule(r storage.LifecycleRule, prefix string) bool {
	if r.Action.Type != storage.DeleteAction || r.Action.StorageClass != "" {
		return false
	}
	c := r.Condition
	rest := c
	rest.AgeInDays, rest.MatchesPrefix = 0, nil
	return slices.Equal(c.MatchesPrefix, []string{prefix}) && isZeroCondition(rest)
}

func isZeroCondition(c storage.LifecycleCondition) bool {
	return c.AgeInDays == 0 && c.CreatedBefore.IsZero() && c.CustomTimeBefore.IsZero() && c.DaysSinceCustomTime == 0 &&
		c.DaysSinceNoncurrentTime == 0 && c.Liveness == storage.LiveAndArchived && len(c.MatchesStorageClasses) == 0 &&
		c.NoncurrentTimeBefore.IsZero() && c.NumNewerVersions == 0 && len(c.MatchesPrefix) == 0 && len(c.MatchesSuffix) == 0 &&
		!c.AllObjects
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
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	b := s.boundedBucket()
	attrs, err := b.Attrs(ctx)
	if err != nil {
		return false, fmt.Errorf("gcs: read lifecycle of %s: %w", s.cfg.Bucket, err)
	}
	rules, changed := mergeRetention(attrs.Lifecycle.Rules, prefix, days)
	if !changed {
		return false, nil
	}
	lc := storage.Lifecycle{Rules: rules}
	_, err = b.If(storage.BucketConditions{MetagenerationMatch: attrs.MetaGeneration}).
		Update(ctx, storage.BucketAttrsToUpdate{Lifecycle: &lc})
	if err != nil {
		return false, fmt.Errorf("gcs: update lifecycle of %s: %w", s.cfg.Bucket, err)
	}
	return true, nil
}

// CheckRetention reports how the bucket's rule for prefix differs from a
// Delete at age days ("" when it matches; with days <= 0, when there is none).
func (s *Sink) CheckRetention(ctx context.Context, prefix string, days int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	attrs, err := s.boundedBucket().Attrs(ctx)
	if err != nil {
		return "", fmt.Errorf("gcs: read lifecycle of %s: %w", s.cfg.Bucket, err)
	}
	var ours []storage.LifecycleRule
	for _, r := range attrs.Lifecycle.Rules {
		if isRetentionRule(r, prefix) {
			ours = append(ours, r)
		}
	}
	switch {
	case days <= 0 && len(ours) == 0:
		return "", nil
	case days <= 0:
		return fmt.Sprintf("bucket %s deletes %s after %d days, but no retention is configured", s.cfg.Bucket, prefix, ours[0].Condition.AgeInDays), nil
	case len(ours) == 0:
		return fmt.Sprintf("bucket %s has no lifecycle rule deleting %s after %d days", s.cfg.Bucket, prefix, days), nil
	case len(ours) > 1:
		return fmt.Sprintf("bucket %s has %d lifecycle rules for %s", s.cfg.Bucket, len(ours), prefix), nil
	case ours[0].Condition.AgeInDays != int64(days):
		return fmt.Sprintf("bucket %s deletes %s after %d days, want %d", s.cfg.Bucket, prefix, ours[0].Condition.AgeInDays, days), nil
	}
	return "", nil
}

// mergeRetention returns rules with exactly one ora2gcs rule for prefix at
// age days (none if days <= 0), other rules unchanged and in order, and
// whether that differs from rules.
func mergeRetention(rules []storage.LifecycleRule, prefix string, days int) ([]storage.LifecycleRule, bool) {
	out := make([]storage.LifecycleRule, 0, len(rules)+1)
	found, changed := false, false
	for _, r := range rules {
		if !isRetentionRule(r, prefix) {
			out = append(out, r)
			continue
		}
		if days <= 0 || found {
			changed = true // removed, or a duplicate of ours
			continue
		}
		found = true
		if r.Condition.AgeInDays != int64(days) {
			r.Condition.AgeInDays = int64(days)
			changed = true
		}
		out = append(out, r)
	}
	if days > 0 && !found {
		out = append(out, storage.LifecycleRule{
			Action:    storage.LifecycleAction{Type: storage.DeleteAction},
			Condition: storage.LifecycleCondition{AgeInDays: int64(days), MatchesPrefix: []string{prefix}},
		})
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
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	attrs, err := s.boundedBucket().Attrs(ctx)
	if err != nil {
		return nil, fmt.Errorf("gcs: read lifecycle of %s: %w", s.cfg.Bucket, err)
	}
	var out []RetentionRule
	for _, r := range attrs.Lifecycle.Rules {
		if len(r.Condition.MatchesPrefix) == 1 && strings.HasSuffix(r.Condition.MatchesPrefix[0], "/") &&
			isRetentionRule(r, r.Condition.MatchesPrefix[0]) {
			out = append(out, RetentionRule{Prefix: r.Condition.MatchesPrefix[0], AgeDays: int(r.Condition.AgeInDays)})
		}
	}
	return out, nil
}

// RetentionRule is a rule of the retention shape (see RetentionRules).
type RetentionRule struct {
	Prefix  string `json:"prefix"`
	AgeDays int    `json:"age_days"`
}
