package gcs

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/api/option"
)

// bucketMetadata is a recording stand-in for the JSON API's bucket
// metadata (GET and PATCH /storage/v1/b/{bucket}). The in-process emulator
// (fake-gcs-server v1.56.1) keeps only versioning and defaultEventBasedHold
// of a bucket update and drops its lifecycle, so these tests check the
// requests we send and the configuration they leave against this recorder.
type bucketMetadata struct {
	mu        sync.Mutex
	metagen   int64
	lifecycle json.RawMessage
	patches   []string
	conflicts int // PATCHes refused for a stale metageneration
	// raceOnce: someone else updates the bucket between our read and our
	// PATCH (once).
	raceOnce bool
}

func (b *bucketMetadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !strings.HasSuffix(r.URL.Path, "/b/bkt") {
		http.Error(w, "unexpected path "+r.URL.Path, http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPatch:
		if b.raceOnce {
			b.raceOnce = false
			b.metagen++
		}
		if m := r.URL.Query().Get("ifMetagenerationMatch"); m != strconv.FormatInt(b.metagen, 10) {
			b.conflicts++
			w.WriteHeader(http.StatusPreconditionFailed)
			io.WriteString(w, `{"error":{"code":412,"message":"Precondition Failed"}}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		b.patches = append(b.patches, string(body))
		var upd map[string]json.RawMessage
		if err := json.Unmarshal(body, &upd); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if lc, ok := upd["lifecycle"]; ok {
			b.lifecycle = lc
		}
		b.metagen++
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	out := map[string]any{"kind": "storage#bucket", "name": "bkt", "id": "bkt", "metageneration": strconv.FormatInt(b.metagen, 10)}
	if len(b.lifecycle) > 0 {
		out["lifecycle"] = b.lifecycle
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

type rule struct {
	Action    struct{ Type string } `json:"action"`
	Condition struct {
		Age           *int64   `json:"age"`
		MatchesPrefix []string `json:"matchesPrefix"`
		MatchesSuffix []string `json:"matchesSuffix"`
		IsLive        *bool    `json:"isLive"`
	} `json:"condition"`
}

func (b *bucketMetadata) rules(t *testing.T) []rule {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var lc struct{ Rule []rule }
	if len(b.lifecycle) > 0 {
		if err := json.Unmarshal(b.lifecycle, &lc); err != nil {
			t.Fatal(err)
		}
	}
	return lc.Rule
}

func TestEnsureRetentionKeepsForeignRules(t *testing.T) {
	meta := &bucketMetadata{metagen: 7, lifecycle: json.RawMessage(`{"rule":[
		{"action":{"type":"Delete"},"condition":{"age":30,"matchesPrefix":["tmp/"]}},
		{"action":{"type":"SetStorageClass","storageClass":"COLDLINE"},"condition":{"age":365}},
		{"action":{"type":"Delete"},"condition":{"age":5,"matchesPrefix":["TRP-1/"],"matchesSuffix":[".log"]}}]}`)}
	srv := httptest.NewServer(meta)
	defer srv.Close()
	ctx := context.Background()
	s, err := New(ctx, Config{Bucket: "bkt"}, option.WithEndpoint(srv.URL+"/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d, err := s.CheckRetention(ctx, "TRP-1/", 90); err != nil || !strings.Contains(d, "no lifecycle rule") {
		t.Fatalf("drift before: %q %v", d, err)
	}
	changed, err := s.EnsureRetention(ctx, "TRP-1/", 90)
	if err != nil || !changed {
		t.Fatalf("add: %v %v", changed, err)
	}
	rs := meta.rules(t)
	if len(rs) != 4 {
		t.Fatalf("%d rules after adding ours: %+v", len(rs), rs)
	}
	if rs[0].Action.Type != "Delete" || *rs[0].Condition.Age != 30 || rs[0].Condition.MatchesPrefix[0] != "tmp/" ||
		rs[1].Action.Type != "SetStorageClass" || *rs[1].Condition.Age != 365 ||
		*rs[2].Condition.Age != 5 || rs[2].Condition.MatchesSuffix[0] != ".log" {
		t.Fatalf("foreign rules changed: %+v", rs)
	}
	if rs[3].Action.Type != "Delete" || *rs[3].Condition.Age != 90 || len(rs[3].Condition.MatchesPrefix) != 1 || rs[3].Condition.MatchesPrefix[0] != "TRP-1/" {
		t.Fatalf("our rule: %+v", rs[3])
	}
	if !strings.Contains(meta.patches[0], `"matchesPrefix":["TRP-1/"]`) {
		t.Fatalf("request sent: %s", meta.patches[0])
	}
	// again: nothing to change, no request
	if changed, err := s.EnsureRetention(ctx, "TRP-1/", 90); err != nil || changed || len(meta.patches) != 1 {
		t.Fatalf("idempotent: %v %v, %d patches", changed, err, len(meta.patches))
	}
	if d, err := s.CheckRetention(ctx, "TRP-1/", 90); err != nil || d != "" {
		t.Fatalf("drift after: %q %v", d, err)
	}
	// a second transport, then an update of the first
	if _, err := s.EnsureRetention(ctx, "TRP-2/", 30); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.CheckRetention(ctx, "TRP-1/", 60); !strings.Contains(d, "after 90 days, want 60") {
		t.Fatalf("drift: %q", d)
	}
	if changed, err := s.EnsureRetention(ctx, "TRP-1/", 60); err != nil || !changed {
		t.Fatalf("update: %v %v", changed, err)
	}
	rs = meta.rules(t)
	if len(rs) != 5 || *rs[3].Condition.Age != 60 || rs[4].Condition.MatchesPrefix[0] != "TRP-2/" || *rs[4].Condition.Age != 30 || *rs[2].Condition.Age != 5 {
		t.Fatalf("after update: %+v", rs)
	}
	// removal takes only ours
	if _, err := s.EnsureRetention(ctx, "TRP-1/", 0); err != nil {
		t.Fatal(err)
	}
	rs = meta.rules(t)
	if len(rs) != 4 || rs[3].Condition.MatchesPrefix[0] != "TRP-2/" || rs[2].Condition.MatchesSuffix[0] != ".log" {
		t.Fatalf("after removal: %+v", rs)
	}
	// a concurrent change of the bucket between our read and our update is
	// not overwritten: the update fails on its metageneration precondition
	before := meta.rules(t)
	meta.mu.Lock()
	meta.raceOnce = true
	meta.mu.Unlock()
	if _, err := s.EnsureRetention(ctx, "TRP-3/", 10); err == nil {
		t.Fatal("update over a concurrent change succeeded")
	}
	if meta.conflicts != 1 || len(meta.rules(t)) != len(before) {
		t.Fatalf("conflicts %d, rules %d (were %d)", meta.conflicts, len(meta.rules(t)), len(before))
	}
}

// TestRetentionRulesListsOnlyOurShape: RetentionRules returns the Delete
// rules whose only conditions are one folder prefix and an age, in order;
// rules with other conditions, actions or several prefixes are not listed.
func TestRetentionRulesListsOnlyOurShape(t *testing.T) {
	meta := &bucketMetadata{metagen: 1, lifecycle: json.RawMessage(`{"rule":[
		{"action":{"type":"Delete"},"condition":{"age":90,"matchesPrefix":["TRP-1/"]}},
		{"action":{"type":"Delete"},"condition":{"age":5,"matchesPrefix":["TRP-2/"],"matchesSuffix":[".log"]}},
		{"action":{"type":"SetStorageClass","storageClass":"COLDLINE"},"condition":{"age":365,"matchesPrefix":["TRP-3/"]}},
		{"action":{"type":"Delete"},"condition":{"age":9,"matchesPrefix":["TRP-4/","TRP-5/"]}},
		{"action":{"type":"Delete"},"condition":{"age":9,"matchesPrefix":["TRP-6"]}},
		{"action":{"type":"Delete"},"condition":{"age":3,"matchesPrefix":["tmp/"]}}]}`)}
	srv := httptest.NewServer(meta)
	defer srv.Close()
	ctx := context.Background()
	s, err := New(ctx, Config{Bucket: "bkt"}, option.WithEndpoint(srv.URL+"/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.RetentionRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []RetentionRule{{Prefix: "TRP-1/", AgeDays: 90}, {Prefix: "tmp/", AgeDays: 3}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// TestEnsureRetentionKeepsConditionsTheClientDoesNotModel: foreign rules
// are sent back exactly as the bucket holds them, also with conditions
// the storage client library does not model (matchesPattern,
// sizeAboveBytes, a condition newer than this program). Dropping one
// would broaden the rule: "Delete after 30 days what matches ^logs/"
// would become "Delete everything after 30 days". A rule of our shape
// with such an extra condition is someone else's, not ours.
func TestEnsureRetentionKeepsConditionsTheClientDoesNotModel(t *testing.T) {
	foreign := []string{
		`{"action":{"type":"Delete"},"condition":{"age":30,"matchesPattern":"^logs/"}}`,
		`{"action":{"type":"Delete"},"condition":{"age":7,"sizeAboveBytes":"1073741824"}}`,
		`{"action":{"type":"Delete"},"condition":{"age":5,"matchesPrefix":["TRP-1/"],"someFutureCondition":{"x":1}}}`,
		`{"action":{"type":"AbortIncompleteMultipartUpload","futureActionField":true},"condition":{"age":1}}`,
	}
	meta := &bucketMetadata{metagen: 3, lifecycle: json.RawMessage(`{"rule":[` + strings.Join(foreign, ",") + `]}`)}
	srv := httptest.NewServer(meta)
	defer srv.Close()
	ctx := context.Background()
	s, err := New(ctx, Config{Bucket: "bkt"}, option.WithEndpoint(srv.URL+"/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d, err := s.CheckRetention(ctx, "TRP-1/", 90); err != nil || !strings.Contains(d, "no lifecycle rule") {
		t.Fatalf("the foreign TRP-1/ rule was taken for ours: %q %v", d, err)
	}
	if changed, err := s.EnsureRetention(ctx, "TRP-1/", 90); err != nil || !changed {
		t.Fatalf("add: %v %v", changed, err)
	}
	canon := func(raw string) string {
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	meta.mu.Lock()
	var lc struct{ Rule []json.RawMessage }
	err = json.Unmarshal(meta.lifecycle, &lc)
	meta.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if len(lc.Rule) != len(foreign)+1 {
		t.Fatalf("%d rules, want %d: %s", len(lc.Rule), len(foreign)+1, meta.lifecycle)
	}
	for i, f := range foreign {
		if got, want := canon(string(lc.Rule[i])), canon(f); got != want {
			t.Errorf("foreign rule %d changed:\n got %s\nwant %s", i, got, want)
		}
	}
	if got, want := canon(string(lc.Rule[len(foreign)])), canon(`{"action":{"type":"Delete"},"condition":{"age":90,"matchesPrefix":["TRP-1/"]}}`); got != want {
		t.Errorf("our rule %s, want %s", got, want)
	}
	// removing ours leaves the foreign rules, also the TRP-1/ one
	if _, err := s.EnsureRetention(ctx, "TRP-1/", 0); err != nil {
		t.Fatal(err)
	}
	meta.mu.Lock()
	err = json.Unmarshal(meta.lifecycle, &lc)
	meta.mu.Unlock()
	if err != nil || len(lc.Rule) != len(foreign) {
		t.Fatalf("after removal: %v %s", err, meta.lifecycle)
	}
	for i, f := range foreign {
		if got, want := canon(string(lc.Rule[i])), canon(f); got != want {
			t.Errorf("after removal, foreign rule %d changed:\n got %s\nwant %s", i, got, want)
		}
	}
}
