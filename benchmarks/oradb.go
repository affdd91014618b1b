//go:build cgo

package main

import (
	"context"
	"database/sql"
	"os"
	"time"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/sources/oracle"
)

// oracleDB is the Oracle database of the source, opened as ora2gcs opens
// it (oracle.NewConfig: the URL, ORACLE_PASSWORD, ORACLE_* for "oracle");
// its SQL is oracle.Probe's.
type oracleDB struct {
	db *sql.DB
	p  *oracle.Probe
}

func openOracleDB(ctx context.Context, source string) (database, error) {
	if source == "oracle" {
		source = "" // the ATP settings of the ORACLE_* variables
	}
	cfg, err := oracle.NewConfig(source, os.Getenv)
	if err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	db := sql.OpenDB(godror.NewConnector(cfg.Params()))
	db.SetMaxOpenConns(1)
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close()
		return nil, oracle.Translate(err, "connect to "+cfg.Database()+" as "+cfg.User)
	}
	return &oracleDB{db: db, p: oracle.NewProbe(db)}, nil
}

// CPU is the DB CPU of the time model (oracle.Probe.DBCPU): every
// session's CPU, ora2gcs's and any other's.
func (o *oracleDB) CPU(ctx context.Context) (time.Duration, error) { return o.p.DBCPU(ctx) }

func (o *oracleDB) CPUScope() string {
	if o.p.CPUView() == "" {
		return "DB CPU of the time model (all sessions)"
	}
	return "DB CPU of " + o.p.CPUView() + " (all sessions of the database, not only ora2gcs's)"
}

func (o *oracleDB) Version(ctx context.Context) (string, error) { return o.p.Version(ctx) }

func (o *oracleDB) Count(ctx context.Context, schema, name string) (int64, error) {
	return o.p.Count(ctx, schema, name)
}

func (o *oracleDB) Close() error { return o.db.Close() }
