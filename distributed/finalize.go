package distributed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// ErrShardsIncomplete is matched (errors.Is) by Finalize's error when a
// shard has no accepted result; the message names each such shard.
var ErrShardsIncomplete = jobs.ErrShardsIncomplete

// Finalizer checks a plan's shards and writes its objects.
type Finalizer struct {
	Plan  *Plan
	Store Store
	Log   *slog.Logger
	Now   func() time.Time
}

// FinalResult is what Finalize wrote.
type FinalResult struct {
	Manifest    jobs.Manifest
	ManifestURI string
	// AlreadyFinalized: the manifest existed (a finalize of this plan ran
	// before); nothing was written.
	AlreadyFinalized bool
	// CleanupErrors names objects below _shards/ that could not be removed.
	CleanupErrors []string
}

// Run checks that every shard has exactly one accepted result of this
// plan, composes each table's segments in shard order into its final
// object (verifying size and CRC32C), writes {TABLE}.schema.json and
// _manifest.json, and removes _shards/. When a shard has no accepted
// result (or a refused one) it fails naming every such shard, with the
// errors its failed attempts recorded, before writing anything at a final
// name; when composing fails, the objects it composed are removed again.
func (f *Finalizer) Run(ctx context.Context) (FinalResult, error) {
	p := f.Plan
	var res FinalResult
	if m, err := f.existing(ctx); err != nil || m != nil {
		if m != nil {
			res.Manifest, res.ManifestURI, res.AlreadyFinalized = *m, f.Store.URI(p.ManifestName()), true
		}
		return res, err
	}

	// 1. every shard's accepted result
	all := make([]int, len(p.Shards))
	for i := range all {
		all[i] = i
	}
	done, err := f.completions(ctx, all)
	if err != nil {
		return res, err
	}
	attempts := f.attempts(ctx, "")

	// 2. compose every table and write its schema
	var written []string
	var tables []jobs.ManifestTable
	for ti := range p.Tables {
		mt, names, err := f.table(ctx, ti, done, attempts)
		written = append(written, names...)
		if err != nil {
			return res, f.undo(ctx, err, written)
		}
		tables = append(tables, mt)
	}

	// 3. the manifest
	res, err = f.Manifest(ctx, tables)
	if err != nil {
		return res, f.undo(ctx, err, written)
	}
	return res, nil
}

// Table finalizes table ti of the plan (Plan.Tables[ti]) on its own, for
// engines that finalize the tables of a job in parallel: it checks that
// each of the table's shards has an accepted result of this plan (naming
// every one that has none), composes their segments in order into the
// table's final object, checks size and CRC32C, and writes the table's
// schema. It returns the table's manifest entry for Manifest. On an error
// it removes what it wrote; an object left at the final name by an
// earlier call that died is composed again. When the job's manifest
// exists, it returns the manifest's entry and writes nothing.
func (f *Finalizer) Table(ctx context.Context, ti int) (jobs.ManifestTable, error) {
	p := f.Plan
	if ti < 0 || ti >= len(p.Tables) {
		return jobs.ManifestTable{}, fmt.Errorf("distributed: table index %d: the plan has tables 0..%d", ti, len(p.Tables)-1)
	}
	if m, err := f.existing(ctx); err != nil {
		return jobs.ManifestTable{}, err
	} else if m != nil {
		for _, mt := range m.Tables {
			if mt.Object == p.Tables[ti].Object {
				return mt, nil
			}
		}
		return jobs.ManifestTable{}, fmt.Errorf("distributed: %s lists no %s", f.Store.URI(p.ManifestName()), p.Tables[ti].Object)
	}
	done, err := f.completions(ctx, p.Tables[ti].Shards)
	if err != nil {
		return jobs.ManifestTable{}, err
	}
	attempts := map[int]int{}
	for _, si := range p.Tables[ti].Shards {
		for k, v := range f.attempts(ctx, p.ShardDir(si)) {
			attempts[k] = v
		}
	}
	mt, written, err := f.table(ctx, ti, done, attempts)
	if err != nil {
		return mt, f.undo(ctx, err, written)
	}
	return mt, nil
}

// Manifest writes _manifest.json from the entries Table returned, one for
// every table of the plan (in any order), and removes _shards/. Entries
// that do not match the plan's tables one to one fail it before anything
// is written. When this plan's manifest exists, it reports it and writes
// nothing.
func (f *Finalizer) Manifest(ctx context.Context, tables []jobs.ManifestTable) (FinalResult, error) {
	p := f.Plan
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	var res FinalResult
	if m, err := f.existing(ctx); err != nil || m != nil {
		if m != nil {
			res.Manifest, res.ManifestURI, res.AlreadyFinalized = *m, f.Store.URI(p.ManifestName()), true
		}
		return res, err
	}
	byObject := map[string]jobs.ManifestTable{}
	for _, mt := range tables {
		if _, dup := byObject[mt.Object]; dup {
			return res, fmt.Errorf("distributed: finalize %s %s: table %s finalized twice", p.TransportID, p.JobVersion, mt.Table)
		}
		byObject[mt.Object] = mt
	}
	man := jobs.Manifest{Format: jobs.ManifestFormat, TransportID: p.TransportID, TransportName: p.TransportName,
		JobID: p.JobID, JobVersion: p.JobVersion, Status: jobs.StatusCompleted, StartedAt: p.CreatedAt,
		Source: p.Source, Snapshot: p.Snapshot, Bucket: p.Bucket}
	var missing []string
	for _, t := range p.Tables {
		mt, ok := byObject[t.Object]
		if !ok || mt.Status != jobs.StatusCompleted || len(mt.Ranges) != len(t.Shards) {
			missing = append(missing, t.Table)
			continue
		}
		delete(byObject, t.Object)
		man.TotalRows += mt.Rows
		man.TotalBytes += mt.Bytes
		man.Tables = append(man.Tables, mt)
	}
	for o := range byObject {
		missing = append(missing, "an object outside the plan: "+o)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return res, fmt.Errorf("distributed: finalize %s %s: tables not finalized: %s", p.TransportID, p.JobVersion, strings.Join(missing, ", "))
	}
	man.Consistency = jobs.ManifestConsistency(man.Tables)
	man.CompletedAt = now().UTC()
	if err := f.writeJSON(ctx, p.ManifestName(), man, false); err != nil {
		return res, fmt.Errorf("distributed: finalize: manifest: %w", err)
	}
	res.Manifest, res.ManifestURI = man, f.Store.URI(p.ManifestName())

	// the shards' objects are no longer needed
	res.CleanupErrors = f.cleanup(ctx)
	for _, e := range res.CleanupErrors {
		log.Warn("temporary object left behind", "warning", e)
	}
	return res, nil
}

// Abandon removes the tables' objects and schemas of a job whose
// finalize failed (a table composed while another failed), so that no
// object is left at a final name without a manifest. It does nothing when
// the job's manifest exists. The shards' results stay: finalize can run
// again.
func (f *Finalizer) Abandon(ctx context.Context) error {
	p := f.Plan
	if m, err := f.existing(ctx); err != nil || m != nil {
		return err
	}
	var names []string
	for _, t := range p.Tables {
		names = append(names, t.Object, p.Prefix()+t.ObjectBase+".schema.json")
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var errs []error
	for _, n := range names {
		if _, err := f.Store.Read(rctx, n); errors.Is(err, ErrNotFound) {
			continue
		}
		if err := f.Store.Remove(rctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Check returns nil when every shard of the plan has an accepted result;
// otherwise an error matching ErrShardsIncomplete that names every shard
// without one, with the errors its failed attempts recorded.
func (f *Finalizer) Check(ctx context.Context) error {
	all := make([]int, len(f.Plan.Shards))
	for i := range all {
		all[i] = i
	}
	_, err := f.completions(ctx, all)
	return err
}

// existing returns this plan's manifest when it exists (nil when it does
// not), or an error when another plan's manifest is there or it cannot be
// read.
func (f *Finalizer) existing(ctx context.Context) (*jobs.Manifest, error) {
	p := f.Plan
	b, err := f.Store.Read(ctx, p.ManifestName())
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("distributed: %w", err)
	}
	var m jobs.Manifest
	if json.Unmarshal(b, &m) == nil && m.TransportID == p.TransportID && m.JobVersion == p.JobVersion && m.JobID == p.JobID {
		return &m, nil
	}
	return nil, fmt.Errorf("distributed: %s exists and is not this plan's", f.Store.URI(p.ManifestName()))
}

// completions reads the accepted results of the given shards; when any
// has none (or a refused one), the error names every such shard with the
// errors its failed attempts recorded.
func (f *Finalizer) completions(ctx context.Context, shards []int) (map[int]Completion, error) {
	p := f.Plan
	done := make(map[int]Completion, len(shards))
	var missing []string
	var failed []jobs.ShardFailure
	for _, i := range shards {
		c, err := readCompletion(ctx, f.Store, p, i)
		switch {
		case err == nil:
			done[i] = c
		case errors.Is(err, ErrNotFound):
			msg := p.Describe(i) + ": no accepted result"
			reason := "no accepted result"
			if fails := f.failures(ctx, i); len(fails) > 0 {
				msg += " (failed: " + strings.Join(fails, "; ") + ")"
				reason = fails[len(fails)-1]
			}
			missing = append(missing, msg)
			failed = append(failed, p.shardFailure(i, reason))
		default:
			missing = append(missing, err.Error())
			failed = append(failed, p.shardFailure(i, err.Error()))
		}
	}
	if len(missing) > 0 {
		return nil, &jobs.ShardsError{Failed: failed,
			Err: fmt.Errorf("distributed: finalize %s %s: %w: %s", p.TransportID, p.JobVersion, ErrShardsIncomplete, strings.Join(missing, "; "))}
	}
	return done, nil
}

// table composes table ti from the shards' accepted results and writes
// its schema; it returns the names it wrote (also on an error).
func (f *Finalizer) table(ctx context.Context, ti int, done map[int]Completion, attempts map[int]int) (jobs.ManifestTable, []string, error) {
	p := f.Plan
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := p.Tables[ti]
	var written []string
	results := make([]pipeline.RangeResult, len(t.Shards))
	mt := jobs.ManifestTable{Table: t.Table, Status: jobs.StatusCompleted, Object: t.Object,
		Schema: p.Prefix() + t.ObjectBase + ".schema.json", Columns: jobs.ManifestColumns(t.Columns)}
	for k, si := range t.Shards {
		c := done[si]
		ieee, _ := parseHex32(c.CRC32)
		raw, _ := parseHex32(c.RawCRC32C)
		crc, _ := parseHex32(c.CRC32C)
		results[k] = pipeline.RangeResult{Rows: c.Rows, RawBytes: c.RawBytes, Bytes: c.Bytes, CRC32C: crc,
			RawCRC32C: raw, RawCRC32: ieee, Segment: c.Segment}
		re := jobs.RangeExtraction{Index: si, Rows: c.Rows, RawBytes: c.RawBytes, Bytes: c.Bytes, Attempts: max(1, attempts[si])}
		if c.Range != nil {
			re.Lo, re.Hi = c.Range.Lo, c.Range.Hi
		}
		mt.Ranges = append(mt.Ranges, re)
		mt.Attempts = max(mt.Attempts, re.Attempts)
	}
	tmp := p.ShardsPrefix() + "_final/" + t.ObjectBase + "/"
	_, codec, _, err := p.Settings.engine() // Validate checked it
	if err != nil {
		return mt, written, err
	}
	compose := func() (pipeline.Stats, error) {
		var temps []string
		st, err := pipeline.ComposeSegments(ctx, codec, f.Store, t.Object, tmp, results, func(n string) { temps = append(temps, n) })
		for _, n := range temps {
			_ = f.Store.Remove(context.WithoutCancel(ctx), n)
		}
		return st, err
	}
	st, err := compose()
	if err != nil {
		if !isExists(err) {
			return mt, written, fmt.Errorf("distributed: finalize %s: %w", t.Table, err)
		}
		// a finalize of this plan that died after composing: the
		// version folder is the plan's alone and has no manifest, so
		// the object is this plan's and is composed again
		log.Warn("final object exists without a manifest: composing it again", "object", t.Object)
		if rerr := f.Store.Remove(ctx, t.Object); rerr != nil {
			return mt, written, fmt.Errorf("distributed: finalize %s: %w", t.Table, rerr)
		}
		if st, err = compose(); err != nil {
			return mt, written, fmt.Errorf("distributed: finalize %s: %w", t.Table, err)
		}
	}
	written = append(written, t.Object)
	mt.URI = st.Object.URI
	mt.Rows, mt.Bytes, mt.RawBytes = st.Rows, st.CompressedBytes, st.RawBytes
	mt.CRC32C, mt.CRC32CHex = jobs.CRC32CBase64(st.CRC32C), hex32(st.CRC32C)
	mt.RawCRC32C, mt.RawCRC32Hex = jobs.CRC32CBase64(st.RawCRC32C), hex32(st.RawCRC32C)
	if c, ok := plannedConsistency(p.Snapshot); ok {
		mt.Consistency = &c // every shard read at the plan's snapshot, or failed
	}
	log.Info("table composed", "table", t.Table, "rows", mt.Rows, "bytes", mt.Bytes, "shards", len(t.Shards))
	if err := f.writeJSON(ctx, mt.Schema, stages.BigQuerySchema(t.Columns), true); err != nil {
		return mt, written, fmt.Errorf("distributed: finalize %s: schema: %w", t.Table, err)
	}
	written = append(written, mt.Schema)
	return mt, written, nil
}

// undo removes the objects a failed finalize wrote and returns err (with
// any removal errors).
func (f *Finalizer) undo(ctx context.Context, err error, written []string) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	errs := []error{err}
	for _, n := range written {
		if rerr := f.Store.Remove(rctx, n); rerr != nil {
			errs = append(errs, rerr)
		}
	}
	return errors.Join(errs...)
}

// writeJSON commits v as name; with replace, an object left at name by a
// finalize of this plan that died is replaced.
func (f *Finalizer) writeJSON(ctx context.Context, name string, v any, replace bool) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = writeOnce(ctx, f.Store, name, b)
	if err != nil && replace && isExists(err) {
		if err = f.Store.Remove(ctx, name); err == nil {
			_, err = writeOnce(ctx, f.Store, name, b)
		}
	}
	return err
}

// failures returns the errors recorded by shard i's failed attempts.
func (f *Finalizer) failures(ctx context.Context, i int) []string {
	names, err := f.Store.List(ctx, f.Plan.ShardDir(i))
	if err != nil {
		return []string{"cannot list its folder: " + err.Error()}
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		if !strings.HasPrefix(base(n), "failed-") {
			continue
		}
		b, err := f.Store.Read(ctx, n)
		var fl Failure
		if err != nil || json.Unmarshal(b, &fl) != nil || fl.PlanID != f.Plan.PlanID {
			continue
		}
		out = append(out, fmt.Sprintf("attempt %s: %s", fl.Attempt, fl.Error))
	}
	return out
}

// attempts counts the attempts of every shard below dir (default every
// shard's; segments and failure records of distinct attempt names).
func (f *Finalizer) attempts(ctx context.Context, dir string) map[int]int {
	out := map[int]int{}
	if dir == "" {
		dir = f.Plan.ShardsPrefix()
	}
	names, err := listAll(ctx, f.Store, dir)
	if err != nil {
		return out
	}
	seen := map[string]bool{}
	for _, n := range names {
		rest := strings.TrimPrefix(n, f.Plan.ShardsPrefix())
		var idx int
		if _, err := fmt.Sscanf(rest, "%05d/", &idx); err != nil {
			continue
		}
		b := base(n)
		var att string
		switch {
		case strings.HasPrefix(b, "seg-") && strings.HasSuffix(b, ".deflate"):
			att = strings.TrimSuffix(strings.TrimPrefix(b, "seg-"), ".deflate")
			if k := strings.LastIndex(att, "-t"); k > 0 {
				att = att[:k]
			}
		case strings.HasPrefix(b, "failed-") && strings.HasSuffix(b, ".json"):
			att = strings.TrimSuffix(strings.TrimPrefix(b, "failed-"), ".json")
		default:
			continue
		}
		key := fmt.Sprintf("%d/%s", idx, att)
		if !seen[key] {
			seen[key] = true
			out[idx]++
		}
	}
	return out
}

// cleanup removes everything below _shards/.
func (f *Finalizer) cleanup(ctx context.Context) []string {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	names, err := listAll(rctx, f.Store, f.Plan.ShardsPrefix())
	if err != nil {
		return []string{fmt.Sprintf("list %s: %v", f.Store.URI(f.Plan.ShardsPrefix()), err)}
	}
	var out []string
	for _, n := range names {
		if err := f.Store.Remove(rctx, n); err != nil {
			out = append(out, err.Error())
		}
	}
	if c, ok := f.Store.(pipeline.Cleaner); ok {
		if _, err := c.Clean(rctx, f.Plan.ShardsPrefix()); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}
