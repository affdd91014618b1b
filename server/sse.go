package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// handleStatusStream serves GET /transport/:id/status as Server-Sent Events:
// for each jobs.Event "id: JOB:N", "event: TYPE", "data: JSON" and a blank
// line, flushed at once. The stream ends after "complete", when the
// subscription closes, when the client goes away (a failed write) or at
// Shutdown (after a final "error" event with code "shutting_down"). ": ping"
// comments every SSEHeartbeat keep proxies from closing an idle stream and
// detect a client that left. Each write extends the connection's write
// deadline by WriteTimeout, so a long job is never cut by it.
//
// Ids are "<job id>:<n>", stable for a job (see jobs.ReplayIDBase): a client
// reconnecting with Last-Event-ID gets exactly the events after the one it
// names, and always the final "complete". An id of another job or numbering
// replays the whole job.
//
// A transport that has not run yet gets an open stream (heartbeats only)
// that delivers the next job's events once it is executed.
func (s *Server) handleStatusStream(c *fiber.Ctx) error {
	trpID := c.Params("id")
	last := parseLastEventID(c.Get("Last-Event-ID"))
	ctx, cancel := context.WithCancel(context.Background())
	events, unsubscribe, err := s.svc.Subscribe(ctx, trpID)
	waiting := false
	if err != nil {
		if !errors.Is(err, jobs.ErrNotFound) {
			cancel()
			return err
		}
		// Unknown transport: 404. Known but never run: wait for its job.
		if _, terr := s.svc.GetTransport(c.UserContext(), trpID); terr != nil {
			cancel()
			return terr
		}
		waiting, unsubscribe = true, func() {}
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
		defer func() { unsubscribe() }()
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
		head := ": stream " + trpID + "\n\n"
		if waiting {
			head = ": stream " + trpID + ": waiting for its first job\n\n"
		}
		if _, err := w.WriteString(head); err != nil || !flush() {
			reason = "client gone"
			return
		}
		tick := time.NewTicker(s.opts.SSEHeartbeat)
		defer tick.Stop()
		var poll <-chan time.Time
		if waiting {
			pt := time.NewTicker(s.opts.SSEPoll)
			defer pt.Stop()
			poll = pt.C
		}
		for {
			select {
			case <-poll:
				ch, unsub, err := s.svc.Subscribe(ctx, trpID)
				if errors.Is(err, jobs.ErrNotFound) {
					continue
				}
				if err != nil {
					reason = "subscribe: " + err.Error()
					return
				}
				events, unsubscribe, poll = ch, unsub, nil
			case ev, ok := <-events:
				if !ok {
					reason = "subscription closed"
					return
				}
				if last.covers(ev) {
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

// lastEventID is a parsed Last-Event-ID: "<job id>:<n>" as this server
// sends it, or a bare "<n>" (any job).
type lastEventID struct {
	ok    bool
	jobID string
	n     int64
}

func parseLastEventID(v string) lastEventID {
	v = strings.TrimSpace(v)
	if v == "" {
		return lastEventID{}
	}
	job, num := "", v
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		job, num = v[:i], v[i+1:]
		if job == "" {
			return lastEventID{}
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return lastEventID{}
	}
	return lastEventID{ok: true, jobID: job, n: n}
}

// covers reports whether the client has seen ev already: same job, same
// numbering (jobs.ReplayIDBase), id not after the last one seen. "complete"
// is never skipped, so a resumed stream always ends with it.
func (l lastEventID) covers(ev jobs.Event) bool {
	if !l.ok || ev.ID <= 0 || ev.Type == jobs.EventComplete {
		return false
	}
	if l.jobID != "" && l.jobID != ev.JobID {
		return false
	}
	if (ev.ID > jobs.ReplayIDBase) != (l.n > jobs.ReplayIDBase) {
		return false
	}
	return ev.ID <= l.n
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
		if ev.JobID != "" {
			w.WriteString(ev.JobID)
			w.WriteByte(':')
		}
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
