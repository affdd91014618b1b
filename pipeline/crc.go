package pipeline

// CRC32 polynomials in the reversed (LSB-first) form hash/crc32 uses.
const (
	PolyIEEE       uint32 = 0xedb88320 // gzip's CRC-32
	PolyCastagnoli uint32 = 0x82f63b78 // CRC32C, as GCS reports
)

// CRC32Combine returns the CRC of the concatenation A‖B given crc1 = CRC(A),
// crc2 = CRC(B) and len2 = len(B), for the reflected CRC-32 with polynomial
// poly (PolyIEEE, PolyCastagnoli or any other reversed polynomial) and the
// usual pre- and post-inversion. It is zlib's crc32_combine: crc1 is
// multiplied by x^(8·len2) modulo the polynomial. Cost O(log len2).
func CRC32Combine(poly, crc1, crc2 uint32, len2 int64) uint32 {
	if len2 <= 0 {
		return crc1 // CRC(A‖"") = CRC(A)
	}
	return multModP(poly, x2nModP(poly, uint64(len2), 3), crc1) ^ crc2
}

// multModP multiplies a and b modulo the polynomial (bit 31 is x^0).
func multModP(poly, a, b uint32) uint32 {
	if a == 0 {
		return 0
	}
	m := uint32(1) << 31
	var p uint32
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ poly
		} else {
			b >>= 1
		}
	}
	return p
}

// x2nModP returns x^(n·2^k) modulo the polynomial.
func x2nModP(poly uint32, n uint64, k uint) uint32 {
	sq := uint32(1) << 30 // x^1 = x^(2^0)
	for range k {
		sq = multModP(poly, sq, sq)
	}
	p := uint32(1) << 31 // x^0
	for n != 0 {
		if n&1 != 0 {
			p = multModP(poly, sq, p)
		}
		n >>= 1
		sq = multModP(poly, sq, sq)
	}
	return p
}
