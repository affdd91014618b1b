package lines

import (
	"bytes"
	"compress/flate"
	"io"
	"math/rand/v2"
	"testing"
)

// TestHuffmanLengths: for random, skewed and Fibonacci frequencies (the
// worst case for code length) every used symbol gets a code of 1…maxBits
// bits, unused symbols none, and the code is complete (Kraft sum exactly 1).
func TestHuffmanLengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h huffScratch
	check := func(name string, freq []uint32, maxBits int) {
		t.Helper()
		lens := make([]uint8, len(freq))
		h.lengths(freq, lens, maxBits)
		used, kraft := 0, uint64(0)
		for s, l := range lens {
			if int(l) > maxBits || (freq[s] > 0) != (l > 0) && freq[s] > 0 {
				t.Fatalf("%s: symbol %d (freq %d) has length %d (max %d)", name, s, freq[s], l, maxBits)
			}
			if l > 0 {
				used++
				kraft += 1 << (maxBits - int(l))
			}
		}
		if kraft != 1<<maxBits || used < 2 {
			t.Fatalf("%s: Kraft sum %d/%d over %d codes: not a complete code", name, kraft, uint64(1)<<maxBits, used)
		}
	}
	fib := make([]uint32, numLitLen)
	a, b := uint32(1), uint32(1)
	for i := range 30 { // 30 Fibonacci symbols: an unlimited code would be 29 bits deep
		fib[i*9] = a
		a, b = b, a+b
	}
	check("fibonacci lit", fib, 15)
	check("fibonacci cl", fib[:numCL], 7)
	for i := range 2000 {
		n := []int{numLitLen, numDist, numCL}[i%3]
		maxBits := 15
		if n == numCL {
			maxBits = 7
		}
		freq := make([]uint32, n)
		for s := range freq {
			switch rng.IntN(4) {
			case 0: // unused
			case 1:
				freq[s] = 1
			case 2:
				freq[s] = uint32(rng.IntN(1000))
			default:
				freq[s] = uint32(rng.ExpFloat64() * float64(uint32(1)<<rng.IntN(24)))
			}
		}
		check("random", freq, maxBits)
	}
	check("all zero", make([]uint32, numDist), 15)
	one := make([]uint32, numDist)
	one[7] = 100
	check("one symbol", one, 15)
}

// TestLineDeflateDeepCodes: literals with Fibonacci-like frequencies force
// the length limit in the real writer; the stream still inflates.
func TestLineDeflateDeepCodes(t *testing.T) {
	var in []byte
	a, b := 1, 1
	for sym := range 25 {
		in = append(in, bytes.Repeat([]byte{byte('A' + sym)}, a)...)
		a, b = b, a+b
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
	for i := 1000; i < len(in); i += 1000 {
		in[i] = '\n' // lines shorter than maxLine: no flate fallback
	}
	c := New()
	out, err := c.AppendBlock(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	maxLen := uint8(0)
	for _, l := range c.litLen {
		maxLen = max(maxLen, l)
	}
	if maxLen != 15 {
		t.Fatalf("longest literal code %d bits: the test should hit the 15-bit limit", maxLen)
	}
	got, err := io.ReadAll(flate.NewReader(bytes.NewReader(append(out, 1, 0, 0, 0xff, 0xff))))
	if err != nil || !bytes.Equal(got, in) {
		t.Fatalf("inflate: %v (%d of %d bytes)", err, len(got), len(in))
	}
}
