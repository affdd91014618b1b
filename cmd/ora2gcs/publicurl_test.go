package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServePublicBaseURL: server.public_base_url makes Location absolute
// with the configured URL, never with the request's Host.
func TestServePublicBaseURL(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("server:\n  public_base_url: https://etl.example.com/ora2gcs\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	si := startServe(t, "100", "--config", cfg)
	req, _ := http.NewRequest("POST", si.base+"/api/v1/transport", strings.NewReader(`{"name":"x","tables":["VBRK"]}`))
	req.Host = "evil.example"
	req.Header.Set("X-API-Key", si.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-Proto", "gopher")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 201 || !strings.HasPrefix(loc, "https://etl.example.com/ora2gcs/api/v1/transport/") {
		t.Fatalf("%d Location %q", resp.StatusCode, loc)
	}
}
