package server

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// gzipBomb returns n zero bytes gzipped (about n/1000 bytes).
func gzipBomb(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for written := 0; written < n; written += len(zeros) {
		if _, err := zw.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCompressedBodyRefused: a body with a Content-Encoding is refused with
// 415 before anything inflates it, so a small compressed body can never
// become a large one in memory (the 1 MiB body limit applies to what is
// parsed). Fiber's c.Body() would inflate it without a limit.
func TestCompressedBodyRefused(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	const inflated = 64 << 20
	bomb := gzipBomb(t, inflated)
	if len(bomb) > 1<<20 {
		t.Fatalf("bomb of %d bytes is over the body limit", len(bomb))
	}
	for _, enc := range []string{"gzip", "deflate", "br", "gzip, gzip", "GZIP", "x-unknown"} {
		t.Run(enc, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			req := httptest.NewRequest("POST", "/api/v1/transport", bytes.NewReader(bomb))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", enc)
			req.Header.Set("X-API-Key", testKey)
			resp, err := s.App().Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			runtime.ReadMemStats(&after)
			// Everything the request allocated (copies of the 64 KiB body,
			// the response) stays far below the inflated size.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > inflated/4 {
				t.Errorf("the request allocated %d MiB: the body was inflated", alloc>>20)
			}
			r := response{status: resp.StatusCode, header: resp.Header, body: body.Bytes()}
			checkError(t, r, http.StatusUnsupportedMediaType, CodeUnsupportedMedia)
		})
	}
	t.Run("identity accepted", func(t *testing.T) {
		r := call(t, s, "POST", "/api/v1/transport", `{"name":"x","tables":["VBRK"]}`,
			map[string]string{"X-API-Key": testKey, "Content-Encoding": "identity"})
		if r.status != http.StatusCreated {
			t.Fatalf("identity: %d %s", r.status, r.body)
		}
	})
}
