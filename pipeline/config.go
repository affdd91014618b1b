package pipeline

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Config holds every knob of the engine. The zero value of a field means its
// default; Validate reports out-of-range values; WithDefaults fills them in.
type Config struct {
	// FetchArraySize is the rows per database round trip (spec FR-02.1). Default 1000.
	FetchArraySize int `json:"fetch_array_size" yaml:"fetch_array_size"`
	// ChunkRows is the rows per Batch (spec FR-02.3). Default 10,000.
	ChunkRows int `json:"chunk_size" yaml:"chunk_size"`
	// EncodeWorkers is the number of parallel NDJSON encoders. Default GOMAXPROCS.
	EncodeWorkers int `json:"encode_workers" yaml:"encode_workers"`
	// GzipBlockSize is the uncompressed bytes pgzip compresses per block
	// (the pgzip codec only: Codec.NewWriter). Default 1 MiB.
	GzipBlockSize int `json:"gzip_block_size" yaml:"gzip_block_size"`
	// GzipBlocks is how many blocks pgzip compresses (or holds) at once; it is
	// also the buffer that lets compression run ahead of a blocked upload.
	// Default 2×GOMAXPROCS+2. pgzip only, like GzipBlockSize.
	GzipBlocks int `json:"gzip_blocks" yaml:"gzip_blocks"`
	// BatchQueue is how many batches wait for each encode worker besides the
	// one it encodes. Default 0: the reader hands a batch over and reads the
	// next one while the workers encode, so at most EncodeWorkers+1 batches of
	// rows exist (a 10,000-row VBRP batch is ≈45 MB of row values).
	BatchQueue int `json:"batch_queue" yaml:"batch_queue"`
	// EncodedQueue is how many encoded pieces (≈PieceBytes each) wait per
	// encode worker for the writer. Default 8. In the Codec's BlockMode a piece
	// is ≈PieceBytes of compressed segments (several raw pieces); a
	// 10,000-row VBRP batch is ≈ 8 of them, so a worker can finish its batch
	// while the writer still takes the other worker's (with 4 the workers
	// waited on each other: CPU utilisation 95% instead of 98%).
	EncodedQueue int `json:"encoded_queue" yaml:"encoded_queue"`
	// PieceBytes is the size at which an encode worker hands NDJSON to the
	// writer, so encoded memory does not grow with the batch. Default 1 MiB.
	// In the Codec's BlockMode each raw piece of this size is one
	// segment, compressed without the previous one as dictionary.
	PieceBytes int `json:"piece_bytes" yaml:"piece_bytes"`
	// PartBytes, if set, splits a table's output into parts of about this
	// many compressed bytes at batch boundaries: {TABLE}.part-00001.jsonl.gz,
	// … each a complete gzip file. BigQuery loads gzip files of at most 4 GB,
	// so tables larger than that compressed need it. 0 writes one object.
	PartBytes int64 `json:"part_bytes" yaml:"part_bytes"`
	// Retry is the policy for retrying a whole table after a transient error.
	Retry Retry `json:"retry" yaml:"retry"`
}

// Retry is the policy for transient failures (spec NFR-02.2): at most
// Attempts tries, sleeping Backoff, 2×Backoff, 4×Backoff… in between.
type Retry struct {
	Attempts int           `json:"attempts" yaml:"attempts"` // default 3
	Backoff  time.Duration `json:"backoff" yaml:"backoff"`   // default 1s
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config { return Config{}.WithDefaults() }

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	procs := runtime.GOMAXPROCS(0)
	if c.FetchArraySize == 0 {
		c.FetchArraySize = 1000
	}
	if c.ChunkRows == 0 {
		c.ChunkRows = 10000
	}
	if c.EncodeWorkers == 0 {
		c.EncodeWorkers = procs
	}
	if c.GzipBlockSize == 0 {
		c.GzipBlockSize = 1 << 20
	}
	if c.GzipBlocks == 0 {
		c.GzipBlocks = 2*procs + 2
	}
	if c.EncodedQueue == 0 {
		c.EncodedQueue = 8
	}
	if c.PieceBytes == 0 {
		c.PieceBytes = 1 << 20
	}
	if c.Retry.Attempts == 0 {
		c.Retry.Attempts = 3
	}
	if c.Retry.Backoff == 0 {
		c.Retry.Backoff = time.Second
	}
	return c
}

// Limits of the Config fields that a configuration also sets (package
// config's knobs): Validate and those knobs check them with the Check
// functions below, the one statement of each rule.
const (
	MaxFetchArraySize = 100000
	MaxChunkRows      = 1000000
	MaxEncodeWorkers  = 256
	MinPartBytes      = 1 << 20
	MaxPartBytes      = 5 << 40
	MaxRetryAttempts  = 20
	MaxRetryBackoff   = 10 * time.Minute
)

// CheckFetchArraySize is the rule of FetchArraySize (and of
// ReadOptions.FetchArraySize): "" or the problem, e.g.
// "0 is out of range 1..100000". Validate takes 0 as the default.
func CheckFetchArraySize(n int) string { return intRange(n, 1, MaxFetchArraySize) }

// CheckChunkRows is the rule of ChunkRows (Validate takes 0 as the default).
func CheckChunkRows(n int) string { return intRange(n, 1, MaxChunkRows) }

// CheckEncodeWorkers is the rule of EncodeWorkers; 0 is one per CPU.
func CheckEncodeWorkers(n int) string { return intRange(n, 0, MaxEncodeWorkers) }

// CheckPartBytes is the rule of PartBytes: 0 (one object) or
// MinPartBytes..MaxPartBytes.
func CheckPartBytes(n int64) string {
	if n != 0 && (n < MinPartBytes || n > MaxPartBytes) {
		return fmt.Sprintf("%d is out of range (0, or 1 MiB … 5 TiB)", n)
	}
	return ""
}

// CheckRetryAttempts is the rule of Retry.Attempts (Validate takes 0 as
// the default).
func CheckRetryAttempts(n int) string { return intRange(n, 1, MaxRetryAttempts) }

// CheckRetryBackoff is the rule of Retry.Backoff: more than 0, at most
// MaxRetryBackoff. Validate takes 0 as the default (1s), so a configuration
// that means "no pause" by 0 is told so instead of getting 1s.
func CheckRetryBackoff(d time.Duration) string {
	if d <= 0 || d > MaxRetryBackoff {
		return fmt.Sprintf("%s is out of range %s..%s", d, time.Duration(1), MaxRetryBackoff)
	}
	return ""
}

func intRange(v, lo, hi int) string {
	if v < lo || v > hi {
		return fmt.Sprintf("%d is out of range %d..%d", v, lo, hi)
	}
	return ""
}

// Validate reports every field out of range, naming its config key. A
// zero field is valid: WithDefaults gives it its default.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, key string, v any, want string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %v is out of range (%s)", key, v, want))
		}
	}
	rule := func(key, problem string) {
		if problem != "" {
			errs = append(errs, fmt.Errorf("%s: %s", key, problem))
		}
	}
	if c.FetchArraySize != 0 {
		rule("fetch_array_size", CheckFetchArraySize(c.FetchArraySize))
	}
	if c.ChunkRows != 0 {
		rule("chunk_size", CheckChunkRows(c.ChunkRows))
	}
	rule("encode_workers", CheckEncodeWorkers(c.EncodeWorkers))
	check(c.GzipBlockSize == 0 || (c.GzipBlockSize >= 64<<10 && c.GzipBlockSize <= 64<<20), "gzip_block_size", c.GzipBlockSize, "64KiB..64MiB")
	check(c.GzipBlocks >= 0 && c.GzipBlocks <= 1024, "gzip_blocks", c.GzipBlocks, "1..1024")
	check(c.BatchQueue >= 0 && c.BatchQueue <= 4096, "batch_queue", c.BatchQueue, "0..4096")
	check(c.EncodedQueue >= 0 && c.EncodedQueue <= 4096, "encoded_queue", c.EncodedQueue, "1..4096")
	check(c.PieceBytes >= 0 && c.PieceBytes <= 256<<20, "piece_bytes", c.PieceBytes, "4KiB..256MiB")
	rule("part_bytes", CheckPartBytes(c.PartBytes))
	if c.Retry.Attempts != 0 {
		rule("retry_attempts", CheckRetryAttempts(c.Retry.Attempts))
	}
	if c.Retry.Backoff != 0 {
		rule("retry_backoff", CheckRetryBackoff(c.Retry.Backoff))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pipeline: invalid config: %w", err)
	}
	return nil
}

// InFlight is the most batches of rows that exist at once in one pipeline:
// each worker's current and queued batches plus the one the reader holds.
// Memory is O(InFlight × ChunkRows × row size + EncodeWorkers × EncodedQueue ×
// PieceBytes + GzipBlocks × GzipBlockSize), never O(table).
func (c Config) InFlight() int { return c.EncodeWorkers*(c.BatchQueue+1) + 1 }
