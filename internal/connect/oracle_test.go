//go:build cgo

package connect

import (
	"testing"

	"github.com/ora2gcs/ora2gcs/config"
)

// TestOraclePoolFromItsSection: the Oracle session pool is the oracle
// section's (oracle.pool_min, oracle.pool_max) for source "oracle" and
// for an oracle:// URL alike; a URL's ?pool_min= and ?pool_max= win.
func TestOraclePoolFromItsSection(t *testing.T) {
	t.Setenv("ORACLE_PASSWORD", "")
	for _, tt := range []struct {
		source           string
		poolMin, poolMax int
	}{
		{"oracle", 2, 7},
		{"oracle://scott@db.example:1521/ORCL", 2, 7},
		{"oracle://scott@db_high", 2, 7},
		{"oracle://scott@db.example:1521/ORCL?pool_max=9", 2, 9},
		{"oracle://scott@db.example:1521/ORCL?pool_min=1&pool_max=3", 1, 3},
		{"oracle://scott@db.example:1521/ORCL?pool_max=1", 1, 1}, // the section's 2 is cut to it
	} {
		cfg := config.Default()
		cfg.Source, cfg.Oracle.TNSName, cfg.Oracle.Username, cfg.Oracle.Password = tt.source, "db_high", "scott", "pw-from-file"
		cfg.Oracle.PoolMin, cfg.Oracle.PoolMax = 2, 7
		cfg.Postgres.PoolMin, cfg.Postgres.PoolMax = 4, 11 // never the Oracle pool
		oc, err := oracleConfig(cfg)
		if err != nil {
			t.Fatalf("%s: %v", tt.source, err)
		}
		if oc.PoolMin != tt.poolMin || oc.PoolMax != tt.poolMax {
			t.Errorf("%s: pool %d..%d, want %d..%d", tt.source, oc.PoolMin, oc.PoolMax, tt.poolMin, tt.poolMax)
		}
		if err := oc.WithDefaults().Validate(); err != nil {
			t.Errorf("%s: %v", tt.source, err)
		}
		if oc.Password != "pw-from-file" {
			t.Errorf("%s: the config file's password did not stand in", tt.source)
		}
	}
}
