package gcs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	gax "github.com/googleapis/gax-go/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/api/option/internaloption"
	htransport "google.golang.org/api/transport/http"
)

// Metadata reads and changes a bucket's lifecycle configuration through
// the JSON API directly (GET and PATCH /storage/v1/b/{bucket}), keeping
// every rule as the JSON the bucket holds. The storage client library
// models only some lifecycle conditions (v1.70 lacks matchesPattern,
// sizeAboveBytes, sizeBelowBytes and anything newer) and would write a
// rule back without them: "Delete what matches ^logs/ after 30 days" would
// become "Delete everything after 30 days". EnsureRetention therefore
// never round-trips rules through the library's types.
type Metadata struct {
	hc       *http.Client
	endpoint string // …/storage/v1/
}

// NewMetadata returns a Metadata client with the same options as
// storage.NewClient (credentials, endpoint) and the same defaults: the
// JSON API at storage.googleapis.com with Application Default
// Credentials, or STORAGE_EMULATOR_HOST without authentication.
func NewMetadata(ctx context.Context, opts ...option.ClientOption) (*Metadata, error) {
	var o []option.ClientOption
	if host := os.Getenv("STORAGE_EMULATOR_HOST"); host == "" {
		o = append([]option.ClientOption{option.WithScopes(storage.ScopeFullControl)}, opts...)
		o = append(o, internaloption.WithDefaultEndpointTemplate("https://storage.UNIVERSE_DOMAIN/storage/v1/"),
			internaloption.WithDefaultMTLSEndpoint("https://storage.mtls.googleapis.com/storage/v1/"),
			internaloption.WithDefaultUniverseDomain("googleapis.com"))
	} else {
		u := &url.URL{Scheme: "http", Host: host}
		if strings.Contains(host, "://") {
			p, err := url.Parse(host)
			if err != nil {
				return nil, fmt.Errorf("gcs: STORAGE_EMULATOR_HOST %q: %w", host, err)
			}
			u = p
		}
		u.Path = "storage/v1/"
		o = append([]option.ClientOption{option.WithoutAuthentication()}, opts...)
		o = append(o, internaloption.WithDefaultEndpointTemplate(u.String()), internaloption.WithDefaultMTLSEndpoint(u.String()))
	}
	hc, endpoint, err := htransport.NewClient(ctx, o...)
	if err != nil {
		return nil, fmt.Errorf("gcs: metadata client: %s", redact(err.Error()))
	}
	if !strings.HasSuffix(endpoint, "/") {
		endpoint += "/"
	}
	return &Metadata{hc: hc, endpoint: endpoint}, nil
}

// lifecycleRule is one rule as the bucket holds it (raw) and the parts we
// read to tell ours from others.
type lifecycleRule struct {
	raw json.RawMessage
}

// isRetention says whether the rule is the one ora2gcs keeps for prefix:
// action exactly {"type":"Delete"}, condition exactly an age and
// matchesPrefix [prefix]; its age when it is. Any other field, known to
// this program or not, makes it someone else's.
func (r lifecycleRule) isRetention(prefix string) (int64, bool) {
	var rule map[string]json.RawMessage
	if json.Unmarshal(r.raw, &rule) != nil || len(rule) != 2 {
		return 0, false
	}
	var action map[string]json.RawMessage
	var cond map[string]json.RawMessage
	if json.Unmarshal(rule["action"], &action) != nil || json.Unmarshal(rule["condition"], &cond) != nil {
		return 0, false
	}
	var typ string
	if len(action) != 1 || json.Unmarshal(action["type"], &typ) != nil || typ != storage.DeleteAction {
		return 0, false
	}
	var age json.Number
	var prefixes []string
	if len(cond) != 2 || json.Unmarshal(cond["matchesPrefix"], &prefixes) != nil || len(prefixes) != 1 || prefixes[0] != prefix {
		return 0, false
	}
	if json.Unmarshal(cond["age"], &age) != nil {
		var s string // int64 fields may arrive as strings
		if json.Unmarshal(cond["age"], &s) != nil {
			return 0, false
		}
		age = json.Number(s)
	}
	n, err := strconv.ParseInt(string(age), 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// retentionPrefix is the prefix of a rule of the retention shape for any
// folder prefix (RetentionRules), or "".
func (r lifecycleRule) retentionPrefix() (string, int64) {
	var probe struct {
		Condition struct {
			MatchesPrefix []string `json:"matchesPrefix"`
		} `json:"condition"`
	}
	if json.Unmarshal(r.raw, &probe) != nil || len(probe.Condition.MatchesPrefix) != 1 {
		return "", 0
	}
	p := probe.Condition.MatchesPrefix[0]
	if !strings.HasSuffix(p, "/") {
		return "", 0
	}
	if age, ok := r.isRetention(p); ok {
		return p, age
	}
	return "", 0
}

func retentionRuleJSON(prefix string, days int) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"action":    map[string]string{"type": storage.DeleteAction},
		"condition": map[string]any{"age": days, "matchesPrefix": []string{prefix}},
	})
	return b
}

// lifecycle reads the bucket's lifecycle rules and its metageneration.
func (m *Metadata) lifecycle(ctx context.Context, bucket string) ([]lifecycleRule, int64, error) {
	var out struct {
		Metageneration json.Number `json:"metageneration"`
		Lifecycle      struct {
			Rule []json.RawMessage `json:"rule"`
		} `json:"lifecycle"`
	}
	if err := m.do(ctx, http.MethodGet, bucket, url.Values{"fields": {"metageneration,lifecycle"}}, nil, &out); err != nil {
		return nil, 0, err
	}
	gen, err := strconv.ParseInt(string(out.Metageneration), 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("bucket %s: metageneration %q: %w", bucket, out.Metageneration, err)
	}
	rules := make([]lifecycleRule, len(out.Lifecycle.Rule))
	for i, r := range out.Lifecycle.Rule {
		rules[i] = lifecycleRule{raw: r}
	}
	return rules, gen, nil
}

// setLifecycle replaces the bucket's rules if its metageneration is still gen.
func (m *Metadata) setLifecycle(ctx context.Context, bucket string, rules []lifecycleRule, gen int64) error {
	raw := make([]json.RawMessage, len(rules))
	for i, r := range rules {
		raw[i] = r.raw
	}
	body, err := json.Marshal(map[string]any{"lifecycle": map[string]any{"rule": raw}})
	if err != nil {
		return err
	}
	q := url.Values{"ifMetagenerationMatch": {strconv.FormatInt(gen, 10)}, "fields": {"metageneration"}}
	return m.do(ctx, http.MethodPatch, bucket, q, body, nil)
}

// do sends one metadata request, retrying (at most CheckAttempts, short
// backoff) what can be replayed: both the read and the conditional update
// are idempotent. Errors are *googleapi.Error for answers, with 404
// wrapping storage.ErrBucketNotExist.
func (m *Metadata) do(ctx context.Context, method, bucket string, q url.Values, body []byte, out any) error {
	u := m.endpoint + "b/" + url.PathEscape(bucket) + "?" + q.Encode()
	bo := gax.Backoff{Initial: 200 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2}
	var last error
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		last = m.once(req, out)
		if last == nil {
			return nil
		}
		var ge *googleapi.Error
		retry := ctx.Err() == nil && (!errors.As(last, &ge) || ge.Code == http.StatusTooManyRequests || ge.Code >= 500)
		if !retry || attempt >= CheckAttempts {
			break
		}
		if err := gax.Sleep(ctx, bo.Pause()); err != nil {
			break
		}
	}
	var ge *googleapi.Error
	if errors.As(last, &ge) && ge.Code == http.StatusNotFound {
		return fmt.Errorf("%w: %w", storage.ErrBucketNotExist, last)
	}
	return last
}

func (m *Metadata) once(req *http.Request, out any) error {
	resp, err := m.hc.Do(req)
	if err != nil {
		if cerr := req.Context().Err(); cerr != nil {
			return fmt.Errorf("%s: %w", redact(err.Error()), cerr)
		}
		return errors.New(redact(err.Error()))
	}
	defer resp.Body.Close()
	if err := googleapi.CheckResponse(resp); err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("bucket metadata answer: %w", err)
	}
	return nil
}
