package file

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/internal/objname"
)

// TempSuffix ends the name of every temporary file of the sink. Object
// names whose last part ends with it are refused, so a temporary file is
// never taken for an object and an object never for a temporary file.
const TempSuffix = ".ora2gcs.tmp"

// fsync makes a file's or a directory's contents durable. Tests replace it
// to inject failures.
var fsync = (*os.File).Sync

// createAttempts bounds how often Create re-creates a directory that a
// concurrent Remove or Clean pruned between mkdir and the temporary file.
const createAttempts = 20

// Sink writes objects below Root(). It is safe for concurrent use.
type Sink struct {
	root string // absolute {dir}/{bucket}
	// synced holds the directories below root whose entry in their parent
	// has been fsynced by this sink (and that it has not pruned since).
	synced sync.Map
}

// New returns a sink rooted at {dir}/{bucket}, creating that directory
// (durably: the parent of every directory it creates is fsynced).
// bucket must be a single path segment.
func New(dir, bucket string) (*Sink, error) {
	if dir == "" {
		return nil, errors.New("file: empty directory")
	}
	if bucket == "" || bucket == "." || bucket == ".." || strings.ContainsAny(bucket, `/\`) || strings.HasSuffix(bucket, TempSuffix) {
		return nil, fmt.Errorf("file: invalid bucket %q: want one path segment", bucket)
	}
	abs, err := filepath.Abs(filepath.Join(dir, bucket))
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	var missing []string // directories MkdirAll is about to create, deepest first
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		missing = append(missing, d)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("file: create root: %w", err)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := syncDir(filepath.Dir(missing[i])); err != nil {
			return nil, fmt.Errorf("file: create root: %w", err)
		}
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
	for _, seg := range strings.Split(name, "/") {
		if strings.HasSuffix(seg, TempSuffix) {
			return "", fmt.Errorf("file: object name %q: %q is reserved for the sink's temporary files", name, TempSuffix)
		}
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
	f, err := s.createTemp(final)
	if err != nil {
		return nil, fmt.Errorf("file: create %s: %w", name, err)
	}
	return &object{ctx: ctx, sink: s, name: name, final: final, f: f}, nil
}

// createTemp creates the temporary file of final in final's directory,
// making every directory on the way durable first.
func (s *Sink) createTemp(final string) (*os.File, error) {
	dir := filepath.Dir(final)
	pattern := "." + truncate(filepath.Base(final), 160) + ".*" + TempSuffix
	for attempt := 1; ; attempt++ {
		err := s.makeDir(dir)
		if err == nil {
			var f *os.File
			if f, err = os.CreateTemp(dir, pattern); err == nil {
				return f, nil
			}
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == createAttempts {
			return nil, err
		}
		s.forget(dir) // a directory on the way was pruned meanwhile: again
	}
}

// truncate shortens s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// makeDir creates dir (below root) and makes its entry, and the entry of
// every directory between it and root, durable.
func (s *Sink) makeDir(dir string) error {
	if _, ok := s.synced.Load(dir); ok {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var chain []string
	for d := dir; d != s.root && strings.HasPrefix(d, s.root+string(filepath.Separator)); d = filepath.Dir(d) {
		if _, ok := s.synced.Load(d); ok {
			break
		}
		chain = append(chain, d)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if err := syncDir(filepath.Dir(chain[i])); err != nil {
			return err
		}
		s.synced.Store(chain[i], struct{}{})
	}
	return nil
}

// forget drops dir and its ancestors below root from the synced set.
func (s *Sink) forget(dir string) {
	for d := dir; d != s.root && strings.HasPrefix(d, s.root+string(filepath.Separator)); d = filepath.Dir(d) {
		s.synced.Delete(d)
	}
}

// prune removes the empty directories from dir up to (not including) root.
func (s *Sink) prune(dir string) {
	for ; dir != s.root && strings.HasPrefix(dir, s.root+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
		s.synced.Delete(dir)
	}
}

// Remove deletes committed object name (pipeline.Remover); a missing
// object is not an error. Directories left empty (such as a job's
// _ranges/) are removed, never the bucket directory itself.
func (s *Sink) Remove(_ context.Context, name string) error {
	p, err := s.Path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("file: remove %s: %w", name, err)
	}
	s.prune(filepath.Dir(p))
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

// Commit fsyncs the temporary file, moves it to the final name without ever
// replacing an existing file, and fsyncs the directory. When it returns nil
// the object survives a crash; on any failure the temporary file is removed
// and nothing is visible under the name (unless it existed before).
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
		err = fsync(o.f)
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(o.f.Name())
		if o.err != nil { // already has its context
			return pipeline.ObjectInfo{}, err
		}
		return pipeline.ObjectInfo{}, fmt.Errorf("file: commit %s: %w", o.name, err)
	}
	if err := o.sink.publish(o.f.Name(), o.final); err != nil {
		return pipeline.ObjectInfo{}, fmt.Errorf("file: commit %s: %w", o.name, err)
	}
	return pipeline.ObjectInfo{Name: o.name, URI: o.sink.URI(o.name), Size: o.size, CRC32C: o.crc, CRC32CReported: true}, nil
}

// publish moves the synced temporary file tmp to final, refusing to
// replace an existing final, and makes the move durable. On failure tmp is
// removed, and so is final if it was moved there but could not be made
// durable.
func (s *Sink) publish(tmp, final string) error {
	if err := renameNoReplace(tmp, final); err != nil {
		_ = os.Remove(tmp)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w (the sink never replaces an object; use a new job version)", pipeline.ErrObjectExists)
		}
		return err
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		if rerr := os.Remove(final); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return fmt.Errorf("%w (removing the object that is not durable failed too: %v)", err, rerr)
		}
		return err
	}
	return nil
}

// linkNoReplace moves old to new with a hard link and an unlink: the link
// fails if new exists. A crash between the two leaves old as a second name
// of the complete file; being a temporary file, Clean removes it.
func linkNoReplace(old, new string) error {
	if err := os.Link(old, new); err != nil {
		return err
	}
	// The object is committed; a temporary name left by a failing unlink is
	// removed by Clean, so it is not this commit's failure.
	_ = os.Remove(old)
	return nil
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

// syncDir fsyncs directory dir, so that entries added to or removed from it
// survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	err = fsync(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Compose writes dst as the concatenation of the committed objects srcs
// (pipeline.Composer): a temporary file is filled, synced and then moved to
// dst like a Commit, so dst appears complete or not at all and an existing
// dst is never overwritten. The sources are left in place.
func (s *Sink) Compose(ctx context.Context, dst string, srcs []string) (info pipeline.ObjectInfo, err error) {
	final, err := s.Path(dst)
	if err != nil {
		return info, err
	}
	if len(srcs) == 0 {
		return info, fmt.Errorf("file: compose %s: no sources", dst)
	}
	f, err := s.createTemp(final)
	if err != nil {
		return info, fmt.Errorf("file: compose %s: %w", dst, err)
	}
	closed := false
	defer func() {
		if err != nil && !closed {
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
		err = fsync(f)
	}
	if err != nil {
		return info, fmt.Errorf("file: compose %s: %w", dst, err)
	}
	closed = true
	if err = f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return info, fmt.Errorf("file: compose %s: %w", dst, err)
	}
	if err = s.publish(f.Name(), final); err != nil {
		return info, fmt.Errorf("file: compose %s: %w", dst, err)
	}
	return pipeline.ObjectInfo{Name: dst, URI: s.URI(dst), Size: size, CRC32C: h.Sum32(), CRC32CReported: true}, nil
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
