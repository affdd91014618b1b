package gcstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/storage"
)

// Fault is what the proxy does to one request.
type Fault int

const (
	// Pass forwards the request unchanged.
	Pass Fault = iota
	// Fail503 answers 503 Service Unavailable without contacting the emulator.
	Fail503
	// DropMidBody reads half of the request body, then closes the connection
	// without an answer. The emulator never sees the request.
	DropMidBody
	// DropAfterForward forwards the request, lets the emulator act on it,
	// then closes the connection without passing the answer on (a lost
	// response). On a middle chunk the client resends it, which the emulator
	// appends a second time (see the package documentation); on a request
	// that creates an object (the final chunk, a single-request upload, a
	// compose) the object exists when the client retries.
	DropAfterForward
	// CorruptByte flips the bits of the middle byte of the body and forwards
	// it: the emulator stores corrupted data.
	CorruptByte
	// StripCRC32C forwards the request and removes the "crc32c" field from
	// the JSON object resource in the answer, as a storage that reports no
	// checksum would.
	StripCRC32C
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
	case StripCRC32C:
		return "strip-crc32c"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Kind classifies the requests the proxy can inject faults into.
type Kind int

const (
	// Chunk is a request of a resumable upload session (it has an upload_id
	// query parameter): every chunk, including the final one. The request
	// that starts a session is not a Chunk.
	Chunk Kind = iota
	// FinalChunk is the chunk request that finalizes a resumable upload (its
	// Content-Range declares the total size). It is also a Chunk.
	FinalChunk
	// Upload is a single-request upload (uploadType=multipart or media): what
	// the client sends for an object smaller than its chunk size.
	Upload
	// Compose is a compose request (POST …/o/{destination}/compose).
	Compose
	// Metadata is a read of an object's attributes (GET …/storage/v1/b/{bucket}/o/{name}
	// without alt=media).
	Metadata
	// Delete is a DELETE of an object.
	Delete
)

func (k Kind) String() string {
	switch k {
	case Chunk:
		return "chunk"
	case FinalChunk:
		return "final-chunk"
	case Upload:
		return "upload"
	case Compose:
		return "compose"
	case Metadata:
		return "metadata"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Plan maps the 1-based number of a chunk request to its fault. Chunk
// requests are the requests of a resumable upload session (those with an
// upload_id query parameter), counted over every upload through the proxy;
// the request that starts a session is not counted. Numbers not in the plan
// pass. It is the shorthand for Rules of Kind Chunk.
type Plan map[int]Fault

// Rule injects Fault into the N-th (1-based) request of Kind whose object
// name is Name, counted over every such request through the proxy. An empty
// Name matches every object (chunk requests carry no object name, so Chunk
// and FinalChunk rules must leave Name empty); N 0 matches every request.
// With EachName, N counts the requests of each object name separately
// (N 1: the first request for every object). Before, if set, runs when the
// rule triggers, before the request is passed on or faulted: e.g. another
// writer creating the object meanwhile. After, if set, runs once the
// emulator has answered a forwarded request (Pass, DropAfterForward,
// StripCRC32C), before that answer is passed on or dropped: e.g. the
// client's caller cancelling while the answer is in flight.
type Rule struct {
	Kind Kind
	Name string
	// Suffix, if set, matches the object names ending in it (with or
	// instead of Name).
	Suffix   string
	N        int
	EachName bool
	Fault    Fault
	Before   func()
	After    func()
}

// Event records one request the proxy classified.
type Event struct {
	N            int    // 1-based number among the requests of its Kind (chunks: among all chunks)
	Kind         Kind   // Chunk for every chunk request, final ones included
	Final        bool   // a chunk that finalizes its upload
	Name         string // object name, where the request names one
	Method       string // as sent by the client
	ContentRange string // chunks: as sent by the client, e.g. "bytes 262144-524287/*"
	Size         int64  // Content-Length
	Fault        Fault  // what the proxy did
}

// Proxy is a reverse proxy in front of an emulator that injects faults into
// requests according to its Plan and Rules. Requests no rule names pass.
//
// It also supplies what the emulator lacks: a compose request carrying
// ifGenerationMatch=0 whose destination exists is answered 412 without
// reaching the emulator (which ignores preconditions on compose), as GCS
// answers it.
type Proxy struct {
	// URL is the proxy's base URL, "http://127.0.0.1:PORT".
	URL string
	// Client is a storage client that talks to the emulator through the
	// proxy. It is closed by t.Cleanup.
	Client *storage.Client

	target *url.URL
	tr     *http.Transport
	rp     *httputil.ReverseProxy
	mu     sync.Mutex
	rules  []Rule
	seen   []map[string]int // per rule: matching requests so far (per name with EachName, else under "")
	counts map[Kind]int     // requests per kind (Chunk counts every chunk)
	events []Event
}

// Proxy starts a fault-injecting proxy in front of s.
func (s *Server) Proxy(t testing.TB, plan Plan, rules ...Rule) *Proxy {
	t.Helper()
	return NewProxy(t, s.URL, plan, rules...)
}

// NewProxy starts a fault-injecting proxy on 127.0.0.1 in front of the
// emulator at target ("http://host:port"). It is stopped by t.Cleanup.
func NewProxy(t testing.TB, target string, plan Plan, rules ...Rule) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("gcstest: proxy target: %v", err)
	}
	tr := &http.Transport{}
	p := &Proxy{target: u, tr: tr, counts: map[Kind]int{}}
	for n, f := range plan {
		p.rules = append(p.rules, Rule{Kind: Chunk, N: n, Fault: f})
	}
	p.rules = append(p.rules, rules...)
	p.seen = make([]map[string]int, len(p.rules))
	for i := range p.seen {
		p.seen[i] = map[string]int{}
	}
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
	var out []Event
	for _, e := range p.Requests() {
		if e.Kind == Chunk {
			out = append(out, e)
		}
	}
	return out
}

// Requests returns every request the proxy classified (chunks, single-request
// uploads, composes, metadata reads, deletes), in order.
func (p *Proxy) Requests() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// Injected returns the requests whose fault was not Pass.
func (p *Proxy) Injected() []Event {
	var out []Event
	for _, e := range p.Requests() {
		if e.Fault != Pass {
			out = append(out, e)
		}
	}
	return out
}

// classify returns the kind of r and the object it names, or ok false for a
// request the proxy never touches (e.g. the start of an upload session).
func classify(r *http.Request) (ev Event, ok bool) {
	q := r.URL.Query()
	path := r.URL.EscapedPath()
	ev = Event{Method: r.Method, Size: r.ContentLength}
	switch {
	case q.Get("upload_id") != "" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		ev.Kind = Chunk
		ev.ContentRange = r.Header.Get("Content-Range")
		ev.Final = finalRange(ev.ContentRange)
		return ev, true
	case strings.HasPrefix(path, "/upload/storage/v1/b/") && r.Method == http.MethodPost &&
		(q.Get("uploadType") == "multipart" || q.Get("uploadType") == "media"):
		ev.Kind = Upload
		ev.Name = q.Get("name")
		return ev, true
	case strings.HasPrefix(path, "/storage/v1/b/") && r.Method == http.MethodPost && strings.HasSuffix(path, "/compose"):
		ev.Kind = Compose
		ev.Name = objectName(strings.TrimSuffix(path, "/compose"))
		return ev, true
	case strings.HasPrefix(path, "/storage/v1/b/") && strings.Contains(path, "/o/") && r.Method == http.MethodGet && q.Get("alt") != "media":
		ev.Kind = Metadata
		ev.Name = objectName(path)
		return ev, true
	case strings.HasPrefix(path, "/storage/v1/b/") && strings.Contains(path, "/o/") && r.Method == http.MethodDelete:
		ev.Kind = Delete
		ev.Name = objectName(path)
		return ev, true
	}
	return ev, false
}

// finalRange reports whether a chunk's Content-Range declares the total
// size ("bytes 0-99/100", "bytes */100"): the chunk that finalizes.
func finalRange(cr string) bool {
	i := strings.LastIndexByte(cr, '/')
	if i < 0 {
		return false
	}
	_, err := strconv.ParseInt(cr[i+1:], 10, 64)
	return err == nil
}

// objectName extracts the object name from an escaped JSON API path
// "/storage/v1/b/{bucket}/o/{name}".
func objectName(escaped string) string {
	i := strings.Index(escaped, "/o/")
	if i < 0 {
		return ""
	}
	n, err := url.PathUnescape(escaped[i+3:])
	if err != nil {
		return escaped[i+3:]
	}
	return n
}

// bucketOf extracts the bucket from "/storage/v1/b/{bucket}/…".
func bucketOf(escaped string) string {
	rest := strings.TrimPrefix(escaped, "/storage/v1/b/")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	b, _ := url.PathUnescape(rest)
	return b
}

// multipartName reads the object name from the metadata part of a
// single-request upload; body is the whole request body.
func multipartName(contentType string, body []byte) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	part, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).NextPart()
	if err != nil {
		return ""
	}
	var meta struct {
		Name string `json:"name"`
	}
	if json.NewDecoder(part).Decode(&meta) != nil {
		return ""
	}
	return meta.Name
}

// fault counts ev against every rule, sets the fault of the first rule it
// triggers and returns the Before and After functions of every rule it
// triggers.
func (p *Proxy) fault(ev *Event) (before, after []func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[ev.Kind]++
	ev.N = p.counts[ev.Kind]
	for i, rule := range p.rules {
		match := rule.Kind == ev.Kind || rule.Kind == FinalChunk && ev.Kind == Chunk && ev.Final
		if !match || rule.Name != "" && rule.Name != ev.Name || rule.Suffix != "" && !strings.HasSuffix(ev.Name, rule.Suffix) {
			continue
		}
		key := ""
		if rule.EachName {
			key = ev.Name
		}
		p.seen[i][key]++
		if rule.N != 0 && rule.N != p.seen[i][key] {
			continue
		}
		if ev.Fault == Pass {
			ev.Fault = rule.Fault
		}
		if rule.Before != nil {
			before = append(before, rule.Before)
		}
		if rule.After != nil {
			after = append(after, rule.After)
		}
	}
	p.events = append(p.events, *ev)
	return before, after
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	ev, ok := classify(r)
	if !ok {
		p.rp.ServeHTTP(w, r)
		return
	}
	if ev.Kind == Upload && ev.Name == "" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			hangUp(w)
			return
		}
		ev.Name = multipartName(r.Header.Get("Content-Type"), body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	before, after := p.fault(&ev)
	for _, f := range before {
		f()
	}
	forward := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		p.rp.ServeHTTP(rec, r)
		for _, f := range after {
			f()
		}
		return rec
	}

	if ev.Kind == Compose && r.URL.Query().Get("ifGenerationMatch") == "0" && ev.Fault != Fail503 && ev.Fault != DropMidBody {
		exists, err := p.exists(bucketOf(r.URL.EscapedPath()), ev.Name)
		if err != nil {
			http.Error(w, "gcstest: "+err.Error(), http.StatusBadGateway)
			return
		}
		if exists {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusPreconditionFailed)
			_, _ = io.WriteString(w, `{"error":{"code":412,"message":"At least one of the pre-conditions you specified did not hold.","errors":[{"reason":"conditionNotMet","message":"At least one of the pre-conditions you specified did not hold."}]}}`)
			return
		}
	}

	switch ev.Fault {
	case Fail503:
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "gcstest: injected 503", http.StatusServiceUnavailable)
	case DropMidBody:
		_, _ = io.CopyN(io.Discard, r.Body, r.ContentLength/2)
		hangUp(w)
	case DropAfterForward:
		forward()
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
	case StripCRC32C:
		rec := forward()
		body := rec.Body.Bytes()
		var obj map[string]json.RawMessage
		if rec.Code/100 == 2 && json.Unmarshal(body, &obj) == nil {
			delete(obj, "crc32c")
			if b, err := json.Marshal(obj); err == nil {
				body = b
			}
		}
		relay(w, rec, body)
	default:
		if len(after) > 0 {
			rec := forward()
			relay(w, rec, rec.Body.Bytes())
			return
		}
		p.rp.ServeHTTP(w, r)
	}
}

// relay passes a recorded answer on with body.
func relay(w http.ResponseWriter, rec *httptest.ResponseRecorder, body []byte) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// exists asks the emulator directly whether bucket/name exists.
func (p *Proxy) exists(bucket, name string) (bool, error) {
	u := *p.target
	u.Path = "/storage/v1/b/" + bucket + "/o/" + name
	u.RawPath = "/storage/v1/b/" + url.PathEscape(bucket) + "/o/" + url.PathEscape(name)
	resp, err := (&http.Client{Transport: p.tr}).Get(u.String())
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("precondition check of %s/%s: %s", bucket, name, resp.Status)
}

// hangUp closes the client's connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server closes the connection
	}
	_ = conn.Close()
}
