package lines

import (
	"fmt"

	"github.com/klauspost/compress/flate"
)

// flate1 is the fallback and the probes' rival: github.com/klauspost/compress/flate
// at level 1, one segment per piece (no dictionary, sync flush, never
// final), the same segments as the "blocks" compressor at level 1.
type flate1 struct {
	zw  *flate.Writer
	out appendWriter
}

func newFlate1() flate1 {
	zw, err := flate.NewWriter(nil, 1)
	if err != nil {
		panic("lines: flate level 1: " + err.Error()) // level 1 is valid
	}
	return flate1{zw: zw}
}

// AppendBlock appends the segment compressing src to dst.
func (f *flate1) AppendBlock(dst, src []byte) ([]byte, error) {
	f.out.b = dst
	defer func() { f.out.b = nil }()
	f.zw.Reset(&f.out) // forget the previous piece: each segment stands alone
	if _, err := f.zw.Write(src); err != nil {
		return dst, fmt.Errorf("lines: flate: %w", err)
	}
	if err := f.zw.Flush(); err != nil {
		return dst, fmt.Errorf("lines: flate: %w", err)
	}
	return f.out.b, nil
}

// appendWriter appends everything written to b.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}
