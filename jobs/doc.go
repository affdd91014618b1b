// Package jobs is the domain of ora2gcs: transports (named groups of tables),
// their versioned jobs and per-table extractions, persisted in an embedded
// SQLite database, and the Manager that runs a transport as a job for both
// the CLI and the HTTP server.
//
// A transport gets an ID TRP-YYYYMMDD-NNN (UTC day, per-day sequence); every
// execution is a job JOB-YYYYMMDD-NNN with the transport's next version v001,
// v002, … (spec FR-04). One job runs at a time (spec BC-03): Execute returns
// a *RunningError meanwhile. Before a version is assigned, a pre-flight opens
// the sink, checks it (pipeline.Checker), lists the job versions the target
// holds under {trpid}/ (pipeline.Lister) and resolves every table; the new
// version is above every version of the transport in the store and in the
// target, so a lost, wiped or second state database never reuses one, and
// sinks never replace an object (pipeline.ErrObjectExists).
//
// A job captures one snapshot of the source, runs its tables through the
// pipeline with ManagerConfig.ParallelTables at once, each into the object
// {trpid}/{jobver}/{TABLE}.jsonl.gz of the transport's bucket, retrying a
// table from the start into a fresh object after a transient error, and
// records every table's rows, bytes, CRC32C, object and attempts. At the end
// it writes {trpid}/{jobver}/_manifest.json and a BigQuery schema (stages.BigQuerySchema)
// {TABLE}.schema.json per table next to the data. A job with a failed table
// ends failed and names it; the tables that succeeded stay recorded.
//
// Every job has an event stream (spec FR-06): table_start, progress (per
// table and overall, at most every ProgressInterval per table), table_complete,
// error and complete. Subscribers never slow a job: progress is coalesced for
// a slow reader, other events are never dropped, and a late subscriber first
// gets a replay of the current state, from the store for a finished job.
//
// The store migrates itself at open (schema_migrations, migrations listed in
// code) and marks jobs a crashed process left running as failed with the
// error "interrupted" and their leftovers as to be cleaned up. NewManager
// removes those in the background (cleanup.go): temporary files of the file
// sink (pipeline.Cleaner), everything under {trpid}/{jobver}/_ranges/ and
// version folders left empty (never a committed object: see cleanupJob); a
// clean-up that fails is tried again at the next start. A job
// that ends without completing is cleaned up the same way as it ends.
// Metrics (github.com/VictoriaMetrics/metrics) are kept in the Manager's own
// Set.
//
// Table parallelism (ManagerConfig.TableParallelism, overridden per
// transport): when the connector splits tables (pipeline.RangeSplitter), the
// sink composes and removes objects, parts are off, the parallelism is above
// 1 and a table's row estimate reaches RangeMinRows, the table is read as
// ranges of the job's one snapshot by pipeline.RangeRun into its single
// object; otherwise it runs as one pipeline, unchanged. Range readers per
// table are capped so that parallel_tables × readers + the snapshot's
// connection stay within the connector's pool maximum (logged when capped).
// Events and metrics stay per table; TableExtraction.Ranges and the
// manifest list each range's rows, bytes and attempts.
package jobs
