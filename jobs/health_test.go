package jobs

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// TestCheckStore: a writable state database passes; one whose write lock
// another connection holds (as a second process or a stuck writer would)
// fails within the context's deadline.
func TestCheckStore(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "A", rows: 1}))
	if err := e.m.CheckStore(context.Background()); err != nil {
		t.Fatalf("healthy store: %v", err)
	}
	other, err := sql.Open("sqlite", e.db+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := e.m.CheckStore(ctx); err == nil {
		t.Error("CheckStore passed while another connection holds the write lock")
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.CheckStore(context.Background()); err != nil {
		t.Fatalf("after the lock is released: %v", err)
	}
}
