package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Table modes (TableMode.Mode, TableExtraction.Mode, ManifestTable.Mode).
const (
	ModeFull        = "full"
	ModeIncremental = "incremental"
)

// IncrementalSpec is how a transport's tables are read: each table listed
// as incremental is read from its previous completed run's watermark on
// (minus the overlap); every other table in full. FullSchedule, when set,
// makes a run read every incremental table in full again when one of its
// times passed since the table's last full read (e.g. "0 0 * * 0" in a
// zone: the first run from each Sunday on), which is what removes deleted
// rows: a watermark never sees a delete.
type IncrementalSpec struct {
	Tables       []TableMode   `json:"tables"`
	FullSchedule *ScheduleSpec `json:"full_schedule,omitempty"`
}

// TableMode is one table's mode.
type TableMode struct {
	Table string `json:"table"` // as the transport lists it (any name that resolves to it is accepted)
	Mode  string `json:"mode"`  // "full" (default) or "incremental"
	// WatermarkColumn is a date, timestamp (with or without time zone) or
	// integer/decimal column that grows with every insert and update.
	WatermarkColumn string `json:"watermark_column,omitempty"`
	// KeyColumns identify a row, for consumers merging increments; the
	// primary key when not given.
	KeyColumns []string `json:"key_columns,omitempty"`
	// Overlap re-reads the tail of the previous window: a duration for time
	// watermarks (default 10m), a number for numeric ones (default 0).
	Overlap string `json:"overlap,omitempty"`
}

// TableWindow says which rows an incremental table's read covered:
// Column > Low AND Column <= High, Low being the previous completed run's
// High minus Overlap. A full read (FullReason says why) has no Low and
// records the High of its snapshot for the next run.
type TableWindow struct {
	Column     string   `json:"watermark_column"`
	Kind       string   `json:"watermark_kind"`
	Low        string   `json:"low,omitempty"`
	High       string   `json:"high,omitempty"` // "" when no row had a watermark
	Overlap    string   `json:"overlap"`
	KeyColumns []string `json:"key_columns"`
	// NullWatermarks counts the rows whose watermark is NULL: a window
	// never includes them, a full read does. -1: not counted (the column is
	// NOT NULL).
	NullWatermarks int64  `json:"null_watermarks"`
	PreviousJobID  string `json:"previous_job_id,omitempty"` // whose High gave Low
	FullReason     string `json:"full_reason,omitempty"`
}

// WatermarkState is the watermark a transport's table reached: the High of
// its last completed job, and when it was last read in full.
type WatermarkState struct {
	Table      string    `json:"table"`
	Column     string    `json:"watermark_column"`
	Kind       string    `json:"watermark_kind"`
	High       string    `json:"high"`
	JobID      string    `json:"job_id"`
	JobVersion string    `json:"job_version"`
	FullJobID  string    `json:"full_job_id,omitempty"`
	FullAt     time.Time `json:"full_at,omitzero"` // start of the job that last read it in full
}

// modeOf is the configured mode of a table (nil: full).
func (s *IncrementalSpec) modeOf(table string) *TableMode {
	if s == nil {
		return nil
	}
	for i := range s.Tables {
		if s.Tables[i].Table == table && s.Tables[i].Mode == ModeIncremental {
			return &s.Tables[i]
		}
	}
	return nil
}

// SetIncremental validates spec against the transport's tables (each
// incremental table's watermark column must exist and be of a watermark
// type, its key columns exist; keys default to the primary key) and stores
// it. A spec without tables makes every table full again. The watermarks
// already reached are kept: a table set back to incremental with the same
// column continues from them. Errors: *FieldError, ErrNotFound.
func (m *Manager) SetIncremental(ctx context.Context, transportID string, spec IncrementalSpec) (Transport, error) {
	t, err := m.store.GetTransport(ctx, transportID)
	if err != nil {
		return Transport{}, err
	}
	if err := m.validateIncremental(ctx, t, &spec, "incremental."); err != nil {
		return Transport{}, err
	}
	if err := m.store.setIncremental(ctx, transportID, spec); err != nil {
		return Transport{}, err
	}
	m.log.Info("table modes set", "transport_id", transportID, "incremental_tables", len(spec.Tables))
	return m.GetTransport(ctx, transportID)
}

// validateIncremental normalises spec in place: tables named as the
// transport lists them, columns as the catalog spells them.
func (m *Manager) validateIncremental(ctx context.Context, t Transport, spec *IncrementalSpec, prefix string) error {
	if spec.FullSchedule != nil {
		if _, err := spec.FullSchedule.parse(prefix + "full_schedule."); err != nil {
			return err
		}
	}
	wm, isWM := m.cfg.Connector.(pipeline.Watermarker)
	seen := map[string]bool{}
	out := spec.Tables[:0:0]
	for i, tm := range spec.Tables {
		f := fmt.Sprintf("%stables[%d].", prefix, i)
		tm.Mode = strings.ToLower(strings.TrimSpace(tm.Mode))
		if tm.Mode == "" {
			tm.Mode = ModeFull
		}
		if tm.Mode != ModeFull && tm.Mode != ModeIncremental {
			return &FieldError{f + "mode", fmt.Sprintf("%q: want full or incremental", tm.Mode)}
		}
		idx, info, err := m.transportTable(ctx, t, tm.Table)
		if err != nil {
			return &FieldError{f + "table", err.Error()}
		}
		tm.Table = t.Tables[idx]
		if seen[tm.Table] {
			return &FieldError{f + "table", fmt.Sprintf("%s is listed twice", tm.Table)}
		}
		seen[tm.Table] = true
		if tm.Mode == ModeFull {
			if tm.WatermarkColumn != "" || len(tm.KeyColumns) > 0 || tm.Overlap != "" {
				return &FieldError{f + "mode", "a full table takes no watermark_column, key_columns or overlap"}
			}
			out = append(out, tm)
			continue
		}
		if !isWM {
			return &FieldError{f + "mode", fmt.Sprintf("the %s source cannot read tables incrementally", m.cfg.Connector.Kind())}
		}
		col, ok := findColumn(info.Columns, tm.WatermarkColumn, m.cfg.Connector.FoldCase)
		if !ok {
			return &FieldError{f + "watermark_column", fmt.Sprintf("%q is not a column of %s", tm.WatermarkColumn, tm.Table)}
		}
		kind := pipeline.WatermarkKindOf(col.Type)
		if kind == "" {
			return &FieldError{f + "watermark_column", fmt.Sprintf("%s is of type %s: a watermark must be a date, timestamp or integer/decimal column", col.Name, col.SourceType)}
		}
		tm.WatermarkColumn = col.Name
		if _, err := parseOverlap(col, kind, tm.Overlap); err != nil {
			return &FieldError{f + "overlap", err.Error()}
		}
		if len(tm.KeyColumns) == 0 {
			keys, err := wm.PrimaryKey(ctx, info)
			if err != nil {
				return fmt.Errorf("jobs: primary key of %s: %w", tm.Table, err)
			}
			if len(keys) == 0 {
				return &FieldError{f + "key_columns", fmt.Sprintf("%s has no primary key: name the columns that identify a row", tm.Table)}
			}
			tm.KeyColumns = keys
		} else {
			for j, k := range tm.KeyColumns {
				kc, ok := findColumn(info.Columns, k, m.cfg.Connector.FoldCase)
				if !ok {
					return &FieldError{fmt.Sprintf("%skey_columns[%d]", f, j), fmt.Sprintf("%q is not a column of %s", k, tm.Table)}
				}
				tm.KeyColumns[j] = kc.Name
			}
		}
		out = append(out, tm)
	}
	spec.Tables = out
	return nil
}

// transportTable finds the transport's table that name resolves to.
func (m *Manager) transportTable(ctx context.Context, t Transport, name string) (int, pipeline.TableInfo, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return 0, pipeline.TableInfo{}, errors.New("required")
	}
	info, err := m.cfg.Connector.Describe(ctx, name)
	if err != nil {
		return 0, info, err
	}
	for i := range t.Tables {
		if i < len(t.TableRefs) {
			if t.TableRefs[i].Schema == info.Schema && t.TableRefs[i].Name == info.Name {
				return i, info, nil
			}
			continue
		}
		if t.Tables[i] == name {
			return i, info, nil
		}
	}
	return 0, info, fmt.Errorf("%s is not a table of transport %s", name, t.ID)
}

// findColumn finds a column by its exact name, else by the name folded as
// the source folds unquoted names, else case-insensitively when that is
// unambiguous.
func findColumn(cols []pipeline.Column, name string, fold func(string) string) (pipeline.Column, bool) {
	name = strings.TrimSpace(name)
	if name == "" {
		return pipeline.Column{}, false
	}
	for _, c := range cols {
		if c.Name == name {
			return c, true
		}
	}
	for _, c := range cols {
		if c.Name == fold(name) {
			return c, true
		}
	}
	var found []pipeline.Column
	for _, c := range cols {
		if strings.EqualFold(c.Name, name) {
			found = append(found, c)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return pipeline.Column{}, false
}

func (m *Manager) decorateIncremental(ctx context.Context, t *Transport) error {
	spec, err := m.store.getIncremental(ctx, t.ID)
	if err != nil {
		return err
	}
	t.Incremental = spec
	return nil
}

// Watermarks returns the watermark state of a transport's tables.
func (m *Manager) Watermarks(ctx context.Context, transportID string) ([]WatermarkState, error) {
	if _, err := m.store.GetTransport(ctx, transportID); err != nil {
		return nil, err
	}
	states, err := m.store.watermarks(ctx, transportID)
	if err != nil {
		return nil, err
	}
	out := make([]WatermarkState, 0, len(states))
	for _, s := range states {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b WatermarkState) int { return strings.Compare(a.Table, b.Table) })
	return out, nil
}

// plan is what the job does with one table: its window (nil: the whole
// table), what to show and record, and the state to store on completion.
type plan struct {
	mode   string
	window *pipeline.Window
	shown  *TableWindow
	mark   *WatermarkState // nil: nothing to record
}

// planTable decides how ts is read in this job. A table without an
// incremental mode is read in full. An incremental table is read in full
// when it has no watermark yet (its first run, or its column changed) or
// its full schedule is due; otherwise from its last completed High minus
// the overlap up to the High of this job's snapshot.
func (m *Manager) planTable(ctx context.Context, r *run, ts *tableState, info pipeline.TableInfo, snap pipeline.Snapshot, log *slog.Logger) (plan, error) {
	tm := r.incr.modeOf(ts.te.TableName)
	if tm == nil {
		return plan{mode: ModeFull}, nil
	}
	wm, ok := m.cfg.Connector.(pipeline.Watermarker)
	if !ok {
		return plan{}, fmt.Errorf("jobs: %s: the %s source cannot read tables incrementally", ts.te.TableName, m.cfg.Connector.Kind())
	}
	col, ok := findColumn(info.Columns, tm.WatermarkColumn, func(s string) string { return s })
	if !ok {
		return plan{}, fmt.Errorf("jobs: %s: watermark column %s no longer exists", ts.te.TableName, tm.WatermarkColumn)
	}
	kind := pipeline.WatermarkKindOf(col.Type)
	if kind == "" {
		return plan{}, fmt.Errorf("jobs: %s: watermark column %s is now of type %s, not a date, timestamp or number", ts.te.TableName, col.Name, col.SourceType)
	}
	overlap, err := parseOverlap(col, kind, tm.Overlap)
	if err != nil {
		return plan{}, fmt.Errorf("jobs: %s: %w", ts.te.TableName, err)
	}
	overlap = overlap.Effective(kind)
	if indexed, err := wm.Indexed(ctx, info, col.Name); err != nil {
		log.Warn("could not check the watermark column's indexes", "column", col.Name, "error", err)
	} else if !indexed {
		log.Warn("watermark column has no index: every incremental read scans the whole table",
			"column", col.Name, "table_rows", info.Rows)
	}
	stats, err := wm.WatermarkStats(ctx, info, snap, col, col.Nullable)
	if err != nil {
		return plan{}, fmt.Errorf("jobs: watermark of %s: %w", ts.te.TableName, err)
	}
	shown := &TableWindow{Column: col.Name, Kind: kind, Overlap: overlap.String(), KeyColumns: tm.KeyColumns, NullWatermarks: stats.Nulls}
	if stats.Max != nil {
		shown.High = stats.Max.String()
	}
	mark := &WatermarkState{Table: ts.te.TableName, Column: col.Name, Kind: kind, High: shown.High,
		JobID: r.job.ID, JobVersion: r.job.Version}
	prev, hasPrev := r.marks[ts.te.TableName]
	if hasPrev && (prev.Column != col.Name || prev.Kind != kind || prev.High == "") {
		hasPrev = false
	}
	full := ""
	switch {
	case !hasPrev:
		full = "no previous watermark"
	case r.forceFull:
		full = "full run requested"
	case r.incr.FullSchedule != nil:
		due, err := fullDue(*r.incr.FullSchedule, prev.FullAt, r.job.StartedAt)
		if err != nil {
			return plan{}, fmt.Errorf("jobs: %s: %w", ts.te.TableName, err)
		}
		if due {
			full = "full schedule " + r.incr.FullSchedule.Cron + " (" + r.incr.FullSchedule.Timezone + ") is due"
		}
	}
	if full != "" {
		shown.FullReason = full
		mark.FullJobID, mark.FullAt = r.job.ID, r.job.StartedAt
		if stats.Max == nil {
			mark = nil // nothing to continue from: the next run reads in full again
		}
		return plan{mode: ModeFull, shown: shown, mark: mark}, nil
	}
	high, err := pipeline.ParseWatermark(kind, prev.High)
	if err != nil {
		return plan{}, fmt.Errorf("jobs: %s: stored watermark: %w", ts.te.TableName, err)
	}
	low := high.Minus(overlap)
	w := &pipeline.Window{Column: col.Name, Kind: kind, Low: &low, High: high}
	if stats.Max != nil {
		w.High = *stats.Max
	} else {
		// no row has a watermark: the window is empty, the state stays
		shown.High, mark.High = prev.High, prev.High
	}
	shown.Low, shown.PreviousJobID = low.String(), prev.JobID
	mark.FullJobID, mark.FullAt = prev.FullJobID, prev.FullAt
	return plan{mode: ModeIncremental, window: w, shown: shown, mark: mark}, nil
}

// fullDue: a time of the full schedule lies in (last, now].
func fullDue(spec ScheduleSpec, last, now time.Time) (bool, error) {
	sched, err := spec.parse("full_schedule.")
	if err != nil {
		return false, err
	}
	if last.IsZero() {
		return true, nil
	}
	next := sched.Next(last)
	return !next.IsZero() && !next.After(now), nil
}

// store

func (s *Store) getIncremental(ctx context.Context, transportID string) (*IncrementalSpec, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT spec FROM transport_incremental WHERE transport_id = ?`, transportID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: table modes of %s: %w", transportID, err)
	}
	var spec IncrementalSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return nil, fmt.Errorf("jobs: table modes of %s: %w", transportID, err)
	}
	return &spec, nil
}

func (s *Store) setIncremental(ctx context.Context, transportID string, spec IncrementalSpec) error {
	if len(spec.Tables) == 0 && spec.FullSchedule == nil {
		_, err := s.db.ExecContext(ctx, `DELETE FROM transport_incremental WHERE transport_id = ?`, transportID)
		if err != nil {
			return fmt.Errorf("jobs: table modes of %s: %w", transportID, err)
		}
		return nil
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("jobs: table modes of %s: %w", transportID, err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO transport_incremental(transport_id, spec) VALUES (?, ?)
		ON CONFLICT(transport_id) DO UPDATE SET spec = excluded.spec`, transportID, string(b))
	if err != nil {
		return fmt.Errorf("jobs: table modes of %s: %w", transportID, err)
	}
	return nil
}

func (s *Store) watermarks(ctx context.Context, transportID string) (map[string]WatermarkState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT table_name, watermark_column, kind, high, job_id, job_version, full_job_id, full_at
		FROM watermarks WHERE transport_id = ? ORDER BY table_name`, transportID)
	if err != nil {
		return nil, fmt.Errorf("jobs: watermarks of %s: %w", transportID, err)
	}
	defer rows.Close()
	out := map[string]WatermarkState{}
	for rows.Next() {
		var w WatermarkState
		var fullAt sql.NullInt64
		if err := rows.Scan(&w.Table, &w.Column, &w.Kind, &w.High, &w.JobID, &w.JobVersion, &w.FullJobID, &fullAt); err != nil {
			return nil, fmt.Errorf("jobs: watermarks of %s: %w", transportID, err)
		}
		if fullAt.Valid {
			w.FullAt = fromNanos(fullAt.Int64)
		}
		out[w.Table] = w
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: watermarks of %s: %w", transportID, err)
	}
	return out, nil
}

// putWatermarks stores states (replacing the tables' previous ones) in tx.
func putWatermarks(ctx context.Context, tx *sql.Tx, transportID string, states []WatermarkState, now time.Time) error {
	for _, w := range states {
		if _, err := tx.ExecContext(ctx, `INSERT INTO watermarks(transport_id, table_name, watermark_column, kind, high, job_id, job_version,
			full_job_id, full_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(transport_id, table_name) DO UPDATE SET watermark_column = excluded.watermark_column, kind = excluded.kind,
			high = excluded.high, job_id = excluded.job_id, job_version = excluded.job_version, full_job_id = excluded.full_job_id,
			full_at = excluded.full_at, updated_at = excluded.updated_at`,
			transportID, w.Table, w.Column, w.Kind, w.High, w.JobID, w.JobVersion, w.FullJobID, nullNanos(w.FullAt), now.UnixNano()); err != nil {
			return fmt.Errorf("jobs: watermark of %s in %s: %w", w.Table, transportID, err)
		}
	}
	return nil
}

// ReplaceWatermarks replaces every watermark of a transport (rebuild).
func (s *Store) ReplaceWatermarks(ctx context.Context, transportID string, states []WatermarkState, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM watermarks WHERE transport_id = ?`, transportID); err != nil {
			return fmt.Errorf("jobs: watermarks of %s: %w", transportID, err)
		}
		return putWatermarks(ctx, tx, transportID, states, now)
	})
}

type fullKey struct{}

// WithFullRun marks ctx so that Execute reads every incremental table of
// the job in full (recording its watermark), as a full schedule would.
func WithFullRun(ctx context.Context) context.Context { return context.WithValue(ctx, fullKey{}, true) }

func fullRequested(ctx context.Context) bool { v, _ := ctx.Value(fullKey{}).(bool); return v }

// RebuildWatermarks rebuilds a transport's watermark state from the
// manifests in its bucket, so a lost or restored-from-old state database
// neither reads everything again nor leaves a gap: for each table, the
// watermark of the newest job whose manifest says "completed" and records
// one for it, and its newest full read. Manifests of failed jobs are
// ignored, as the state database ignores failed jobs. It replaces the
// transport's watermarks and returns them.
func (m *Manager) RebuildWatermarks(ctx context.Context, transportID string) ([]WatermarkState, error) {
	t, err := m.store.GetTransport(ctx, transportID)
	if err != nil {
		return nil, err
	}
	sink, err := m.cfg.Sinks(t.TargetBucket)
	if err != nil {
		return nil, fmt.Errorf("jobs: target %s: %w", t.TargetBucket, err)
	}
	versions, err := targetVersions(ctx, sink, t.ID)
	if err != nil {
		return nil, fmt.Errorf("jobs: list %s in %s: %w", t.ID, t.TargetBucket, err)
	}
	if _, ok := sink.(pipeline.Lister); !ok {
		return nil, fmt.Errorf("jobs: the target of %s cannot be listed: %w", t.ID, ErrInvalid)
	}
	slices.Sort(versions)
	states := map[string]WatermarkState{}
	for _, v := range slices.Compact(versions) {
		prefix := versionPrefix(t.ID, FormatVersion(v))
		names, err := sink.(pipeline.Lister).List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("jobs: list %s: %w", prefix, err)
		}
		name := prefix + "_manifest.json"
		if !slices.Contains(names, name) {
			continue // a job that never finished
		}
		man, found, err := loadManifest(ctx, sink, name)
		if err != nil {
			return nil, fmt.Errorf("jobs: manifest %s: %w", name, err)
		}
		if !found || man.Status != StatusCompleted || man.TransportID != t.ID {
			continue
		}
		for _, mt := range man.Tables {
			w := mt.Window
			if mt.Status != StatusCompleted || w == nil || w.High == "" {
				continue
			}
			if _, err := pipeline.ParseWatermark(w.Kind, w.High); err != nil {
				return nil, fmt.Errorf("jobs: manifest %s, table %s: %w", name, mt.Table, err)
			}
			st := WatermarkState{Table: mt.Table, Column: w.Column, Kind: w.Kind, High: w.High, JobID: man.JobID, JobVersion: man.JobVersion}
			prev, ok := states[mt.Table]
			if ok && prev.Column == w.Column && prev.Kind == w.Kind {
				st.FullJobID, st.FullAt = prev.FullJobID, prev.FullAt
			}
			if w.FullReason != "" {
				st.FullJobID, st.FullAt = man.JobID, man.StartedAt.UTC()
			}
			states[mt.Table] = st
		}
	}
	out := make([]WatermarkState, 0, len(states))
	for _, name := range t.Tables { // only the transport's current tables
		if st, ok := states[name]; ok {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b WatermarkState) int { return strings.Compare(a.Table, b.Table) })
	if err := m.store.ReplaceWatermarks(ctx, t.ID, out, m.now()); err != nil {
		return nil, err
	}
	m.log.Info("watermarks rebuilt from manifests", "transport_id", t.ID, "tables", len(out), "versions", len(versions))
	return out, nil
}

// loadManifest reads and decodes one manifest.
func loadManifest(ctx context.Context, sink pipeline.Sink, name string) (Manifest, bool, error) {
	var rc io.ReadCloser
	var err error
	switch o := sink.(type) {
	case interface {
		Open(context.Context, string) (io.ReadCloser, error)
	}:
		rc, err = o.Open(ctx, name)
	case interface {
		Open(string) (io.ReadCloser, error)
	}:
		rc, err = o.Open(name)
	default:
		return Manifest{}, false, fmt.Errorf("the target cannot be read")
	}
	if err != nil {
		return Manifest{}, false, err
	}
	defer rc.Close()
	var man Manifest
	dec := json.NewDecoder(io.LimitReader(rc, 64<<20))
	if err := dec.Decode(&man); err != nil {
		return Manifest{}, false, err
	}
	if man.Format != ManifestFormat {
		return Manifest{}, false, fmt.Errorf("format %q, want %q", man.Format, ManifestFormat)
	}
	return man, true, nil
}

// TableModes is the table modes of s (nil for a nil s).
func (s *IncrementalSpec) TableModes() []TableMode {
	if s == nil {
		return nil
	}
	return s.Tables
}

// parseOverlap is pipeline.ParseOverlap, refusing a fraction for an
// integer column (its bound could not be bound as the column's type).
func parseOverlap(col pipeline.Column, kind, s string) (pipeline.Overlap, error) {
	o, err := pipeline.ParseOverlap(kind, s)
	if err == nil && col.Type == pipeline.TypeInt && strings.Contains(o.Number, ".") {
		return o, fmt.Errorf("overlap %q: %s is an integer column: want a whole number", s, col.Name)
	}
	return o, err
}
