package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// Error codes of schedules, windows and the queue.
const (
	CodeOutsideWindow  = "outside_window" // 409 a manual execute outside the transport's window
	CodeNotImplemented = "not_implemented"
)

// scheduler is what the schedule, queue and execute-with-options endpoints
// need beyond jobs.Service; *jobs.Manager implements it. A service without
// it answers those endpoints with 501.
type scheduler interface {
	SetSchedule(ctx context.Context, transportID string, spec jobs.ScheduleSpec) (jobs.Transport, error)
	DeleteSchedule(ctx context.Context, transportID string) error
	SetWindows(ctx context.Context, transportID string, spec *jobs.WindowSpec) (jobs.Transport, error)
	SetRetention(ctx context.Context, transportID string, days int) (jobs.Transport, error)
	ListQueue(ctx context.Context) ([]jobs.QueuedRun, error)
	CancelQueued(ctx context.Context, id string) error
	ExecuteWith(ctx context.Context, transportID string, opts jobs.ExecuteOptions) (jobs.ExecuteResult, error)
}

func (s *Server) scheduler() (scheduler, error) {
	sc, ok := s.svc.(scheduler)
	if !ok {
		return nil, newError(http.StatusNotImplemented, CodeNotImplemented, "this server has no scheduler")
	}
	return sc, nil
}

// routeSchedules registers the schedule and queue endpoints under one API
// prefix group (routes calls it for /api/v1 and /api).
func (s *Server) routeSchedules(g fiber.Router) {
	g.Put("/transport/:id/schedule", s.requireKey, s.handlePutSchedule)
	g.Delete("/transport/:id/schedule", s.requireKey, s.handleDeleteSchedule)
	g.Put("/transport/:id/distributed", s.requireKey, s.handlePutDistributed)
	g.Delete("/transport/:id/distributed", s.requireKey, s.handleDeleteDistributed)
	g.Put("/transport/:id/windows", s.requireKey, s.handlePutWindows)
	g.Delete("/transport/:id/windows", s.requireKey, s.handleDeleteWindows)
	g.Put("/transport/:id/retention", s.requireKey, s.handlePutRetention)
	g.Put("/transport/:id/incremental", s.requireKey, s.handlePutIncremental)
	g.Get("/transport/:id/watermarks", s.requireKey, s.handleGetWatermarks)
	g.Post("/transport/:id/watermarks/rebuild", s.requireKey, s.handleRebuildWatermarks)
	g.Get("/queue", s.requireKey, s.handleListQueue)
	g.Delete("/queue/:id", s.requireKey, s.handleCancelQueued)
}

// scheduleError renders the scheduler's own errors: a *jobs.FieldError is
// 400 validation_failed naming the field, an *jobs.OutsideWindowError is
// 409 outside_window naming the next opening; the rest go to classify.
func scheduleError(err error, fieldPrefix string) error {
	var fe *jobs.FieldError
	if errors.As(err, &fe) {
		field := fieldPrefix + fe.Field
		return &apiError{Status: http.StatusBadRequest, Code: CodeValidation, Field: field, Message: field + ": " + fe.Message}
	}
	var we *jobs.OutsideWindowError
	if errors.As(err, &we) {
		next := we.NextOpen.UTC()
		return &apiError{Status: http.StatusConflict, Code: CodeOutsideWindow, TrpID: we.TransportID, NextOpen: &next,
			Message: "outside the transport's allowed window; it opens next at " + we.NextOpen.UTC().Format(time.RFC3339) +
				` (send {"force": true} to run anyway)`}
	}
	return err
}

func (s *Server) handlePutSchedule(c *fiber.Ctx) error {
	sc, err := s.scheduler()
	if err != nil {
		return err
	}
	var spec jobs.ScheduleSpec
	if err := decodeJSON(c, &spec); err != nil {
		return err
	}
	t, err := sc.SetSchedule(c.UserContext(), c.Params("id"), spec)
	if err != nil {
		return scheduleError(err, "")
	}
	s.log.Info("schedule set", "request_id", requestID(c), "transport_id", t.ID, "cron", spec.Cron, "timezone", spec.Timezone)
	return c.JSON(t)
}

func (s *Server) handleDeleteSchedule(c *fiber.Ctx) error {
	sc, err := s.scheduler()
	if err != nil {
		return err
	}
	if err := sc.DeleteSchedule(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
	s.log.Info("schedule removed", "request_id", requestID(c), "transport_id", c.Params("id"))
	return c.SendStatus(http.StatusNoContent)
}

// handlePutWindows sets a transport's allowed windows, body
// {"timezone": "Asia/Seoul", "allow": [{"days": "mon-fri", "from": "22:00",
// "to": "06:00"}], "on_close": "finish"|"stop"}.
func (s *Server) handlePutWindows(c *fiber.Ctx) error {
	sc, err := s.scheduler()
	if err != nil {
		return err
	}
	var spec jobs.WindowSpec
	if err := decodeJSON(c, &spec); err != nil {
		return err
	}
	t, err := sc.SetWindows(c.UserContext(), c.Params("id"), &spec)
	if err != nil {
		return scheduleError(err, "")
	}
	s.log.Info("windows set", "request_id", requestID(c), "transport_id", t.ID)
	return c.JSON(t)
}

func (s *Server) handleDeleteWindows(c *fiber.Ctx) error {
	sc, err := s.scheduler()
	if err != nil {
		return err
	}
	if _, err := sc.SetWindows(c.UserContext(), c.Params("id"), nil); err != nil {
		return err
	}
	s.log.Info("windows removed", "request_id", requestID(c), "transport_id", c.Params("id"))
	return c.SendStatus(http.StatusNoContent)
}

// handlePutRetention sets a transport's retention period, body
// {"retention_days": 30} (0: back to the server's default).
func (s *Server) handlePutRetention(c *fiber.Ctx) error {
	sc, err := s.scheduler()
	if err != nil {
		return err
	}
	var in struct {
		RetentionDays *int `json:"retention_days"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.RetentionDays == nil {
		return validationError("retention_days", "required")
	}
	t, err := sc.SetRetention(c.UserContext(), c.Params("id"), *in.RetentionDays)
	if err != nil {
		return scheduleError(err, "")
	}
	s.log.Info("retention set", "request_id", requestID(c), "transport_id", t.ID, "retention_days", t.RetentionDays)
	return c.JSON(t)
}

func (s *Server) handleListQueue(c *fiber.Ctx) error {
	sc, err := s.scheduler()
	if err != nil {
		return err
	}
	items, err := sc.ListQueue(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items, "total": len(items)})
}

func (s *Server) handleCancelQueued(c *fiber.Ctx) error {
	sc, err := s.scheduler()
	if err != nil {
		return err
	}
	if err := sc.CancelQueued(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
	s.log.Info("queued run cancelled", "request_id", requestID(c), "queue_id", c.Params("id"))
	return c.SendStatus(http.StatusNoContent)
}

// executeOptions is the optional body of POST /transport/:id/execute.
type executeOptions struct {
	// Queue: queue the run while a job runs instead of 409 job_running.
	Queue bool `json:"queue"`
	// Force: run outside the transport's allowed window.
	Force bool `json:"force"`
	// Full: read every incremental table in full (recording its
	// watermark), e.g. to pick up deletes now.
	Full bool `json:"full"`
	// Distributed runs this job as shards (plan, shards, finalize) by an
	// executor of the server's configuration, whatever the transport's
	// distributed setting says.
	Distributed *jobs.DistributedOptions `json:"distributed"`
}

// handleExecuteWith is POST /transport/:id/execute: without a body (or
// with a service that has no scheduler) exactly handleExecute; with
// {"queue": true} a run that cannot start now is queued (202 with
// "queued"), with {"force": true} it runs outside its window.
func (s *Server) handleExecuteWith(c *fiber.Ctx) error {
	sc, ok := s.svc.(scheduler)
	body := strings.TrimSpace(string(c.Request().Body()))
	if !ok && body == "" {
		return s.handleExecute(c)
	}
	var opts executeOptions
	if body != "" {
		if err := decodeJSON(c, &opts); err != nil {
			return err
		}
	}
	if opts.Full && opts.Queue {
		return validationError("full", "a full run cannot be queued: run it when no job runs")
	}
	if opts.Distributed != nil && opts.Queue {
		return validationError("distributed", "a queued run follows the transport's distributed setting (PUT /transport/:id/distributed); without queue the run starts now")
	}
	ctx := c.UserContext()
	if opts.Full {
		ctx = jobs.WithFullRun(ctx)
	}
	if opts.Distributed != nil {
		ctx = jobs.WithDistributed(ctx, *opts.Distributed)
	}
	if !ok {
		if opts.Queue || opts.Force || opts.Full || opts.Distributed != nil {
			return newError(http.StatusNotImplemented, CodeNotImplemented, "this server has no scheduler")
		}
		return s.handleExecute(c)
	}
	res, err := sc.ExecuteWith(jobs.WithTrigger(ctx, jobs.TriggerAPI), c.Params("id"), jobs.ExecuteOptions{Queue: opts.Queue, Force: opts.Force})
	if err != nil {
		return scheduleError(err, "")
	}
	if q := res.Queued; q != nil {
		s.log.Info("run queued", "request_id", requestID(c), "transport_id", q.TransportID, "queue_id", q.ID, "position", q.Position)
		c.Location(s.opts.PublicBaseURL + pathPrefix(c) + "/queue")
		return c.Status(http.StatusAccepted).JSON(fiber.Map{"status": "queued", "transport_id": q.TransportID, "queued": q})
	}
	job := res.Job
	s.log.Info("job started", "request_id", requestID(c), "transport_id", job.TransportID, "job_id", job.ID, "job_version", job.Version)
	c.Location(s.opts.PublicBaseURL + pathPrefix(c) + "/jobs/" + url.PathEscape(job.ID))
	return c.Status(http.StatusAccepted).JSON(fiber.Map{
		"job_id":       job.ID,
		"version":      job.Version,
		"transport_id": job.TransportID,
		"status":       job.Status,
		"trigger":      job.Trigger,
	})
}

// incrementaler is what the incremental extraction endpoints need;
// *jobs.Manager implements it.
type incrementaler interface {
	SetIncremental(ctx context.Context, transportID string, spec jobs.IncrementalSpec) (jobs.Transport, error)
	Watermarks(ctx context.Context, transportID string) ([]jobs.WatermarkState, error)
	RebuildWatermarks(ctx context.Context, transportID string) ([]jobs.WatermarkState, error)
}

func (s *Server) incrementaler() (incrementaler, error) {
	ic, ok := s.svc.(incrementaler)
	if !ok {
		return nil, newError(http.StatusNotImplemented, CodeNotImplemented, "this server cannot read tables incrementally")
	}
	return ic, nil
}

// handlePutIncremental sets a transport's table modes, body a
// jobs.IncrementalSpec: {"tables": [{"table": "VBRP", "mode":
// "incremental", "watermark_column": "AEDAT", "overlap": "10m"}],
// "full_schedule": {"cron": "0 0 * * 0", "timezone": "UTC"}}. Tables not
// listed are read in full; {"tables": []} makes every table full again.
func (s *Server) handlePutIncremental(c *fiber.Ctx) error {
	ic, err := s.incrementaler()
	if err != nil {
		return err
	}
	var spec jobs.IncrementalSpec
	if err := decodeJSON(c, &spec); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opts.SourceTimeout)
	defer cancel()
	t, err := ic.SetIncremental(ctx, c.Params("id"), spec)
	if err != nil {
		return scheduleError(err, "")
	}
	s.log.Info("table modes set", "request_id", requestID(c), "transport_id", t.ID)
	return c.JSON(t)
}

// handleGetWatermarks lists the watermark each incremental table of a
// transport reached with its last completed job.
func (s *Server) handleGetWatermarks(c *fiber.Ctx) error {
	ic, err := s.incrementaler()
	if err != nil {
		return err
	}
	ws, err := ic.Watermarks(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": ws, "total": len(ws)})
}

// handleRebuildWatermarks rebuilds a transport's watermarks from the
// manifests in its bucket and returns them.
func (s *Server) handleRebuildWatermarks(c *fiber.Ctx) error {
	ic, err := s.incrementaler()
	if err != nil {
		return err
	}
	ws, err := ic.RebuildWatermarks(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	s.log.Info("watermarks rebuilt", "request_id", requestID(c), "transport_id", c.Params("id"), "tables", len(ws))
	return c.JSON(fiber.Map{"items": ws, "total": len(ws)})
}
