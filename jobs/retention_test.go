package jobs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
)

// withFileTarget makes the jobs write into the real file sink under dir.
func withFileTarget(dir string) func(*ManagerConfig) {
	var mu sync.Mutex
	sinks := map[string]*file.Sink{}
	return func(c *ManagerConfig) {
		c.Sinks = func(bucket string) (pipeline.Sink, error) {
			mu.Lock()
			defer mu.Unlock()
			if s, ok := sinks[bucket]; ok {
				return s, nil
			}
			s, err := file.New(dir, bucket)
			if err != nil {
				return nil, err
			}
			sinks[bucket] = s
			return s, nil
		}
	}
}

type lifecycleSink struct{ pipeline.Sink }

func (lifecycleSink) RetainedByLifecycle() bool { return true }

// TestRetentionSweepFileTarget: the sweep (at the scheduler's first tick,
// i.e. start-up, then daily) removes the version folders of jobs older than
// the retention period, never the newest completed version even when it is
// older, and marks those jobs expired; the records stay.
func TestRetentionSweepFileTarget(t *testing.T) {
	clk := &fakeClock{}
	day0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clk.Set(day0)
	target := t.TempDir()
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 20}, &fakeTable{name: "U", rows: 5}), withClock(clk), withFileTarget(target))
	ctx := context.Background()
	tr, err := e.m.CreateTransport(ctx, NewTransport{Name: "r", Tables: []string{"T", "U"}, RetentionDays: 10})
	if err != nil || tr.RetentionDays != 10 {
		t.Fatalf("create: %+v %v", tr, err)
	}
	other := mustCreate(t, e.m, "default retention", "U")
	if other.RetentionDays != DefaultRetentionDays {
		t.Fatalf("default retention %d", other.RetentionDays)
	}
	var jobs []Job
	for _, d := range []int{0, 5, 20} {
		clk.Set(day0.AddDate(0, 0, d))
		jobs = append(jobs, runJob(t, e.m, tr.ID))
	}
	otherJob := runJob(t, e.m, other.ID)
	dirOf := func(trp, v string) string { return filepath.Join(target, "test-bucket", trp, v) }
	for _, j := range jobs {
		if _, err := os.Stat(filepath.Join(dirOf(tr.ID, j.Version), "T.jsonl.gz")); err != nil {
			t.Fatalf("job %s: %v", j.Version, err)
		}
	}
	// day 40: all three are older than 10 days; v003 is the newest completed
	clk.Set(day0.AddDate(0, 0, 40))
	e.m.Tick(ctx, clk.Now())
	for i, j := range jobs {
		got, err := e.m.GetJob(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, statErr := os.Stat(dirOf(tr.ID, j.Version))
		if i < 2 {
			if got.ExpiredAt == nil || !os.IsNotExist(statErr) || got.Status != StatusCompleted {
				t.Fatalf("%s: expired_at %v, folder %v, status %s", j.Version, got.ExpiredAt, statErr, got.Status)
			}
			continue
		}
		if got.ExpiredAt != nil || statErr != nil {
			t.Fatalf("newest completed %s removed: expired_at %v, folder %v", j.Version, got.ExpiredAt, statErr)
		}
	}
	if got, _ := e.m.GetJob(ctx, otherJob.ID); got.ExpiredAt != nil {
		t.Fatal("a transport within its default 90 days was swept")
	}
	// per version: T and U objects, their schemas and the manifest
	if c := e.m.metrics.GetOrCreateCounter(`ora2gcs_retention_deleted_objects_total`).Get(); c != 2*5 {
		t.Fatalf("ora2gcs_retention_deleted_objects_total = %d, want 10", c)
	}
	// the next tick the same day does not sweep again; a later sweep finds nothing more
	if n, err := e.m.RetentionSweep(ctx, clk.Now()); err != nil || n != 0 {
		t.Fatalf("second sweep: %d %v", n, err)
	}
}

// TestRetentionLeavesLifecycleTargets: a target whose storage expires
// objects itself (GCS lifecycle rules) is not swept.
func TestRetentionLeavesLifecycleTargets(t *testing.T) {
	clk := &fakeClock{}
	clk.Set(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	target := t.TempDir()
	fileTarget := withFileTarget(target)
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 5}), withClock(clk), func(c *ManagerConfig) {
		fileTarget(c)
		inner := c.Sinks
		c.Sinks = func(b string) (pipeline.Sink, error) {
			s, err := inner(b)
			if err != nil {
				return nil, err
			}
			return lifecycleSink{s}, nil
		}
		c.RetentionDays = 1
	})
	ctx := context.Background()
	tr := mustCreate(t, e.m, "g", "T")
	j1 := runJob(t, e.m, tr.ID)
	runJob(t, e.m, tr.ID)
	clk.Set(clk.Now().AddDate(0, 0, 5))
	if n, err := e.m.RetentionSweep(ctx, clk.Now()); err != nil || n != 0 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if got, _ := e.m.GetJob(ctx, j1.ID); got.ExpiredAt != nil {
		t.Fatal("lifecycle-managed version marked expired by the sweep")
	}
}

func TestRetentionValidation(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 1}))
	ctx := context.Background()
	tr := mustCreate(t, e.m, "v", "T")
	for _, d := range []int{-1, MaxRetentionDays + 1} {
		_, err := e.m.SetRetention(ctx, tr.ID, d)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "retention_days" {
			t.Fatalf("%d: %v", d, err)
		}
		if _, err := e.m.CreateTransport(ctx, NewTransport{Name: "x", Tables: []string{"T"}, RetentionDays: d}); !errors.As(err, &fe) {
			t.Fatalf("create %d: %v", d, err)
		}
	}
	got, err := e.m.SetRetention(ctx, tr.ID, 30)
	if err != nil || got.RetentionDays != 30 {
		t.Fatalf("%+v %v", got, err)
	}
	if got, _ := e.m.SetRetention(ctx, tr.ID, 0); got.RetentionDays != DefaultRetentionDays {
		t.Fatalf("back to default: %d", got.RetentionDays)
	}
}

// enforcerSink records the lifecycle rules a Manager asks for; denied
// makes EnsureRetention fail as without storage.buckets.update.
type enforcerSink struct {
	pipeline.Sink
	mu     sync.Mutex
	rules  map[string]int
	denied bool
}

func (s *enforcerSink) RetainedByLifecycle() bool { return true }
func (s *enforcerSink) EnsureRetention(ctx context.Context, prefix string, days int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied {
		return false, errors.New("googleapi: Error 403: caller does not have storage.buckets.update access")
	}
	changed := s.rules[prefix] != days
	s.rules[prefix] = days
	return changed, nil
}
func (s *enforcerSink) CheckRetention(ctx context.Context, prefix string, days int) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if got, ok := s.rules[prefix]; !ok || got != days {
		return "rule differs", nil
	}
	return "", nil
}

// TestRetentionLifecycleApplied: creating a transport and changing its
// retention set the bucket's rule; without the permission the transport
// still works and its status says retention is not enforced and why; at
// start-up (first tick) drift is reported.
func TestRetentionLifecycleApplied(t *testing.T) {
	clk := &fakeClock{}
	clk.Set(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	target := t.TempDir()
	enf := &enforcerSink{rules: map[string]int{}}
	fileTarget := withFileTarget(target)
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 5}), withClock(clk), func(c *ManagerConfig) {
		fileTarget(c)
		inner := c.Sinks
		c.Sinks = func(b string) (pipeline.Sink, error) {
			s, err := inner(b)
			enf.mu.Lock()
			enf.Sink = s
			enf.mu.Unlock()
			return enf, err
		}
		c.Lifecycle = func(string) (RetentionEnforcer, error) { return enf, nil }
	})
	ctx := context.Background()
	tr := mustCreate(t, e.m, "g", "T")
	if enf.rules[tr.ID+"/"] != DefaultRetentionDays || tr.Retention == nil || !tr.Retention.Enforced || tr.Retention.By != "lifecycle" {
		t.Fatalf("on create: rules %v, status %+v", enf.rules, tr.Retention)
	}
	got, err := e.m.SetRetention(ctx, tr.ID, 30)
	if err != nil || enf.rules[tr.ID+"/"] != 30 || !got.Retention.Enforced {
		t.Fatalf("on change: %v %v %+v", err, enf.rules, got.Retention)
	}
	enf.mu.Lock()
	enf.denied = true
	enf.mu.Unlock()
	got, err = e.m.SetRetention(ctx, tr.ID, 45)
	if err != nil || got.Retention.Enforced || !strings.Contains(got.Retention.Reason, "storage.buckets.update") {
		t.Fatalf("without permission: %v %+v", err, got.Retention)
	}
	if j := runJob(t, e.m, tr.ID); j.Status != StatusCompleted {
		t.Fatalf("job without retention permission: %+v", j)
	}
	// start-up check: the bucket says 30, the transport 45
	e.m.Tick(ctx, clk.Now())
	got, _ = e.m.GetTransport(ctx, tr.ID)
	if got.Retention == nil || got.Retention.Enforced || !strings.HasPrefix(got.Retention.Reason, "drift:") {
		t.Fatalf("start-up drift: %+v", got.Retention)
	}
}

func TestSchedulerMetricsExported(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "T", rows: 1}))
	var b strings.Builder
	e.m.Metrics().WritePrometheus(&b)
	for _, name := range []string{`ora2gcs_queue_length 0`, `ora2gcs_retention_deleted_objects_total 0`, `ora2gcs_scheduled_runs_total{outcome="started"} 0`} {
		if !strings.Contains(b.String(), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}
