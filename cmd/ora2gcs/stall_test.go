package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
)

// stallProxy accepts TCP connections and, while stalled, never forwards
// nor answers them (a database that accepts connections and then hangs);
// once forwarding, it pipes new connections to target.
type stallProxy struct {
	ln      net.Listener
	target  string
	forward atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

func startStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			if !p.forward.Load() {
				continue // held open, never answered
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, up)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(up, c); up.Close() }()
			go func() { defer p.wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// TestServeStalledSource: `serve` in front of a PostgreSQL that accepts
// connections and never answers starts anyway, serves what does not need
// the source, reports it down, answers source requests with 503
// source_unavailable at server.source_timeout, and reads once the source
// answers again.
func TestServeStalledSource(t *testing.T) {
	dsn := os.Getenv("ORA2GCS_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("ORA2GCS_TEST_POSTGRES_DSN not set")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal("ORA2GCS_TEST_POSTGRES_DSN is not a URL")
	}
	if pw, ok := u.User.Password(); ok {
		t.Setenv("PGPASSWORD", pw)
		u.User = url.User(u.User.Username())
	}
	proxy := startStallProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	q := u.Query()
	q.Set("connect_timeout", "5") // the driver gives up a hung connect after 5 s; requests end at source_timeout (2 s) before
	u.RawQuery = q.Encode()

	orig := startConnectWait
	startConnectWait = 500 * time.Millisecond
	defer func() { startConnectWait = orig }()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte("server:\n  source_timeout: 2s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testutil.LogBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, []string{"--config", cfgPath, "--listen", addr, "--data-dir", dir, "--target", "file://" + dir, "--source", u.String()}, io.Discard, logs)
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	base := "http://" + addr
	for i := 0; ; i++ {
		r, err := http.Get(base + "/api/v1/health/live")
		if err == nil {
			r.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve refused to start while the source hangs: %v\n%s", err, logs.String())
		default:
		}
		if i == 600 {
			t.Fatalf("serve did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	key, err := os.ReadFile(filepath.Join(dir, "api_key"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string, time.Duration) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("X-API-Key", strings.TrimSpace(string(key)))
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), time.Since(start)
	}
	if !strings.Contains(logs.String(), "source unavailable at start") {
		t.Errorf("no log line says the source is down:\n%s", logs.String())
	}
	if code, body, _ := get("/api/v1/transports"); code != 200 {
		t.Errorf("transports during the outage: %d %s", code, body)
	}
	if code, body, _ := get("/api/health"); code != 503 || !strings.Contains(body, `"source":{"status":"down"`) {
		t.Errorf("health during the outage: %d %s", code, body)
	}
	for _, p := range []string{"/api/v1/tables", "/api/v1/tables/anything/sample"} {
		time.Sleep(1100 * time.Millisecond) // past retryEvery: this request makes a connection attempt of its own
		code, body, took := get(p)
		if code != 503 || !strings.Contains(body, `"source_unavailable"`) {
			t.Errorf("GET %s during the outage: %d %s", p, code, body)
		}
		t.Logf("GET %s with a stalled source: %d after %v", p, code, took.Round(time.Millisecond))
	}

	t.Log("the source answers again")
	proxy.forward.Store(true) // the database answers again
	var code int
	var body string
	for i := 0; i < 100; i++ {
		if code, body, _ = get("/api/v1/tables"); code == 200 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code != 200 {
		t.Fatalf("tables after the source came back: %d %s", code, body)
	}
	t.Log("tables served again; stopping")
}
