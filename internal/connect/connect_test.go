package connect

import (
	"testing"

	"github.com/ora2gcs/ora2gcs/config"
)

// TestPostgresPoolFromItsSection: the PostgreSQL source's pool and reader
// come from the postgres section; the oracle section's pool settings do
// not size it.
func TestPostgresPoolFromItsSection(t *testing.T) {
	cfg := config.Default()
	cfg.Oracle.PoolMin, cfg.Oracle.PoolMax = 1, 2
	cfg.Postgres.PoolMin, cfg.Postgres.PoolMax, cfg.Postgres.Reader = 3, 9, "rows"
	o := PostgresOptions(cfg)
	if o.MinIdle != 3 || o.MaxOpen != 9 || !o.RowReader {
		t.Fatalf("postgres options %+v; want MinIdle 3, MaxOpen 9, RowReader (the postgres section)", o)
	}
	cfg.Postgres.Reader = "copy"
	if PostgresOptions(cfg).RowReader {
		t.Fatal("reader copy gives the row reader")
	}
}
