package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the request that asks for a
// job (the server's X-Request-ID). Every log line of a job started with it
// carries request_id (spec NFR-04.1), next to transport_id and job_id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom is the request id WithRequestID put in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestIDOf is ctx's request id; without one (a scheduled or queued run,
// the CLI) a new id prefixed with the trigger ("schedule-…", "api-…").
func requestIDOf(ctx context.Context) string {
	if id := RequestIDFrom(ctx); id != "" {
		return id
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return triggerOf(ctx) + "-" + hex.EncodeToString(b[:])
}
