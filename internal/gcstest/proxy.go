package gcstest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"cloud.google.com/go/storage"
)

// Fault is what the proxy does to one chunk request.
type Fault int

const (
	// Pass forwards the request unchanged.
	Pass Fault = iota
	// Fail503 answers 503 Service Unavailable without contacting the emulator.
	Fail503
	// DropMidBody reads half of the request body, then closes the connection
	// without an answer. The emulator never sees the request.
	DropMidBody
	// DropAfterForward forwards the request, lets the emulator store the
	// chunk, then closes the connection without passing the answer on (a
	// lost response). The client resends the chunk, which the emulator
	// appends a second time (see the package documentation).
	DropAfterForward
	// CorruptByte flips the bits of the middle byte of the body and forwards
	// it: the emulator stores corrupted data.
	CorruptByte
)

func (f Fault) String() string {
	switch f {
	case Pass:
		return "pass"
	case Fail503:
		return "503"
	case DropMidBody:
		return "drop-mid-body"
	case DropAfterForward:
		return "drop-after-forward"
	case CorruptByte:
		return "corrupt-byte"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Plan maps the 1-based number of a chunk request to its fault. Chunk
// requests are the requests of a resumable upload session (those with an
// upload_id query parameter), counted over every upload through the proxy;
// the request that starts a session is not counted. Numbers not in the plan
// pass.
type Plan map[int]Fault

// Event records one chunk request seen by the proxy.
type Event struct {
	N            int    // 1-based chunk request number
	Method       string // POST or PUT
	ContentRange string // as sent by the client, e.g. "bytes 262144-524287/*"
	Size         int64  // Content-Length
	Fault        Fault  // what the proxy did
}

// Proxy is a reverse proxy in front of an emulator that injects faults into
// chunk requests according to its Plan. Other requests always pass.
type Proxy struct {
	// URL is the proxy's base URL, "http://127.0.0.1:PORT".
	URL string
	// Client is a storage client that talks to the emulator through the
	// proxy. It is closed by t.Cleanup.
	Client *storage.Client

	rp     *httputil.ReverseProxy
	mu     sync.Mutex
	plan   Plan
	n      int
	events []Event
}

// Proxy starts a fault-injecting proxy in front of s.
func (s *Server) Proxy(t testing.TB, plan Plan) *Proxy {
	t.Helper()
	return NewProxy(t, s.URL, plan)
}

// NewProxy starts a fault-injecting proxy on 127.0.0.1 in front of the
// emulator at target ("http://host:port"). It is stopped by t.Cleanup.
func NewProxy(t testing.TB, target string, plan Plan) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("gcstest: proxy target: %v", err)
	}
	tr := &http.Transport{}
	p := &Proxy{plan: plan}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host // the emulator builds upload URLs from Host: keep them pointing at the proxy
		},
		Transport: tr,
	}
	ts := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
		tr.CloseIdleConnections()
	})
	p.URL = ts.URL
	p.Client = NewClient(t, ts.URL)
	return p
}

// Events returns every chunk request seen so far, in order.
func (p *Proxy) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// Injected returns the events whose fault was not Pass.
func (p *Proxy) Injected() []Event {
	var out []Event
	for _, e := range p.Events() {
		if e.Fault != Pass {
			out = append(out, e)
		}
	}
	return out
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("upload_id") == "" || (r.Method != http.MethodPost && r.Method != http.MethodPut) {
		p.rp.ServeHTTP(w, r)
		return
	}
	p.mu.Lock()
	p.n++
	ev := Event{N: p.n, Method: r.Method, ContentRange: r.Header.Get("Content-Range"), Size: r.ContentLength, Fault: p.plan[p.n]}
	p.events = append(p.events, ev)
	p.mu.Unlock()

	switch ev.Fault {
	case Fail503:
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "gcstest: injected 503", http.StatusServiceUnavailable)
	case DropMidBody:
		_, _ = io.CopyN(io.Discard, r.Body, r.ContentLength/2)
		hangUp(w)
	case DropAfterForward:
		rec := httptest.NewRecorder()
		p.rp.ServeHTTP(rec, r)
		hangUp(w)
	case CorruptByte:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			hangUp(w)
			return
		}
		if len(body) > 0 {
			body[len(body)/2] ^= 0xff
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		p.rp.ServeHTTP(w, r)
	default:
		p.rp.ServeHTTP(w, r)
	}
}

// hangUp closes the client's connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server closes the connection
	}
	_ = conn.Close()
}
