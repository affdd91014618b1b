package gcs

import (
	"fmt"
	"time"

	"google.golang.org/api/googleapi"

	"github.com/ora2gcs/ora2gcs/internal/bucketname"
)

// Defaults applied by Config.withDefaults for zero fields.
const (
	DefaultChunkSize   = 16 << 20
	DefaultMaxAttempts = 3
	DefaultBackoff     = time.Second
	DefaultContentType = "application/x-ndjson"
	// MinChunkSize is the granularity of resumable uploads: every chunk but
	// the last is a multiple of it, and the client rounds Writer.ChunkSize
	// up to one (googleapi.MinUploadChunkSize).
	MinChunkSize = googleapi.MinUploadChunkSize
)

// CheckChunkSize is the rule of Config.ChunkSize: 0 (DefaultChunkSize) or
// a positive multiple of MinChunkSize (256 KiB); "" or the problem. The
// client would round any other size up to such a multiple, so a size it
// accepts is the chunk uploaded and the memory each open object holds.
// Package config's gcs.chunk_size is checked with it.
func CheckChunkSize(n int) string {
	if n < 0 || n%MinChunkSize != 0 {
		return fmt.Sprintf("%d is not a non-negative multiple of %d (256 KiB)", n, MinChunkSize)
	}
	return ""
}

// Config configures a Sink. Zero fields take the defaults above.
type Config struct {
	// Bucket is the existing bucket objects are written to.
	Bucket string
	// ChunkSize is the resumable upload chunk size in bytes: a multiple of
	// 256 KiB (CheckChunkSize); default 16 MiB. Each open object holds one
	// chunk in memory. A chunk is the unit the client retries.
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
	if err := bucketname.Validate(c.Bucket); err != nil {
		return fmt.Errorf("gcs: bucket name %q %v", c.Bucket, err)
	}
	if p := CheckChunkSize(c.ChunkSize); p != "" {
		return fmt.Errorf("gcs: chunk size %s", p)
	}
	switch {
	case c.MaxAttempts < 0:
		return fmt.Errorf("gcs: max attempts %d is negative", c.MaxAttempts)
	case c.Backoff < 0:
		return fmt.Errorf("gcs: backoff %s is negative", c.Backoff)
	}
	return nil
}
