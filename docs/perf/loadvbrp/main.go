// Command loadvbrp loads the 274-column VBRP benchmark table into the
// PostgreSQL database named by ORA2GCS_TEST_POSTGRES_DSN (or -dsn), with the
// rows of sources/postgres/pgtest (generated on the server, deterministic).
//
//	scripts/with-postgres.sh go run ./docs/perf/loadvbrp -rows 250000
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
	flag.Parse()
	if err := load(*dsn, *table, *rows); err != nil {
		fmt.Fprintln(os.Stderr, "loadvbrp:", err)
		os.Exit(1)
	}
}

func load(dsn, table string, rows int) error {
	if dsn == "" {
		return fmt.Errorf("no DSN: set ORA2GCS_TEST_POSTGRES_DSN or -dsn")
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
	if err := pgtest.CreateVBRP(ctx, exec, table, rows); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loadvbrp: %d rows into %s in %s\n", rows, table, time.Since(start).Round(time.Millisecond))
	return nil
}
