package server

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Error codes of the error body.
const (
	CodeBadRequest        = "bad_request"            // 400 malformed request (bad JSON, bad query value)
	CodeValidation        = "validation_failed"      // 400 a field is missing or invalid
	CodeUnauthorized      = "unauthorized"           // 401
	CodeNotFound          = "not_found"              // 404 unknown route or resource
	CodeTableNotFound     = "table_not_found"        // 404 sample of an unknown table
	CodeMethodNotAllowed  = "method_not_allowed"     // 405
	CodeJobRunning        = "job_running"            // 409
	CodeBodyTooLarge      = "body_too_large"         // 413
	CodeUnsupportedMedia  = "unsupported_media_type" // 415 a Content-Encoding, or a body that is not application/json
	CodeUnknownTable      = "unknown_table"          // 422 transport names a table the source lacks
	CodeTableConflict     = "table_conflict"         // 422 a table twice, or a name matching several tables
	CodeTransportClaimed  = "transport_claimed"      // 409 the transport's folder in the target belongs to another transport
	CodeUnsupportedColumn = "unsupported_column"     // 422 a table with a column that cannot be exported exactly
	CodeInternal          = "internal"               // 500
	CodeUnavailable       = "source_unavailable"     // 503 the source cannot be reached
	CodeShuttingDown      = "shutting_down"          // 503
	CodeTargetUnavailable = "target_unavailable"     // 503 the target bucket cannot be reached or written (execute's pre-flight)
	CodeTimeout           = "timeout"                // 408
)

// retryAfterSeconds is the Retry-After of every 503: the source or the
// server is expected back, try again then.
const retryAfterSeconds = "5"

// apiError is an error with its HTTP rendering.
type apiError struct {
	Status  int
	Code    string
	Message string
	Field   string // the request field at fault, for validation errors
	JobID   string // the running job, for 409
	TrpID   string
	// NextOpen is when the transport's window opens, for 409 outside_window
	NextOpen *time.Time
	cause    error // logged for 5xx, never rendered
}

func (e *apiError) Error() string { return e.Message }
func (e *apiError) Unwrap() error { return e.cause }

func newError(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

func validationError(field, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: CodeValidation, Message: field + ": " + msg, Field: field}
}

// errorBody is the one JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code        string `json:"code"`
	Message     string `json:"message"`
	RequestID   string `json:"request_id"`
	Field       string `json:"field,omitempty"`
	JobID       string `json:"job_id,omitempty"`
	TransportID string `json:"transport_id,omitempty"`
	// NextOpen (RFC 3339, UTC) is when the transport's window opens next,
	// for 409 outside_window.
	NextOpen *time.Time `json:"next_open,omitempty"`
}

// classify maps any error a handler returns to its HTTP rendering. Service
// errors keep their message (they describe the request, not internals);
// anything unrecognised becomes a 500 whose message says nothing more.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var field *jobs.FieldError // a field the service checked (e.g. schedule.cron)
	if errors.As(err, &field) {
		return validationError(field.Field, field.Message)
	}
	var re *jobs.RunningError
	if errors.As(err, &re) {
		return &apiError{Status: http.StatusConflict, Code: CodeJobRunning, Message: re.Error(), JobID: re.JobID, TrpID: re.TransportID}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case http.StatusNotFound:
			return newError(fe.Code, CodeNotFound, "route not found")
		case http.StatusMethodNotAllowed:
			return newError(fe.Code, CodeMethodNotAllowed, "method not allowed")
		case http.StatusRequestEntityTooLarge:
			return newError(fe.Code, CodeBodyTooLarge, "request body too large")
		case http.StatusRequestTimeout:
			return newError(fe.Code, CodeTimeout, "request timeout")
		case http.StatusRequestHeaderFieldsTooLarge:
			return newError(fe.Code, CodeBadRequest, "request headers too large")
		}
		if fe.Code >= 400 && fe.Code < 500 {
			return newError(fe.Code, CodeBadRequest, fe.Message)
		}
		return &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal server error", cause: err}
	}
	switch {
	case errors.Is(err, jobs.ErrJobRunning):
		return newError(http.StatusConflict, CodeJobRunning, err.Error())
	case errors.Is(err, jobs.ErrShutdown):
		return newError(http.StatusServiceUnavailable, CodeShuttingDown, "server is shutting down")
	case errors.Is(err, jobs.ErrTargetUnavailable): // the cause (paths, storage errors) is logged, not sent
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeTargetUnavailable,
			Message: "the target cannot be reached or written; no job was started", cause: err}
	case errors.Is(err, pipeline.ErrUnsupportedColumn):
		return newError(http.StatusUnprocessableEntity, CodeUnsupportedColumn, err.Error())
	case errors.Is(err, jobs.ErrTransportClaimed):
		return newError(http.StatusConflict, CodeTransportClaimed, err.Error())
	case errors.Is(err, jobs.ErrTableConflict):
		return newError(http.StatusUnprocessableEntity, CodeTableConflict, err.Error())
	case errors.Is(err, pipeline.ErrTableNotFound): // jobs.ErrUnknownTbl
		return newError(http.StatusUnprocessableEntity, CodeUnknownTable, err.Error())
	case errors.Is(err, jobs.ErrNotFound):
		return newError(http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, jobs.ErrInvalid):
		return newError(http.StatusBadRequest, CodeValidation, err.Error())
	}
	return &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal server error", cause: err}
}

// handleError is the app's ErrorHandler: it renders err in the one error
// shape. Internal causes are logged here, with the request id, and never sent.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	ae := classify(err)
	rid := requestID(c)
	if ae.Status >= 500 && ae.cause != nil {
		s.log.LogAttrs(c.UserContext(), slog.LevelError, "request failed",
			slog.String("request_id", rid), slog.String("path", c.Path()), slog.String("error", ae.cause.Error()))
	}
	if ae.Status == http.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="ora2gcs"`)
	}
	if ae.Status == http.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, retryAfterSeconds)
	}
	c.Set(headerRequestID, rid)
	return c.Status(ae.Status).JSON(errorBody{Error: errorDetail{
		Code: ae.Code, Message: ae.Message, RequestID: rid, Field: ae.Field, JobID: ae.JobID, TransportID: ae.TrpID,
		NextOpen: ae.NextOpen,
	}})
}
