package postgres

import (
	"time"
	"unsafe"
)

// alloc gives decoded values their memory in slabs instead of one heap
// object per value: string bytes are appended to a byte chunk, and values
// are boxed into interfaces that point into typed slabs. A 274-column row
// then costs a handful of allocations per batch instead of ~500 per row
// (the dominant CPU cost measured by BenchmarkPostgresVBRP).
//
// Safety: an interface value is (type word, pointer to data) for types that
// are not pointer-shaped (string, int64, float64, time.Time, []byte); box
// builds exactly that, pointing at a slab element that is not written again
// until reset, so the value keeps its slab alive like any other interior
// pointer. The row reader's slabs are never reset; the COPY decoder's are,
// per row (see slab.reset).
type alloc struct {
	bytes []byte
	strs  slab[string]
	ints  slab[int64]
	f64s  slab[float64]
	f32s  slab[float32]
	times slab[time.Time]
	// short caches boxed strings of one and two bytes (codes like "X",
	// "EA", "01" fill most columns of SAP tables); a boxed string is
	// immutable, so one box serves every occurrence.
	short1 *[256]any
	short2 *[1 << 16]any
}

const slabLen = 2048

type eface struct {
	typ, data unsafe.Pointer
}

func typeWord[T any]() unsafe.Pointer {
	var z T
	var x any = z
	return (*eface)(unsafe.Pointer(&x)).typ
}

type slab[T any] struct {
	buf []T
	typ unsafe.Pointer
}

// reset makes the slab's elements reusable: values boxed before must no
// longer be read (the COPY decoder resets its slabs for every row, after
// the previous row was encoded). A full slab continues in a new array, so
// values boxed earlier in the same row stay valid.
func (s *slab[T]) reset() { s.buf = s.buf[:0] }

func (s *slab[T]) box(v T) any {
	if len(s.buf) == cap(s.buf) {
		if s.typ == nil {
			s.typ = typeWord[T]()
		}
		s.buf = make([]T, 0, slabLen)
	}
	s.buf = append(s.buf, v)
	var x any
	e := (*eface)(unsafe.Pointer(&x))
	e.typ, e.data = s.typ, unsafe.Pointer(&s.buf[len(s.buf)-1])
	return x
}

// copyBytes returns a copy of b in the byte chunk (never shared with src).
func (a *alloc) copyBytes(b []byte) []byte {
	if len(b) > cap(a.bytes)-len(a.bytes) {
		a.bytes = make([]byte, 0, max(256<<10, len(b)))
	}
	n := len(a.bytes)
	a.bytes = append(a.bytes, b...)
	return a.bytes[n:len(a.bytes):len(a.bytes)]
}

func (a *alloc) str(b []byte) any {
	switch len(b) {
	case 0:
		return ""
	case 1:
		if a.short1 == nil {
			a.short1 = new([256]any)
		}
		v := &a.short1[b[0]]
		if *v == nil {
			*v = string(b)
		}
		return *v
	case 2:
		if a.short2 == nil {
			a.short2 = new([1 << 16]any)
		}
		v := &a.short2[int(b[0])<<8|int(b[1])]
		if *v == nil {
			*v = string(b)
		}
		return *v
	}
	c := a.copyBytes(b)
	return a.strs.box(unsafe.String(&c[0], len(c)))
}
