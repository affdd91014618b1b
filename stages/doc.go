// Package stages holds the standard stages of a pipeline.Pipeline:
//
//   - NDJSON (Encoder): the type-exact, append-based row encoder. Every value
//     is written as the ColumnType contract of package pipeline says: decimals
//     as their exact digits, dates and timestamps as wall clocks or RFC 3339
//     with their own offset, bytes as base64, NaN and infinities as strings,
//     and strings escaped so that any input (control characters, U+2028,
//     invalid UTF-8) gives valid JSON on exactly one line.
//   - BigQueryType / DuckDBType: the column types the encoder's JSON forms
//     load as (the schema file of each table, DuckDB's read_json).
//   - CRC32C helpers formatting checksums as GCS shows them.
//
// Compression is not a stage here: package compression holds the one Codec
// (the line compressor, flate, pgzip, gzip framing, verification) that a
// Pipeline takes. Used directly:
//
//	p := &pipeline.Pipeline{
//		Source: src, Sink: sink, Name: "TRP-001/v001/VBRP.jsonl.gz",
//		Encoder: stages.NDJSON(stages.NDJSONOptions{}),
//		Codec:   compression.Default(),
//	}
//	stats, err := p.Run(ctx)
package stages
