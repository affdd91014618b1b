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
// Verify inflates every segment again and compares it with its input
// (stages.Verified); it applies to "lines" and "blocks" and is an error with
// "pgzip". New is the only place the name, the level and their combination
// are validated; the configuration calls it (Check) so a mismatch is an error
// at configuration time.
//
// Use the Codec's three views: Blocks for pipeline.Pipeline.Blocks (nil for
// pgzip), Stream for pipeline.Pipeline.Compressor (nil unless pgzip), or
// Apply to set both; Segments for pipeline.RangeRun and
// pipeline.SegmentWrite. Each view compresses at the Codec's level whatever
// pipeline.Config.GzipLevel says; callers that also carry a
// pipeline.Config check the two agree (SameLevel).
package compression
