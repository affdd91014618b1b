package gcs

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Defaults applied by Config.withDefaults for zero fields.
const (
	DefaultChunkSize   = 16 << 20
	DefaultMaxAttempts = 3
	DefaultBackoff     = time.Second
	DefaultContentType = "application/x-ndjson"
	// MinChunkSize is the granularity of resumable uploads; the client rounds
	// ChunkSize up to a multiple of it.
	MinChunkSize = 256 << 10
)

// Config configures a Sink. Zero fields take the defaults above.
type Config struct {
	// Bucket is the existing bucket objects are written to.
	Bucket string
	// ChunkSize is the resumable upload chunk size in bytes (default 16 MiB,
	// rounded up to a multiple of 256 KiB by the client). Each open object
	// holds one chunk in memory. A chunk is the unit the client retries.
	ChunkSize int
	// MaxAttempts bounds the attempts per request, i.e. for the request that
	// starts the upload and for each chunk (default 3, spec NFR-02.2).
	MaxAttempts int
	// Backoff is the initial pause between attempts; it doubles up to 32×.
	Backoff time.Duration
	// ContentType of the objects (default application/x-ndjson). The
	// ContentEncoding is never set: the object is a .gz file, not a
	// transfer-encoded NDJSON file.
	ContentType string
}

func (c Config) withDefaults() Config {
	if c.ChunkSize == 0 {
		c.ChunkSize = DefaultChunkSize
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.ContentType == "" {
		c.ContentType = DefaultContentType
	}
	return c
}

// Validate reports the first invalid field. Zero fields are valid (defaults).
func (c Config) Validate() error {
	if err := ValidBucketName(c.Bucket); err != nil {
		return err
	}
	switch {
	case c.ChunkSize < 0:
		return fmt.Errorf("gcs: chunk size %d is negative", c.ChunkSize)
	case c.ChunkSize > 0 && c.ChunkSize < MinChunkSize:
		return fmt.Errorf("gcs: chunk size %d is below the minimum of %d bytes", c.ChunkSize, MinChunkSize)
	case c.MaxAttempts < 0:
		return fmt.Errorf("gcs: max attempts %d is negative", c.MaxAttempts)
	case c.Backoff < 0:
		return fmt.Errorf("gcs: backoff %s is negative", c.Backoff)
	}
	return nil
}

// ValidBucketName checks name against the GCS bucket naming rules: 3–63
// characters (up to 222 if it contains dots, each dot-separated part at most
// 63); only lowercase letters, digits, '-', '_' and '.'; starting and ending
// with a letter or digit; not an IP address; not starting with "goog" and
// not containing "google" or close misspellings ("g00gle").
func ValidBucketName(name string) error {
	bad := func(why string) error { return fmt.Errorf("gcs: invalid bucket name %q: %s", name, why) }
	if name == "" {
		return errors.New("gcs: empty bucket name")
	}
	max := 63
	if strings.Contains(name, ".") {
		max = 222
	}
	if len(name) < 3 || len(name) > max {
		return bad(fmt.Sprintf("want 3 to %d characters", max))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return bad("only lowercase letters, digits, '-', '_' and '.' are allowed")
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return bad("must start and end with a letter or digit")
	}
	for _, part := range strings.Split(name, ".") {
		if part == "" {
			return bad("empty dot-separated part")
		}
		if len(part) > 63 {
			return bad("dot-separated part longer than 63 characters")
		}
	}
	if net.ParseIP(name) != nil {
		return bad("must not be an IP address")
	}
	if strings.HasPrefix(name, "goog") {
		return bad(`must not start with "goog"`)
	}
	if strings.Contains(name, "google") || strings.Contains(name, "g00gle") {
		return bad(`must not contain "google"`)
	}
	return nil
}

func isAlnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
