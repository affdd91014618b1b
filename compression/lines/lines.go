package lines

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

const (
	maxDist = 32768
	maxLen  = 258
	// minMatch: a shared run shorter than this costs more as a distant
	// back-reference (≈ 25 bits) than as literals
	minMatch = 5
	// blockTokens bounds the tokens of one Huffman block (1 MiB of token
	// buffer per worker at most)
	blockTokens = 1 << 18
	// maxLine: a piece with a longer line goes to flate (see the package doc)
	maxLine = 16 << 10
	// probeEvery: the first piece of a compressor (one per encode worker
	// and table) and every 64th after it are compressed by flate level 1 too;
	// if flate's segment is more than probeMargin percent smaller, flate
	// compresses the pieces up to the next probe. Tables whose consecutive
	// rows share little (header tables whose values come from small
	// vocabularies: flate finds them in older lines) get flate's ratio; the
	// probes cost one pass of each compressor over ≤ 256 KiB per 64 pieces.
	probeEvery  = 64
	probeMargin = 5
	// probeBytes: larger pieces are probed on their first lines only,
	// so a probe costs ≈ 40% of a piece's compression instead of 150%
	probeBytes = 256 << 10
)

// New returns a line compressor. Its first piece, and every 64th after it,
// is a probe: compressed both ways, and flate level 1 compresses the pieces
// up to the next probe when its segment was more than 5% smaller.
func New() *Compressor { return &Compressor{fallback: newFlate1()} }

// Compressor compresses NDJSON pieces into raw DEFLATE segments (see the
// package doc for the format decisions). Each piece stands alone (no
// dictionary), ends with a sync flush and is never final, so segments
// concatenated in order and framed by a gzip header and trailer are one
// gzip member. A Compressor is used by one goroutine at a time; it keeps
// its buffers between pieces.
type Compressor struct {
	fallback flate1 // flate level 1: long lines, and the tables where it wins the probes

	// pieces counts AppendBlock calls; every probeEvery-th piece from
	// the first on is compressed both ways, and useFlate says whether flate
	// won by more than probeMargin (then it does the pieces until the
	// next probe)
	pieces   int
	useFlate bool
	probe    []byte
	noProbe  bool // tests: the line compressor alone

	// tok is a run of literals (its length), or matchFlag | distance
	// symbol<<24 | (length-3)<<16 | (distance-1); the tokens of a block
	// cover src[blockStart:] in order
	tok        []uint32
	blockStart int
	litFreq    [numLitLen]uint32
	distFreq   [numDist]uint32

	litLen   [numLitLen]uint8
	distLen  [numDist]uint8
	litCode  [numLitLen]uint16 // bit-reversed canonical codes
	distCode [numDist]uint16

	huff    huffScratch
	bw      bitWriter
	scratch []byte
}

// AppendBlock appends the segment compressing src to dst: the line
// compressor's, or flate's where flate compresses this table's pieces
// clearly better (see probeEvery).
func (c *Compressor) AppendBlock(dst, src []byte) ([]byte, error) {
	c.pieces++
	if c.noProbe {
		return c.lines(dst, src)
	}
	if (c.pieces-1)%probeEvery != 0 {
		if c.useFlate {
			return c.fallback.AppendBlock(dst, src)
		}
		return c.lines(dst, src)
	}
	// probe: both compressors on the piece, or on its first lines up to
	// probeBytes when it is larger (then the winner does the piece)
	sample := src
	if len(src) > probeBytes {
		if cut := bytes.LastIndexByte(src[:probeBytes], '\n') + 1; cut > 0 {
			sample = src[:cut]
		} else {
			sample = src[:probeBytes]
		}
	}
	start := len(dst)
	out, err := c.lines(dst, sample)
	if err != nil {
		return out, err
	}
	if c.probe, err = c.fallback.AppendBlock(c.probe[:0], sample); err != nil {
		return out, err
	}
	c.useFlate = len(c.probe)*100 < (len(out)-start)*(100-probeMargin)
	switch {
	case len(sample) < len(src) && c.useFlate:
		return c.fallback.AppendBlock(dst, src)
	case len(sample) < len(src):
		return c.lines(dst, src)
	case c.useFlate:
		return append(out[:start], c.probe...), nil
	}
	return out, nil
}

// lines appends the line compressor's segment for src to dst.
func (c *Compressor) lines(dst, src []byte) ([]byte, error) {
	c.bw = bitWriter{out: dst}
	c.reset()
	c.blockStart = 0
	prev, prevEnd := -1, -1
	for ls := 0; ls < len(src); {
		le := len(src)
		if i := bytes.IndexByte(src[ls:], '\n'); i >= 0 {
			le = ls + i + 1
		}
		if le-ls > maxLine {
			// forget what was written for this piece (dst is ours past
			// its length) and let flate do it
			c.reset()
			c.bw = bitWriter{}
			return c.fallback.AppendBlock(dst, src)
		}
		if prev < 0 {
			c.literals(src[ls:le])
		} else {
			c.diffLine(src, ls, le, prev, prevEnd)
		}
		if len(c.tok) >= blockTokens {
			c.writeBlock(src, le)
		}
		prev, prevEnd = ls, le
		ls = le
	}
	if len(c.tok) > 0 {
		c.writeBlock(src, len(src))
	}
	// sync flush: an empty stored block, not final, then byte aligned
	c.bw.bits(0, 3)
	c.bw.align()
	c.bw.out = append(c.bw.out, 0, 0, 0xff, 0xff)
	out := c.bw.out
	c.bw.out = nil
	return out, nil
}

// reset forgets the tokens and frequencies of the current block.
func (c *Compressor) reset() {
	c.tok = c.tok[:0]
	c.litFreq = [numLitLen]uint32{}
	c.distFreq = [numDist]uint32{}
}

// diffLine tokenizes src[p:le] against the previous line src[q:qe].
func (c *Compressor) diffLine(src []byte, p, le, q, qe int) {
	tok := c.tok // a local slice: the appends stay in registers
	for p < le {
		if n := matchLen(src[p:le], src[q:qe]); n >= minMatch && p-q <= maxDist {
			d := p - q
			ds := distSym(uint32(d - 1))
			p += n
			q += n
			for n > 0 { // back-references of 3…258 bytes
				l := n
				if l > maxLen {
					l = maxLen
					if n-l < 3 {
						l = n - 3
					}
				}
				tok = append(tok, matchFlag|uint32(ds)<<24|uint32(l-3)<<16|uint32(d-1))
				c.litFreq[lengthSym[l-3]]++
				c.distFreq[ds]++
				n -= l
			}
			if p == le {
				break
			}
			// src[p] differs from src[q] (or the previous line ended):
			// straight on to the resynchronisation
		}
		p2, q2 := nextKey(src, p, le), nextKey(src, q, qe)
		if p2 == p && q2 == q {
			// both at a key, but different keys: the lines are out of
			// step (a `,"` inside a value, such as an array of strings,
			// or a column one line has and the other not)
			if q3 := realign(src, p, le, q, qe); q3 >= 0 {
				q = q3 // the previous line had keys this one has not
				continue
			}
			// this line has a key the previous one has not (here)
			p2 = nextKey(src, p+1, le)
		}
		if p2 > p {
			tok = append(tok, uint32(p2-p))
			for _, x := range src[p:p2] {
				c.litFreq[x]++
			}
		}
		p, q = p2, q2
	}
	c.tok = tok
}

// realignKeys is how many keys of the previous line realign looks at.
const realignKeys = 16

// realign looks for the key at src[p] among the next keys of the previous
// line src[q:qe]; it returns the key's index or -1.
func realign(src []byte, p, le, q, qe int) int {
	for range realignKeys {
		if q = nextKey(src, q+1, qe); q >= qe {
			return -1
		}
		if p-q <= maxDist && matchLen(src[p:le], src[q:qe]) >= minMatch {
			return q
		}
	}
	return -1
}

// nextKey is the index of the first `,"` in src[from:end], or end. It
// tests eight positions per step (exact zero-byte masks, no false hits).
func nextKey(src []byte, from, end int) int {
	i := from
	for ; i+9 <= len(src) && i < end; i += 8 {
		comma := zeroBytes(binary.LittleEndian.Uint64(src[i:]) ^ 0x2c2c2c2c2c2c2c2c)
		quote := zeroBytes(binary.LittleEndian.Uint64(src[i+1:]) ^ 0x2222222222222222)
		if m := comma & quote; m != 0 {
			if k := i + bits.TrailingZeros64(m)>>3; k+1 < end {
				return k
			}
			return end
		}
	}
	for ; i+1 < end; i++ {
		if src[i] == ',' && src[i+1] == '"' {
			return i
		}
	}
	return end
}

// zeroBytes has the high bit set in each byte of v that is zero, and no
// other bit.
func zeroBytes(v uint64) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	return ^((v&low7 + low7) | v | low7)
}

// matchLen is the length of the common prefix of a and b.
func matchLen(a, b []byte) int {
	n := min(len(a), len(b))
	a, b = a[:n], b[:n]
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)>>3
		}
	}
	for ; i < n && a[i] == b[i]; i++ {
	}
	return i
}

func (c *Compressor) literals(b []byte) {
	if len(b) == 0 {
		return
	}
	c.tok = append(c.tok, uint32(len(b)))
	for _, x := range b {
		c.litFreq[x]++
	}
}
