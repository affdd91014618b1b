package server

import "testing"

// TestDrain: while the running job finishes, requests that change state get
// 503 shutting_down with Retry-After, readiness fails, reads still work.
func TestDrain(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	trp := createTransport(t, s, "VBRK")
	s.Drain()
	r := call(t, s, "POST", "/api/v1/transport/"+trp+"/execute", "", authed)
	checkError(t, r, 503, CodeShuttingDown)
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	checkError(t, call(t, s, "POST", "/api/v1/transport", `{"name":"x","tables":["VBRK"]}`, authed), 503, CodeShuttingDown)
	checkError(t, call(t, s, "GET", "/api/v1/health/ready", "", nil), 503, CodeShuttingDown)
	for _, p := range []string{"/api/v1/transport/" + trp, "/api/v1/jobs", "/api/v1/health/live"} {
		h := authed
		if p == "/api/v1/health/live" {
			h = nil
		}
		if r := call(t, s, "GET", p, "", h); r.status != 200 {
			t.Errorf("GET %s while draining: %d", p, r.status)
		}
	}
}
