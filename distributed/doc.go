// Package distributed runs one job as shards in separate processes (or
// machines): Plan takes the snapshot and splits the tables into shards
// (table × range), RunShard extracts one shard at the plan's snapshot into
// a raw DEFLATE segment, and Finalize composes each table's segments into
// the one-member {TABLE}.jsonl.gz a single-machine run writes, with its
// {TABLE}.schema.json and the job's _manifest.json.
//
// Layout below {trpid}/{jobver}/ of the bucket:
//
//	_plan.json                               the plan (PlanFormat), written once
//	_shards/NNNNN/seg-{attempt}.deflate      one segment per attempt of shard NNNNN
//	_shards/NNNNN/done.json                  the accepted result (Completion), written once
//	_shards/NNNNN/failed-{attempt}.json      why an attempt gave up (Failure)
//	_shards/_final/{TABLE}/                  gzip header and trailer while composing
//
// Idempotency rests on one rule every sink of this module keeps: a name,
// once committed, is never replaced (ifGenerationMatch=0 on GCS, a
// no-replace rename on files). Each attempt writes its own segment; the
// first attempt to commit done.json is the shard's one accepted result and
// every later or concurrent attempt removes its own segment and reports
// the accepted one. A shard writes and removes only below its own
// _shards/NNNNN/. Every record carries the plan's random PlanID, so a
// record of another plan (another job version, or a plan written again)
// is refused by Finalize, as is a record naming a segment outside its
// shard's folder. Finalize composes only when every shard has an accepted
// result; otherwise it names the shards without one and writes nothing
// at a final name. Composed objects are checked against the size and
// CRC32C combined from the segments' records, and a mismatch removes them.
//
// The reading code is the pipeline's: each shard is one
// pipeline.SegmentWrite (the same per-range pipeline pipeline.RangeRun
// runs), and Finalize is pipeline.ComposeSegments. With the same settings
// and ranges a split table's object is byte for byte that of a
// single-machine run reading it as parallel ranges, and a table planned as
// one shard is compressed as a single pipeline compresses it
// (pipeline.SegmentWrite.Whole), so with the lines and blocks codecs its
// object is that of a single-machine run reading it whole; with pgzip only
// its NDJSON is (as every object's is, after gunzip, for any single-machine
// run of the same snapshot).
package distributed
