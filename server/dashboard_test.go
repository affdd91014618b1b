package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/server/web"
)

// TestDashboard checks the embedded dashboard: served without a key with its
// security headers, while the API behind it still refuses requests without one.
func TestDashboard(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	for _, tt := range []struct {
		name, path, contentType, contains string
	}{
		{"index", "/", "text/html", `<script src="/ui/app.js"`},
		{"script", "/ui/app.js", "javascript", "Authorization"},
		{"stylesheet", "/ui/app.css", "text/css", ".sample-scroll"},
		{"icon", "/ui/favicon.svg", "image/svg+xml", "<svg"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, "GET", tt.path, "", nil)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s without a key: status %d, body %s", tt.path, r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.Contains(ct, tt.contentType) {
				t.Errorf("Content-Type = %q, want it to contain %q", ct, tt.contentType)
			}
			if !strings.Contains(string(r.body), tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
			want := map[string]string{
				"Content-Security-Policy": web.ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "no-cache",
				"X-Frame-Options":         "DENY",
				"Referrer-Policy":         "no-referrer",
			}
			for k, v := range want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("CSP lacks default-src 'self'")
			}
			etag := r.header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			again := call(t, s, "GET", tt.path, "", map[string]string{"If-None-Match": etag})
			if again.status != http.StatusNotModified || len(again.body) != 0 {
				t.Errorf("revalidation: status %d with %d bytes, want 304 and none", again.status, len(again.body))
			}
		})
	}

	t.Run("unknown asset is a 404 in the error shape", func(t *testing.T) {
		checkError(t, call(t, s, "GET", "/ui/nope.js", "", nil), http.StatusNotFound, CodeNotFound)
		checkError(t, call(t, s, "GET", "/ui/index.html", "", nil), http.StatusNotFound, CodeNotFound)
	})

	t.Run("the API still requires a key", func(t *testing.T) {
		for _, p := range []string{"/api/v1/transports", "/api/v1/tables", "/api/v1/jobs", "/api/v1/oracle/status"} {
			checkError(t, call(t, s, "GET", p, "", nil), http.StatusUnauthorized, CodeUnauthorized)
			if r := call(t, s, "GET", p, "", authed); r.status != http.StatusOK {
				t.Errorf("GET %s with a key: status %d", p, r.status)
			}
		}
	})

	t.Run("the page loads nothing from elsewhere and keeps the key out of URLs", func(t *testing.T) {
		for _, p := range []string{"/", "/ui/app.js", "/ui/app.css"} {
			body := string(call(t, s, "GET", p, "", nil).body)
			for _, bad := range []string{"http://", "https://", "//cdn", "localStorage", "?key=", "api_key=", "console.log"} {
				if strings.Contains(body, bad) && !(bad == "http://" && strings.Contains(body, "http://www.w3.org/2000/svg")) {
					t.Errorf("%s contains %q", p, bad)
				}
			}
		}
	})
}

// TestDashboardAssets checks every embedded file is reachable under /ui/.
func TestDashboardAssets(t *testing.T) {
	h, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	s, _, _ := newTestServer(t, nil)
	names := h.Names()
	if len(names) < 3 {
		t.Fatalf("only %d assets: %v", len(names), names)
	}
	for _, n := range names {
		if r := call(t, s, "GET", web.AssetPrefix+n, "", nil); r.status != http.StatusOK || len(r.body) == 0 {
			t.Errorf("GET %s%s: status %d, %d bytes", web.AssetPrefix, n, r.status, len(r.body))
		}
	}
}
