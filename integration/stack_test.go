package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/server"
	"github.com/ora2gcs/ora2gcs/stages"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// fasthttp's process-wide date cache and the emulator's idle conns
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),           // started by an init of the storage client
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"), // sleeps out its idle-cleanup period after Shutdown
	)
}

const testKey = "integration-test-key-0123456789"

// stack is a Manager and a server on a real 127.0.0.1 listener.
type stack struct {
	t    testing.TB
	m    *jobs.Manager
	srv  *server.Server
	base string // http://127.0.0.1:PORT/api/v1
	logs *testutil.LogBuffer
	dir  string
}

func startStack(t testing.TB, dir string, conn pipeline.Connector, sinks func(string) (pipeline.Sink, error), mutate func(*jobs.ManagerConfig)) *stack {
	t.Helper()
	logs := &testutil.LogBuffer{}
	log := server.NewLogger(logs, slog.LevelDebug)
	cfg := jobs.ManagerConfig{
		Store:            filepath.Join(dir, "ora2gcs.db"),
		Connector:        conn,
		Sinks:            sinks,
		Encoder:          stages.NDJSON(stages.NDJSONOptions{}),
		Codec:            compression.Must(compression.New(compression.Spec{Name: compression.Pgzip, Level: 1})),
		Pipeline:         pipeline.Config{ChunkRows: 2000, Retry: pipeline.Retry{Attempts: 3, Backoff: 50 * time.Millisecond}},
		ParallelTables:   2,
		DefaultBucket:    "oracle-etl-data",
		Logger:           log,
		ProgressInterval: 50 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := jobs.NewManager(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(m, server.Options{APIKeys: []string{testKey}, Logger: log, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	s := &stack{t: t, m: m, srv: srv, base: "http://" + ln.Addr().String() + "/api/v1", logs: logs, dir: dir}
	t.Cleanup(s.stop)
	return s
}

func (s *stack) stop() {
	if s.m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = s.m.Shutdown(ctx)
	_ = s.srv.Shutdown(ctx)
	_ = s.m.Close()
	s.m = nil
	if strings.Contains(s.logs.String(), testKey) {
		s.t.Errorf("the API key appears in the log output")
	}
}

// do sends a request with the API key and decodes a JSON answer into out.
func (s *stack) do(method, path string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+testKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

type sseEvent struct {
	ID   string
	Type string
	Data map[string]any
}

// stream reads the SSE stream of a transport until it ends or the timeout.
func (s *stack) stream(transportID string, timeout time.Duration) []sseEvent {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/transport/"+transportID+"/status", nil)
	req.Header.Set("X-API-Key", testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("SSE: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Type != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id:"):
			cur.ID = strings.TrimSpace(line[3:])
		case strings.HasPrefix(line, "event:"):
			cur.Type = strings.TrimSpace(line[6:])
		case strings.HasPrefix(line, "data:"):
			if err := json.Unmarshal([]byte(strings.TrimSpace(line[5:])), &cur.Data); err != nil {
				s.t.Fatalf("SSE data: %v: %s", err, line)
			}
		}
	}
	if ctx.Err() != nil {
		s.t.Fatalf("SSE stream did not end within %s (%d events)", timeout, len(out))
	}
	return out
}

func num(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	panic(fmt.Sprintf("not a number: %T %v", v, v))
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
