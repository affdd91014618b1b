package oracle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Probe reads what the Oracle benchmark (benchmarks/, make bench-oracle)
// reports next to ora2gcs's own figures: the database's version, its CPU
// time and a table's COUNT(*). It runs on a pool the caller opened as
// ora2gcs opens its source (Config.Params); it reads nothing ora2gcs's
// export depends on.
type Probe struct {
	db   *sql.DB
	view string // the time model view DBCPU last read, "" before
}

// NewProbe is a Probe over db.
func NewProbe(db *sql.DB) *Probe { return &Probe{db: db} }

// probeCPUViews are the views DBCPU reads, in order: the container's
// (12c and later, CDB and PDB) and the instance's (every version).
var probeCPUViews = []string{"v$con_sys_time_model", "v$sys_time_model"}

// DBCPU is the "DB CPU" statistic of the time model in microseconds (the
// CPU of every session of the database, not only ora2gcs's) as a
// duration: from v$con_sys_time_model, or where that fails (11g, or no
// grant) from v$sys_time_model. Once one view answered, only that one is
// read, so that two readings are comparable. The user needs SELECT on the
// view (SELECT_CATALOG_ROLE or a grant); without it the error says so.
func (p *Probe) DBCPU(ctx context.Context) (time.Duration, error) {
	var errs []error
	for _, view := range probeCPUViews {
		if p.view != "" && p.view != view {
			continue
		}
		var us int64
		err := p.db.QueryRowContext(ctx, "SELECT value FROM "+view+" WHERE stat_name = 'DB CPU'").Scan(&us)
		if err == nil {
			p.view = view
			return time.Duration(us) * time.Microsecond, nil
		}
		if errors.Is(err, sql.ErrNoRows) {
			err = errors.New("no DB CPU statistic")
		}
		errs = append(errs, fmt.Errorf("%s: %w", view, Translate(err, "read "+view)))
	}
	return 0, errors.Join(errs...)
}

// CPUView is the view DBCPU reads ("" before its first success).
func (p *Probe) CPUView() string { return p.view }

// Version is the database's banner (v$version), or where v$version is not
// readable the product and version of product_component_version.
func (p *Probe) Version(ctx context.Context) (string, error) {
	var v string
	err := p.db.QueryRowContext(ctx, "SELECT banner FROM v$version WHERE ROWNUM = 1").Scan(&v)
	if err != nil {
		err = p.db.QueryRowContext(ctx, "SELECT product || ' ' || version FROM product_component_version WHERE product LIKE 'Oracle%' AND ROWNUM = 1").Scan(&v)
	}
	if err != nil {
		return "", Translate(err, "read the database version")
	}
	return v, nil
}

// Count is SELECT COUNT(*) of schema.name, both exact (quoted) names as
// the catalog lists them.
func (p *Probe) Count(ctx context.Context, schema, name string) (int64, error) {
	var n int64
	err := p.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(schema)+"."+quoteIdent(name)).Scan(&n)
	if err != nil {
		return 0, Translate(err, "count "+schema+"."+name)
	}
	return n, nil
}
