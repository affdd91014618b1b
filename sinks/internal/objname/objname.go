// Package objname validates object names shared by the sinks.
//
// A valid name is a relative, slash-separated path such as
// "TRP-20260118-001/v001/VBRP.jsonl.gz": valid UTF-8, at most 1024 bytes
// (the GCS limit), no leading slash, no empty, "." or ".." segments, no
// backslashes and no control characters. The same rules hold for every sink,
// so a name accepted by the file sink is accepted by the GCS sink and maps to
// the same place in both.
package objname

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest name in bytes (GCS allows 1024 bytes of UTF-8).
const MaxLen = 1024

// Validate reports why name is not a valid object name, or nil.
func Validate(name string) error {
	switch {
	case name == "":
		return errors.New("empty object name")
	case len(name) > MaxLen:
		return fmt.Errorf("object name longer than %d bytes", MaxLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("object name %q is not valid UTF-8", name)
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("object name %q is absolute", name)
	case strings.Contains(name, `\`):
		return fmt.Errorf("object name %q contains a backslash", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("object name %q contains a control character", name)
		}
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return fmt.Errorf("object name %q has an empty segment", name)
		case ".", "..":
			return fmt.Errorf("object name %q has a %q segment", name, seg)
		}
	}
	return nil
}
