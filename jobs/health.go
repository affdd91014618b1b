package jobs

import (
	"context"
	"fmt"
)

// CheckStore reports whether the state database accepts writes: it takes
// SQLite's write lock (BEGIN IMMEDIATE) on one connection and releases it
// (ROLLBACK), writing nothing. The server's health endpoints call it.
func (m *Manager) CheckStore(ctx context.Context) error {
	conn, err := m.store.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("jobs: state database: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("jobs: state database not writable: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		return fmt.Errorf("jobs: state database: rollback: %w", err)
	}
	return nil
}
