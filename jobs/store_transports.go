package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Transports in the state database: create, read, list.

// CreateTransport stores a new transport with a fresh ID; in's fields must be
// validated and its tables canonical.
func (s *Store) CreateTransport(ctx context.Context, in NewTransport, now time.Time) (Transport, error) {
	t := Transport{
		Name:             in.Name,
		Tables:           append([]string(nil), in.Tables...),
		TableRefs:        append([]TableRef(nil), in.TableRefs...),
		TargetBucket:     in.TargetBucket,
		Description:      in.Description,
		CreatedAt:        now.UTC(),
		Status:           StatusCreated,
		TableParallelism: in.TableParallelism,
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if in.ID != "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM transports WHERE id = ?`, in.ID).Scan(&n); err != nil {
				return fmt.Errorf("jobs: check transport id: %w", err)
			}
			if n > 0 {
				return fmt.Errorf("jobs: transport %s exists already: %w", in.ID, ErrInvalid)
			}
			t.ID = in.ID
			return s.insertTransport(ctx, tx, &t, now)
		}
		var id string
		for tries := 0; ; tries++ {
			var err error
			if id, err = nextID(ctx, tx, "TRP", now); err != nil {
				return err
			}
			if !in.avoidIDs[id] || tries >= 999 {
				break
			}
		}
		t.ID = id
		return s.insertTransport(ctx, tx, &t, now)
	})
	if err != nil {
		return Transport{}, err
	}
	return t, nil
}

func (s *Store) insertTransport(ctx context.Context, tx *sql.Tx, t *Transport, now time.Time) error {
	{
		if _, err := tx.ExecContext(ctx, `INSERT INTO transports(id, name, target_bucket, description, table_parallelism, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, t.Name, t.TargetBucket, t.Description, t.TableParallelism, t.Status, now.UnixNano()); err != nil {
			return fmt.Errorf("jobs: insert transport: %w", err)
		}
		if len(t.TableRefs) != 0 && len(t.TableRefs) != len(t.Tables) {
			return fmt.Errorf("jobs: insert transport: %d tables but %d resolved identities", len(t.Tables), len(t.TableRefs))
		}
		for i, name := range t.Tables {
			var schema, source, object any // NULL: no identity (resolved by name)
			if len(t.TableRefs) != 0 {
				schema, source, object = t.TableRefs[i].Schema, t.TableRefs[i].Name, t.TableRefs[i].Object
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO transport_tables(transport_id, position, table_name, source_schema, source_name, object_name)
				VALUES (?, ?, ?, ?, ?, ?)`, t.ID, i, name, schema, source, object); err != nil {
				return fmt.Errorf("jobs: insert transport table %s: %w", name, err)
			}
		}
	}
	return nil
}

const transportCols = `id, name, target_bucket, description, table_parallelism, status, created_at, last_job_id, last_job_version`

func scanTransport(sc interface{ Scan(...any) error }) (Transport, error) {
	var t Transport
	var created int64
	err := sc.Scan(&t.ID, &t.Name, &t.TargetBucket, &t.Description, &t.TableParallelism, &t.Status, &created, &t.LastJobID, &t.LastJobVersion)
	t.CreatedAt = fromNanos(created)
	return t, err
}

// GetTransport returns one transport with its tables, or ErrNotFound.
func (s *Store) GetTransport(ctx context.Context, id string) (Transport, error) {
	t, err := scanTransport(s.db.QueryRowContext(ctx, `SELECT `+transportCols+` FROM transports WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Transport{}, fmt.Errorf("jobs: transport %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Transport{}, fmt.Errorf("jobs: get transport %s: %w", id, err)
	}
	ts := []Transport{t}
	if err := s.fillTables(ctx, ts); err != nil {
		return Transport{}, err
	}
	return ts[0], nil
}

// FindTransportByName returns the newest transport named name, or ErrNotFound.
func (s *Store) FindTransportByName(ctx context.Context, name string) (Transport, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM transports WHERE name = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Transport{}, fmt.Errorf("jobs: transport named %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Transport{}, fmt.Errorf("jobs: find transport %q: %w", name, err)
	}
	return s.GetTransport(ctx, id)
}

func (s *Store) fillTables(ctx context.Context, ts []Transport) error {
	if len(ts) == 0 {
		return nil
	}
	idx := make(map[string]int, len(ts))
	args := make([]any, len(ts))
	for i, t := range ts {
		idx[t.ID] = i
		args[i] = t.ID
		ts[i].Tables = []string{}
		ts[i].TableRefs = nil
	}
	q := `SELECT transport_id, table_name, source_schema, source_name, object_name FROM transport_tables WHERE transport_id IN (?` +
		strings.Repeat(",?", len(ts)-1) + `) ORDER BY transport_id, position`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("jobs: transport tables: %w", err)
	}
	defer rows.Close()
	legacy := make([]bool, len(ts))
	for rows.Next() {
		var id, name string
		var schema, source, object sql.NullString
		if err := rows.Scan(&id, &name, &schema, &source, &object); err != nil {
			return fmt.Errorf("jobs: transport tables: %w", err)
		}
		i := idx[id]
		ts[i].Tables = append(ts[i].Tables, name)
		ts[i].TableRefs = append(ts[i].TableRefs, TableRef{Schema: schema.String, Name: source.String, Object: object.String})
		if !source.Valid {
			legacy[i] = true
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("jobs: transport tables: %w", err)
	}
	for i := range ts {
		if legacy[i] {
			ts[i].TableRefs = nil // stored without identities: resolved by name
		}
	}
	return nil
}

func normPage(page, size int) (int, int) {
	if page < 1 {
		page = 1
	}
	if size <= 0 {
		size = 20
	}
	if size > 200 {
		size = 200
	}
	return page, size
}

// ListTransports lists transports newest first.
func (s *Store) ListTransports(ctx context.Context, page, pageSize int) (Page[Transport], error) {
	page, pageSize = normPage(page, pageSize)
	p := Page[Transport]{Items: []Transport{}, Page: page, PageSize: pageSize}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM transports`).Scan(&p.Total); err != nil {
		return p, fmt.Errorf("jobs: count transports: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+transportCols+` FROM transports ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
		pageSize, (page-1)*pageSize)
	if err != nil {
		return p, fmt.Errorf("jobs: list transports: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanTransport(rows)
		if err != nil {
			return p, fmt.Errorf("jobs: list transports: %w", err)
		}
		p.Items = append(p.Items, t)
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("jobs: list transports: %w", err)
	}
	rows.Close()
	return p, s.fillTables(ctx, p.Items)
}
