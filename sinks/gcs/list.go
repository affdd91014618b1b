package gcs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	gax "github.com/googleapis/gax-go/v2"
	"google.golang.org/api/iterator"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/internal/objname"
)

// List returns the objects and the prefixes directly below prefix
// (pipeline.Lister): one listing with delimiter "/", so "p/x" for an object
// and "p/d/" once for everything below "p/d/". Unfinished resumable uploads
// are not objects and cannot be listed (GCS deletes them a week after they
// were started).
func (s *Sink) List(ctx context.Context, prefix string) ([]string, error) {
	if prefix != "" {
		if !strings.HasSuffix(prefix, "/") || objname.Validate(strings.TrimSuffix(prefix, "/")) != nil {
			return nil, fmt.Errorf("gcs: list: prefix %q must be empty or a valid name followed by '/'", prefix)
		}
	}
	it := s.bucket.Objects(ctx, &storage.Query{Prefix: prefix, Delimiter: "/"})
	var out []string
	for {
		attrs, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, &opError{msg: fmt.Sprintf("gcs: list %s: %s", s.URI(prefix), redact(err.Error())), errs: []error{err}}
		}
		if attrs.Prefix != "" {
			out = append(out, attrs.Prefix)
		} else {
			out = append(out, attrs.Name)
		}
	}
}

// Check lists at most one object of the bucket (pipeline.Checker): the
// bucket exists, the credentials work and may list, which the sink needs to
// choose a job version. Whether they may create objects shows only at the
// first upload (GCS's testIamPermissions would tell, but emulators do not
// serve it).
//
// It fails fast: at most CheckAttempts requests with a short backoff, and
// CheckTimeout in all, so an unreachable endpoint is one clear error in
// seconds instead of the client's unbounded retries of an idempotent read.
func (s *Sink) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	it := s.boundedBucket().Objects(ctx, &storage.Query{Delimiter: "/"})
	it.PageInfo().MaxSize = 1
	if _, err := it.Next(); err != nil && !errors.Is(err, iterator.Done) {
		if errors.Is(err, storage.ErrBucketNotExist) {
			return &opError{msg: fmt.Sprintf("gcs: bucket %s does not exist (create it, or check the name and project)", s.cfg.Bucket), errs: []error{err}}
		}
		return &opError{msg: fmt.Sprintf("gcs: bucket %s is not reachable: %s", s.cfg.Bucket, oneLine(redact(err.Error()))), errs: []error{err}}
	}
	return nil
}

// boundedBucket is the bucket handle with at most CheckAttempts attempts
// per request and a short backoff: for the metadata calls made before a job
// (Check, lifecycle rules), which must fail fast when storage is away.
func (s *Sink) boundedBucket() *storage.BucketHandle {
	return s.bucket.Retryer(storage.WithMaxAttempts(CheckAttempts),
		storage.WithBackoff(gax.Backoff{Initial: 200 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2}))
}

// Bounds of Check and the lifecycle calls (variables for tests).
var (
	CheckTimeout  = 30 * time.Second
	CheckAttempts = 3
)

// oneLine joins a multi-line message with "; ".
func oneLine(s string) string {
	parts := strings.Split(s, "\n")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, "; ")
}

var (
	_ pipeline.Lister  = (*Sink)(nil)
	_ pipeline.Checker = (*Sink)(nil)
)
