package sqlsource

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// ClassifyCommon wraps err with pipeline.Transient when it is a lost
// connection that any driver may report: driver.ErrBadConn, io.EOF or
// io.ErrUnexpectedEOF (the server went away mid-stream), ECONNRESET,
// ECONNREFUSED, EPIPE, ECONNABORTED and net.Error timeouts or net.OpError.
// Context cancellation is never transient. Other errors are returned as is.
func ClassifyCommon(err error) error {
	if err == nil || pipeline.IsTransient(err) {
		return err
	}
	if IsConnectionLost(err) {
		return pipeline.Transient(err)
	}
	return err
}

// IsConnectionLost reports whether err says the connection broke.
func IsConnectionLost(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, net.ErrClosed):
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}
