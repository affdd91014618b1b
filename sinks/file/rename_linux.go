package file

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// renameNoReplace moves old to new atomically with renameat2(2)
// RENAME_NOREPLACE, which fails with EEXIST (matching fs.ErrExist) if new
// exists. File systems without it (EINVAL) get linkNoReplace.
func renameNoReplace(old, new string) error {
	err := unix.Renameat2(unix.AT_FDCWD, old, unix.AT_FDCWD, new, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
		return linkNoReplace(old, new)
	}
	return &os.LinkError{Op: "renameat2", Old: old, New: new, Err: err}
}
