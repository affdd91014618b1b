// Package bucketname holds the one check of a Cloud Storage bucket name that
// every layer uses (configuration, the transport API, the jobs domain and
// the GCS sink), so a name accepted in one place is accepted in all.
//
// The rules are Cloud Storage's documented ones
// (https://cloud.google.com/storage/docs/buckets#naming):
//
//   - only lowercase letters, digits, '-', '_' and '.';
//   - starts and ends with a letter or digit;
//   - 3 to 63 characters; a name with dots may have up to 222 characters,
//     each dot-separated part 1 to 63 characters;
//   - not an IP address in dotted-decimal notation (four all-digit parts);
//   - does not begin with "goog" and does not contain "google" or a close
//     misspelling ("g00gle").
package bucketname

import (
	"errors"
	"strings"
)

// Validate reports why name is not a valid bucket name, or nil. The error
// states the rule broken and does not repeat the name: callers add it with
// their own context (a field, a flag, a config key).
func Validate(name string) error {
	n := len(name)
	if n == 0 {
		return errors.New("is empty")
	}
	for i := 0; i < n; i++ {
		if c := name[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return errors.New("may contain only lowercase letters, digits, '-', '_' and '.'")
		}
	}
	dotted := strings.Contains(name, ".")
	if n < 3 || n > 222 || (!dotted && n > 63) {
		return errors.New("must be 3 to 63 characters long (up to 222 when it contains dots)")
	}
	if !alnum(name[0]) || !alnum(name[n-1]) {
		return errors.New("must start and end with a letter or digit")
	}
	parts := strings.Split(name, ".")
	digitsOnly := 0
	for _, p := range parts {
		if p == "" || len(p) > 63 {
			return errors.New("each dot-separated part must be 1 to 63 characters long")
		}
		if strings.Trim(p, "0123456789") == "" {
			digitsOnly++
		}
	}
	if len(parts) == 4 && digitsOnly == 4 {
		return errors.New("must not be an IP address")
	}
	if strings.HasPrefix(name, "goog") {
		return errors.New(`must not start with "goog"`)
	}
	if strings.Contains(name, "google") || strings.Contains(name, "g00gle") {
		return errors.New(`must not contain "google" or a misspelling of it`)
	}
	return nil
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
