// Package file is a pipeline.Sink that writes objects into a local directory
// laid out like a bucket: object "TRP-001/v001/VBRP.jsonl.gz" of bucket
// "oracle-etl-data" in directory "./data" lands at
// "./data/oracle-etl-data/TRP-001/v001/VBRP.jsonl.gz".
//
// # Temporary files
//
// An object is written to a temporary file in its final directory (so in
// the job's version folder), named "." + the object's base name + a random
// part + TempSuffix (".ora2gcs.tmp"), for example
// ".VBRP.jsonl.gz.1234567890.ora2gcs.tmp". Object names ending in
// TempSuffix are refused, so the two can never be confused. Abort, a failed
// Commit or a Commit after the Create context was cancelled remove the
// temporary file; after a crash, Clean removes what a dead writer left below
// a prefix (the jobs package calls it for the version folder of an
// interrupted job). List never shows temporary files.
//
// # Commit: never replaced, durable when it says so
//
// Commit fsyncs the temporary file, then moves it to the final name with
// renameat2(RENAME_NOREPLACE) (Linux; hard link then unlink elsewhere or
// where the file system lacks it), so an existing object is never replaced:
// such a Commit fails with an error matching pipeline.ErrObjectExists, like
// the GCS sink's. Then the directory is fsynced. Every directory the sink
// creates has its entry in its parent fsynced before the first object in it
// is committed, so when Commit returns nil the object survives a crash of
// the machine. Every fsync error is returned; if the final directory cannot
// be synced the object is removed again and Commit fails. Compose works the
// same way.
package file
