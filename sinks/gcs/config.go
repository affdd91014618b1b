package gcs

import (
	"fmt"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/bucketname"
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
	if err := bucketname.Validate(c.Bucket); err != nil {
		return fmt.Errorf("gcs: bucket name %q %v", c.Bucket, err)
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
