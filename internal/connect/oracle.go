//go:build cgo

package connect

import (
	"context"
	"net/url"
	"os"

	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/oracle"
)

// OracleSupport says whether this build can read Oracle.
const OracleSupport = true

// openOracle connects to Oracle: "oracle" uses the config's oracle section
// (the spec's ATP settings, filled from ORACLE_* variables), "oracle://…"
// an EZConnect URL or TNS alias. The password never comes from a flag.
func openOracle(ctx context.Context, cfg config.Config) (pipeline.Connector, error) {
	oc, err := oracleConfig(cfg)
	if err != nil {
		return nil, err
	}
	return oracle.Open(ctx, oc)
}

// oracleConfig is the oracle.Config cfg names. An oracle:// URL's
// pool_min and pool_max win; those it does not set are the oracle
// section's (oracle.pool_min, oracle.pool_max), as for source "oracle"; a
// section's minimum above the URL's pool_max is cut to it.
func oracleConfig(cfg config.Config) (oracle.Config, error) {
	oc := oracle.Config{
		User:           cfg.Oracle.Username,
		Password:       cfg.Oracle.Password,
		TNSName:        cfg.Oracle.TNSName,
		WalletPath:     cfg.Oracle.WalletPath,
		ConnectString:  cfg.Oracle.DSN,
		PoolMin:        cfg.Oracle.PoolMin,
		PoolMax:        cfg.Oracle.PoolMax,
		FetchArraySize: cfg.Oracle.FetchArraySize,
	}.WithDefaults()
	if cfg.Source != "oracle" {
		// values of the config file stand in for unset variables
		getenv := func(k string) string {
			if v := os.Getenv(k); v != "" {
				return v
			}
			switch k {
			case oracle.EnvPassword:
				return cfg.Oracle.Password
			case oracle.EnvUser:
				return cfg.Oracle.Username
			case oracle.EnvWalletPath:
				return cfg.Oracle.WalletPath
			}
			return ""
		}
		u, err := oracle.NewConfig(cfg.Source, getenv)
		if err != nil {
			return oracle.Config{}, err
		}
		if q, err := url.Parse(cfg.Source); err == nil { // NewConfig parsed it already
			if !q.Query().Has("pool_max") {
				u.PoolMax = oc.PoolMax
			}
			if !q.Query().Has("pool_min") {
				u.PoolMin = min(oc.PoolMin, u.PoolMax) // the URL's pool_max wins
			}
		}
		oc = u
	}
	oc.FetchTimeout, oc.SnapshotTimeout = cfg.ETL.SourceTimeouts()
	return oc, nil
}
