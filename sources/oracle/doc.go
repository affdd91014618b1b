// Package oracle reads Oracle tables through godror (cgo, Oracle Instant
// Client): configuration from an oracle://user@host:port/service URL or the
// ATP settings (ORACLE_USER, ORACLE_PASSWORD, ORACLE_TNS_NAME,
// ORACLE_WALLET_PATH), a session pool, the catalog (ALL_TABLES,
// ALL_TAB_COLUMNS), one SCN per job read AS OF SCN by every table and range
// (or per-table READ ONLY transactions when the user lacks FLASHBACK),
// ROWID ranges from extents for parallel reads, exact value normalisation and
// errors translated into what the user should do.
//
// Contracts:
//   - The password comes only from ORACLE_PASSWORD; a URL holding one is
//     rejected, and no error, log line or String shows it.
//   - Table names from users are resolved against the catalog with bind
//     variables (unquoted names fold to upper case) and only catalog names,
//     quoted, appear in SQL text.
//   - NUMBER arrives as godror.Number and leaves as its exact digits (never
//     float64); NULL strings, which Oracle returns as "", become nil; DATE and
//     TIMESTAMP keep the database's wall clock (godror builds them in UTC;
//     Config.Timezone is only the session TIME_ZONE); see TYPES.md for
//     every type.
//   - Tables are read below database/sql (rawReader): godror's
//     driver.Rows.Next fills the values, converted in place, on the
//     reader's own connection and snapshot; a 274-column row costs 3.8 µs
//     and 0.14 allocations on our side through the fake driver (17.2 µs and
//     60 through database/sql; docs/PERFORMANCE.md). Fetch array and
//     prefetch are sized per table from the declared row width
//     (FetchBufferBytes).
//   - CLOB, NCLOB and BLOB values longer than LOBInlineChars characters
//     (LOBInlineBytes bytes) are streamed through their locators, so godror's
//     fetch buffers never hold LOB data; batches of LOB tables are cut at an
//     eighth of Config.LOBMemory. A streamed value shorter than the length
//     Oracle sent with the row (godror drops U+FFFD ending a CLOB read)
//     fails the table instead of being written cut.
//   - Errors from the database go through Translate: lost connections are
//     transient (pipeline.IsTransient), ORA-01555/08180/01466 say how to
//     avoid them, a missing Instant Client (DPI-1047) names what to install.
//   - Probe is the SQL the Oracle benchmark (make bench-oracle) runs next to
//     an export: the time model's DB CPU (v$con_sys_time_model, else
//     v$sys_time_model, then always the same view), the version and a
//     COUNT(*); the export never depends on it.
//
// godror is the only cgo dependency of the project and is confined to this
// package. Without Instant Client the package builds, and Open fails with
// the DPI-1047 translation.
package oracle
