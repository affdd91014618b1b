// Package postgres is the PostgreSQL source: the sqlsource machinery with a
// PostgreSQL dialect over a pgx/v5 pool, and two readers:
//
//   - the COPY reader (used when the caller opens with
//     pipeline.ReadOptions.Raw, as jobs do): COPY (SELECT …) TO STDOUT in
//     text format, cut into batches of whole rows (pipeline.Batch.Raw) by
//     one goroutine and decoded by the encode workers through the
//     pipeline.RowDecoder of the source (copyDecoder), allocation-free per
//     row. Session settings fix the text forms (DateStyle ISO, TimeZone
//     UTC, extra_float_digits 1, bytea_output hex). Integers arrive as
//     their digits (string), every other value as in the table below.
//   - the native row reader (otherwise, and always with
//     Options.RowReader): raw column bytes through pgx's wire-level
//     interface, binary for fixed-size types, decoded on the reading
//     goroutine into typed rows. Arrays arrive as text, under the same
//     session settings as COPY.
//
// Both give byte-identical NDJSON (TestCopyMatchesNative).
//
// Open(ctx, dsn, Options) returns a *Connector (pipeline.Connector and
// pipeline.RangeSplitter). Consistency (spec NFR-02.3): Snapshot opens one
// REPEATABLE READ READ ONLY transaction, exports it with pg_export_snapshot
// and holds it until Snapshot.Close; every table reader begins its own
// REPEATABLE READ READ ONLY transaction and imports the snapshot with
// SET TRANSACTION SNAPSHOT. Without a snapshot each table is still read in
// one REPEATABLE READ READ ONLY transaction.
//
// Values (Batch value → pipeline type):
//
//	int2, int4, int8          int64 (COPY: digits)  TypeInt
//	numeric                   string (exact digits, "NaN", "Infinity")  TypeDecimal
//	float4 / float8           float32 / float64 (NaN, ±Inf kept)        TypeFloat
//	bool                      bool             TypeBool
//	date                      time.Time (UTC midnight)                  TypeDate
//	timestamp(0)              time.Time (wall clock in UTC location)    TypeDateTime
//	timestamp(p)              time.Time (wall clock), Scale p           TypeTimestamp
//	timestamptz(p)            time.Time, the instant in UTC (offset +00:00), Scale p  TypeTimestampTZ
//	bytea                     []byte           TypeBytes
//	json, jsonb               pipeline.RawJSON (the server's text)      TypeJSON
//	arrays of any type        *arrayValue (stages.JSONAppender): the encoder writes a JSON
//	                          array (nested for more dimensions, explicit bounds dropped,
//	                          NULL as null), each element exactly as a column of the element
//	                          type with the encoder's options (stages.AppendValue): date[] and
//	                          timestamp[] elements in the RFC 3339 forms above, bytea[] as
//	                          base64, float[] as float columns, numeric[] quoted under
//	                          DecimalAsString like numeric columns, oid[] and every other text
//	                          type as strings. Elements are split at the element type's
//	                          pg_type.typdelim (';' for box). TypeJSON, also for element
//	                          types pgx does not know (Connector.Describe asks the catalog)
//	interval                  string (server text, IntervalStyle)       TypeInterval
//	text, varchar, bpchar (padded), uuid, time, money, enums, anything else
//	                          string (the server's text form)           TypeString
//
// NULL is nil; an empty string stays "". Infinite dates and timestamps have
// no exact representation and fail the read (an array holding one: its
// encoding) rather than change the value.
// Column.SourceType is format_type() of the column, Nullable from the catalog.
//
// Errors: lost connections (SQLSTATE class 08, 57P01 admin shutdown as from
// pg_terminate_backend, 57P02, 57P03, 53300, io.EOF, resets) are wrapped with
// pipeline.Transient so the job retries the table.
package postgres
