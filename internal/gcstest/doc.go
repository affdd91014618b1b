// Package gcstest runs github.com/fsouza/fake-gcs-server in-process for
// tests and benchmarks, and puts a fault-injecting reverse proxy in front of
// it.
//
//	srv := gcstest.Start(t, "oracle-etl-data")   // emulator on 127.0.0.1:<free port>, bucket created
//	client := srv.Client                           // *storage.Client talking to it (JSON API, no auth)
//	p := srv.Proxy(t, gcstest.Plan{2: gcstest.Fail503, 3: gcstest.DropMidBody})
//	faulty := p.Client                             // same emulator, but chunk requests 2 and 3 fail
//	q := srv.Proxy(t, nil, gcstest.Rule{Kind: gcstest.Upload, Name: "x/_manifest.json", N: 1, Fault: gcstest.DropAfterForward})
//	                                               // the first single-request upload of x/_manifest.json is stored, its answer lost
//
// Faults are planned per kind of request (Kind): chunks of resumable
// uploads (Plan numbers them), the final chunk, single-request uploads,
// composes, attribute reads and deletes. Besides failing or dropping a
// request, the proxy can forward it and drop the answer (a lost answer) or
// strip the crc32c from the answer, and a Rule can run code just before
// its request passes (another writer acting meanwhile).
//
// Everything is stopped by t.Cleanup.
//
// Emulator facts a test must know (fake-gcs-server v1.56.1, read in its
// source):
//   - Reads through the client's default XML API answer 404, so every client
//     made here uses storage.WithJSONReads().
//   - Chunks of a resumable upload are appended as they arrive: the
//     Content-Range offset is ignored, so a chunk the emulator stored whose
//     answer was lost is stored twice when the client resends it (real GCS
//     answers with the persisted range instead). DropAfterForward provokes
//     exactly this; a sink must detect the longer object by size/CRC32C.
//   - The X-Goog-Hash crc32c that the client sends with the final chunk is
//     ignored; only a crc32c declared in the initial metadata is checked.
//     CorruptByte therefore makes the emulator store a corrupted object,
//     which real GCS would have rejected at finalize.
//   - It recomputes MD5 and CRC32C of the whole object on every chunk, so
//     uploads slow down as objects grow; never tune performance against it.
//   - It keeps every object in memory.
//   - A chunk sent again after its session finished answers 404 (GCS
//     answers with the finished object).
//   - Compose ignores preconditions and overwrites its destination; the
//     proxy answers a compose with ifGenerationMatch=0 whose destination
//     exists with 412 itself, as GCS does.
package gcstest
