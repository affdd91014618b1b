package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestCreateTransportRefusesPartNameCollision: a table split into parts is
// stored as OBJECT.part-NNNNN.jsonl.gz, so a qualified table whose schema is
// another (unqualified) entry's object name and whose name is part-NNNNN
// would be written to the same final name as the first part of that entry.
// Both orders are refused at creation naming both entries; without the
// other entry such a table is fine.
func TestCreateTransportRefusesPartNameCollision(t *testing.T) {
	conn := newFakeConnector(&fakeTable{name: "FAKE", rows: 3}, &fakeTable{name: "part-00001", rows: 5},
		&fakeTable{name: "part-123456", rows: 1})
	e := newEnv(t, conn)
	ctx := context.Background()
	for _, tables := range [][]string{
		{"FAKE", `FAKE."part-00001"`},
		{`FAKE."part-00001"`, "fake"},
		{"FAKE", `FAKE."part-123456"`},
	} {
		_, err := e.m.CreateTransport(ctx, NewTransport{Name: "parts", Tables: tables})
		if !errors.Is(err, ErrTableConflict) {
			t.Errorf("%q: error %v, want ErrTableConflict", tables, err)
			continue
		}
		for _, want := range tables {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", want)) {
				t.Errorf("%q: error %q does not name %s", tables, err, want)
			}
		}
	}
	if _, err := e.m.CreateTransport(ctx, NewTransport{Name: "alone", Tables: []string{`FAKE."part-00001"`}}); err != nil {
		t.Fatalf("a part-named table alone: %v", err)
	}
}

// TestCreateTransportRefusesTempSuffixID: the file target reserves names
// ending in .ora2gcs.tmp for its temporary files, so a transport with such
// an id was accepted and then every job failed ("target unavailable").
// It is refused at creation, naming the field.
func TestCreateTransportRefusesTempSuffixID(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "VBRP", rows: 3}))
	_, err := e.m.CreateTransport(context.Background(), NewTransport{ID: "x.ora2gcs.tmp", Name: "tmp id", Tables: []string{"VBRP"}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), ".ora2gcs.tmp") {
		t.Fatalf("error %v, want ErrInvalid naming .ora2gcs.tmp", err)
	}
}

// TestCreateTransportRefusesTooLongObjectName: object names escape '.'
// and other bytes as %XX, so a table name of dots (PostgreSQL allows 63
// bytes, Oracle 128) becomes a file name longer than the 255 bytes a file
// system allows: the file target then failed every job of a transport that
// was accepted. Such a name is refused at creation naming the table; a
// name that fits is accepted.
func TestCreateTransportRefusesTooLongObjectName(t *testing.T) {
	long := strings.Repeat(".", 78) // FAKE.%2E… (234 bytes): parts would be 254+ bytes
	fits := strings.Repeat(".", 70) // 215 bytes
	conn := newFakeConnector(&fakeTable{name: long, rows: 1}, &fakeTable{name: fits, rows: 1})
	e := newEnv(t, conn)
	ctx := context.Background()
	name := `FAKE."` + long + `"`
	_, err := e.m.CreateTransport(ctx, NewTransport{Name: "long", Tables: []string{name}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprintf("%q", name)) || !strings.Contains(err.Error(), "255") {
		t.Fatalf("error %v, want ErrInvalid naming %s and the 255-byte limit", err, name)
	}
	if _, err := e.m.CreateTransport(ctx, NewTransport{Name: "fits", Tables: []string{`FAKE."` + fits + `"`}}); err != nil {
		t.Fatalf("a name that fits: %v", err)
	}
}
