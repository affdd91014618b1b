package gcs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"regexp"
	"sync/atomic"
	"time"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/internal/objname"
)

var (
	// ErrExists is matched (errors.Is) by a Commit or Compose that failed
	// because an object of that name already exists (written by another
	// writer or attempt): the sink never overwrites. It matches
	// pipeline.ErrObjectExists too.
	ErrExists = fmt.Errorf("gcs: %w", pipeline.ErrObjectExists)
	// ErrMismatch is matched by a Commit whose stored object differs in size
	// or CRC32C from the bytes written. The sink deletes such an object.
	ErrMismatch = errors.New("gcs: stored object differs from the bytes written")
	// ErrNoChecksum is matched by a Commit or Compose whose stored object
	// storage reports no CRC32C for, even when asked again: the object
	// cannot be verified, so the sink deletes it.
	ErrNoChecksum = errors.New("gcs: storage reports no CRC32C for the stored object")
)

// AttemptMetadataKey is the custom metadata key under which every object the
// sink creates carries the random token of the attempt that wrote it.
const AttemptMetadataKey = "ora2gcs-attempt"

// deleteTimeout bounds the clean-up of a mismatched object.
const deleteTimeout = 30 * time.Second

// Sink writes objects into one bucket. It is safe for concurrent use.
type Sink struct {
	client *storage.Client
	bucket *storage.BucketHandle
	cfg    Config
	owned  bool      // Close closes client
	md     *Metadata // lifecycle rules (see Metadata); nil: NewWithClient without WithMetadata
}

// New validates cfg and creates a storage client with opts. Without options
// the client uses Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS
// names a service-account key file; otherwise gcloud's user credentials or the
// metadata server). When STORAGE_EMULATOR_HOST is set (host:port or a URL), the
// client itself sends every request there without authentication. Reads
// (Open) use the JSON API, which emulators serve too.
func New(ctx context.Context, cfg Config, opts ...option.ClientOption) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	md, err := NewMetadata(ctx, opts...)
	if err != nil {
		return nil, err
	}
	opts = append([]option.ClientOption{storage.WithJSONReads()}, opts...)
	c, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("gcs: client: %s", redact(err.Error()))
	}
	s, err := NewWithClient(c, cfg)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	s.owned, s.md = true, md
	return s, nil
}

// NewWithClient returns a sink using c, which the caller keeps owning (Close
// does not close it). For Open against an emulator, c needs storage.WithJSONReads().
// Its lifecycle calls (EnsureRetention, CheckRetention, RetentionRules) need
// WithMetadata.
func NewWithClient(c *storage.Client, cfg Config) (*Sink, error) {
	if c == nil {
		return nil, errors.New("gcs: nil client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Sink{client: c, bucket: c.Bucket(cfg.Bucket), cfg: cfg}, nil
}

// Close closes the client if New created it.
func (s *Sink) Close() error {
	if !s.owned {
		return nil
	}
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("gcs: close: %w", err)
	}
	return nil
}

// Config returns the configuration in use, defaults applied.
func (s *Sink) Config() Config { return s.cfg }

// URI is the gs:// URI of object name.
func (s *Sink) URI(name string) string { return "gs://" + s.cfg.Bucket + "/" + name }

// Create starts a resumable upload of object name. See the package
// documentation for retries, verification and what Abort guarantees.
func (s *Sink) Create(ctx context.Context, name string) (pipeline.Object, error) {
	if err := objname.Validate(name); err != nil {
		return nil, fmt.Errorf("gcs: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("gcs: create %s: %w", s.URI(name), err)
	}
	wctx, cancel := context.WithCancel(ctx)
	o := &object{s: s, name: name, parent: ctx, ctx: wctx, cancel: cancel, token: newToken()}
	h := s.bucket.Object(name).
		If(storage.Conditions{DoesNotExist: true}).
		Retryer(
			storage.WithBackoff(gax.Backoff{Initial: s.cfg.Backoff, Max: 32 * s.cfg.Backoff, Multiplier: 2}),
			// The DoesNotExist precondition makes the upload idempotent, so
			// the default policy retries it; RetryAlways is not needed.
			storage.WithPolicy(storage.RetryIdempotent),
			storage.WithMaxAttempts(s.cfg.MaxAttempts),
			// Resumable uploads over HTTP ignore WithMaxAttempts (only the
			// backoff and this function reach the uploader), so the bound
			// is enforced here: MaxAttempts per request, reset by progress.
			storage.WithErrorFunc(o.shouldRetry),
		)
	w := h.NewWriter(wctx)
	w.ChunkSize = s.cfg.ChunkSize
	w.ContentType = s.cfg.ContentType
	w.Metadata = map[string]string{AttemptMetadataKey: o.token}
	w.ProgressFunc = func(int64) { o.failures.Store(0) }
	o.w = w
	return o, nil
}

// Remove deletes object name (pipeline.Remover); a missing object is not
// an error.
func (s *Sink) Remove(ctx context.Context, name string) error {
	if err := objname.Validate(name); err != nil {
		return fmt.Errorf("gcs: %w", err)
	}
	err := s.bucket.Object(name).Delete(ctx)
	if err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
		return &opError{msg: fmt.Sprintf("gcs: remove %s: %s", s.URI(name), redact(err.Error())), errs: []error{err}}
	}
	return nil
}

// Open reads object name. A missing object gives an error matching
// storage.ErrObjectNotExist.
func (s *Sink) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := objname.Validate(name); err != nil {
		return nil, fmt.Errorf("gcs: %w", err)
	}
	r, err := s.bucket.Object(name).NewReader(ctx)
	if err != nil {
		return nil, &opError{msg: fmt.Sprintf("gcs: open %s: %s", s.URI(name), redact(err.Error())), errs: []error{err}}
	}
	return r, nil
}

type object struct {
	s        *Sink
	name     string
	parent   context.Context // Create's context
	ctx      context.Context // the writer's child context
	cancel   context.CancelFunc
	token    string // this attempt's tag, stored as AttemptMetadataKey
	w        *storage.Writer
	size     int64
	crc      uint32
	err      error // sticky
	done     bool
	failures atomic.Int32 // consecutive failed attempts of the current request
}

func (o *object) shouldRetry(err error) bool {
	if !storage.ShouldRetry(err) {
		return false
	}
	return int(o.failures.Add(1)) < o.s.cfg.MaxAttempts
}

// Write hands p to the storage writer, which uploads a chunk whenever
// ChunkSize bytes are buffered (blocking the caller meanwhile).
func (o *object) Write(p []byte) (int, error) {
	if o.done {
		return 0, fmt.Errorf("gcs: write %s: object already committed or aborted", o.s.URI(o.name))
	}
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(p)
	o.crc = crc32.Update(o.crc, pipeline.Castagnoli, p[:n])
	o.size += int64(n)
	if err != nil {
		o.err = o.fail("write", err)
	}
	return n, o.err
}

// Commit finalizes the upload and verifies the stored size and CRC32C
// against the bytes written; a mismatched object is deleted. When the
// finalizing request fails although storage acted on it (its answer was
// lost and the retry met the object: 412, or a finished session: 404),
// Commit reads the object's attributes: if it carries this attempt's tag it
// is verified like any other answer; otherwise the error stands (ErrExists
// for 412).
func (o *object) Commit() (pipeline.ObjectInfo, error) {
	if o.done {
		return pipeline.ObjectInfo{}, fmt.Errorf("gcs: commit %s: object already committed or aborted", o.s.URI(o.name))
	}
	o.done = true
	defer o.cancel()
	if o.err == nil {
		if err := o.ctx.Err(); err != nil {
			o.err = o.fail("commit", err)
		}
	}
	if o.err != nil {
		o.cancel() // never finalize after a failure
		_ = o.w.Close()
		return pipeline.ObjectInfo{}, o.err
	}
	var attrs *storage.ObjectAttrs
	if err := o.w.Close(); err != nil {
		var cerr error
		if attrs, cerr = o.s.adopt(o.parent, o.name, o.token); attrs == nil {
			e := o.fail("commit", err)
			if cerr != nil {
				e = fmt.Errorf("%w (%s)", e, cerr)
			}
			return pipeline.ObjectInfo{}, e
		}
	} else {
		attrs = o.w.Attrs()
	}
	var verr error
	errs := []error{ErrMismatch}
	if attrs != nil && attrs.Size == o.size && attrs.CRC32C == 0 {
		// 0 is what the client decodes from an answer without a checksum
		// too: ask again, and if need be read the bytes.
		reread, err := o.s.storedCRC(o.parent, o.name, attrs)
		if err != nil {
			verr, errs = err, nil
		} else {
			attrs = reread
		}
	}
	if verr == nil {
		verr = verify(o.size, o.crc, attrs)
	}
	errs = append(errs, verr)
	if verr != nil {
		var err error = &opError{msg: fmt.Sprintf("gcs: commit %s: %s", o.s.URI(o.name), verr), errs: errs}
		if attrs != nil {
			if derr := o.s.deleteGeneration(o.parent, o.name, attrs.Generation); derr != nil {
				err = fmt.Errorf("%w (deleting the bad object failed too: %s)", err, redact(derr.Error()))
			}
		}
		return pipeline.ObjectInfo{}, err
	}
	return pipeline.ObjectInfo{Name: o.name, URI: o.s.URI(o.name), Size: attrs.Size, CRC32C: attrs.CRC32C, CRC32CReported: true}, nil
}

// deleteGeneration deletes that generation of object name, also when ctx
// is cancelled (bounded by deleteTimeout). Not finding it is success: a
// retried delete whose first answer was lost finds nothing.
func (s *Sink) deleteGeneration(ctx context.Context, name string, gen int64) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
	defer cancel()
	err := s.bucket.Object(name).Generation(gen).Delete(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil
	}
	return err
}

// newToken returns a random attempt tag (128 bits, hex).
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}

// adopt is called after a request that creates object name failed. The
// request may have reached storage and only its answer been lost, so the
// object may exist: adopt reads its attributes and returns them when the
// object carries token, i.e. was created by this attempt. Anything else
// (another writer's object, no object, a failed lookup) returns nil and the
// request's error stands.
//
// When the caller has cancelled, the object is never adopted: the call
// fails, so an object this attempt created is deleted instead (a failed
// call leaves nothing at the name); the error says if that failed.
func (s *Sink) adopt(parent context.Context, name, token string) (*storage.ObjectAttrs, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), deleteTimeout)
	defer cancel()
	attrs, err := s.bucket.Object(name).Attrs(ctx)
	if err != nil || attrs == nil || attrs.Metadata[AttemptMetadataKey] != token {
		if err != nil && !errors.Is(err, storage.ErrObjectNotExist) && parent.Err() != nil {
			return nil, fmt.Errorf("an object this attempt may have created could not be checked: %s", redact(err.Error()))
		}
		return nil, nil
	}
	if parent.Err() == nil {
		return attrs, nil
	}
	if err := s.deleteGeneration(parent, name, attrs.Generation); err != nil {
		return nil, fmt.Errorf("deleting the object this attempt created failed: %s", redact(err.Error()))
	}
	return nil, nil
}

// storedCRC settles a CRC32C of 0 in attrs, which the client also decodes
// from an answer that carries no checksum. It reads the attributes of that
// generation again and returns them if they hold a non-zero CRC32C. If they
// also read 0, only the bytes can tell a checksum of 0 from a missing one:
// it reads the object and returns the attributes (CRC32C 0) if the bytes'
// CRC32C is 0, and an error matching ErrNoChecksum otherwise.
func (s *Sink) storedCRC(parent context.Context, name string, attrs *storage.ObjectAttrs) (*storage.ObjectAttrs, error) {
	if attrs.Size == 0 {
		return attrs, nil // the CRC32C of no bytes is 0
	}
	ctx := parent
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(parent)
	}
	actx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	h := s.bucket.Object(name).Generation(attrs.Generation)
	again, err := h.Attrs(actx)
	if err != nil {
		return nil, fmt.Errorf("storage reported no CRC32C and reading the attributes back failed: %s", redact(err.Error()))
	}
	if again.CRC32C != 0 {
		return again, nil
	}
	// Reading the bytes takes as long as the object is large: bounded by
	// the caller's context only (or, if that is cancelled, by a
	// clean-up's timeout).
	rctx := ctx
	if parent.Err() != nil {
		rctx = actx
	}
	r, err := h.NewReader(rctx)
	if err != nil {
		return nil, fmt.Errorf("storage reported no CRC32C and reading the object back failed: %s", redact(err.Error()))
	}
	defer r.Close()
	hash := crc32.New(pipeline.Castagnoli)
	n, err := io.Copy(hash, r)
	if err != nil {
		return nil, fmt.Errorf("storage reported no CRC32C and reading the object back failed: %s", redact(err.Error()))
	}
	if n != again.Size || hash.Sum32() != 0 {
		return nil, fmt.Errorf("%w (twice; its %d bytes have CRC32C %08x)", ErrNoChecksum, n, hash.Sum32())
	}
	return again, nil
}

// Abort cancels the upload. The object is only finalized by the request
// sent from Close after the last chunk, and cancelling first makes every
// later request fail, so no object is created. A no-op after Commit.
func (o *object) Abort() error {
	if o.done {
		return nil
	}
	o.done = true
	o.cancel()
	_ = o.w.Close() // waits for the upload goroutine; returns context.Canceled
	return nil
}

// verify compares the locally counted size and CRC32C with the stored
// object's attributes.
func verify(size int64, crc uint32, attrs *storage.ObjectAttrs) error {
	switch {
	case attrs == nil:
		return errors.New("storage returned no object attributes")
	case attrs.Size != size:
		return fmt.Errorf("stored object differs: wrote %d bytes, storage holds %d", size, attrs.Size)
	case attrs.CRC32C != crc:
		return fmt.Errorf("stored object differs: wrote CRC32C %08x, storage holds %08x", crc, attrs.CRC32C)
	}
	return nil
}

// fail builds the error of a failed operation on the object: which object,
// why, without secrets, marked transient when retrying the whole object may
// succeed.
func (o *object) fail(op string, err error) error {
	errs := []error{err}
	why := redact(err.Error())
	if n := int(o.failures.Load()); n >= o.s.cfg.MaxAttempts {
		why = fmt.Sprintf("gave up after %d attempts: %s", n, why)
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) && gerr.Code == http.StatusPreconditionFailed {
		errs = append(errs, ErrExists)
		why = "object already exists (the sink never overwrites; use a new job version): " + why
	}
	var e error = &opError{msg: fmt.Sprintf("gcs: %s %s: %s", op, o.s.URI(o.name), why), errs: errs}
	if o.parent.Err() == nil && !errors.Is(err, context.Canceled) && storage.ShouldRetry(err) {
		e = pipeline.Transient(e)
	}
	return e
}

// opError carries a redacted message and the original errors for errors.Is/As.
type opError struct {
	msg  string
	errs []error
}

func (e *opError) Error() string   { return e.msg }
func (e *opError) Unwrap() []error { return e.errs }

var secrets = regexp.MustCompile(`(?i)((?:upload_id|access_token|refresh_token|id_token|token|key|signature|x-goog-signature|x-goog-credential|client_secret)=)[^&\s"']+|(bearer\s+)[^\s"']+`)

// redact replaces query-string secrets (the resumable upload_id is a bearer
// capability for the upload session) and bearer tokens with "REDACTED".
func redact(s string) string {
	return secrets.ReplaceAllString(s, "${1}${2}REDACTED")
}

var (
	_ pipeline.Composer = (*Sink)(nil)
	_ pipeline.Remover  = (*Sink)(nil)
)
