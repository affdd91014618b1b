package distributed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// CompletionFormat identifies a shard's completion record (done.json).
const CompletionFormat = "ora2gcs-shard/1"

// Completion is a shard's accepted result, {trpid}/{jobver}/_shards/NNNNN/done.json.
type Completion struct {
	Format      string          `json:"format"`
	PlanID      string          `json:"plan_id"`
	TransportID string          `json:"transport_id"`
	JobVersion  string          `json:"job_version"`
	Shard       int             `json:"shard"`
	Table       string          `json:"table"`
	Range       *pipeline.Range `json:"range,omitempty"`
	Attempt     string          `json:"attempt"`
	Segment     string          `json:"segment"`
	Rows        int64           `json:"rows"`
	RawBytes    int64           `json:"raw_bytes"`
	Bytes       int64           `json:"bytes"`      // the segment as stored
	CRC32       string          `json:"crc32"`      // IEEE (gzip's) of the NDJSON, 8 hex digits
	RawCRC32C   string          `json:"raw_crc32c"` // of the NDJSON
	CRC32C      string          `json:"crc32c"`     // of the segment as stored
	Tries       int             `json:"tries"`      // reads by this process (retries after transient errors)
	Seconds     float64         `json:"seconds"`
	CompletedAt time.Time       `json:"completed_at"`
}

// Failure records why an attempt gave up, _shards/NNNNN/failed-{attempt}.json.
type Failure struct {
	Format   string    `json:"format"`
	PlanID   string    `json:"plan_id"`
	Shard    int       `json:"shard"`
	Attempt  string    `json:"attempt"`
	Error    string    `json:"error"`
	Tries    int       `json:"tries"`
	FailedAt time.Time `json:"failed_at"`
}

// ShardRun extracts one shard of a plan.
type ShardRun struct {
	Plan      *Plan
	Store     Store
	Connector pipeline.Connector
	Index     int
	// Attempt names this attempt ([A-Za-z0-9-], default random): its
	// segment is seg-{Attempt}-tN.deflate.
	Attempt string
	Log     *slog.Logger
	// Observer, if set, receives the shard's progress (a retry takes its
	// rows back with one negative Progress).
	Observer func(pipeline.Progress)
	// BeforeRead, if set, is called before each read of the shard (try
	// 1, 2, …); an error fails that try as the read would (tests inject
	// failures with it).
	BeforeRead func(try int) error
}

// ShardResult is what RunShard did.
type ShardResult struct {
	Completion Completion
	// Accepted: this attempt's result is the shard's accepted one. False
	// when another attempt's result was accepted before (the shard was
	// done already, or a concurrent attempt committed first).
	Accepted bool
}

var attemptRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// snapshotTooOld matches Oracle's ORA-01555 as the oracle source reports
// it ("snapshot too old (ORA-01555): …", sources/oracle/errors.go).
var snapshotTooOld = regexp.MustCompile(`ORA-01555`)

// Run extracts the shard at the plan's snapshot into its own segment and
// commits the completion record, unless the shard has an accepted result
// already (then it reads nothing). A transient error (or ORA-01555: undo
// overwritten while the shard read, which a shorter read may escape)
// retries the whole shard into a fresh segment, Plan.Attempts times. Only
// objects below the shard's own folder are written or removed.
func (s *ShardRun) Run(ctx context.Context) (ShardResult, error) {
	p := s.Plan
	if s.Index < 0 || s.Index >= len(p.Shards) {
		return ShardResult{}, fmt.Errorf("distributed: shard index %d: the plan has shards 0..%d", s.Index, len(p.Shards)-1)
	}
	if s.Connector.Kind() != p.Source {
		return ShardResult{}, fmt.Errorf("distributed: the plan reads a %s source, this process is configured for %s", p.Source, s.Connector.Kind())
	}
	if s.Attempt == "" {
		s.Attempt = randomID(6)
	}
	if !attemptRE.MatchString(s.Attempt) {
		return ShardResult{}, fmt.Errorf("distributed: attempt name %q: use letters, digits and '-'", s.Attempt)
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	what := p.Describe(s.Index)
	log = log.With("shard", s.Index, "attempt", s.Attempt)
	if c, err := s.accepted(ctx); err == nil {
		log.Info("shard has an accepted result already", "accepted_attempt", c.Attempt)
		return ShardResult{Completion: c}, nil
	} else if !errors.Is(err, ErrNotFound) {
		return ShardResult{}, err
	}

	enc, codec, cfg, err := p.Settings.engine()
	if err != nil {
		return ShardResult{}, fmt.Errorf("distributed: %w", err)
	}
	sh := p.Shards[s.Index]
	t := p.Tables[sh.Table]
	info := pipeline.TableInfo{Schema: t.Schema, Name: t.Name, Columns: t.Columns, ColumnCount: len(t.Columns), Rows: t.RowEstimate}
	var snap pipeline.Snapshot
	if p.Snapshot.Kind != "none" && p.Snapshot.Kind != "" {
		snap = plannedSnapshot{p.Snapshot}
	}
	dir := p.ShardDir(s.Index)
	start := time.Now()
	var got pipeline.RangeResult
	var reported pipeline.Progress
	retry := p.Attempts.retry()
	tries, err := retry.Do(ctx, func(try int) error {
		if s.Observer != nil && reported != (pipeline.Progress{}) {
			s.Observer(pipeline.Progress{Rows: -reported.Rows, Batches: -reported.Batches, RawBytes: -reported.RawBytes, CompressedBytes: -reported.CompressedBytes})
			reported = pipeline.Progress{}
		}
		name := fmt.Sprintf("%sseg-%s-t%d.deflate", dir, s.Attempt, try)
		err := func() error {
			if s.BeforeRead != nil {
				if err := s.BeforeRead(try); err != nil {
					return err
				}
			}
			src, err := s.Connector.Open(ctx, info, snap, pipeline.ReadOptions{BatchRows: t.BatchRows,
				FetchArraySize: cfg.WithDefaults().FetchArraySize, Range: sh.Range, Raw: true})
			if err != nil {
				return fmt.Errorf("open %s: %w", t.Table, err)
			}
			// a table that is one shard is compressed as a single-machine
			// run compresses it, so its object is the same byte for byte
			w := pipeline.SegmentWrite{Source: src, Sink: s.Store, Name: name, Encoder: enc, Codec: codec, Config: cfg, Whole: sh.Range == nil,
				Observer: func(q pipeline.Progress) {
					reported.Rows += q.Rows
					reported.Batches += q.Batches
					reported.RawBytes += q.RawBytes
					reported.CompressedBytes += q.CompressedBytes
					if s.Observer != nil {
						s.Observer(q)
					}
				}}
			got, err = w.Run(ctx)
			return err
		}()
		if err != nil && !pipeline.IsTransient(err) && snapshotTooOld.MatchString(err.Error()) {
			err = pipeline.Transient(err)
		}
		if err != nil && pipeline.IsTransient(err) && try < retry.Attempts && ctx.Err() == nil {
			log.Warn("shard read failed, retrying", "try", try, "error", err)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			_ = s.Store.Remove(rctx, name) // normally nothing was committed
			cancel()
		}
		return err
	})
	if err != nil {
		err = fmt.Errorf("distributed: %s: %w", what, err)
		f := Failure{Format: CompletionFormat, PlanID: p.PlanID, Shard: s.Index, Attempt: s.Attempt, Error: err.Error(),
			Tries: tries, FailedAt: time.Now().UTC()}
		b, _ := json.MarshalIndent(f, "", "  ")
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, werr := writeOnce(rctx, s.Store, dir+"failed-"+s.Attempt+".json", append(b, '\n')); werr != nil {
			log.Warn("could not record the failure", "error", werr)
		}
		return ShardResult{}, err
	}
	c := Completion{Format: CompletionFormat, PlanID: p.PlanID, TransportID: p.TransportID, JobVersion: p.JobVersion,
		Shard: s.Index, Table: t.Table, Range: sh.Range, Attempt: s.Attempt, Segment: got.Segment,
		Rows: got.Rows, RawBytes: got.RawBytes, Bytes: got.Bytes, CRC32: hex32(got.RawCRC32),
		RawCRC32C: hex32(got.RawCRC32C), CRC32C: hex32(got.CRC32C), Tries: tries,
		Seconds: time.Since(start).Seconds(), CompletedAt: time.Now().UTC()}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return ShardResult{}, fmt.Errorf("distributed: %s: encode record: %w", what, err)
	}
	_, err = writeOnce(ctx, s.Store, p.DoneName(s.Index), append(b, '\n'))
	if err == nil {
		log.Info("shard done", "rows", c.Rows, "bytes", c.Bytes, "segment", c.Segment)
		return ShardResult{Completion: c, Accepted: true}, nil
	}
	if !isExists(err) {
		return ShardResult{}, fmt.Errorf("distributed: %s: commit record: %w", what, err)
	}
	// another attempt was accepted first: ours is not needed
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if rerr := s.Store.Remove(rctx, got.Segment); rerr != nil {
		log.Warn("could not remove the unneeded segment", "segment", got.Segment, "error", rerr)
	}
	other, aerr := s.accepted(ctx)
	if aerr != nil {
		return ShardResult{}, fmt.Errorf("distributed: %s: another attempt's record exists but cannot be read: %w", what, aerr)
	}
	log.Info("another attempt was accepted first", "accepted_attempt", other.Attempt)
	return ShardResult{Completion: other}, nil
}

// accepted reads and checks the shard's accepted result.
func (s *ShardRun) accepted(ctx context.Context) (Completion, error) {
	return readCompletion(ctx, s.Store, s.Plan, s.Index)
}

// readCompletion reads done.json of shard i and checks that it belongs to
// plan p and shard i and names a segment in the shard's own folder.
func readCompletion(ctx context.Context, st Store, p *Plan, i int) (Completion, error) {
	var c Completion
	b, err := st.Read(ctx, p.DoneName(i))
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("distributed: %s: record %s: %w", p.Describe(i), st.URI(p.DoneName(i)), err)
	}
	var why []string
	if c.Format != CompletionFormat {
		why = append(why, fmt.Sprintf("format %q", c.Format))
	}
	if c.PlanID != p.PlanID || c.TransportID != p.TransportID || c.JobVersion != p.JobVersion {
		why = append(why, fmt.Sprintf("it belongs to plan %s of %s %s, not to plan %s of %s %s",
			c.PlanID, c.TransportID, c.JobVersion, p.PlanID, p.TransportID, p.JobVersion))
	}
	if c.Shard != i {
		why = append(why, fmt.Sprintf("it is shard %d's", c.Shard))
	}
	sh := p.Shards[i]
	if (c.Range == nil) != (sh.Range == nil) || (c.Range != nil && *c.Range != *sh.Range) {
		why = append(why, "its range is not the plan's")
	}
	if !strings.HasPrefix(c.Segment, p.ShardDir(i)+"seg-") || strings.Contains(c.Segment[len(p.ShardDir(i)):], "/") {
		why = append(why, fmt.Sprintf("its segment %q is outside the shard's folder", c.Segment))
	}
	for _, h := range []string{c.CRC32, c.RawCRC32C, c.CRC32C} {
		if _, err := parseHex32(h); err != nil {
			why = append(why, err.Error())
		}
	}
	if c.Rows < 0 || c.RawBytes < 0 || c.Bytes < 0 {
		why = append(why, "negative counts")
	}
	if len(why) > 0 {
		return c, fmt.Errorf("distributed: %s: record %s refused: %s", p.Describe(i), st.URI(p.DoneName(i)), strings.Join(why, "; "))
	}
	return c, nil
}

func hex32(v uint32) string { return fmt.Sprintf("%08x", v) }

func parseHex32(s string) (uint32, error) {
	var v uint32
	if len(s) != 8 {
		return 0, fmt.Errorf("checksum %q is not 8 hex digits", s)
	}
	if _, err := fmt.Sscanf(s, "%08x", &v); err != nil {
		return 0, fmt.Errorf("checksum %q is not 8 hex digits", s)
	}
	return v, nil
}
