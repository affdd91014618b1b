// Package discard is a pipeline.Sink that stores nothing: each object counts
// its bytes and their CRC32C and reports them on Commit. It is the `null`
// target of `ora2gcs bench`, measuring the pipeline without storage cost.
//
// It follows the Object contract (exactly one of Commit or Abort; a cancelled
// Create context fails Write and Commit; invalid names are rejected) so code
// that works against it behaves the same against a real sink. Since nothing
// is stored, nothing is ever visible: sinktest runs it with StoresNothing.
package discard
