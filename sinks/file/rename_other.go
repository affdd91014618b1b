//go:build !linux

package file

// renameNoReplace moves old to new, failing (fs.ErrExist) if new exists.
func renameNoReplace(old, new string) error { return linkNoReplace(old, new) }
