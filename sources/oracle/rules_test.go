package oracle

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// TestConfigRulesAgreeWithKnobs: the oracle.pool_min, oracle.pool_max and
// oracle.fetch_array_size knobs of package config and Config.Validate give
// the same verdict, in the same words, at the boundaries of each rule
// (both check with sqlsource.CheckPool and pipeline.CheckFetchArraySize);
// a pool_min of 0 is Config's default and out of the knob's range.
func TestConfigRulesAgreeWithKnobs(t *testing.T) {
	edges := func(lo, hi int) []int { return []int{lo - 1, lo, hi, hi + 1} }
	rows := []struct {
		key, field string
		set        func(k *config.OracleConfig, c *Config, v int)
		vals       []int
	}{
		{"oracle.pool_max", "pool_max", func(k *config.OracleConfig, c *Config, v int) {
			k.PoolMin, k.PoolMax, c.PoolMin, c.PoolMax = 1, v, 1, v
		},
			edges(1, sqlsource.MaxPool)},
		{"oracle.pool_min", "pool_min", func(k *config.OracleConfig, c *Config, v int) {
			k.PoolMin, k.PoolMax, c.PoolMin, c.PoolMax = v, 20, v, 20
		},
			edges(1, 20)},
		{"oracle.pool_min", "pool_min", func(k *config.OracleConfig, c *Config, v int) {
			k.PoolMin, k.PoolMax, c.PoolMin, c.PoolMax = v, sqlsource.MaxPool, v, sqlsource.MaxPool
		}, edges(1, sqlsource.MaxPool)},
		{"oracle.fetch_array_size", "fetch_array_size", func(k *config.OracleConfig, c *Config, v int) { k.FetchArraySize, c.FetchArraySize = v, v },
			edges(1, pipeline.MaxFetchArraySize)},
	}
	for _, r := range rows {
		for _, v := range r.vals {
			t.Run(fmt.Sprintf("%s=%d", r.key, v), func(t *testing.T) {
				kc := config.Default()
				oc := Config{User: "u", Password: "p", ConnectString: "h:1521/S"}.WithDefaults()
				r.set(&kc.Oracle, &oc, v)
				kerr, oerr := kc.Validate(), oc.Validate()
				if kerr != nil && !strings.Contains(kerr.Error(), "config: "+r.key+": ") {
					t.Fatalf("config: another knob failed: %v", kerr)
				}
				if oerr != nil && !strings.Contains(oerr.Error(), r.field+": ") {
					t.Fatalf("oracle: another field failed: %v", oerr)
				}
				if v == 0 && r.field == "pool_min" {
					// WithDefaults makes 0 the default (5); the knob, which
					// has its own default, refuses it
					if kerr == nil || oerr != nil {
						t.Fatalf("0: knob %v (want an error), oracle %v (want none: the default)", kerr, oerr)
					}
					return
				}
				if (kerr != nil) != (oerr != nil) {
					t.Fatalf("knob: %v\noracle: %v\nverdicts differ", kerr, oerr)
				}
				if kerr != nil {
					msg := strings.SplitN(kerr.Error(), "config: "+r.key+": ", 2)[1]
					if !strings.Contains(oerr.Error(), r.field+": "+msg) {
						t.Errorf("knob says %q, oracle %q", msg, oerr)
					}
				}
			})
		}
	}
}
