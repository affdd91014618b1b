// Package gcs is a pipeline.Sink that writes objects to Google Cloud Storage
// with cloud.google.com/go/storage (v1.70.0, JSON/HTTP API).
//
// Each object is one resumable upload: the Writer buffers Config.ChunkSize
// bytes (default 16 MiB) and uploads them as one chunk request, blocking the
// caller meanwhile. ContentType is application/x-ndjson and ContentEncoding is
// left unset, because the object is a .gz file (gzip-compressed NDJSON) and
// must be downloaded as such, not decompressed in transit.
//
// # Retries
//
// The upload carries a DoesNotExist precondition (ifGenerationMatch=0). That
// makes it idempotent, so the client's default RetryIdempotent policy retries
// the request that starts the session and every chunk on 408/429/5xx and
// broken connections, with exponential backoff from Config.Backoff. It also
// means the sink never overwrites: a second object of the same name fails
// with ErrExists. The client's WithMaxAttempts is not applied to resumable
// HTTP uploads in v1.70 (only the backoff and the error function reach the
// uploader; it retries until ChunkRetryDeadline, 32 s), so the sink bounds
// attempts itself: at most Config.MaxAttempts per request, counted by its
// error function and reset whenever a chunk is acknowledged.
//
// # Lost answers
//
// The request that creates the object (a single-request upload, which the
// client uses for objects smaller than the chunk size; the final chunk of a
// resumable upload; a compose) can reach storage and lose its answer. The
// client's retry then meets the object it just created: 412 for the
// ifGenerationMatch=0 of a single-request upload or a compose, or an error
// for a resumable session that is already finished. So every object carries
// a random token of the attempt that wrote it in its custom metadata
// (AttemptMetadataKey, "ora2gcs-attempt"; one token per Create, one per
// Compose call). When the creating request fails and the caller has not
// cancelled, the sink reads the object's attributes: if it carries this
// attempt's token, it is this attempt's object, verified (size and CRC32C)
// like any other answer, and Commit/Compose succeed with the stored
// attributes. Otherwise the error stands; for 412 it matches ErrExists (and
// pipeline.ErrObjectExists), also when the other writer's object holds the
// very same bytes. If the caller has cancelled, the call fails, and an
// object carrying this attempt's token (created before the answer was lost)
// is deleted, so a failed Commit or Compose leaves nothing at the name.
//
// # Verification
//
// The sink counts the size and CRC32C (Castagnoli) of the bytes written.
// After the upload is finalized it compares them with the size and CRC32C
// that GCS reports for the stored object; a mismatch fails Commit with
// ErrMismatch and the object (that exact generation) is deleted, so a
// failed Commit leaves nothing — there is a short window between finalize
// and delete in which the bad object exists.
//
// A CRC32C of 0 is a checksum like any other, but it is also what the
// client decodes from an answer without one. So when an answer's CRC32C is
// 0, the sink reads that generation's attributes again and, if they read 0
// too, the object's bytes: a CRC32C of 0 computed from them is the
// checksum; anything else means storage reports none, and Commit or Compose
// deletes the object and fails with ErrNoChecksum. ObjectInfo.CRC32CReported
// is set on every ObjectInfo the sink returns.
//
// GCS itself also checks the whole object: for chunked uploads the client
// computes the CRC32C of everything written and sends it with the final
// chunk (X-Goog-Hash: crc32c=…, automatic unless DisableAutoChecksum), and
// GCS rejects the upload if the stored bytes differ. Writer.SendCRC32C is not
// used: it needs the checksum before the first Write (the metadata goes with
// the request that starts the session), which a streaming writer does not
// know, and setting it turns the automatic full-object checksum off. Note
// that fake-gcs-server ignores X-Goog-Hash, so against the emulator only the
// sink's own comparison catches corruption.
//
// # Abort and cancellation
//
// Writes go through a child of Create's context. Abort cancels it before
// closing the Writer; the object is only finalized by the request sent after
// the last chunk on Close, and every request after the cancel fails, so an
// aborted or cancelled upload creates no object. An unfinished resumable
// session expires on the server after a week and costs nothing.
//
// # Errors
//
// Errors name the object (gs://bucket/name) and the cause. Query-string
// secrets (the upload_id of the session, tokens, signatures) and bearer
// tokens are replaced by REDACTED. Errors worth retrying from the start of
// the object (5xx, 429, broken connections) are marked pipeline.Transient.
//
// # Credentials and emulators
//
// New uses Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS
// (a service-account key file), gcloud user credentials or the metadata
// server. If STORAGE_EMULATOR_HOST is set, storage.NewClient itself (v1.70,
// storage.go and http_client.go) points the JSON API, uploads and XML reads
// at that host and drops authentication; New adds storage.WithJSONReads so
// Open works against fake-gcs-server, whose XML reads answer 404.
//
// # Lifecycle rules
//
// EnsureRetention, CheckRetention and RetentionRules keep one Delete rule
// per transport prefix in the bucket's Object Lifecycle Management. They
// read and write the bucket's lifecycle through Metadata, the JSON API
// without the client library's types, so every other rule goes back
// exactly as the bucket holds it (the library drops conditions it does not
// model). New makes the Metadata client; a sink from NewWithClient needs
// WithMetadata.
//
// Splitting a table into parts (…part-00001.jsonl.gz) is the pipeline's job,
// at row boundaries; the sink writes whatever object it is given.
package gcs
