package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// rangeWorkers is the table parallelism of r's job: the transport's
// TableParallelism, else ManagerConfig.TableParallelism, capped so that
// tablesAtOnce tables with that many readers each plus the snapshot's
// connection stay within the connector's pool maximum (when it reports one).
func (m *Manager) rangeWorkers(ctx context.Context, r *run, tablesAtOnce int) int {
	want := m.cfg.TableParallelism
	if r.transport.TableParallelism > 0 {
		want = r.transport.TableParallelism
	}
	if want <= 1 {
		return 1
	}
	if _, ok := m.cfg.Connector.(pipeline.RangeSplitter); !ok {
		r.log.Info("table parallelism unused: the source cannot split tables", "table_parallelism", want)
		return 1
	}
	maxOpen := m.cfg.Connector.Status(ctx).Pool.MaxOpen
	if maxOpen <= 0 || tablesAtOnce < 1 {
		return want
	}
	per := max(1, (maxOpen-1)/tablesAtOnce) // one connection holds the snapshot
	if per < want {
		r.log.Warn("table parallelism capped by the connection pool", "table_parallelism", want, "capped_to", per,
			"pool_max_open", maxOpen, "parallel_tables", tablesAtOnce)
		return per
	}
	return want
}

// runRanged copies a table as parallel ranges when that applies: the
// connector splits tables, the job's table parallelism is above 1, the
// table's row estimate reaches RangeMinRows, the sink composes and removes
// objects and parts are off. It reports false, without touching anything,
// when the table runs as one pipeline instead (also when the source gives
// a single range).
func (m *Manager) runRanged(ctx context.Context, r *run, ts *tableState, info pipeline.TableInfo, snap pipeline.Snapshot,
	sink pipeline.Sink, log *slog.Logger) (bool, pipeline.Stats, int, error) {
	var st pipeline.Stats
	workers := r.rangeWorkers
	splitter, ok := m.cfg.Connector.(pipeline.RangeSplitter)
	_, composes := sink.(pipeline.Composer)
	_, removes := sink.(pipeline.Remover)
	if !ok || workers <= 1 || !composes || !removes || m.cfg.Pipeline.PartBytes != 0 ||
		(m.cfg.RangeMinRows > 0 && info.Rows < m.cfg.RangeMinRows) {
		return false, st, 0, nil
	}
	n := workers
	if m.cfg.RangeRows > 0 && info.Rows > 0 {
		n = int(min(int64(MaxRanges), max(int64(workers), (info.Rows+m.cfg.RangeRows-1)/m.cfg.RangeRows)))
	}
	ranges, err := splitter.Ranges(ctx, info, snap, n)
	if err != nil {
		return true, st, 0, fmt.Errorf("jobs: ranges of %s: %w", info.Name, err)
	}
	if len(ranges) <= 1 {
		return false, st, 0, nil
	}
	name := ts.te.TableName
	log.Info("table split into ranges", "ranges", len(ranges), "workers", min(workers, len(ranges)))
	prefix := fmt.Sprintf("%s/%s/", r.job.TransportID, r.job.Version)
	// Ranges read at once share the table's row budget: each reads batches of
	// ChunkRows/workers rows, so the rows in flight (and the GC's work) stay
	// those of one reader instead of growing with the parallelism.
	cfg := m.cfg.Pipeline.WithDefaults()
	batchRows := max(cfg.ChunkRows/max(1, min(workers, len(ranges))), min(cfg.FetchArraySize, cfg.ChunkRows))
	rr := pipeline.RangeRun{
		Name: ts.object, TempPrefix: prefix + "_ranges/" + ts.objectBase() + "/", Ranges: ranges, Sink: sink,
		Encoder: m.cfg.Encoder, Codec: m.cfg.Codec, Config: m.cfg.Pipeline, Workers: workers,
		Open: func(ctx context.Context, rg pipeline.Range) (pipeline.Source, error) {
			src, err := m.cfg.Connector.Open(ctx, info, snap, pipeline.ReadOptions{
				BatchRows: batchRows, FetchArraySize: cfg.FetchArraySize, Range: &rg, Raw: true, Window: ts.window})
			if err != nil {
				return nil, fmt.Errorf("jobs: open %s range %d: %w", name, rg.Index, err)
			}
			return src, nil
		},
		Observer: func(p pipeline.Progress) { r.observe(ts, p) },
		OnRetry: func(rg pipeline.Range, attempt int, err error) {
			log.Warn("range attempt failed, retrying", "range", rg.Index, "attempt", attempt, "error", err)
			e := r.event(EventError, m.now())
			e.Table, e.CurrentTable, e.Error, e.Retrying, e.Attempt, e.ErrorCode = name, name,
				fmt.Sprintf("range %d of %d: %v", rg.Index+1, rg.Total, err), true, attempt, "transient"
			r.hub.publish(e)
		},
	}
	st, res, err := rr.Run(ctx)
	attempts := 0
	exts := make([]RangeExtraction, len(res))
	for i, x := range res {
		exts[i] = RangeExtraction{Index: x.Range.Index, Lo: x.Range.Lo, Hi: x.Range.Hi, Rows: x.Rows,
			RawBytes: x.RawBytes, Bytes: x.Bytes, Attempts: x.Attempts}
		attempts = max(attempts, x.Attempts)
	}
	r.mu.Lock()
	ts.te.Ranges = exts
	r.mu.Unlock()
	return true, st, attempts, err
}
