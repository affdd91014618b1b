// Command loadvbrp loads the 274-column VBRP benchmark table into the
// PostgreSQL database named by ORA2GCS_TEST_POSTGRES_DSN (or -dsn).
//
//	scripts/with-postgres.sh go run ./benchmarks/loadvbrp -rows 250000 [-data synth|md5]
//
// -data synth (the default) loads the rows of the synthetic VBRP source
// (sources/synth: SAP-like values with realistic redundancy, ≈4.5 KB of
// NDJSON per row, ≈5.8:1 with gzip -1) through COPY FROM STDIN, so the
// database path is measured on data that compresses like the synthetic
// benchmark. -data md5 loads the rows of sources/postgres/pgtest, generated
// on the server from md5 hashes (every type exercised, NULLs, empty
// strings; it compresses only ≈3.2:1, which makes gzip dominate).
//
// It is the loader of the PostgreSQL measurements in docs/PERFORMANCE.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("ORA2GCS_TEST_POSTGRES_DSN"), "PostgreSQL URL (default $ORA2GCS_TEST_POSTGRES_DSN)")
	rows := flag.Int("rows", 250_000, "rows to load")
	table := flag.String("table", "vbrp", "table name")
	data := flag.String("data", "synth", "row data: synth (SAP-like, from sources/synth) or md5 (pgtest, generated on the server)")
	flag.Parse()
	if err := load(*dsn, *table, *data, *rows); err != nil {
		fmt.Fprintln(os.Stderr, "loadvbrp:", err)
		os.Exit(1)
	}
}

func load(dsn, table, data string, rows int) error {
	if dsn == "" {
		return fmt.Errorf("no DSN: set ORA2GCS_TEST_POSTGRES_DSN or -dsn")
	}
	if data != "synth" && data != "md5" {
		return fmt.Errorf("-data %q: want synth or md5", data)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	start := time.Now()
	exec := func(ctx context.Context, q string, args ...any) error {
		_, err := conn.Exec(ctx, q, args...)
		return err
	}
	if data == "md5" {
		if err := pgtest.CreateVBRP(ctx, exec, table, rows); err != nil {
			return err
		}
	} else if err := pgtest.CreateSynthVBRP(ctx, conn.PgConn(), table, rows); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loadvbrp: %d %s rows into %s in %s\n", rows, data, table, time.Since(start).Round(time.Millisecond))
	return nil
}
