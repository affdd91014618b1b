package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/internal/objname"
)

// prefixDir is the directory of prefix: "" (the root) or a valid name
// followed by "/".
func (s *Sink) prefixDir(prefix string) (string, error) {
	if prefix == "" {
		return s.root, nil
	}
	if !strings.HasSuffix(prefix, "/") {
		return "", fmt.Errorf("file: prefix %q must be empty or end in '/'", prefix)
	}
	return s.Path(strings.TrimSuffix(prefix, "/"))
}

// List returns the objects and directories directly below prefix
// (pipeline.Lister): "prefix/x" for an object, "prefix/d/" for a
// directory. A directory is listed even when it holds no object yet (only
// temporary files of a write in progress). Temporary files are never
// listed; a missing prefix lists nothing.
func (s *Sink) List(ctx context.Context, prefix string) ([]string, error) {
	dir, err := s.prefixDir(prefix)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("file: list %s: %w", prefix, err)
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("file: list %s: %w", prefix, err)
	}
	var out []string
	for _, e := range entries {
		name := prefix + e.Name()
		if strings.HasSuffix(e.Name(), TempSuffix) || objname.Validate(name) != nil {
			continue // not an object of this sink
		}
		switch {
		case e.IsDir():
			out = append(out, name+"/")
		case e.Type().IsRegular():
			out = append(out, name)
		}
	}
	return out, nil
}

// Check reports whether the root directory exists and a file can be created
// in it (pipeline.Checker).
func (s *Sink) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("file: check %s: %w", s.root, err)
	}
	f, err := os.CreateTemp(s.root, ".check.*"+TempSuffix)
	if err != nil {
		return fmt.Errorf("file: target %s is not writable: %w", s.root, err)
	}
	err = f.Close()
	if rerr := os.Remove(f.Name()); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("file: target %s is not writable: %w", s.root, err)
	}
	return nil
}

// legacyTemp matches the temporary files of earlier versions of the sink
// ("{name}.{random digits}.tmp"), which Clean removes too.
var legacyTemp = regexp.MustCompile(`.\.[0-9]+\.tmp$`)

// Clean removes the temporary files below prefix (also those named like
// the sink's earlier versions named them) and then every directory
// there that is left empty, up to (not including) the root
// (pipeline.Cleaner). Committed objects are never touched. Only call it for
// a prefix that no live writer uses: it removes temporary files in use too.
func (s *Sink) Clean(ctx context.Context, prefix string) (int, error) {
	dir, err := s.prefixDir(prefix)
	if err != nil {
		return 0, err
	}
	var dirs []string
	n := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		if d.Type().IsRegular() && (strings.HasSuffix(d.Name(), TempSuffix) || legacyTemp.MatchString(d.Name())) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("file: clean %s: %w", prefix, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- { // children before parents
		if dirs[i] != s.root && os.Remove(dirs[i]) == nil {
			s.synced.Delete(dirs[i])
		}
	}
	if dir != s.root {
		s.prune(filepath.Dir(dir))
	}
	return n, nil
}

var (
	_ pipeline.Lister  = (*Sink)(nil)
	_ pipeline.Checker = (*Sink)(nil)
	_ pipeline.Cleaner = (*Sink)(nil)
)
