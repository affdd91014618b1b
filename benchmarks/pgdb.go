package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgDatabase is a PostgreSQL source seen directly: its version, COUNT(*),
// and the CPU of its processes when the server runs on this machine.
type pgDatabase struct{ s *pgServer }

func (p pgDatabase) CPU(ctx context.Context) (time.Duration, error) {
	if p.s.postmaster == 0 {
		return 0, errorString(p.s.invisible)
	}
	return treeMeter(p.s.postmaster).CPU(ctx)
}

func (p pgDatabase) CPUScope() string {
	return "CPU of the server's processes (postmaster and every backend, from /proc), all sessions"
}

func (p pgDatabase) Version(ctx context.Context) (string, error) {
	var v string
	err := p.s.conn.QueryRow(ctx, "SELECT version()").Scan(&v)
	return v, err
}

func (p pgDatabase) Count(ctx context.Context, schema, name string) (int64, error) {
	var n int64
	err := p.s.conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, name}.Sanitize()).Scan(&n)
	return n, err
}

func (p pgDatabase) Close() error { p.s.close(); return nil }

type errorString string

func (e errorString) Error() string { return string(e) }
