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
var ErrShardsIncomplete = errors.New("shards without an accepted result")

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
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	var res FinalResult
	if b, err := f.Store.Read(ctx, p.ManifestName()); err == nil {
		var m jobs.Manifest
		if json.Unmarshal(b, &m) == nil && m.TransportID == p.TransportID && m.JobVersion == p.JobVersion && m.JobID == p.JobID {
			res.Manifest, res.ManifestURI, res.AlreadyFinalized = m, f.Store.URI(p.ManifestName()), true
			return res, nil
		}
		return res, fmt.Errorf("distributed: %s exists and is not this plan's", f.Store.URI(p.ManifestName()))
	} else if !errors.Is(err, ErrNotFound) {
		return res, fmt.Errorf("distributed: %w", err)
	}

	// 1. every shard's accepted result
	done := make([]Completion, len(p.Shards))
	var missing []string
	for i := range p.Shards {
		c, err := readCompletion(ctx, f.Store, p, i)
		switch {
		case err == nil:
			done[i] = c
		case errors.Is(err, ErrNotFound):
			msg := p.Describe(i) + ": no accepted result"
			if fails := f.failures(ctx, i); len(fails) > 0 {
				msg += " (failed: " + strings.Join(fails, "; ") + ")"
			}
			missing = append(missing, msg)
		default:
			missing = append(missing, err.Error())
		}
	}
	if len(missing) > 0 {
		return res, fmt.Errorf("distributed: finalize %s %s: %w: %s", p.TransportID, p.JobVersion, ErrShardsIncomplete, strings.Join(missing, "; "))
	}
	attempts := f.attempts(ctx)

	// 2. compose every table
	man := jobs.Manifest{Format: jobs.ManifestFormat, TransportID: p.TransportID, TransportName: p.TransportName,
		JobID: p.JobID, JobVersion: p.JobVersion, Status: jobs.StatusCompleted, StartedAt: p.CreatedAt,
		Source: p.Source, Snapshot: p.Snapshot, Bucket: p.Bucket}
	var composed []string
	undo := func(err error) (FinalResult, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		var errs []error
		for _, n := range composed {
			if rerr := f.Store.Remove(rctx, n); rerr != nil {
				errs = append(errs, rerr)
			}
		}
		return res, errors.Join(append([]error{err}, errs...)...)
	}
	for _, t := range p.Tables {
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
		var temps []string
		st, err := pipeline.ComposeSegments(ctx, f.Store, t.Object, tmp, results, func(n string) { temps = append(temps, n) })
		for _, n := range temps {
			_ = f.Store.Remove(context.WithoutCancel(ctx), n)
		}
		if err != nil {
			if !isExists(err) {
				return undo(fmt.Errorf("distributed: finalize %s: %w", t.Table, err))
			}
			// a finalize of this plan that died after composing: the
			// version folder is the plan's alone and has no manifest, so
			// the object is this plan's and is composed again
			log.Warn("final object exists without a manifest: composing it again", "object", t.Object)
			if rerr := f.Store.Remove(ctx, t.Object); rerr != nil {
				return undo(fmt.Errorf("distributed: finalize %s: %w", t.Table, rerr))
			}
			temps = temps[:0]
			st, err = pipeline.ComposeSegments(ctx, f.Store, t.Object, tmp, results, func(n string) { temps = append(temps, n) })
			for _, n := range temps {
				_ = f.Store.Remove(context.WithoutCancel(ctx), n)
			}
			if err != nil {
				return undo(fmt.Errorf("distributed: finalize %s: %w", t.Table, err))
			}
		}
		composed = append(composed, t.Object)
		mt.URI = st.Object.URI
		mt.Rows, mt.Bytes, mt.RawBytes = st.Rows, st.CompressedBytes, st.RawBytes
		mt.CRC32C, mt.CRC32CHex = jobs.CRC32CBase64(st.CRC32C), hex32(st.CRC32C)
		mt.RawCRC32C, mt.RawCRC32Hex = jobs.CRC32CBase64(st.RawCRC32C), hex32(st.RawCRC32C)
		man.TotalRows += mt.Rows
		man.TotalBytes += mt.Bytes
		if c, ok := plannedConsistency(p.Snapshot); ok {
			mt.Consistency = &c // every shard read at the plan's snapshot, or failed
		}
		man.Tables = append(man.Tables, mt)
		log.Info("table composed", "table", t.Table, "rows", mt.Rows, "bytes", mt.Bytes, "shards", len(t.Shards))
	}

	// 3. schemas, then the manifest
	for i, t := range p.Tables {
		if err := f.writeJSON(ctx, man.Tables[i].Schema, stages.BigQuerySchema(t.Columns), true); err != nil {
			return undo(fmt.Errorf("distributed: finalize %s: schema: %w", t.Table, err))
		}
		composed = append(composed, man.Tables[i].Schema)
	}
	man.Consistency = jobs.ManifestConsistency(man.Tables)
	man.CompletedAt = now().UTC()
	if err := f.writeJSON(ctx, p.ManifestName(), man, false); err != nil {
		return undo(fmt.Errorf("distributed: finalize: manifest: %w", err))
	}
	res.Manifest, res.ManifestURI = man, f.Store.URI(p.ManifestName())

	// 4. the shards' objects are no longer needed
	res.CleanupErrors = f.cleanup(ctx)
	for _, e := range res.CleanupErrors {
		log.Warn("temporary object left behind", "warning", e)
	}
	return res, nil
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

// attempts counts the attempts of every shard (segments and failure
// records of distinct attempt names); at least 1 for a shard with a result.
func (f *Finalizer) attempts(ctx context.Context) map[int]int {
	out := map[int]int{}
	names, err := listAll(ctx, f.Store, f.Plan.ShardsPrefix())
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
