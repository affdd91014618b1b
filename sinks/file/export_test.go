package file

import "os"

// SetFsync replaces the fsync function until the returned restore is called.
func SetFsync(f func(*os.File) error) (restore func()) {
	old := fsync
	fsync = f
	return func() { fsync = old }
}

// LinkNoReplace is the move used where renameat2 is missing.
var LinkNoReplace = linkNoReplace
