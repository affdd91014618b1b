package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gofiber/fiber/v2"

	"github.com/ora2gcs/ora2gcs/internal/bucketname"
	"github.com/ora2gcs/ora2gcs/jobs"
)

// Options configures a Server. APIKeys is required; every other zero value
// means its default.
type Options struct {
	// APIKeys are the accepted keys (at least one; see EnsureAPIKey).
	APIKeys []string
	// DisableBearer refuses "Authorization: Bearer" (auth.enable_bearer: false);
	// X-API-Key is always accepted.
	DisableBearer bool
	// Logger receives one line per request; default: discard.
	Logger *slog.Logger
	// Version is shown by /health.
	Version string
	// ReadTimeout and WriteTimeout bound one request (defaults 30 s and
	// 300 s); SSE streams extend the write deadline per event.
	ReadTimeout, WriteTimeout time.Duration
	// BodyLimit is the largest request body in bytes; default 1 MiB.
	BodyLimit int
	// Metrics, if set, writes further Prometheus text after the server's own
	// metrics on /metrics (e.g. the Manager's and process metrics).
	Metrics func(w io.Writer)
	// ValidateBucket checks a transport's target_bucket; default
	// bucketname.Validate (the GCS naming rules).
	ValidateBucket func(string) error
	// DataDir is where EnsureAPIKey keeps a generated key (informational here).
	DataDir string
	// SSEHeartbeat is the interval of ": ping" comments on SSE streams;
	// default 15 s.
	SSEHeartbeat time.Duration
	// SSEPoll is how often a stream on a transport that has not run yet
	// looks for its first job; default 1 s.
	SSEPoll time.Duration
	// PublicBaseURL, if set, is the absolute URL clients reach the server
	// at (e.g. "https://etl.example.com" behind a proxy); Location headers
	// start with it. Default: Location headers are relative ("/api/v1/…").
	// The request's Host and X-Forwarded-* headers are never used.
	PublicBaseURL string
	// HealthTimeout bounds the source and state database checks of the
	// health endpoints; default 2 s. HealthCacheTTL is how long one source
	// check answers them; default 5 s.
	HealthTimeout, HealthCacheTTL time.Duration
	// SourceTimeout bounds a request that waits for the source (GET
	// /tables, GET /tables/:name/sample, POST /transport); default 30 s.
	// A request that runs out gets 503 source_unavailable.
	SourceTimeout time.Duration
	// MaxTables is the most tables one transport may list; default jobs.MaxTables (500).
	MaxTables int
}

// Server is the HTTP API over a jobs.Service.
type Server struct {
	svc      jobs.Service
	opts     Options
	log      *slog.Logger
	app      *fiber.App
	keys     [][sha256.Size]byte
	metrics  *metrics.Set
	closing  chan struct{}
	stopOnce sync.Once
	streams  sync.WaitGroup
	health   healthCache
	draining atomic.Bool
}

const (
	defaultBodyLimit = 1 << 20
	apiV1            = "/api/v1"
	apiLegacy        = "/api"
)

// New builds the app and its routes. It fails without API keys.
func New(svc jobs.Service, opts Options) (*Server, error) {
	if svc == nil {
		return nil, errors.New("server: nil service")
	}
	if len(opts.APIKeys) == 0 {
		return nil, errors.New("server: no API key configured (see EnsureAPIKey)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 30 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 300 * time.Second
	}
	if opts.BodyLimit <= 0 {
		opts.BodyLimit = defaultBodyLimit
	}
	if opts.ValidateBucket == nil {
		opts.ValidateBucket = bucketname.Validate
	}
	if opts.SSEHeartbeat <= 0 {
		opts.SSEHeartbeat = 15 * time.Second
	}
	if opts.HealthTimeout <= 0 {
		opts.HealthTimeout = 2 * time.Second
	}
	if opts.HealthCacheTTL <= 0 {
		opts.HealthCacheTTL = 5 * time.Second
	}
	if opts.SourceTimeout <= 0 {
		opts.SourceTimeout = 30 * time.Second
	}
	if opts.SSEPoll <= 0 {
		opts.SSEPoll = time.Second
	}
	if opts.PublicBaseURL != "" {
		u, err := url.Parse(opts.PublicBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("server: public base URL %q must be an absolute http(s) URL without query or credentials", opts.PublicBaseURL)
		}
		opts.PublicBaseURL = strings.TrimRight(opts.PublicBaseURL, "/")
	}
	if opts.MaxTables <= 0 {
		opts.MaxTables = jobs.MaxTables
	}
	s := &Server{
		svc:     svc,
		opts:    opts,
		log:     opts.Logger,
		metrics: metrics.NewSet(),
		closing: make(chan struct{}),
	}
	for _, k := range opts.APIKeys {
		if k == "" {
			return nil, errors.New("server: empty API key")
		}
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	s.app = fiber.New(fiber.Config{
		AppName:               "ora2gcs",
		ErrorHandler:          s.handleError,
		BodyLimit:             opts.BodyLimit,
		ReadTimeout:           opts.ReadTimeout,
		WriteTimeout:          opts.WriteTimeout,
		IdleTimeout:           2 * time.Minute,
		DisableStartupMessage: true,
		Immutable:             true, // strings from a request outlive the handler (SSE, service)
		// Responses are rendered with goccy/go-json (same output as
		// encoding/json, faster); request bodies are decoded strictly with
		// encoding/json's DisallowUnknownFields in decodeJSON.
		JSONEncoder: gojson.Marshal,
		JSONDecoder: gojson.Unmarshal,
	})
	s.app.Use(s.withRequestID, s.withAccessLog, s.withRecover, s.withPlainBody)
	s.routes()
	s.wrapHandler()
	return s, nil
}

func (s *Server) routes() {
	s.app.Get("/metrics", s.handleMetrics)
	for _, prefix := range []string{apiV1, apiLegacy} {
		g := s.app.Group(prefix)
		g.Get("/health", s.handleHealth)
		g.Get("/health/live", s.handleLive)
		g.Get("/health/ready", s.handleReady)
		g.Get("/oracle/status", s.requireKey, s.handleSourceStatus)
		g.Get("/tables", s.requireKey, s.handleTables)
		g.Get("/tables/:name/sample", s.requireKey, s.handleSample)
		g.Post("/transport", s.requireKey, s.handleCreateTransport)
		g.Get("/transports", s.requireKey, s.handleListTransports)
		g.Get("/transport/:id", s.requireKey, s.handleGetTransport)
		g.Post("/transport/:id/execute", s.requireKey, s.handleExecuteWith)
		s.routeSchedules(g)
		g.Get("/transport/:id/status", s.requireKey, s.handleStatusStream)
		g.Get("/jobs", s.requireKey, s.handleListJobs)
		g.Get("/jobs/:id", s.requireKey, s.handleGetJob)
	}
	s.mountDashboard()
}

// App returns the Fiber app (for app.Test and for mounting).
func (s *Server) App() *fiber.App { return s.app }

// Listen serves on addr until Shutdown.
func (s *Server) Listen(addr string) error {
	if err := s.app.Listen(addr); err != nil {
		return fmt.Errorf("server: listen %s: %w", addr, err)
	}
	return nil
}

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.app.Listener(ln); err != nil {
		return fmt.Errorf("server: serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections, ends every SSE stream with a final
// error event (code "shutting_down"), and waits for in-flight requests until
// ctx ends. New requests on open connections get 503 meanwhile. It does not
// stop the service: the caller shuts the jobs.Service down.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.closing) })
	done := make(chan struct{})
	go func() { s.streams.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	if err := s.app.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}

// Drain starts a graceful stop while the running job finishes: requests
// that change state (POST, and any method but GET/HEAD/OPTIONS) get 503
// shutting_down, /health/ready answers 503; reads, SSE streams and the
// other health endpoints keep answering. Shutdown follows.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) shuttingDown() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}
