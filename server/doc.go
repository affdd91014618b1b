// Package server is the HTTP API of ora2gcs: a thin Fiber app over
// jobs.Service. Handlers parse and validate requests, call the service and
// render JSON; every endpoint exists under /api/v1 and, as the spec also
// uses it, under /api.
//
// Contracts:
//   - Every error is one JSON shape, {"error":{"code","message","request_id"}}
//     (409 adds job_id), with the status codes of the spec; panics become 500s
//     without internals.
//   - Every route but /health and /metrics requires an API key as
//     "Authorization: Bearer <key>" or "X-API-Key: <key>", compared in
//     constant time against every configured key. EnsureAPIKey generates and
//     stores a key when none is configured.
//   - Every request has a request id (X-Request-ID when valid, else
//     generated), echoed in the response and in its log line. Logs are slog
//     JSON with timestamp, level and message (NewLogger); headers and bodies
//     are never logged.
//   - GET /transport/:id/status is a Server-Sent Events stream of the job's
//     jobs.Event values that extends the write deadline per event, sends
//     ": ping" heartbeats, ends after "complete", and releases the
//     subscription when the client goes away or the server shuts down.
//   - /metrics writes the server's HTTP metrics (Prometheus text) followed by
//     Options.Metrics.
package server
