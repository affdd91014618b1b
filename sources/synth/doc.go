// Package synth is a deterministic generator of SAP-like tables that
// implements pipeline.Connector and pipeline.RangeSplitter without any
// database. It is the source of `make demo` and of the benchmarks.
//
// Tables: VBRP (billing items, exactly the 274 columns of the benchmark
// reference schema), VBRK (billing header) and LIKP (delivery header). Their
// schemas are embedded JSON files (vbrp_schema.json, vbrk_schema.json,
// likp_schema.json) with Oracle type names, mapped the way the Oracle source
// maps them: VARCHAR2/CHAR/NVARCHAR2 → TypeString, NUMBER(p[,s]) →
// TypeDecimal, DATE → TypeDateTime, BINARY_DOUBLE/BINARY_FLOAT → TypeFloat.
//
// Values are what the Oracle source would produce: strings; decimals as exact
// digit strings the way Oracle prints NUMBER ("123.45", "-0.5", "1000");
// DATE as time.Time in UTC to the second; floats as float64; NULL as nil.
// Content mimics SAP: client "100", 10-digit document numbers increasing with
// the row number, item numbers, material numbers, units and currencies, many
// blank fields holding a single space, Korean text in description columns and
// a few strings with quotes, backslashes and tabs.
//
// Determinism: the value of row i of a table depends only on (Config.Seed,
// table, i) — not on batch size, ranges or the order of reads — so equal
// seeds give byte-identical output. Candidate values are precomputed per
// column when the Connector is created; generating a row only picks indexes,
// and batch storage is reused through Batch.Release, so steady-state reading
// allocates nothing per row.
//
// Values handed out in a Batch are valid until that batch's Release is called;
// after Release the generator may overwrite the storage behind them.
package synth
