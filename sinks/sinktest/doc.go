// Package sinktest is the conformance suite every pipeline.Sink passes.
//
// A sink's test calls Run with a Harness that creates a fresh sink and reads
// objects back through the storage itself (not through the sink's Object):
//
//	sinktest.Run(t, sinktest.Harness{
//		New:  func(t *testing.T) pipeline.Sink { … },
//		Read: func(t *testing.T, name string) ([]byte, bool) { … },
//	})
//
// The suite checks the contract of pipeline.Object: committed data reads back
// byte-identical (empty, small, multi-MB written in odd-sized pieces); nothing
// is visible before Commit, after Abort, or after the Create context was
// cancelled mid-write (whether the caller then commits or aborts); names of
// the spec's pattern ("TRP-20260118-001/v001/VBRP.jsonl.gz") work; ObjectInfo
// reports Name, URI, Size and the CRC32C (Castagnoli) of the bytes; Abort after
// Commit keeps the object; invalid names are rejected; two objects written
// concurrently do not mix; no Commit or Compose ever replaces an existing
// object: it fails with an error matching pipeline.ErrObjectExists (not
// transient) and the stored bytes stay those of the first commit, also when
// both writers were open at once. A sink that is a pipeline.Lister lists
// committed objects and levels below a prefix, never unfinished writes.
//
// A sink that stores nothing (the discard sink) sets StoresNothing: the suite
// then checks ObjectInfo, cancellation and name rules but not read-back.
package sinktest
