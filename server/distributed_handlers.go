package server

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// distributedSetter sets a transport's distributed setting; *jobs.Manager
// implements it.
type distributedSetter interface {
	SetDistributed(ctx context.Context, transportID string, opts *jobs.DistributedOptions) (jobs.Transport, error)
}

func (s *Server) distributedSetter() (distributedSetter, error) {
	d, ok := s.svc.(distributedSetter)
	if !ok {
		return nil, newError(http.StatusNotImplemented, CodeNotImplemented, "this server cannot run distributed jobs")
	}
	return d, nil
}

// handlePutDistributed is PUT /transport/:id/distributed, body
// {"executor": "local", "shards": 8} (both optional: the server's
// defaults): every later job of the transport (API, schedule, queue) runs
// as shards.
func (s *Server) handlePutDistributed(c *fiber.Ctx) error {
	d, err := s.distributedSetter()
	if err != nil {
		return err
	}
	var opts jobs.DistributedOptions
	if err := decodeJSON(c, &opts); err != nil {
		return err
	}
	t, err := d.SetDistributed(c.UserContext(), c.Params("id"), &opts)
	if err != nil {
		return scheduleError(err, "")
	}
	s.log.Info("distributed setting set", "request_id", requestID(c), "transport_id", t.ID, "executor", opts.Executor, "shards", opts.Shards)
	return c.JSON(t)
}

// handleDeleteDistributed is DELETE /transport/:id/distributed: the
// transport's jobs run on this machine again.
func (s *Server) handleDeleteDistributed(c *fiber.Ctx) error {
	d, err := s.distributedSetter()
	if err != nil {
		return err
	}
	if _, err := d.SetDistributed(c.UserContext(), c.Params("id"), nil); err != nil {
		return err
	}
	s.log.Info("distributed setting removed", "request_id", requestID(c), "transport_id", c.Params("id"))
	return c.SendStatus(http.StatusNoContent)
}
