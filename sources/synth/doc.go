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
// Redundancy mimics SAP too, because it decides how well the output
// compresses and so how fast gzip runs. Rows of VBRP form billing documents
// of 1–8 items (2.9 on average). About half of its columns (132 of 274:
// billing, pricing and creation dates, organisation codes, customers,
// currency and exchange rate, the creating user, the fields copied from the
// sales order (*_AUFT) and the billing header (*_ANA), tax fields, and a
// hashed quarter of the unnamed rest) are document-level: their value
// derives from the document, so all items of a document agree on them, as
// real items repeat their header's data. FBUDA, PRSDT, ERDAT, KURSK_DAT and
// KURRF_DAT_ORIG hold one date per row. The others vary per item. Each column
// is blank (" ") or zero ("0") in a share of rows drawn per column from
// {5%, 50%, 85%, 97%} (NUMBER columns lean to the high shares; the main
// quantities and amounts — FKIMG, NETWR, NTGEW… — are rarely 0), so about
// half of all NUMBER values are 0, as in real billing items where most of the
// 58 NUMBER columns are unused. About 3–4% of values are NULL. What this
// cannot mimic: real tables have long runs of identical documents from one
// customer or batch job, skewed value frequencies beyond 128 distinct values
// per column, and real texts; the 128-value pools make the synthetic data
// somewhat less diverse in values and more diverse in their order. With
// these choices VBRP NDJSON compresses about 5.4:1 at gzip level 1 (it was
// 3.6:1 when every column varied per row). No real VBRP extract was
// available to compare with: treat synthetic throughput as an estimate, and
// measure on real data before sizing anything.
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
