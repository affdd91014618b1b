package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/gcstest"
	"github.com/ora2gcs/ora2gcs/jobs"
)

// bucketRecorder is a recording stand-in for one bucket's metadata (GET
// and PATCH /storage/v1/b/{bucket}) in front of the in-process emulator,
// which gets every other request (objects, uploads). fake-gcs-server
// v1.56.1 drops the lifecycle of a bucket update (see
// sinks/gcs/lifecycle_test.go), so the rules live here; updates honour
// ifMetagenerationMatch as GCS does.
type bucketRecorder struct {
	bucket string
	mu     sync.Mutex
	// metagen and lifecycle are the bucket's metadata ({"rule":[…]})
	metagen   int64
	lifecycle json.RawMessage
	patches   int
	// denyGet / denyPatch answer 403 as GCS does for credentials without
	// storage.buckets.get / storage.buckets.update
	denyGet, denyPatch bool
}

var bucketPath = regexp.MustCompile(`^/storage/v1/b/([^/]+)$`)

func startBucketRecorder(t *testing.T, bucket, rules string) *bucketRecorder {
	t.Helper()
	emu := gcstest.Start(t, bucket)
	target, _ := url.Parse(emu.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	rec := &bucketRecorder{bucket: bucket, metagen: 3, lifecycle: json.RawMessage(`{"rule":` + rules + `}`)}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := bucketPath.FindStringSubmatch(r.URL.Path); m != nil && m[1] == bucket {
			rec.serve(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(front.URL, "http://"))
	return rec
}

func forbidden(w http.ResponseWriter, perm string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	io.WriteString(w, `{"error":{"code":403,"message":"etl@p.iam.gserviceaccount.com does not have `+perm+
		` access to the Google Cloud Storage bucket. Permission '`+perm+`' denied on resource (or it may not exist).","errors":[{"reason":"forbidden"}]}}`)
}

func (b *bucketRecorder) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		if b.denyGet {
			forbidden(w, "storage.buckets.get")
			return
		}
	case http.MethodPatch:
		if b.denyPatch {
			forbidden(w, "storage.buckets.update")
			return
		}
		if m := r.URL.Query().Get("ifMetagenerationMatch"); m != strconv.FormatInt(b.metagen, 10) {
			w.WriteHeader(http.StatusPreconditionFailed)
			io.WriteString(w, `{"error":{"code":412,"message":"Precondition Failed"}}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var upd map[string]json.RawMessage
		if err := json.Unmarshal(body, &upd); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if lc, ok := upd["lifecycle"]; ok {
			b.lifecycle = lc
		}
		b.metagen++
		b.patches++
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	out := map[string]any{"kind": "storage#bucket", "name": b.bucket, "id": b.bucket, "metageneration": strconv.FormatInt(b.metagen, 10),
		"location": "ASIA-NORTHEAST3", "storageClass": "STANDARD"}
	if len(b.lifecycle) > 0 {
		out["lifecycle"] = b.lifecycle
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// rules returns the bucket's rules as JSON documents, in order.
func (b *bucketRecorder) rules(t *testing.T) []string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var lc struct{ Rule []json.RawMessage }
	if len(b.lifecycle) > 0 {
		if err := json.Unmarshal(b.lifecycle, &lc); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]string, len(lc.Rule))
	for i, r := range lc.Rule {
		var v any
		json.Unmarshal(r, &v)
		n, _ := json.Marshal(v) // normalized: keys sorted
		out[i] = string(n)
	}
	return out
}

// ours returns prefix → age of the rules of our shape.
func (b *bucketRecorder) ours(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range b.rules(t) {
		var v struct {
			Action    struct{ Type string }
			Condition map[string]any
		}
		json.Unmarshal([]byte(r), &v)
		p, _ := v.Condition["matchesPrefix"].([]any)
		if v.Action.Type == "Delete" && len(v.Condition) == 2 && len(p) == 1 {
			out[p[0].(string)] = int(v.Condition["age"].(float64))
		}
	}
	return out
}

// foreign: rules of other shapes and prefixes, which ora2gcs must never
// change: a Delete of tmp/ (our shape, not a transport prefix), a storage
// class change, and a Delete of a TRP- prefix with an extra condition.
const foreignRules = `[
	{"action":{"type":"Delete"},"condition":{"age":3,"matchesPrefix":["tmp/"]}},
	{"action":{"type":"SetStorageClass","storageClass":"COLDLINE"},"condition":{"age":365}},
	{"action":{"type":"Delete"},"condition":{"age":5,"matchesPrefix":["TRP-LOGS/"],"matchesSuffix":[".log"]}},
	{"action":{"type":"Delete"},"condition":{"age":7,"matchesPrefix":["TRP-19990101-001/"]}}]`

// TestRetentionLifecycleRules runs `retention check` and `retention apply`
// and `transports retention` against a gcs target (the real storage
// client; objects in the emulator, bucket metadata in a recording
// stand-in): drift is found (missing rule, wrong age, stale rule of ours)
// with exit 1, apply adds and updates exactly our rules, --prune removes
// stale ones, and the bucket's other rules stay as they were, in order.
func TestRetentionLifecycleRules(t *testing.T) {
	rec := startBucketRecorder(t, "bkt", foreignRules)
	foreign := rec.rules(t)[:3]
	dir := t.TempDir()
	p := []string{"--data-dir", dir, "--target", "gcs"}
	mk := func(name, table string) string {
		t.Helper()
		code, out, errs := cli(t, append([]string{"run", "--bucket", "bkt", "--tables", table, "--rows", "30", "--quiet", "--json", "--transport", name}, p...)...)
		var j jobs.Job
		if code != 0 || json.Unmarshal([]byte(out), &j) != nil {
			t.Fatalf("run: %d %s", code, errs)
		}
		return j.TransportID
	}
	a, b := mk("a", "VBRK"), mk("b", "LIKP")
	if rec.patches != 0 {
		t.Fatalf("a run changed the lifecycle rules (%d updates)", rec.patches)
	}
	// transports retention updates the rule at once, as the server does
	code, out, errs := cli(t, append([]string{"transports", "retention", b, "--days", "30", "--json"}, p...)...)
	var tr jobs.Transport
	if code != 0 || json.Unmarshal([]byte(out), &tr) != nil || tr.Retention == nil || !tr.Retention.Enforced || tr.Retention.By != "lifecycle" {
		t.Fatalf("transports retention: %d %s %s", code, out, errs)
	}
	if got := rec.ours(t); got[b+"/"] != 30 || got[a+"/"] != 0 {
		t.Fatalf("rules after transports retention: %v", got)
	}

	check := func(extra ...string) (int, retentionReport, string) {
		t.Helper()
		code, out, errs := cli(t, append(append([]string{"retention", "check", "--bucket", "bkt", "--json"}, extra...), p...)...)
		var rep retentionReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("check --json: %v\n%s%s", err, out, errs)
		}
		return code, rep, errs
	}
	code, rep, errs := check()
	if code != 1 || !rep.Drift || len(rep.Items) != 3 || !strings.Contains(errs, "has drift") ||
		rep.Items[0].TransportID != a || rep.Items[0].Result != "drift" || !strings.Contains(rep.Items[0].Drift, "no lifecycle rule deleting "+a+"/ after 90 days") ||
		rep.Items[1].TransportID != b || rep.Items[1].Result != "ok" ||
		rep.Items[2].Prefix != "TRP-19990101-001/" || rep.Items[2].Result != "stale" || rep.Items[2].AgeDays != 7 {
		t.Fatalf("check: %d %+v %s", code, rep, errs)
	}
	// the human report names the same
	code, out, _ = cli(t, append([]string{"retention", "check", "--bucket", "bkt"}, p...)...)
	if code != 1 || !strings.Contains(out, "bucket bkt (lifecycle rules)") || !strings.Contains(out, "(kept; apply --all --prune removes it)") {
		t.Fatalf("check (text): %d\n%s", code, out)
	}

	code, out, errs = cli(t, append([]string{"retention", "apply", "--bucket", "bkt", "--all", "--json"}, p...)...)
	var ap retentionReport
	if code != 0 || json.Unmarshal([]byte(out), &ap) != nil || ap.Items[0].Result != "added" || ap.Items[1].Result != "unchanged" || ap.Items[2].Result != "stale" {
		t.Fatalf("apply: %d %s %s", code, out, errs)
	}
	if got := rec.ours(t); got[a+"/"] != 90 || got[b+"/"] != 30 || got["TRP-19990101-001/"] != 7 || got["tmp/"] != 3 {
		t.Fatalf("rules after apply: %v", got)
	}
	// only the stale rule is left as drift; the transport's own check is clean
	if code, rep, _ := check(); code != 1 || rep.Items[0].Result != "ok" || rep.Items[1].Result != "ok" || rep.Items[2].Result != "stale" {
		t.Fatalf("check after apply: %d %+v", code, rep)
	}
	if code, rep, _ := check("--transport", a); code != 0 || len(rep.Items) != 1 || rep.Drift {
		t.Fatalf("check of one transport: %d %+v", code, rep)
	}

	// someone edits our rule's age in the console
	rec.mu.Lock()
	rec.lifecycle = json.RawMessage(strings.Replace(string(rec.lifecycle), `"age":30`, `"age":45`, 1))
	rec.metagen++
	rec.mu.Unlock()
	if code, rep, _ := check(); code != 1 || rep.Items[1].Result != "drift" || !strings.Contains(rep.Items[1].Drift, "after 45 days, want 30") {
		t.Fatalf("wrong age not found: %d %+v", code, rep)
	}
	code, out, errs = cli(t, append([]string{"retention", "apply", "--bucket", "bkt", "--all", "--prune"}, p...)...)
	if code != 0 || !strings.Contains(out, "updated") || !strings.Contains(out, "removed") {
		t.Fatalf("apply --prune: %d\n%s%s", code, out, errs)
	}
	if got := rec.ours(t); len(got) != 3 || got[a+"/"] != 90 || got[b+"/"] != 30 || got["tmp/"] != 3 {
		t.Fatalf("rules after prune: %v", got)
	}
	if code, rep, _ := check(); code != 0 || rep.Drift {
		t.Fatalf("check after prune: %d %+v", code, rep)
	}
	// the foreign rules: untouched and first, in their order
	if got := rec.rules(t); !equalStrings(got[:3], foreign) || len(got) != 5 {
		t.Fatalf("foreign rules changed:\n%v\nwere\n%v", got, foreign)
	}

	// usage
	for _, c := range []struct {
		args []string
		code int
		errs string
	}{
		{[]string{"retention", "apply", "--bucket", "bkt"}, 2, "give --transport ID or --all"},
		{[]string{"retention", "apply", "--bucket", "bkt", "--transport", a, "--prune"}, 2, "--prune goes with --all"},
		{[]string{"retention", "check"}, 2, "--bucket is required"},
		{[]string{"retention", "check", "--bucket", "Bad_Bucket!"}, 2, "--bucket \"Bad_Bucket!\""},
		{[]string{"retention", "apply", "--bucket", "other-bkt", "--transport", a}, 1, "writes to bucket bkt, not other-bkt"},
		{[]string{"retention", "frob"}, 2, `unknown command "frob"`},
	} {
		code, _, errs := cli(t, append(c.args, p...)...)
		if code != c.code || !strings.Contains(errs, c.errs) {
			t.Errorf("%q: exit %d %s", c.args, code, errs)
		}
	}

	// without storage.buckets.update: one line naming the permission, exit 1
	rec.mu.Lock()
	rec.denyPatch = true
	rec.mu.Unlock()
	code, out, errs = cli(t, append([]string{"retention", "apply", "--bucket", "bkt", "--transport", a}, p...)...)
	if code != 0 { // nothing to change: no update is sent
		t.Fatalf("apply with nothing to change: %d %s %s", code, out, errs)
	}
	code, out, errs = cli(t, append([]string{"transports", "retention", a, "--days", "10"}, p...)...)
	if code != 1 || !strings.Contains(errs, "retention set to 10 days but not enforced") || !strings.Contains(errs, "storage.buckets.update") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("transports retention without permission: %d\n%s%s", code, out, errs)
	}
	code, out, errs = cli(t, append([]string{"retention", "apply", "--bucket", "bkt", "--transport", a}, p...)...)
	want := "ora2gcs: error: bucket bkt: permission denied: the credentials in use lack storage.buckets.update (needed to change the bucket's lifecycle rules)\n"
	if code != 1 || out != "" || errs != want {
		t.Fatalf("apply without storage.buckets.update: %d\n%q\nwant %q", code, errs, want)
	}
	if got := rec.ours(t); got[a+"/"] != 90 {
		t.Fatalf("rule changed without permission: %v", got)
	}
	rec.mu.Lock()
	rec.denyGet = true
	rec.mu.Unlock()
	code, _, errs = cli(t, append([]string{"retention", "check", "--bucket", "bkt"}, p...)...)
	if code != 1 || !strings.Contains(errs, "lack storage.buckets.get") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("check without storage.buckets.get: %d %s", code, errs)
	}
	code, out, _ = cli(t, append([]string{"transports", "list", "--check"}, p...)...)
	if code != 0 || !strings.Contains(out, "NOT enforced: the bucket's lifecycle rules cannot be read: bucket bkt: permission denied") {
		t.Fatalf("list --check without storage.buckets.get: %d\n%s", code, out)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRetentionBucketUnreachableOrMissing: GCS not answering is exit 3
// (retry later), a bucket that does not exist exit 1, each in one line.
func TestRetentionBucketUnreachableOrMissing(t *testing.T) {
	dir := t.TempDir()
	newTransport(t, dir, "nightly")
	p := []string{"--data-dir", dir, "--target", "gcs"}
	t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1")
	code, _, errs := cli(t, append([]string{"retention", "check", "--bucket", "oracle-etl-data"}, p...)...)
	if code != 3 || !strings.Contains(errs, "retry later") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("unreachable: %d %s", code, errs)
	}
	emu := gcstest.Start(t) // no bucket
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(emu.URL, "http://"))
	code, _, errs = cli(t, append([]string{"retention", "apply", "--bucket", "oracle-etl-data", "--all"}, p...)...)
	if code != 1 || !strings.Contains(errs, "bucket doesn't exist") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("missing bucket: %d %s", code, errs)
	}
}
