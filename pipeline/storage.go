package pipeline

import (
	"context"
	"errors"
)

// ErrObjectExists is matched (errors.Is) by the error of a Commit or Compose
// refused because an object of that name exists already. No sink ever
// replaces an object: a name, once committed, keeps its bytes.
var ErrObjectExists = errors.New("object already exists")

// Lister is implemented by sinks that can list what is stored.
type Lister interface {
	// List returns, in no particular order, what lies directly below
	// prefix (which is "" or ends in "/"): the name of each committed
	// object "prefix/x", and "prefix/d/" once for each deeper level
	// "prefix/d/…" (a GCS listing with delimiter "/"). Temporary data of
	// unfinished writes is never listed as an object.
	List(ctx context.Context, prefix string) ([]string, error)
}

// Checker is implemented by sinks that can check, before a job starts, that
// the storage is reachable and (as far as the storage lets a client know
// without writing an object) writable.
type Checker interface {
	Check(ctx context.Context) error
}

// Cleaner is implemented by sinks whose unfinished writes can leave
// temporary data behind when a process dies (the file sink's temporary
// files). Clean removes such data below prefix ("" or ending in "/") and the
// directories left empty there; committed objects are never touched. Only
// call it for a prefix no live writer uses (the version folder of a job
// that was interrupted). It returns how many temporary items it removed.
type Cleaner interface {
	Clean(ctx context.Context, prefix string) (int, error)
}
