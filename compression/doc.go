// Package compression is the one compression contract of ora2gcs: a Codec,
// chosen once from the configuration (New), from which the compression of
// single objects, of parts and of range segments are all derived, so they
// can never disagree on the compressor, the gzip level or verification.
//
// A Spec names the compressor and its gzip level:
//
//   - "lines": the line compressor (package compression/lines) in the encode
//     workers; it is a gzip level 1 compressor only, and any other level is
//     an error here, never silently changed.
//   - "blocks": github.com/klauspost/compress/flate in the encode workers,
//     at any level (1..9, -2 Huffman only).
//   - "pgzip": github.com/klauspost/pgzip after the encoders; range segments
//     are flate at the same level.
//   - "auto" (or empty): "lines" at level 1, else "blocks".
//
// Verify inflates every segment again, with the standard library's
// compress/flate, and compares it with its input; it applies to "lines" and
// "blocks" and is an error with "pgzip". New is the only place the name,
// the level and their combination are validated (the level lives in the
// Codec alone: pipeline.Config has none); the configuration calls it
// (Check) so a mismatch is an error at configuration time.
//
// A Codec is the pipeline.Codec every Pipeline, RangeRun, SegmentWrite and
// ComposeSegments of ora2gcs takes: its BlockMode and NewBlockCompressor
// for the encode workers (lines, blocks), NewWriter for a whole member
// (pgzip after the encoders), NewSegmentWriter for range and shard
// segments, and the gzip Framing (GzipHeader, GzipTrailer, the CRC-32 and
// its combination) that turns segments into one member. Default is the
// CLI's default, lines at level 1.
package compression
