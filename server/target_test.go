package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// TestTargetUnavailable: a pre-flight that finds the target unusable is a
// 503 target_unavailable, and the answer does not reveal the cause (paths,
// bucket errors): that goes to the log.
func TestTargetUnavailable(t *testing.T) {
	s, svc, logs := newTestServer(t, nil)
	trpID := createTransport(t, s, "VBRK")
	svc.getErr = fmt.Errorf("jobs: target b: file: target /srv/secret/b is not writable: %w", jobs.ErrTargetUnavailable)
	defer func() { svc.getErr = nil }()
	e := checkError(t, call(t, s, "GET", "/api/v1/transport/"+trpID, "", authed), 503, CodeTargetUnavailable)
	if strings.Contains(fmt.Sprint(e), "/srv/secret") {
		t.Errorf("503 leaks the cause: %v", e)
	}
	if !strings.Contains(logs.String(), "/srv/secret/b is not writable") {
		t.Errorf("the cause is not logged: %s", logs.String())
	}
}
