package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// stallConnector is a source that accepts every call and answers none until
// the call's context ends (a database that accepts connections and never
// answers), counting the calls.
type stallConnector struct {
	*fakeConnector
	calls atomic.Int64
}

func (c *stallConnector) wait(ctx context.Context) error {
	c.calls.Add(1)
	<-ctx.Done()
	return fmt.Errorf("stall: connect: %w", ctx.Err())
}

func (c *stallConnector) Status(ctx context.Context) pipeline.Status {
	err := c.wait(ctx)
	return pipeline.Status{Kind: "stall", Error: err.Error()}
}

func (c *stallConnector) Tables(ctx context.Context, _ bool) ([]pipeline.TableInfo, error) {
	return nil, c.wait(ctx)
}

func (c *stallConnector) Describe(ctx context.Context, _ string) (pipeline.TableInfo, error) {
	return pipeline.TableInfo{}, c.wait(ctx)
}

// stallService is the fake service over a stalled source: CreateTransport
// resolves its tables through it, like jobs.Manager.
type stallService struct {
	*fakeService
	conn     *stallConnector
	storeErr error
	mu       sync.Mutex
}

func (s *stallService) Connector() pipeline.Connector { return s.conn }

func (s *stallService) CreateTransport(ctx context.Context, in jobs.NewTransport) (jobs.Transport, error) {
	for _, name := range in.Tables {
		if _, err := s.conn.Describe(ctx, name); err != nil {
			return jobs.Transport{}, fmt.Errorf("jobs: describe table %q: %w", name, err)
		}
	}
	return s.fakeService.CreateTransport(ctx, in)
}

func (s *stallService) CheckStore(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.storeErr
}

func newStallServer(t *testing.T) (*Server, *stallService) {
	t.Helper()
	svc := &stallService{fakeService: newFakeService(), conn: &stallConnector{fakeConnector: newFakeConnector()}}
	s, err := New(svc, Options{
		APIKeys: []string{testKey}, Logger: NewLogger(&testLogs, slog.LevelInfo), Version: "stall",
		SourceTimeout: 200 * time.Millisecond, HealthTimeout: 100 * time.Millisecond, HealthCacheTTL: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, svc
}

// TestStalledSource: with a source that never answers, every request that
// needs it ends at its deadline with 503 source_unavailable and Retry-After
// (never 500, never a hang), and everything else is served.
func TestStalledSource(t *testing.T) {
	s, _ := newStallServer(t)
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/api/v1/tables", ""},
		{"GET", "/api/v1/tables/VBRK/sample", ""},
		{"POST", "/api/v1/transport", `{"name":"x","tables":["VBRK"]}`},
		{"POST", "/api/transport", `{"name":"x","tables":["VBRK"]}`},
	} {
		r := call(t, s, tc.method, tc.path, tc.body, authed)
		checkError(t, r, http.StatusServiceUnavailable, CodeUnavailable)
		if r.header.Get("Retry-After") == "" {
			t.Errorf("%s %s: no Retry-After", tc.method, tc.path)
		}
	}
	if r := call(t, s, "GET", "/api/v1/transports", "", authed); r.status != 200 {
		t.Errorf("transports during the outage: %d", r.status)
	}
	if r := call(t, s, "GET", "/", "", nil); r.status != 200 {
		t.Errorf("dashboard during the outage: %d", r.status)
	}

	t.Run("create fails with another error while the source is down", func(t *testing.T) {
		s2, svc2 := newStallServer(t)
		s2.health = healthCache{at: time.Now(), st: pipeline.Status{Kind: "stall"}} // known down
		other := &errService{stallService: svc2, err: errors.New("pq: connection reset by peer")}
		s2.svc = other
		checkError(t, call(t, s2, "POST", "/api/v1/transport", `{"name":"x","tables":["VBRK"]}`, authed), 503, CodeUnavailable)
	})
}

type errService struct {
	*stallService
	err error
}

func (s *errService) CreateTransport(context.Context, jobs.NewTransport) (jobs.Transport, error) {
	return jobs.Transport{}, s.err
}

// TestHealthChecks: /health reports what it checked and answers 503 while
// the source hangs (bounded by HealthTimeout, one check per HealthCacheTTL
// however many probes arrive); /health/live always answers 200; /health/ready
// follows the state database.
func TestHealthChecks(t *testing.T) {
	s, svc := newStallServer(t)
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- call(t, s, "GET", "/api/health", "", nil).status
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusServiceUnavailable {
			t.Errorf("health with a hanging source: %d", c)
		}
	}
	if n := svc.conn.calls.Load(); n != 1 {
		t.Errorf("20 health probes made %d source checks, want 1 (cached)", n)
	}
	r := call(t, s, "GET", "/api/v1/health", "", nil)
	m := r.json(t)
	checks, _ := m["checks"].(map[string]any)
	src, _ := checks["source"].(map[string]any)
	if r.status != 503 || m["status"] != "degraded" || src["status"] != "down" || r.header.Get("Retry-After") == "" {
		t.Errorf("health body %s", r.body)
	}
	if st, _ := checks["state_db"].(map[string]any); st["status"] != "ok" {
		t.Errorf("state_db %v", checks["state_db"])
	}
	if r := call(t, s, "GET", "/api/v1/health/live", "", nil); r.status != 200 || r.json(t)["status"] != "ok" {
		t.Errorf("live: %d %s", r.status, r.body)
	}
	if r := call(t, s, "GET", "/api/v1/health/ready", "", nil); r.status != 200 {
		t.Errorf("ready with the state database up: %d %s", r.status, r.body)
	}
	svc.mu.Lock()
	svc.storeErr = errors.New("attempt to write a readonly database")
	svc.mu.Unlock()
	r = call(t, s, "GET", "/api/v1/health/ready", "", nil)
	if r.status != 503 {
		t.Errorf("ready with the state database read-only: %d %s", r.status, r.body)
	}
	if r := call(t, s, "GET", "/api/v1/health/live", "", nil); r.status != 200 {
		t.Errorf("live with the state database read-only: %d", r.status)
	}
}

// TestHealthSourceUp: with the source and state database up, every health
// endpoint answers 200 and says what it checked.
func TestHealthSourceUp(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	for _, p := range []string{"/api/health", "/api/v1/health", "/api/v1/health/ready", "/api/v1/health/live"} {
		r := call(t, s, "GET", p, "", nil)
		if r.status != 200 || r.json(t)["status"] != "ok" {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
	m := call(t, s, "GET", "/api/health", "", nil).json(t)
	checks, _ := m["checks"].(map[string]any)
	for _, k := range []string{"process", "source", "state_db"} {
		if _, ok := checks[k]; !ok {
			t.Errorf("health does not report %s: %v", k, m)
		}
	}
}
