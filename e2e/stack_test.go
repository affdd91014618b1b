package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/server"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sources/synth"
	"github.com/ora2gcs/ora2gcs/stages"
)

const (
	apiKey        = "e2e-key-5f0c1d2e3a4b5c6d7e8f"
	defaultBucket = "oracle-etl-data"
	// gatedBucket's objects wait in Commit until the test opens the gate, so
	// a job into it stays running as long as the test needs.
	gatedBucket = "gated-bucket"
	// brokenBucket's objects cannot be created once the test opens its gate.
	brokenBucket = "broken-bucket"
	brokenMsg    = "disk full (injected by the e2e test)"
)

// synthRows is the row count of every synthetic table (fewer under -race).
var synthRows int64 = 20000

func init() {
	if raceDetector {
		synthRows = 4000
	}
}

// stack is the real server, in-process on 127.0.0.1.
type stack struct {
	url       string
	mgr       *jobs.Manager
	ln        *trackingListener
	logs      *testutil.LogBuffer
	open      func() // opens the gate of gatedBucket; idempotent
	breakSink func() // lets brokenBucket fail; idempotent
	httpc     *http.Client
}

// startStack starts the stack; opts adjust the Manager's configuration
// (a fake clock, lifecycle rules) before it is made.
func startStack(t *testing.T, opts ...func(*jobs.ManagerConfig)) *stack {
	t.Helper()
	return startStackWith(t, nil, opts...)
}

// startStackWith is startStack with the synthetic source passed through
// wrap (nil: as it is).
func startStackWith(t *testing.T, wrap func(pipeline.Connector) pipeline.Connector, opts ...func(*jobs.ManagerConfig)) *stack {
	t.Helper()
	dir := t.TempDir()
	synthConn, err := synth.New(synth.Config{DefaultRows: synthRows})
	if err != nil {
		t.Fatal(err)
	}
	var conn pipeline.Connector = synthConn
	if wrap != nil {
		conn = wrap(conn)
	}
	gate, broken := make(chan struct{}), make(chan struct{})
	var once, brokenOnce sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	breakSink := func() { brokenOnce.Do(func() { close(broken) }) }

	ctx, cancel := context.WithCancel(context.Background())
	logs := &testutil.LogBuffer{}
	cfg := jobs.ManagerConfig{
		Store:     filepath.Join(dir, "ora2gcs.db"),
		Connector: conn,
		Sinks: func(b string) (pipeline.Sink, error) {
			s, err := file.New(dir, b)
			if err != nil {
				return nil, err
			}
			switch b {
			case gatedBucket:
				return gatedSink{Sink: s, gate: gate}, nil
			case brokenBucket:
				return brokenSink{gate: broken}, nil
			}
			return s, nil
		},
		Encoder:        stages.NDJSON(stages.NDJSONOptions{}),
		Codec:          compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})),
		Pipeline:       pipeline.DefaultConfig(),
		ParallelTables: 2,
		DefaultBucket:  defaultBucket,
		Logger:         server.NewLogger(logs, slog.LevelInfo),
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := jobs.NewManager(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	srv, err := server.New(m, server.Options{
		APIKeys:      []string{apiKey},
		Logger:       server.NewLogger(logs, slog.LevelInfo),
		Version:      "e2e",
		SSEHeartbeat: time.Second, // streams of dropped connections end soon
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln := &trackingListener{Listener: raw, conns: make(map[net.Conn]struct{})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	t.Cleanup(func() {
		open()
		breakSink()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		// The real shutdown path: the server ends its SSE streams and stops
		// accepting, then the manager stops its job.
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		ln.dropAll()
		if err := m.Shutdown(sctx); err != nil {
			t.Errorf("manager shutdown: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("manager close: %v", err)
		}
		cancel()
		if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("serve: %v", err)
		}
		if strings.Contains(logs.String(), apiKey) {
			t.Error("the API key appears in the server's log output")
		}
	})
	return &stack{url: "http://" + raw.Addr().String(), mgr: m, ln: ln, logs: logs, open: open, breakSink: breakSink,
		httpc: &http.Client{Timeout: 10 * time.Second}}
}

// call sends one API request with the key and decodes a 2xx JSON answer
// into out; other statuses fail the test.
func (s *stack) call(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", apiKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.httpc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: status %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// waitJob polls GET /jobs/:id until the job left "running" (bounded, not a
// timing assertion: a job that never ends fails the test).
func (s *stack) waitJob(t *testing.T, id string) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var j jobs.Job
		s.call(t, "GET", "/api/v1/jobs/"+id, nil, &j)
		if j.Status != jobs.StatusRunning && j.Status != jobs.StatusPending {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 30 s", id, j.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gatedSink holds every Commit until gate is closed.
type gatedSink struct {
	pipeline.Sink
	gate <-chan struct{}
}

func (s gatedSink) Create(ctx context.Context, name string) (pipeline.Object, error) {
	o, err := s.Sink.Create(ctx, name)
	if err != nil {
		return nil, err
	}
	return gatedObject{Object: o, gate: s.gate}, nil
}

type gatedObject struct {
	pipeline.Object
	gate <-chan struct{}
}

func (o gatedObject) Commit() (pipeline.ObjectInfo, error) {
	<-o.gate
	return o.Object.Commit()
}

// brokenSink fails every Create once gate is closed.
type brokenSink struct{ gate <-chan struct{} }

func (s brokenSink) Create(ctx context.Context, name string) (pipeline.Object, error) {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return nil, errors.New(brokenMsg)
}

// trackingListener remembers the connections it accepted so the test can
// drop them all, as a proxy restart or a network blip would.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	return c, nil
}

// dropAll closes every accepted connection and returns how many there were.
func (l *trackingListener) dropAll() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for c := range l.conns {
		if c.Close() == nil { // else the server had closed it already
			n++
		}
		delete(l.conns, c)
	}
	return n
}

// commas formats n as the dashboard does (en-US grouping).
func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
