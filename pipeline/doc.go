// Package pipeline is the core of ora2gcs: it moves one table from a Source
// to one committed Object of a Sink as a single gzip member of NDJSON.
//
// Data flow for one table:
//
//	Source.Next ──► bounded chan *Batch ──► N encode workers (Transforms, RowEncoder[, BlockCompressor])
//	           ──► reorder by Batch.Seq ──► one writer: [compressor ──►] CRC32C/size ──► Object
//
// Compression is one value, the Pipeline's Codec (package compression
// implements it; the pipeline knows no compressor and no gzip byte). In the
// Codec's BlockMode the workers compress: each piece becomes a raw segment,
// and the writer writes the Codec's header, the segments in order and its
// trailer, whose checksum it combines from the workers' (Codec.CombineSums);
// otherwise the writer compresses (Codec.NewWriter, e.g. pgzip). Either way
// an object is one gzip member. Then the compressor is closed (or the
// trailer written), the Object committed and its reported size and CRC32C
// checked against what was written. Any error in any stage cancels every
// other stage, aborts the Object (nothing that looks complete is left
// behind) and is returned by Run. Memory is bounded by Config: at most
// Config.InFlight() batches exist at once, whatever the size of the table.
//
// The encoder and the codec are chosen by the caller (package stages holds
// the NDJSON encoder, package compression the codecs), so a program can
// compose its own graph. Connector describes a database (catalog,
// consistent snapshot, table readers) and is implemented by the packages
// under sources/.
//
// RangeRun reads one table as parallel ranges (RangeSplitter) and still
// writes ONE object that is ONE gzip member: each range's pipeline writes a
// raw segment (Codec.NewSegmentWriter: DEFLATE ending in a sync flush) into
// a temporary object; a header object, the segments in range order and a
// trailer object (the Codec's Framing: for gzip the final empty block, the
// CRC-32 combined from the ranges' and ISIZE) are joined by the sink's
// Composer (GCS compose, in a tree above 32 sources), the composite CRC32C
// checked against the one combined from the parts (CRC32Combine), and the
// temporary objects removed. A failed range is retried alone; a failed
// table leaves nothing.
package pipeline
