// Package sourcetest is the conformance suite every pipeline.Connector
// passes (synth, PostgreSQL, Oracle), as sinks/sinktest is for sinks.
//
// A source's test calls Run with a Harness: a small fixture that makes
// tables in the source's own terms and, where the source has snapshots of
// changing data, replaces their rows:
//
//	sourcetest.Run(t, sourcetest.Harness{
//		Types:   []pipeline.ColumnType{pipeline.TypeString, pipeline.TypeDecimal, …},
//		Create:  func(t *testing.T, tab sourcetest.Table) (pipeline.Connector, string) { … },
//		Replace: func(t *testing.T, name string, rows [][]any) { … },
//	})
//
// A table has an ID column (TypeDecimal, precision 18, scale 0, values
// "1".."n") first and the suite's columns after it, in logical types; the
// fixture maps each to the source's type (PostgreSQL numeric(38,10),
// Oracle NUMBER(38,10)…) and inserts the rows with the canonical Go values
// documented at Table. A source that cannot create tables of given columns
// (synth, whose tables are fixed) sets Rows instead of Create: the cases
// that need given columns or values (types, NULLs) then do not apply, and
// the suite logs that they were not run.
//
// The suite checks, reading every table through Describe and Open as a job
// does and comparing what the NDJSON encoder writes (values compared by
// meaning: decimals as exact rationals, timestamps as instants):
//
//   - Types: every value of every supported type reads back as the value
//     inserted (edge values: 38-digit decimals, int64 limits, denormal and
//     non-finite floats, Korean text, control characters, bytes 0..255,
//     microseconds, offsets), and Describe reports the column's type;
//   - Nulls: a row of NULLs reads back as JSON null in every column;
//   - Empty: an empty table reads as no rows (the first Next is io.EOF),
//     its Columns are those Describe reported;
//   - Batches: tables of batch size −1, +0, +1 and ×2 rows come in batches
//     numbered 0, 1, 2… of at most BatchRows rows, no row lost or doubled,
//     whether each batch is released at once or all are held to the end
//     (a source must not reuse a batch's memory before its Release); Limit
//     stops after that many rows;
//   - Cancel: cancelling the context mid-table makes Next fail with an
//     error matching context.Canceled within a few batches (never io.EOF,
//     which would look like a complete table), and Close returns;
//   - Snapshot (when Replace is set): rows replaced after Snapshot are
//     read as they were at the snapshot, through Open and through every
//     range, and as they are now without a snapshot;
//   - Ranges (a pipeline.RangeSplitter): for 1, 2, 3, 7 and 16 ranges,
//     numbered 0..Total−1, the ranges read as of one snapshot yield every
//     row exactly once, also for an empty table;
//   - Identity: the name, its case-folded and upper/lower spellings where
//     the source folds case, and ExactTableName(schema, name) resolve to
//     the same table, which Tables lists; unknown names fail with an error
//     matching pipeline.ErrTableNotFound.
package sourcetest
