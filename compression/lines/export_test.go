package lines

// NewLinesOnly is New without the flate probes: the line compressor's own
// segments for every piece (long lines still go to flate).
func NewLinesOnly() *Compressor {
	c := New()
	c.noProbe = true
	return c
}

// Flate1 is the compressor of the fallback and the probes: flate level 1,
// one segment per piece.
func Flate1() interface {
	AppendBlock(dst, src []byte) ([]byte, error)
} {
	f := newFlate1()
	return &f
}
