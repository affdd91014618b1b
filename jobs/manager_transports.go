package jobs

// The Manager's transports: creation (validation, table identities, policies), look-up, listing.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// CreateTransport validates in, resolves every table through the connector to
// its canonical name and stores a new transport. Errors wrap ErrInvalid or
// ErrUnknownTbl and name the field or table.
func (m *Manager) CreateTransport(ctx context.Context, in NewTransport) (Transport, error) {
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.ID != "" && !transportIDRE.MatchString(in.ID):
		return Transport{}, fmt.Errorf("jobs: transport id %q: want letters, digits, '-', '_' or '.' (1..64, starting with a letter or digit): %w", in.ID, ErrInvalid)
	case strings.HasSuffix(in.ID, ".ora2gcs.tmp"): // the file target's temporary names (sinks/file.TempSuffix)
		return Transport{}, fmt.Errorf("jobs: transport id %q: names ending in .ora2gcs.tmp are reserved for temporary files: %w", in.ID, ErrInvalid)
	case in.Name == "":
		return Transport{}, fmt.Errorf("jobs: name is required: %w", ErrInvalid)
	case utf8.RuneCountInString(in.Name) > MaxNameLen:
		return Transport{}, fmt.Errorf("jobs: name is longer than %d characters: %w", MaxNameLen, ErrInvalid)
	case len(in.Tables) == 0:
		return Transport{}, fmt.Errorf("jobs: tables: at least one table is required: %w", ErrInvalid)
	case len(in.Tables) > MaxTables:
		return Transport{}, fmt.Errorf("jobs: tables: %d tables, at most %d allowed: %w", len(in.Tables), MaxTables, ErrInvalid)
	case in.TableParallelism != 0 && CheckTableParallelism(in.TableParallelism) != "":
		return Transport{}, fmt.Errorf("jobs: table_parallelism: %s (0: the default): %w", CheckTableParallelism(in.TableParallelism), ErrInvalid)
	}
	if in.Schedule != nil {
		if _, err := in.Schedule.parse("schedule."); err != nil {
			return Transport{}, err
		}
	}
	if p := CheckRetentionDays(in.RetentionDays); in.RetentionDays != 0 && p != "" {
		return Transport{}, &FieldError{"retention_days", p}
	}
	if in.TargetBucket == "" {
		in.TargetBucket = m.cfg.DefaultBucket
	}
	if in.TargetBucket == "" {
		return Transport{}, fmt.Errorf("jobs: target_bucket is required (no default bucket configured): %w", ErrInvalid)
	}
	if err := m.cfg.ValidateBucket(in.TargetBucket); err != nil {
		return Transport{}, fmt.Errorf("jobs: target_bucket: bucket name %q %v: %w", in.TargetBucket, err, ErrInvalid)
	}
	fold := m.cfg.Connector.FoldCase
	seen := make(map[string]string, len(in.Tables))    // exact identity → entry
	objects := make(map[string]string, len(in.Tables)) // object name part → entry
	tables := make([]string, 0, len(in.Tables))
	refs := make([]TableRef, 0, len(in.Tables))
	for _, name := range in.Tables {
		name = strings.TrimSpace(name)
		if name == "" {
			return Transport{}, fmt.Errorf("jobs: tables: empty table name: %w", ErrInvalid)
		}
		parsed, err := pipeline.ParseTableName(name)
		if err != nil {
			return Transport{}, fmt.Errorf("jobs: table %q: %w", name, err)
		}
		info, err := m.cfg.Connector.Describe(ctx, name)
		if err != nil {
			switch {
			case errors.Is(err, pipeline.ErrTableNotFound):
				return Transport{}, fmt.Errorf("jobs: table %q: %w", name, err)
			case errors.Is(err, pipeline.ErrAmbiguousTable):
				return Transport{}, fmt.Errorf("jobs: table %q: %v: %w", name, err, ErrTableConflict)
			}
			return Transport{}, fmt.Errorf("jobs: describe table %q: %w", name, err)
		}
		qualified := parsed.Schema != "" && info.Schema != ""
		display := pipeline.DisplayIdent(info.Name, fold)
		if qualified {
			display = pipeline.DisplayIdent(info.Schema, fold) + "." + display
		}
		ref := TableRef{Schema: info.Schema, Name: info.Name, Object: pipeline.ObjectBaseName(info.Schema, info.Name, qualified)}
		// Its longest file name, a part (OBJECT.part-NNNNNN.jsonl.gz), must
		// fit the 255 bytes file systems allow for a name (the file target).
		if n := len(ref.Object) + len(".part-000000.jsonl.gz"); n > maxObjectFileName {
			return Transport{}, fmt.Errorf("jobs: table %q: its object names (%s.jsonl.gz, escaped) would be up to %d bytes, longer than the %d bytes a file name may have; rename the table or name it without its schema: %w",
				name, ref.Object, n, maxObjectFileName, ErrInvalid)
		}
		key := ref.Exact()
		if prev, dup := seen[key]; dup {
			return Transport{}, fmt.Errorf("jobs: tables: %q and %q are the same table %s: %w", prev, name, key, ErrTableConflict)
		}
		seen[key] = name
		if prev, dup := objects[ref.Object]; dup {
			return Transport{}, fmt.Errorf("jobs: tables: %q and %q would both be stored as %s.jsonl.gz: %w", prev, name, ref.Object, ErrTableConflict)
		}
		objects[ref.Object] = name
		tables = append(tables, display)
		refs = append(refs, ref)
	}
	// A table split into parts is stored as OBJECT.part-NNNNN.jsonl.gz: no
	// other entry may be stored under one of those names (schema OBJECT,
	// table part-NNNNN next to an unqualified table OBJECT).
	for _, ref := range refs {
		i := strings.LastIndex(ref.Object, ".part-")
		if i <= 0 {
			continue
		}
		num := ref.Object[i+len(".part-"):]
		if prev, dup := objects[ref.Object[:i]]; dup && num != "" && strings.Trim(num, "0123456789") == "" {
			this := objects[ref.Object]
			return Transport{}, fmt.Errorf("jobs: tables: %q and %q: a part of %q would be stored as %s.jsonl.gz, the object of %q: %w",
				prev, this, prev, ref.Object, this, ErrTableConflict)
		}
	}
	in.TableRefs = refs
	in.Tables = tables
	if in.Incremental != nil {
		// validated against the resolved tables before anything is stored
		probe := Transport{ID: "(new)", Tables: tables, TableRefs: refs}
		if err := m.validateIncremental(ctx, probe, in.Incremental, "incremental."); err != nil {
			return Transport{}, err
		}
	}
	if in.ID == "" {
		in.avoidIDs = m.usedTransportIDs(ctx, in.TargetBucket)
	}
	t, err := m.store.CreateTransport(ctx, in, m.now())
	if err != nil {
		return Transport{}, err
	}
	m.log.Info("transport created", "transport_id", t.ID, "tables", len(t.Tables), "bucket", t.TargetBucket)
	if in.RetentionDays != 0 {
		if t, err = m.SetRetention(ctx, t.ID, in.RetentionDays); err != nil {
			return Transport{}, err
		}
	} else {
		m.applyRetention(ctx, t, false)
	}
	if in.Incremental != nil {
		if err := m.store.setIncremental(ctx, t.ID, *in.Incremental); err != nil {
			return Transport{}, err
		}
	}
	if in.Schedule != nil {
		return m.SetSchedule(ctx, t.ID, *in.Schedule)
	}
	return m.GetTransport(ctx, t.ID)
}

// GetTransport returns a transport or an error wrapping ErrNotFound.
func (m *Manager) GetTransport(ctx context.Context, id string) (Transport, error) {
	t, err := m.store.GetTransport(ctx, id)
	if err != nil {
		return Transport{}, err
	}
	ts := []Transport{t}
	if err := m.decorate(ctx, ts); err != nil {
		return Transport{}, err
	}
	return ts[0], nil
}

// FindTransportByName returns the newest transport called name, or an error
// wrapping ErrNotFound (the CLI reuses transports by name).
func (m *Manager) FindTransportByName(ctx context.Context, name string) (Transport, error) {
	return m.store.FindTransportByName(ctx, strings.TrimSpace(name))
}

// ListTransports lists transports newest first.
func (m *Manager) ListTransports(ctx context.Context, page, pageSize int) (Page[Transport], error) {
	p, err := m.store.ListTransports(ctx, page, pageSize)
	if err != nil {
		return p, err
	}
	return p, m.decorate(ctx, p.Items)
}

// maxObjectFileName is the longest last segment of an object name: the
// 255 bytes of a file name on common file systems (the file target).
const maxObjectFileName = 255

var transportIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
