// Package pipeline is the core of ora2gcs: it moves one table from a Source
// to one committed Object of a Sink as a single gzip member of NDJSON.
//
// Data flow for one table:
//
//	Source.Next ──► bounded chan *Batch ──► N encode workers (Transforms, RowEncoder[, BlockCompressor])
//	           ──► reorder by Batch.Seq ──► one writer: [compressor ──►] CRC32C/size ──► Object
//
// With Pipeline.Blocks the workers compress: each piece becomes a raw
// DEFLATE segment, and the writer writes a gzip header, the segments in order
// and a trailer whose CRC-32 it combines from the workers' (CRC32Combine);
// with Pipeline.Compressor (e.g. pgzip) the writer compresses. Either way an
// object is one gzip member. Then the compressor is closed (or the trailer
// written), the Object committed and its reported size and CRC32C checked
// against what was written. Any error in any stage cancels every other stage,
// aborts the Object (nothing that looks complete is left behind) and is
// returned by Run. Memory is bounded by Config: at most
// Config.InFlight() batches exist at once, whatever the size of the table.
//
// The encoder and compressor are stages chosen by the caller (see package
// stages for the NDJSON encoder and the pgzip compressor), so a program can
// compose its own graph. Connector describes a database (catalog, consistent
// snapshot, table readers) and is implemented by the packages under sources/.
//
// RangeRun reads one table as parallel ranges (RangeSplitter) and still
// writes ONE object that is ONE gzip member: each range's pipeline writes a
// raw DEFLATE segment ending in a sync flush (stages.Deflate) into a
// temporary object; a 10-byte gzip header object, the segments in range
// order and a trailer object (final empty block, CRC-32 combined from the
// ranges' CRCs with CRC32Combine, ISIZE) are joined by the sink's Composer
// (GCS compose, in a tree above 32 sources), the composite CRC32C checked
// against the one combined from the parts, and the temporary objects
// removed. A failed range is retried alone; a failed table leaves nothing.
package pipeline
