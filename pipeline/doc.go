// Package pipeline is the core of ora2gcs: it moves one table from a Source
// to one committed Object of a Sink as a single gzip member of NDJSON.
//
// Data flow for one table:
//
//	Source.Next ──► bounded chan *Batch ──► N encode workers (Transforms, RowEncoder)
//	           ──► reorder by Batch.Seq ──► one writer: compressor ──► CRC32C/size ──► Object
//
// Then the compressor is closed, the Object committed and its reported size and
// CRC32C checked against what was written. Any error in any stage cancels every
// other stage, aborts the Object (nothing that looks complete is left behind)
// and is returned by Run. Memory is bounded by Config: at most
// Config.InFlight() batches exist at once, whatever the size of the table.
//
// The encoder and compressor are stages chosen by the caller (see package
// stages for the NDJSON encoder and the pgzip compressor), so a program can
// compose its own graph. Connector describes a database (catalog, consistent
// snapshot, table readers) and is implemented by the packages under sources/.
package pipeline
