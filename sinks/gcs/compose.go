package gcs

import (
	"context"
	"errors"
	"fmt"
	"path"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/internal/objname"
)

// MaxComposeSources is the most source objects one GCS compose request takes.
const MaxComposeSources = 32

// Compose builds dst from the committed objects srcs in order
// (pipeline.Composer). With more than MaxComposeSources sources it composes
// a tree: groups of up to 32 into intermediate objects named
// "_compose.{dst base}.{level}.{n}" beside srcs[0], then those, and so on;
// intermediates are deleted before Compose returns, also on failure (only
// those this call created: an object of another writer at such a name fails
// Compose with ErrExists and is left alone). Every compose request carries a
// DoesNotExist precondition, so dst is never overwritten, and this call's
// attempt tag (AttemptMetadataKey) in the new object's metadata: when a
// compose answer is lost and the retry meets the object (412), Compose reads
// its attributes and takes it as its own result only if it carries the tag.
//
// The returned ObjectInfo is what GCS reports for dst (its size and composite
// CRC32C, CRC32CReported set); the caller compares it with the CRC it
// expects. A CRC32C of 0 in the answer is settled as Commit settles it (read
// the attributes again, then the bytes); if storage reports no checksum
// Compose deletes dst and fails with ErrNoChecksum.
func (s *Sink) Compose(ctx context.Context, dst string, srcs []string) (pipeline.ObjectInfo, error) {
	if err := objname.Validate(dst); err != nil {
		return pipeline.ObjectInfo{}, fmt.Errorf("gcs: %w", err)
	}
	if len(srcs) == 0 {
		return pipeline.ObjectInfo{}, fmt.Errorf("gcs: compose %s: no sources", s.URI(dst))
	}
	for _, n := range srcs {
		if err := objname.Validate(n); err != nil {
			return pipeline.ObjectInfo{}, fmt.Errorf("gcs: compose %s: %w", s.URI(dst), err)
		}
	}
	// The precondition below is what protects dst in GCS; this check gives a
	// clear error early and also holds against emulators that ignore
	// preconditions on compose (fake-gcs-server v1.56.1 does).
	if _, err := s.bucket.Object(dst).Attrs(ctx); err == nil {
		return pipeline.ObjectInfo{}, &opError{msg: fmt.Sprintf("gcs: compose %s: object already exists (the sink never overwrites)", s.URI(dst)), errs: []error{ErrExists}}
	} else if !errors.Is(err, storage.ErrObjectNotExist) {
		return pipeline.ObjectInfo{}, (&object{s: s, name: dst, parent: ctx}).fail("compose", err)
	}
	token := newToken()
	var temps []string
	defer func() {
		if len(temps) == 0 {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
		defer cancel()
		for _, n := range temps {
			_ = s.Remove(rctx, n) // best effort; a leftover has a _compose name
		}
	}()
	dir := path.Dir(srcs[0])
	level := srcs
	for l := 1; len(level) > MaxComposeSources; l++ {
		var next []string
		for i := 0; i < len(level); i += MaxComposeSources {
			group := level[i:min(i+MaxComposeSources, len(level))]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			name := fmt.Sprintf("%s/_compose.%s.%d.%05d", dir, path.Base(dst), l, i/MaxComposeSources)
			if dir == "." {
				name = name[2:]
			}
			if _, err := s.composeOnce(ctx, name, group, token); err != nil {
				if !errors.Is(err, ErrExists) {
					temps = append(temps, name) // it may exist: ours, from an attempt whose answer was lost
				}
				return pipeline.ObjectInfo{}, err
			}
			temps = append(temps, name)
			next = append(next, name)
		}
		level = next
	}
	attrs, err := s.composeOnce(ctx, dst, level, token)
	if err != nil {
		return pipeline.ObjectInfo{}, err
	}
	if attrs.CRC32C == 0 {
		checked, err := s.storedCRC(ctx, dst, attrs)
		if err != nil {
			err = &opError{msg: fmt.Sprintf("gcs: compose %s: %s", s.URI(dst), err), errs: []error{err}}
			if derr := s.deleteGeneration(ctx, dst, attrs.Generation); derr != nil {
				err = fmt.Errorf("%w (deleting the unverifiable object failed too: %s)", err, redact(derr.Error()))
			}
			return pipeline.ObjectInfo{}, err
		}
		attrs = checked
	}
	return pipeline.ObjectInfo{Name: dst, URI: s.URI(dst), Size: attrs.Size, CRC32C: attrs.CRC32C, CRC32CReported: true}, nil
}

// composeOnce composes srcs into dst, tagged with token; see Compose for a
// lost answer.
func (s *Sink) composeOnce(ctx context.Context, dst string, srcs []string, token string) (*storage.ObjectAttrs, error) {
	hs := make([]*storage.ObjectHandle, len(srcs))
	for i, n := range srcs {
		hs[i] = s.bucket.Object(n)
	}
	h := s.bucket.Object(dst).If(storage.Conditions{DoesNotExist: true}).Retryer(
		storage.WithBackoff(gax.Backoff{Initial: s.cfg.Backoff, Max: 32 * s.cfg.Backoff, Multiplier: 2}),
		storage.WithPolicy(storage.RetryIdempotent),
		storage.WithMaxAttempts(s.cfg.MaxAttempts),
	)
	c := h.ComposerFrom(hs...)
	c.ContentType = s.cfg.ContentType
	c.Metadata = map[string]string{AttemptMetadataKey: token}
	attrs, err := c.Run(ctx)
	if err != nil {
		var cerr error
		if attrs, cerr = s.adopt(ctx, dst, token); attrs == nil {
			o := &object{s: s, name: dst, parent: ctx}
			e := o.fail("compose", err)
			if cerr != nil {
				e = fmt.Errorf("%w (%s)", e, cerr)
			}
			return nil, e
		}
	}
	if attrs == nil {
		return nil, fmt.Errorf("gcs: compose %s: %w", s.URI(dst), errors.New("storage returned no object attributes"))
	}
	return attrs, nil
}
