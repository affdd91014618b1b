// Package duckdb holds the tests that read ora2gcs exports with DuckDB
// (github.com/duckdb/duckdb-go, cgo) exactly the way docs/TYPES.md tells
// users to, and compare every decimal digit for digit with the source. It
// has no non-test code.
package duckdb
