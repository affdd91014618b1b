// Package lines is the line compressor: it turns pieces of NDJSON into raw
// DEFLATE segments (RFC 1951) without searching for matches, using what it
// knows of the input instead: consecutive lines of one table have the same
// keys in the same order and often the same values. It is the compressor
// "lines" of package compression (the default at gzip level 1): on the
// synthetic VBRP rows about a third less CPU than flate level 1 and 14%
// smaller output (docs/PERFORMANCE.md).
//
// Whatever the heuristics below decide, the output is always exact: every
// back-reference is checked byte by byte against the bytes it copies, so
// any input, JSON or not, inflates back to itself. The heuristics decide only
// how well it compresses. That is the property to keep when changing this
// package.
//
// # The segment contract
//
// AppendBlock(dst, src) appends one segment for src: it starts a fresh
// block without dictionary (no reference reaches before src), ends byte
// aligned with a sync flush (an empty stored block 00 00 ff ff) and is
// never final. Segments concatenated in order, framed by a gzip header and a
// trailer (final empty block, CRC-32, ISIZE; see package compression), are
// one gzip member that every gzip reader reads whole. Each encode worker of
// a table has its own Compressor.
//
// # Line diff
//
// Line i is compared with line i-1 byte by byte (matchLen, 8 bytes per
// step). A run they share of at least minMatch (5) bytes becomes
// back-references (distance = the length of the previous line up to that
// point, lengths of 3…258, a longer run split so that no piece is shorter
// than 3); shorter runs cost more as a distant reference (≈ 25 bits) than as
// literals. The bytes where the lines differ become literals. The first
// line of a piece has nothing to compare with and is all literals. Runs
// beyond DEFLATE's 32 KiB window (maxDist) are literals too.
//
// # Resynchronisation at `,"`
//
// After a difference both lines skip to their next `,"` (nextKey, eight
// positions per step with exact zero-byte masks) and continue comparing
// from there. In the JSON the encoder writes, `,"` occurs only where a key
// starts, since a quote inside a string is always escaped as \" — so after
// a changed value both lines stand at the next key, even when the values
// differ in length. The compressor does not rely on it for correctness
// (input that is not our JSON only compresses less). When both lines stand
// at a key but the keys differ (a `,"` inside a value, as in an array of
// strings, or a column one line has and the other not), realign looks for
// this key among the next 16 keys of the previous line; if it is not found,
// the key is written as literals and the comparison goes on from the next
// one. TestLineDeflateRealigns measures that an array of strings of varying
// length does not lose the alignment for the rest of the line.
//
// # Huffman construction and the depth limit
//
// The tokens (runs of literals, and matches packed into one uint32 with
// their distance symbol) are buffered until blockTokens (2^18) or the end of
// the piece, then written as one dynamic-Huffman block (writeBlock): code
// lengths from the symbol frequencies by the two-queue method over sorted
// leaves (huffScratch.lengths), canonical codes (RFC 1951 §3.2.2, bit
// reversed for the LSB-first writer), the code lengths run-length coded
// with symbols 16, 17 and 18 and themselves Huffman coded. DEFLATE limits
// literal/length and distance codes to 15 bits and the code-length code to
// 7: deeper trees (skewed frequencies; Fibonacci-like counts are the worst
// case) are flattened as in JPEG (ITU T.81 annex K.3), moving pairs of the
// deepest leaves up while keeping the code complete (Kraft sum exactly 1).
// At least two symbols always get a code, since some inflaters reject a
// single one-bit code. TestHuffmanLengths checks completeness and the limit
// on random, skewed and Fibonacci frequencies; TestLineDeflateDeepCodes
// hits the 15-bit limit in a real block.
//
// The block is written branch-free: every step stores all 8 bytes of the
// bit accumulator, three literals are combined before they meet it, and
// the tokens go to a scratch buffer sized 2 bytes per input byte (a
// literal is ≤ 15 bits, a match of ≥ 3 bytes ≤ 48 bits).
//
// # The flate probes
//
// Where consecutive rows share little and their values come from small
// vocabularies (the synthetic header tables VBRK and LIKP) flate, which
// also finds values in older lines, is 18–20% smaller. So the first piece
// of every Compressor and every 64th after it (probeEvery) are compressed
// both ways — on their first 256 KiB (probeBytes) when larger, cut at a
// newline — and flate level 1 compresses the pieces up to the next probe
// when its segment was more than 5% (probeMargin) smaller. The probes cost
// one pass of each compressor over ≤ 256 KiB per 64 pieces.
// TestLineDeflateProbe checks that VBRK and LIKP get flate's size and VBRP
// the line compressor's.
//
// # The fallback
//
// A piece with a line longer than 16 KiB (maxLine; large LOB values) is
// compressed by github.com/klauspost/compress/flate at level 1 instead:
// the previous line is then often out of the 32 KiB window, and repeats
// inside one value are what a searching compressor finds. Whatever was
// already tokenized for the piece is dropped.
//
// # Changing it safely
//
// Run, in this package: the tests (round trip of every input in
// lineInputs with the standard library's inflater and with GNU gzip as a
// second, independent one; ratio against flate level 1 on VBRP rows), the
// fuzz test for a while (go test -run '^$' -fuzz FuzzLineDeflate
// -fuzztime 60s; any bytes must round-trip) and the benchmarks before and
// after the change (go test -run '^$' -bench BenchmarkLineDeflate -count 5;
// compare the medians of MB/s, ratio and rows/s for lines and flate1 on
// synth, vbrp and random-values). In production, --verify-compression
// (compression.Settings.Verify) inflates every segment again with the
// standard library and fails the table on any difference.
package lines
