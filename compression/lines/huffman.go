package lines

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// the DEFLATE alphabets (RFC 1951 §3.2.5) and the token flag of a match
const (
	numLitLen = 286
	numDist   = 30
	numCL     = 19
	matchFlag = 1 << 31
)

// writeBlock writes the buffered tokens, which cover src[c.blockStart:end],
// as one dynamic-Huffman block (not final) and resets the tokens and
// frequencies.
func (c *Compressor) writeBlock(src []byte, end int) {
	c.litFreq[256]++ // end of block
	c.huff.lengths(c.litFreq[:], c.litLen[:], 15)
	c.huff.lengths(c.distFreq[:], c.distLen[:], 15)
	canonical(c.litLen[:], c.litCode[:])
	canonical(c.distLen[:], c.distCode[:])

	nlit := numLitLen
	for nlit > 257 && c.litLen[nlit-1] == 0 {
		nlit--
	}
	ndist := numDist
	for ndist > 1 && c.distLen[ndist-1] == 0 {
		ndist--
	}
	// the code lengths of both codes as one run-length coded sequence
	seq := append(append(c.huff.seq[:0], c.litLen[:nlit]...), c.distLen[:ndist]...)
	c.huff.seq = seq
	rle := c.huff.rle[:0]
	var clFreq [numCL]uint32
	for i := 0; i < len(seq); {
		l := seq[i]
		run := 1
		for i+run < len(seq) && seq[i+run] == l {
			run++
		}
		i += run
		if l == 0 {
			for run >= 11 {
				r := min(run, 138)
				rle = append(rle, clSym{18, 7, uint8(r - 11)})
				run -= r
			}
			if run >= 3 {
				rle = append(rle, clSym{17, 3, uint8(run - 3)})
				run = 0
			}
		} else {
			rle = append(rle, clSym{l, 0, 0})
			run--
			for run >= 3 {
				r := min(run, 6)
				rle = append(rle, clSym{16, 2, uint8(r - 3)})
				run -= r
			}
		}
		for ; run > 0; run-- {
			rle = append(rle, clSym{l, 0, 0})
		}
	}
	c.huff.rle = rle
	for _, s := range rle {
		clFreq[s.sym]++
	}
	var clLen [numCL]uint8
	var clCode [numCL]uint16
	c.huff.lengths(clFreq[:], clLen[:], 7)
	canonical(clLen[:], clCode[:])
	ncl := numCL
	for ncl > 4 && clLen[clOrder[ncl-1]] == 0 {
		ncl--
	}

	w := &c.bw
	w.bits(2<<1, 3) // BFINAL 0, BTYPE 10 (dynamic Huffman)
	w.bits(uint64(nlit-257), 5)
	w.bits(uint64(ndist-1), 5)
	w.bits(uint64(ncl-4), 4)
	for _, s := range clOrder[:ncl] {
		w.bits(uint64(clLen[s]), 3)
	}
	for _, s := range rle {
		w.bits(uint64(clCode[s.sym])|uint64(s.extra)<<clLen[s.sym], uint(clLen[s.sym]+s.nextra))
	}

	// symbol → code | length<<16; length-3 → code and extra bits | bit
	// count<<32
	var litEnc [numLitLen]uint32
	for i, l := range c.litLen {
		litEnc[i] = uint32(c.litCode[i]) | uint32(l)<<16
	}
	var lenEnc [256]uint64
	for x := range lenEnc {
		ls := lengthSym[x]
		l := c.litLen[ls]
		lenEnc[x] = uint64(c.litCode[ls]) | uint64(uint32(x)-lengthBase[ls-257])<<l |
			uint64(l+lengthExtraBits[ls-257])<<32
	}
	// branch-free bit writing: every step stores all 8 bytes of acc and
	// keeps fewer than 8 bits; a token needs at most 2 bytes per byte it
	// covers (a literal ≤ 15 bits, a match of ≥ 3 bytes ≤ 48 bits). The
	// tokens go to a scratch buffer of the compressor (growing dst would
	// leave every piece's buffer twice as large) and are then appended.
	acc, n := w.acc, w.n
	o := 0
	c.scratch = slices.Grow(c.scratch[:0], 2*(end-c.blockStart)+16)
	buf := c.scratch[:cap(c.scratch)]
	put := func() {
		binary.LittleEndian.PutUint64(buf[o:], acc)
		o += int(n >> 3)
		acc >>= n &^ 7
		n &= 7
	}
	put()
	pos := c.blockStart
	for _, t := range c.tok {
		if t&matchFlag == 0 {
			run := src[pos : pos+int(t)]
			// three literals (≤ 45 bits) per store: the codes are
			// combined before they meet acc, which keeps the chain through
			// n short
			for len(run) >= 3 {
				e0, e1, e2 := litEnc[run[0]], litEnc[run[1]], litEnc[run[2]]
				l0, l1 := e0>>16, e1>>16
				v := uint64(e0&0xffff) | uint64(e1&0xffff)<<l0 | uint64(e2&0xffff)<<(l0+l1)
				acc |= v << n
				n += uint(l0 + l1 + e2>>16)
				put()
				run = run[3:]
			}
			for _, b := range run {
				e := litEnc[b]
				acc |= uint64(e&0xffff) << n
				n += uint(e >> 16)
				put()
			}
			pos += int(t)
			continue
		}
		x := t >> 16 & 0xff
		e := lenEnc[x]
		acc |= uint64(uint32(e)) << n
		n += uint(e >> 32)
		put()
		d := t & 0xffff
		ds := t >> 24 & 0x1f
		deb, dbase := distExtra(int(ds))
		dl := c.distLen[ds]
		acc |= (uint64(c.distCode[ds]) | uint64(d-dbase)<<dl) << n
		n += uint(dl + deb)
		put()
		pos += int(x) + 3
	}
	out := append(w.out, buf[:o]...)
	w.out, w.acc, w.n = out, acc, n
	if pos != end {
		panic("lines: line compressor tokens do not cover the block")
	}
	c.blockStart = end
	w.bits(uint64(c.litCode[256]), uint(c.litLen[256]))
	c.reset()
}

// clSym is one symbol of the code-length code with its extra bits.
type clSym struct{ sym, nextra, extra uint8 }

// clOrder is the order in which code-length code lengths are sent.
var clOrder = [numCL]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// lengthSym maps length-3 to its length symbol (257…285); lengthBase and
// lengthExtraBits are indexed by symbol-257 (base in length-3 units).
var (
	lengthSym       [256]uint16
	lengthBase      [29]uint32
	lengthExtraBits [29]uint8
)

func init() {
	for x := 0; x < 256; x++ {
		var sym, eb int
		switch {
		case x == 255:
			sym = 285 // 258 has its own symbol; 284 with extra 31 is invalid
		case x < 8:
			sym = 257 + x
		default:
			eb = bits.Len(uint(x)) - 3
			sym = 257 + 4*eb + 4 + (x>>eb)&3
		}
		lengthSym[x] = uint16(sym)
		if lengthBase[sym-257] == 0 && (x > 0 || sym == 257) {
			lengthBase[sym-257] = uint32(x)
			lengthExtraBits[sym-257] = uint8(eb)
		}
	}
}

// distSym is the distance symbol of distance-1.
func distSym(x uint32) int {
	if x < 4 {
		return int(x)
	}
	nb := bits.Len32(x) - 2
	return 2*nb + 2 + int(x>>nb&1)
}

// distExtra is the extra bit count and base (in distance-1 units) of a
// distance symbol.
func distExtra(sym int) (uint8, uint32) {
	if sym < 4 {
		return 0, uint32(sym)
	}
	nb := sym/2 - 1
	return uint8(nb), uint32(2+sym&1) << nb
}

// canonical assigns the canonical Huffman codes of RFC 1951 §3.2.2, bit
// reversed for an LSB-first bit writer.
func canonical(lens []uint8, codes []uint16) {
	var count, next [16]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	code := uint16(0)
	for b := 1; b < 16; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for s, l := range lens {
		if l != 0 {
			codes[s] = bits.Reverse16(next[l]) >> (16 - l)
			next[l]++
		} else {
			codes[s] = 0
		}
	}
}

type hsym struct {
	f uint32
	s uint16
}

// huffScratch is reused by every code built.
type huffScratch struct {
	syms   []hsym
	weight []uint64
	parent []int32
	depth  []uint16
	seq    []uint8
	rle    []clSym
}

// lengths sets lens to Huffman code lengths of at most maxBits for freq
// (zero frequency: length 0). At least two symbols get a code, so every
// code is complete (some inflaters reject a single one-bit code).
func (h *huffScratch) lengths(freq []uint32, lens []uint8, maxBits int) {
	clear(lens)
	syms := h.syms[:0]
	for s, f := range freq {
		if f > 0 {
			syms = append(syms, hsym{f, uint16(s)})
		}
	}
	for s := 0; len(syms) < 2; s++ {
		if freq[s] == 0 {
			syms = append(syms, hsym{1, uint16(s)})
		}
	}
	h.syms = syms
	slices.SortFunc(syms, func(a, b hsym) int {
		if a.f != b.f {
			return int(int64(a.f) - int64(b.f))
		}
		return int(a.s) - int(b.s)
	})
	n := len(syms)
	nodes := 2*n - 1
	h.weight = slices.Grow(h.weight[:0], nodes)[:nodes]
	h.parent = slices.Grow(h.parent[:0], nodes)[:nodes]
	h.depth = slices.Grow(h.depth[:0], nodes)[:nodes]
	for i, s := range syms {
		h.weight[i] = uint64(s.f)
	}
	// two queues: sorted leaves, and internal nodes in the order made
	// (their weights never decrease)
	leaf, inner := 0, n
	for k := n; k < nodes; k++ {
		var pick [2]int
		for j := range pick {
			if leaf < n && (inner >= k || h.weight[leaf] <= h.weight[inner]) {
				pick[j] = leaf
				leaf++
			} else {
				pick[j] = inner
				inner++
			}
		}
		h.weight[k] = h.weight[pick[0]] + h.weight[pick[1]]
		h.parent[pick[0]], h.parent[pick[1]] = int32(k), int32(k)
	}
	h.depth[nodes-1] = 0
	var count [numLitLen + 1]int
	for k := nodes - 2; k >= 0; k-- {
		h.depth[k] = h.depth[h.parent[k]] + 1
		if k < n {
			count[h.depth[k]]++
		}
	}
	// limit the depth (JPEG, ITU T.81 annex K.3): move pairs of the deepest
	// leaves up, keeping the code complete
	for i := n - 1; i > maxBits; i-- {
		for count[i] > 0 {
			j := i - 2
			for count[j] == 0 {
				j--
			}
			count[i] -= 2
			count[i-1]++
			count[j+1] += 2
			count[j]--
		}
	}
	// the least frequent symbols get the longest codes
	i := 0
	for l := maxBits; l >= 1; l-- {
		for ; count[l] > 0; count[l]-- {
			lens[syms[i].s] = uint8(l)
			i++
		}
	}
}

// bitWriter appends bits LSB first, as DEFLATE packs them.
type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

// bits appends the low nb ≤ 32 bits of v.
func (w *bitWriter) bits(v uint64, nb uint) {
	w.acc |= v << w.n
	w.n += nb
	if w.n >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

// align writes out the pending bits, padding the last byte with zeros.
func (w *bitWriter) align() {
	for w.n > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.n = max(w.n, 8) - 8
	}
	w.acc = 0
}
