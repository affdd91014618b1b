package pipeline

import (
	"io"
)

// Codec is the one compression contract of the engine: one value, chosen
// once, from which whole objects (Pipeline), their parts (Config.PartBytes)
// and range segments (RangeRun, SegmentWrite, ComposeSegments) are all
// compressed and framed, so they can never disagree on the compressor, its
// level or verification. Package compression implements it (compression.New
// validates a name, a level and verification once and returns a Codec);
// the pipeline knows no compressor and no gzip byte.
//
// A Codec compresses either in the encode workers (BlockMode: each worker
// compresses its pieces with NewBlockCompressor into segments that the
// writer frames with Header and Trailer) or after them (NewWriter wraps the
// object and writes a whole member). Range segments are written by
// NewSegmentWriter and framed by ComposeSegments with the same Framing. Its
// methods are called from several goroutines at once.
type Codec interface {
	// BlockMode reports whether the encode workers compress
	// (NewBlockCompressor) rather than the writer (NewWriter).
	BlockMode() bool
	// NewBlockCompressor makes the compressor of one encode worker.
	NewBlockCompressor(cfg Config) (BlockCompressor, error)
	// NewWriter wraps w in a compressor writing one whole framed member
	// (header, data, trailer). Close flushes everything to w and does not
	// close w.
	NewWriter(w io.Writer, cfg Config) (io.WriteCloser, error)
	// NewSegmentWriter wraps w in a compressor writing one raw segment that
	// Framing closes together with other segments (a DEFLATE stream ending
	// byte-aligned and never final). Close flushes and does not close w.
	NewSegmentWriter(w io.Writer, cfg Config) (io.WriteCloser, error)
	Framing
}

// Framing turns segments into one member: Header, the segments in order,
// then Trailer with the checksum of the uncompressed data (Sum of each
// piece, combined in order with CombineSums) and its size. For gzip the
// checksum is the CRC-32 (IEEE) and the trailer starts with the final empty
// block that ends the DEFLATE stream.
type Framing interface {
	Header() []byte
	Trailer(sum uint32, size int64) []byte
	// Sum is the checksum of p alone.
	Sum(p []byte) uint32
	// CombineSums is the checksum of A‖B from sum1 = Sum(A), sum2 = Sum(B)
	// and len2 = len(B).
	CombineSums(sum1, sum2 uint32, len2 int64) uint32
}

// BlockCompressor compresses one piece of a member's data into a raw
// segment appended to dst: for gzip a DEFLATE segment that starts a fresh
// block without any dictionary, ends byte aligned with a sync flush (an
// empty stored block) and is never final, so segments concatenated in
// order, framed by the Codec's Header and Trailer, are one member. One
// BlockCompressor is made per encode worker and used by that worker only.
type BlockCompressor interface {
	AppendBlock(dst, src []byte) ([]byte, error)
}
