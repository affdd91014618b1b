package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// StoreChecker is implemented by services whose state database can be
// checked for writability (jobs.Manager); the health endpoints use it.
type StoreChecker interface {
	CheckStore(ctx context.Context) error
}

// healthCache holds the last source check: health endpoints share one
// check per Options.HealthCacheTTL, bounded by Options.HealthTimeout, so
// probes never pile onto the database (callers arriving during a check wait
// for it).
type healthCache struct {
	mu sync.Mutex
	at time.Time
	st pipeline.Status
}

// sourceHealth returns the source's status, checked at most once per
// HealthCacheTTL and never waiting longer than HealthTimeout for it: a
// connector that ignores its context is reported unreachable at the
// deadline.
func (s *Server) sourceHealth() (pipeline.Status, time.Time) {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.at.IsZero() && time.Since(h.at) < s.opts.HealthCacheTTL {
		return h.st, h.at
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.HealthTimeout)
	defer cancel()
	conn := s.svc.Connector()
	res := make(chan pipeline.Status, 1)
	go func() { res <- conn.Status(ctx) }()
	var st pipeline.Status
	select {
	case st = <-res:
	case <-ctx.Done():
		st = pipeline.Status{Kind: conn.Kind(), Error: "the source did not answer within " + s.opts.HealthTimeout.String()}
	}
	if st.Kind == "" {
		st.Kind = conn.Kind()
	}
	h.st, h.at = st, time.Now().UTC()
	return h.st, h.at
}

// storeHealth checks that the state database is writable: "ok", "down" or
// "unchecked" (a service without StoreChecker).
func (s *Server) storeHealth() string {
	sc, ok := s.svc.(StoreChecker)
	if !ok {
		return "unchecked"
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.HealthTimeout)
	defer cancel()
	if err := sc.CheckStore(ctx); err != nil {
		s.logStream(slog.LevelWarn, "health: state database not writable", slog.String("error", err.Error()))
		return "down"
	}
	return "ok"
}

type check struct {
	Status    string     `json:"status"` // ok, down, unchecked
	Kind      string     `json:"kind,omitempty"`
	LatencyMS *float64   `json:"latency_ms,omitempty"`
	CheckedAt *time.Time `json:"checked_at,omitempty"`
	Required  bool       `json:"required"` // whether this endpoint's status depends on it
}

type healthBody struct {
	Status    string           `json:"status"` // ok, degraded (a check failed)
	Timestamp string           `json:"timestamp"`
	Version   string           `json:"version"`
	Checks    map[string]check `json:"checks"`
}

func okOrDown(ok bool) string {
	if ok {
		return "ok"
	}
	return "down"
}

// renderHealth renders the checks; requireSource tells whether the source gates
// the status code (GET /health) or is only reported (/health/ready).
func (s *Server) renderHealth(c *fiber.Ctx, requireSource bool) error {
	st, at := s.sourceHealth()
	src := check{Status: okOrDown(st.Reachable), Kind: st.Kind, CheckedAt: &at, Required: requireSource}
	if st.Reachable {
		ms := latencyMS(st.Latency)
		src.LatencyMS = &ms
	}
	store := s.storeHealth()
	body := healthBody{
		Status: "ok", Timestamp: time.Now().UTC().Format(time.RFC3339Nano), Version: s.opts.Version,
		Checks: map[string]check{
			"process":  {Status: "ok", Required: true},
			"source":   src,
			"state_db": {Status: store, Required: true},
		},
	}
	if store == "down" || (requireSource && !st.Reachable) {
		body.Status = "degraded"
		c.Set(fiber.HeaderRetryAfter, retryAfterSeconds)
		c.Status(http.StatusServiceUnavailable)
	}
	return c.JSON(body)
}

// handleHealth is the spec's GET /health: process, source (bounded and
// cached) and state database; 503 when the source or the state database is
// down.
func (s *Server) handleHealth(c *fiber.Ctx) error { return s.renderHealth(c, true) }

// handleReady is GET /health/ready: 503 while the state database is not
// writable (the server cannot record jobs). The source is reported but does
// not gate readiness: job history, the dashboard and health stay served
// during a source outage.
func (s *Server) handleReady(c *fiber.Ctx) error {
	if s.draining.Load() {
		return newError(http.StatusServiceUnavailable, CodeShuttingDown, "server is shutting down")
	}
	return s.renderHealth(c, false)
}

// handleLive is GET /health/live: the process answers. It checks nothing
// else, so a source or disk outage never gets the process restarted.
func (s *Server) handleLive(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok", "timestamp": time.Now().UTC().Format(time.RFC3339Nano), "version": s.opts.Version})
}
