// Package file is a pipeline.Sink that writes objects into a local directory
// laid out like a bucket: object "TRP-001/v001/VBRP.jsonl.gz" of bucket
// "oracle-etl-data" in directory "./data" lands at
// "./data/oracle-etl-data/TRP-001/v001/VBRP.jsonl.gz".
//
// An object is written to a temporary file next to its final name (the final
// name plus a random part, ending in ".tmp"), fsynced and renamed over the
// final name on Commit, so the final name never holds a partial file. Abort,
// a failed Commit or a Commit after the Create context was cancelled remove
// the temporary file. A committed object replaces an existing file of the same
// name (rename semantics); the GCS sink instead refuses to overwrite.
package file
