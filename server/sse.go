package server

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// handleStatusStream serves GET /transport/:id/status as Server-Sent Events:
// for each jobs.Event "id: N", "event: TYPE", "data: JSON" and a blank line,
// flushed at once. The stream ends after "complete", when the subscription
// closes, when the client goes away (a failed write) or at Shutdown (after a
// final "error" event with code "shutting_down"). ": ping" comments every
// SSEHeartbeat keep proxies from closing an idle stream and detect a client
// that left. Each write extends the connection's write deadline by
// WriteTimeout, so a long job is never cut by it. A Last-Event-ID header
// skips replayed events up to that id.
func (s *Server) handleStatusStream(c *fiber.Ctx) error {
	trpID := c.Params("id")
	var lastID int64 = -1
	if v := c.Get("Last-Event-ID"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			lastID = n
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	events, unsubscribe, err := s.svc.Subscribe(ctx, trpID)
	if err != nil {
		cancel()
		return err
	}
	rid := requestID(c)
	conn := c.Context().Conn()
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderConnection, "keep-alive")
	c.Set("X-Accel-Buffering", "no")
	c.Status(fiber.StatusOK)

	s.streams.Add(1)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer s.streams.Done()
		defer cancel()
		defer unsubscribe()
		sent, reason := 0, "complete"
		defer func() {
			s.logStream(slog.LevelInfo, "sse stream closed",
				slog.String("request_id", rid), slog.String("transport_id", trpID),
				slog.Int("events", sent), slog.String("reason", reason))
		}()
		flush := func() bool {
			if conn != nil {
				_ = conn.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
			}
			return w.Flush() == nil
		}
		// Headers go out at once, so the client sees the stream open.
		if _, err := w.WriteString(": stream " + trpID + "\n\n"); err != nil || !flush() {
			reason = "client gone"
			return
		}
		tick := time.NewTicker(s.opts.SSEHeartbeat)
		defer tick.Stop()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					reason = "subscription closed"
					return
				}
				if ev.ID <= lastID && ev.ID != 0 {
					continue
				}
				if err := writeEvent(w, ev); err != nil {
					reason = "encode: " + err.Error()
					return
				}
				if !flush() {
					reason = "client gone"
					return
				}
				sent++
				if ev.Type == jobs.EventComplete {
					return
				}
			case <-tick.C:
				if _, err := w.WriteString(": ping\n\n"); err != nil || !flush() {
					reason = "client gone"
					return
				}
			case <-s.closing:
				reason = "shutdown"
				_ = writeEvent(w, jobs.Event{Type: jobs.EventError, Time: time.Now().UTC(), TransportID: trpID,
					Error: "server is shutting down", ErrorCode: CodeShuttingDown})
				flush()
				return
			}
		}
	})
	return nil
}

// writeEvent writes one SSE message. The JSON is a single line, so one
// "data:" field carries it.
func writeEvent(w *bufio.Writer, ev jobs.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if ev.ID != 0 {
		w.WriteString("id: ")
		w.WriteString(strconv.FormatInt(ev.ID, 10))
		w.WriteByte('\n')
	}
	w.WriteString("event: ")
	w.WriteString(ev.Type)
	w.WriteString("\ndata: ")
	w.Write(data)
	_, err = w.WriteString("\n\n")
	return err
}
