package distributed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"cloud.google.com/go/storage"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
)

// ErrNotFound is matched (errors.Is) by Store.Read of an object that does
// not exist.
var ErrNotFound = errors.New("object not found")

// Store is the bucket a distributed job works in: a sink that composes,
// removes, lists and reads objects.
type Store interface {
	pipeline.Sink
	pipeline.Composer
	pipeline.Remover
	pipeline.Lister
	// Read returns the bytes of committed object name (at most maxRead);
	// a missing object gives an error matching ErrNotFound.
	Read(ctx context.Context, name string) ([]byte, error)
	// URI is the gs:// or file:// URI of object name.
	URI(name string) string
}

// maxRead bounds what Read loads: plans and records are small documents.
const maxRead = 64 << 20

// NewStore adapts the file and GCS sinks.
func NewStore(s pipeline.Sink) (Store, error) {
	switch x := s.(type) {
	case *file.Sink:
		return fileStore{x}, nil
	case *gcs.Sink:
		return gcsStore{x}, nil
	case Store:
		return x, nil
	}
	return nil, fmt.Errorf("distributed: the target %T cannot hold a distributed job (use file:// or gcs)", s)
}

type fileStore struct{ *file.Sink }

func (f fileStore) Read(_ context.Context, name string) ([]byte, error) {
	r, err := f.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", f.URI(name), ErrNotFound)
		}
		return nil, err
	}
	defer r.Close()
	return readAll(r, f.URI(name))
}

// Clean removes temporary files of writers that died (pipeline.Cleaner).
func (f fileStore) Clean(ctx context.Context, prefix string) (int, error) {
	return f.Sink.Clean(ctx, prefix)
}

type gcsStore struct{ *gcs.Sink }

func (g gcsStore) Read(ctx context.Context, name string) ([]byte, error) {
	r, err := g.Open(ctx, name)
	if err != nil {
		if errors.Is(err, storage.ErrObjectNotExist) {
			return nil, fmt.Errorf("%s: %w", g.URI(name), ErrNotFound)
		}
		return nil, err
	}
	defer r.Close()
	return readAll(r, g.URI(name))
}

func readAll(r io.Reader, uri string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxRead+1))
	if err != nil {
		return nil, fmt.Errorf("distributed: read %s: %w", uri, err)
	}
	if len(b) > maxRead {
		return nil, fmt.Errorf("distributed: %s is larger than %d bytes", uri, maxRead)
	}
	return b, nil
}

// writeOnce commits b as object name; an existing object gives an error
// matching pipeline.ErrObjectExists (the sinks never replace one).
func writeOnce(ctx context.Context, s pipeline.Sink, name string, b []byte) (pipeline.ObjectInfo, error) {
	obj, err := s.Create(ctx, name)
	if err != nil {
		return pipeline.ObjectInfo{}, fmt.Errorf("create %s: %w", name, err)
	}
	if _, err := obj.Write(b); err != nil {
		_ = obj.Abort()
		return pipeline.ObjectInfo{}, fmt.Errorf("write %s: %w", name, err)
	}
	info, err := obj.Commit()
	if err != nil {
		return pipeline.ObjectInfo{}, fmt.Errorf("commit %s: %w", name, err)
	}
	return info, nil
}

// isExists says whether err is a refused overwrite of either sink.
func isExists(err error) bool {
	return errors.Is(err, pipeline.ErrObjectExists) || errors.Is(err, fs.ErrExist)
}

// listAll returns every committed object below prefix (recursively), sorted.
func listAll(ctx context.Context, l pipeline.Lister, prefix string) ([]string, error) {
	var out []string
	todo := []string{prefix}
	for len(todo) > 0 {
		p := todo[0]
		todo = todo[1:]
		names, err := l.List(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if strings.HasSuffix(n, "/") {
				todo = append(todo, n)
			} else {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// base is the last element of an object name.
func base(name string) string { return path.Base(name) }
