package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/ora2gcs/ora2gcs/jobs"
)

const (
	headerRequestID = "X-Request-ID"
	headerAPIKey    = "X-API-Key"
	localRequestID  = "request_id"
	maxRequestIDLen = 128
)

// NewLogger returns the project's JSON logger: slog's JSON handler with the
// keys renamed to "timestamp", "level" and "message" (spec NFR-04.1).
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 {
				switch a.Key {
				case slog.TimeKey:
					a.Key = "timestamp"
				case slog.MessageKey:
					a.Key = "message"
				}
			}
			return a
		},
	}))
}

// validRequestID accepts ids of at most 128 characters of letters, digits
// and "-_.:".
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.' || ch == ':') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// requestID returns the request's id, assigning one when the request did not
// pass the middleware (errors raised by fasthttp before routing).
func requestID(c *fiber.Ctx) string {
	if id, ok := c.Locals(localRequestID).(string); ok {
		return id
	}
	id := c.Get(headerRequestID)
	if !validRequestID(id) {
		id = newRequestID()
	}
	c.Locals(localRequestID, id)
	return id
}

// withRequestID assigns the request id, echoes it, and refuses new requests
// once Shutdown began. It also gives the request its own context
// (c.UserContext), cancelled when the handler returns: fasthttp recycles its
// RequestCtx, so c.Context() must never reach code that may outlive the
// handler (database/sql watches a query's context from another goroutine).
func (s *Server) withRequestID(c *fiber.Ctx) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The service sees the request id: a job started by this request logs it.
	c.SetUserContext(jobs.WithRequestID(ctx, requestID(c)))
	c.Set(headerRequestID, requestID(c))
	if s.shuttingDown() {
		return newError(http.StatusServiceUnavailable, CodeShuttingDown, "server is shutting down")
	}
	if s.draining.Load() {
		switch c.Method() {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		default:
			return newError(http.StatusServiceUnavailable, CodeShuttingDown, "server is shutting down: it finishes the running job and accepts no new work")
		}
	}
	return c.Next()
}

// withAccessLog renders errors of the rest of the chain, then logs one line
// and records the request's duration by route pattern and status.
func (s *Server) withAccessLog(c *fiber.Ctx) error {
	start := time.Now()
	if err := c.Next(); err != nil {
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(http.StatusInternalServerError)
		}
	}
	d := time.Since(start)
	status := c.Response().StatusCode()
	route := routeLabel(c)
	s.metrics.GetOrCreatePrometheusHistogram(fmt.Sprintf(
		`ora2gcs_http_request_duration_seconds{method=%q,route=%q,status="%d"}`, c.Method(), route, status)).Update(d.Seconds())

	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs,
		slog.String("request_id", requestID(c)),
		slog.String("method", c.Method()),
		slog.String("path", c.Path()),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	)
	if strings.Contains(route, "/transport/:id") {
		attrs = append(attrs, slog.String("transport_id", c.Params("id")))
	}
	if strings.HasSuffix(route, "/jobs/:id") {
		attrs = append(attrs, slog.String("job_id", c.Params("id")))
	}
	if strings.HasSuffix(route, "/tables/:name/sample") {
		attrs = append(attrs, slog.String("table", c.Params("name")))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(c.UserContext(), level, "request", attrs...)
	return nil
}

// routeLabel is the matched route pattern, or "unmatched", so metric labels
// stay bounded whatever paths clients send.
func routeLabel(c *fiber.Ctx) string {
	r := c.Route()
	if r == nil || r.Method == "USE" || r.Path == "/" || r.Path == "" {
		return "unmatched"
	}
	return r.Path
}

// wrapHandler puts a guard in front of Fiber's request handler: Fiber
// answers a method it does not know (not one of fiber.DefaultMethods) with a
// plain-text 400 before any middleware runs. The guard answers it with the
// one JSON error shape (405 method_not_allowed), a request id and a log line.
func (s *Server) wrapHandler() {
	srv := s.app.Server()
	next := srv.Handler
	known := make(map[string]bool, len(fiber.DefaultMethods))
	for _, m := range fiber.DefaultMethods {
		known[m] = true
	}
	srv.Handler = func(rctx *fasthttp.RequestCtx) {
		if known[string(rctx.Method())] {
			next(rctx)
			return
		}
		start := time.Now()
		c := s.app.AcquireCtx(rctx)
		defer s.app.ReleaseCtx(c)
		if err := s.handleError(c, newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed")); err != nil {
			_ = c.SendStatus(http.StatusInternalServerError)
		}
		d := time.Since(start)
		status := c.Response().StatusCode()
		s.metrics.GetOrCreatePrometheusHistogram(fmt.Sprintf(
			`ora2gcs_http_request_duration_seconds{method="other",route="unmatched",status="%d"}`, status)).Update(d.Seconds())
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "request",
			slog.String("request_id", requestID(c)), slog.String("method", string(rctx.Method())),
			slog.String("path", string(rctx.Path())), slog.String("route", "unmatched"), slog.Int("status", status),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000))
	}
}

// withPlainBody refuses a request whose body declares a Content-Encoding
// other than identity with 415, before anything reads the body. Handlers read
// the raw body (c.Request().Body(), never c.Body(), which inflates gzip,
// deflate and br without a limit), so the body limit applies to exactly the
// bytes that are parsed: a 200 KB gzip body can never become 200 MiB.
func (s *Server) withPlainBody(c *fiber.Ctx) error {
	if enc := strings.TrimSpace(c.Get(fiber.HeaderContentEncoding)); enc != "" && !strings.EqualFold(enc, "identity") {
		return newError(http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
			"request bodies must not be compressed: send them without Content-Encoding")
	}
	return c.Next()
}

// withRecover turns a panic into a 500 in the one error shape.
func (s *Server) withRecover(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			buf := make([]byte, 4096)
			buf = buf[:runtime.Stack(buf, false)]
			err = &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal server error",
				cause: fmt.Errorf("panic: %v\n%s", r, buf)}
		}
	}()
	return c.Next()
}

// requireKey accepts "Authorization: Bearer <key>" (unless disabled) or
// "X-API-Key: <key>". The presented key's SHA-256 is compared in constant
// time with every configured key's, without early exit.
func (s *Server) requireKey(c *fiber.Ctx) error {
	var token string
	if k := c.Get(headerAPIKey); k != "" {
		token = k
	} else if h := c.Get(fiber.HeaderAuthorization); h != "" && !s.opts.DisableBearer {
		if scheme, rest, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			token = strings.TrimSpace(rest)
		}
	}
	if token == "" {
		return newError(http.StatusUnauthorized, CodeUnauthorized, "missing API key: send \"Authorization: Bearer <key>\" or \"X-API-Key: <key>\"")
	}
	sum := sha256.Sum256([]byte(token))
	match := 0
	for i := range s.keys {
		match |= subtle.ConstantTimeCompare(sum[:], s.keys[i][:])
	}
	if match != 1 {
		return newError(http.StatusUnauthorized, CodeUnauthorized, "invalid API key")
	}
	return c.Next()
}

// handleMetrics writes the HTTP metrics and Options.Metrics (no auth).
func (s *Server) handleMetrics(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/plain; version=0.0.4; charset=utf-8")
	w := c.Response().BodyWriter()
	s.metrics.WritePrometheus(w)
	if s.opts.Metrics != nil {
		s.opts.Metrics(w)
	}
	return nil
}

// queryInt parses an optional positive integer query parameter.
func queryInt(c *fiber.Ctx, name string, def, maxVal int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxVal {
		return 0, &apiError{Status: http.StatusBadRequest, Code: CodeBadRequest, Field: name,
			Message: fmt.Sprintf("%s: %q is not an integer in 1..%d", name, v, maxVal)}
	}
	return n, nil
}
