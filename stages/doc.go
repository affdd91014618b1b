// Package stages holds the standard stages of a pipeline.Pipeline:
//
//   - NDJSON (Encoder): the type-exact, append-based row encoder. Every value
//     is written as the ColumnType contract of package pipeline says: decimals
//     as their exact digits, dates and timestamps as wall clocks or RFC 3339
//     with their own offset, bytes as base64, NaN and infinities as strings,
//     and strings escaped so that any input (control characters, U+2028,
//     invalid UTF-8) gives valid JSON on exactly one line.
//   - LineDeflate (Pipeline.Blocks): each encode worker compresses its own
//     pieces into raw DEFLATE segments that the pipeline frames as a single
//     gzip member, without searching for matches: each NDJSON line is
//     compared with the previous one, shared runs (the keys, unchanged
//     values) become back-references and changed values literals, written
//     as dynamic-Huffman blocks by package compression/lines (whose doc
//     explains the format decisions). The CLI's default at gzip level
//     1: on the VBRP reference rows about a third less CPU than flate level 1
//     and 14% smaller objects (see docs/PERFORMANCE.md). It is a level 1
//     compressor only: any other GzipLevel is an error. LineSegments is the
//     same for pipeline.RangeRun.
//   - GzipBlocks (Pipeline.Blocks): the same framing with
//     github.com/klauspost/compress/flate at any gzip level.
//   - Verified wraps a block compressor so that each segment is inflated
//     again (compress/flate) and compared with its input; BlockSegments
//     turns a block compressor into a pipeline.RangeRun segment writer.
//   - Gzip (Pipeline.Compressor): a parallel github.com/klauspost/pgzip
//     compressor after the encoders, also writing a single gzip member, so
//     every gzip reader sees the whole object.
//   - Deflate: raw DEFLATE segments for pipeline.RangeRun.
//   - CRC32C helpers formatting checksums as GCS shows them.
//
// A program normally does not pick these one by one: package compression
// chooses one Codec from a compressor name, level and verification and
// derives the compression of single objects, parts and range segments from
// it. Used directly:
//
//	p := &pipeline.Pipeline{
//		Source: src, Sink: sink, Name: "TRP-001/v001/VBRP.jsonl.gz",
//		Encoder: stages.NDJSON(stages.NDJSONOptions{}),
//		Blocks:  stages.LineDeflate(), // or stages.GzipBlocks(), or Compressor: stages.Gzip()
//	}
//	stats, err := p.Run(ctx)
package stages
