// Package beamjob runs a distributed plan (package distributed) as an
// Apache Beam pipeline: on Dataflow, or on Prism, Beam's local runner,
// in this process.
//
//	Create(shard indexes) → Reshuffle → ParDo(extract shard)
//	  → GroupByKey(table) → ParDo(finalize table) → GroupByKey(all) → ParDo(manifest)
//
// Extracting is distributed.ShardRun and finalizing distributed.Finalizer
// (Table, then Manifest): the same code `ora2gcs shard` and `ora2gcs
// finalize` run, so the objects are those of the CLI and of a
// single-machine run. Reshuffle spreads the shards over the workers; the
// GroupByKey after the shards holds every table's finalize back until
// every shard of the pipeline has its accepted result, so a shard that
// fails for good fails the pipeline with nothing at a final name. A
// runner that retries a failed bundle (Dataflow: 4 times in batch) runs
// its shards again; a shard with an accepted result is skipped, one
// without writes a segment of a new attempt. Prism does not retry: a
// failed bundle fails the job (beam 2.78.0,
// runners/prism/internal/execute.go:383-387 and 90-91), and Run runs the
// same plan again (Options.Attempts; TestPrismDoesNotRetryBundles).
//
// The DoFns carry the plan's URI and the source's name (no password:
// the workers take it from their environment, PGPASSWORD / ORACLE_PASSWORD,
// as `ora2gcs shard` does), so the job graph holds no secret.
package beamjob
