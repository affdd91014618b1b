// Package sqlsource is the machinery shared by the SQL sources (PostgreSQL,
// Oracle): catalog listing, resolution of user-given table names, snapshot
// import, batched reads with recycled row storage, column decoding and the
// classification of transient errors. A Dialect supplies what differs: SQL
// text, identifier quoting and case folding, type mapping, value
// normalisation and error translation.
//
// Rules every reader follows:
//   - A user-given table name is never interpolated: it is parsed
//     ("schema.table", quoted parts keep their case), looked up with bind
//     arguments (Dialect.FindTableSQL), matched with the dialect's case rules
//     and only then quoted with Dialect.QuoteIdent. Unknown names give an
//     error wrapping pipeline.ErrTableNotFound.
//   - A table is read with the explicit column list found by Describe, so the
//     column order and types are known before the first row.
//   - Rows are read in batches of ReadOptions.BatchRows (default 10,000); a
//     batch's storage is reused after Batch.Release; memory never grows with
//     the table.
//   - Errors that a retry of the whole table may cure (lost connections) are
//     wrapped with pipeline.Transient; retries themselves happen above.
//
// A Dialect may implement NativeReader to read with its driver's own
// interface (pgx) and RangeDialect to split tables for parallel reads.
package sqlsource
