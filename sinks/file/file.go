package file

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/internal/objname"
)

// Sink writes objects below Root(). It is safe for concurrent use.
type Sink struct {
	root string // absolute {dir}/{bucket}
}

// New returns a sink rooted at {dir}/{bucket}, creating that directory.
// bucket must be a single path segment.
func New(dir, bucket string) (*Sink, error) {
	if dir == "" {
		return nil, errors.New("file: empty directory")
	}
	if bucket == "" || bucket == "." || bucket == ".." || strings.ContainsAny(bucket, `/\`) {
		return nil, fmt.Errorf("file: invalid bucket %q: want one path segment", bucket)
	}
	abs, err := filepath.Abs(filepath.Join(dir, bucket))
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("file: create root: %w", err)
	}
	return &Sink{root: abs}, nil
}

// Root is the absolute directory that holds the bucket's objects.
func (s *Sink) Root() string { return s.root }

// Path is the absolute file path of object name (which need not exist).
func (s *Sink) Path(name string) (string, error) {
	if err := objname.Validate(name); err != nil {
		return "", fmt.Errorf("file: %w", err)
	}
	return filepath.Join(s.root, filepath.FromSlash(name)), nil
}

// URI is the file:// URI of object name.
func (s *Sink) URI(name string) string {
	p := filepath.ToSlash(filepath.Join(s.root, filepath.FromSlash(name)))
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive letters
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// Create starts object name. Parent directories are created. The returned
// Object writes a temporary file; see the package documentation.
func (s *Sink) Create(ctx context.Context, name string) (pipeline.Object, error) {
	final, err := s.Path(name)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("file: create %s: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, fmt.Errorf("file: create %s: %w", name, err)
	}
	f, err := os.CreateTemp(filepath.Dir(final), filepath.Base(final)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("file: create %s: %w", name, err)
	}
	return &object{ctx: ctx, sink: s, name: name, final: final, f: f}, nil
}

// Remove deletes committed object name (pipeline.Remover); a missing
// object is not an error.
func (s *Sink) Remove(_ context.Context, name string) error {
	p, err := s.Path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("file: remove %s: %w", name, err)
	}
	// Prune directories left empty (such as a job's _ranges/), never the
	// bucket directory itself; a directory that is not empty stays.
	for dir := filepath.Dir(p); dir != s.root && strings.HasPrefix(dir, s.root+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// Open reads committed object name.
func (s *Sink) Open(name string) (io.ReadCloser, error) {
	p, err := s.Path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("file: open %s: %w", name, err)
	}
	return f, nil
}

type object struct {
	ctx   context.Context
	sink  *Sink
	name  string
	final string
	f     *os.File
	size  int64
	crc   uint32
	err   error // sticky write error
	done  bool  // Commit or Abort was called
}

// Write appends p to the temporary file. It fails once the Create context is
// done; errors are sticky.
func (o *object) Write(p []byte) (int, error) {
	if o.done {
		return 0, fmt.Errorf("file: write %s: object already committed or aborted", o.name)
	}
	if o.err != nil {
		return 0, o.err
	}
	if err := o.ctx.Err(); err != nil {
		o.err = fmt.Errorf("file: write %s: %w", o.name, err)
		return 0, o.err
	}
	n, err := o.f.Write(p)
	o.crc = crc32.Update(o.crc, pipeline.Castagnoli, p[:n])
	o.size += int64(n)
	if err != nil {
		o.err = fmt.Errorf("file: write %s: %w", o.name, err)
	}
	return n, o.err
}

// Commit fsyncs the temporary file and renames it to the final name. On any
// failure the temporary file is removed and nothing is visible.
func (o *object) Commit() (pipeline.ObjectInfo, error) {
	if o.done {
		return pipeline.ObjectInfo{}, fmt.Errorf("file: commit %s: object already committed or aborted", o.name)
	}
	o.done = true
	err := o.err
	if err == nil {
		err = o.ctx.Err()
	}
	if err == nil {
		err = o.f.Chmod(0o644) // temp files are 0600; a committed object is an ordinary file
	}
	if err == nil {
		err = o.f.Sync()
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.f.Name(), o.final)
	}
	if err != nil {
		_ = os.Remove(o.f.Name())
		if o.err != nil { // already has its context
			return pipeline.ObjectInfo{}, err
		}
		return pipeline.ObjectInfo{}, fmt.Errorf("file: commit %s: %w", o.name, err)
	}
	syncDir(filepath.Dir(o.final)) // best effort: make the rename durable
	return pipeline.ObjectInfo{Name: o.name, URI: o.sink.URI(o.name), Size: o.size, CRC32C: o.crc}, nil
}

// Abort removes the temporary file. It is a no-op after Commit or Abort, so
// `defer obj.Abort()` is safe.
func (o *object) Abort() error {
	if o.done {
		return nil
	}
	o.done = true
	_ = o.f.Close()
	if err := os.Remove(o.f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("file: abort %s: %w", o.name, err)
	}
	return nil
}

func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// Compose writes dst as the concatenation of the committed objects srcs
// (pipeline.Composer): a temporary file is filled, synced and then linked
// to dst, so dst appears complete or not at all and an existing dst is
// never overwritten. The sources are left in place.
func (s *Sink) Compose(ctx context.Context, dst string, srcs []string) (info pipeline.ObjectInfo, err error) {
	final, err := s.Path(dst)
	if err != nil {
		return info, err
	}
	if len(srcs) == 0 {
		return info, fmt.Errorf("file: compose %s: no sources", dst)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return info, fmt.Errorf("file: compose %s: %w", dst, err)
	}
	f, err := os.CreateTemp(filepath.Dir(final), filepath.Base(final)+".*.tmp")
	if err != nil {
		return info, fmt.Errorf("file: compose %s: %w", dst, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	h := crc32.New(pipeline.Castagnoli)
	w := io.MultiWriter(f, h)
	var size int64
	for _, src := range srcs {
		if err := ctx.Err(); err != nil {
			return info, fmt.Errorf("file: compose %s: %w", dst, err)
		}
		n, err := s.copyFrom(w, src)
		size += n
		if err != nil {
			return info, fmt.Errorf("file: compose %s: %w", dst, err)
		}
	}
	if err = f.Chmod(0o644); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(f.Name(), final)
		if err == nil || errors.Is(err, os.ErrExist) {
			_ = os.Remove(f.Name())
		} else { // no hard links here: rename, after checking dst is absent
			if _, serr := os.Lstat(final); serr == nil {
				err = os.ErrExist
			} else {
				err = os.Rename(f.Name(), final)
			}
		}
	}
	if err != nil {
		return info, fmt.Errorf("file: compose %s: %w", dst, err)
	}
	syncDir(filepath.Dir(final))
	return pipeline.ObjectInfo{Name: dst, URI: s.URI(dst), Size: size, CRC32C: h.Sum32()}, nil
}

func (s *Sink) copyFrom(w io.Writer, name string) (int64, error) {
	r, err := s.Open(name)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n, err := io.Copy(w, r)
	if err != nil {
		return n, fmt.Errorf("copy %s: %w", name, err)
	}
	return n, nil
}

var (
	_ pipeline.Composer = (*Sink)(nil)
	_ pipeline.Remover  = (*Sink)(nil)
)
