package pipeline

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

func TestCRC32Combine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1<<20+77)
	for i := range data {
		data[i] = byte(r.UintN(256))
	}
	polys := []struct {
		name string
		poly uint32
		tab  *crc32.Table
	}{
		{"ieee", PolyIEEE, crc32.IEEETable},
		{"castagnoli", PolyCastagnoli, Castagnoli},
		{"koopman", crc32.Koopman, crc32.MakeTable(crc32.Koopman)},
	}
	cuts := [][2]int{{0, 0}, {0, 10}, {10, 0}, {1, 1}, {3, 1000}, {1000, 3}, {65536, 1<<20 - 65536}, {7, 1<<20 + 70}}
	for _, p := range polys {
		for _, c := range cuts {
			a, b := data[:c[0]], data[c[0]:c[0]+c[1]]
			want := crc32.Checksum(data[:c[0]+c[1]], p.tab)
			got := CRC32Combine(p.poly, crc32.Checksum(a, p.tab), crc32.Checksum(b, p.tab), int64(len(b)))
			if got != want {
				t.Errorf("%s %v: combine = %08x, direct = %08x", p.name, c, got, want)
			}
		}
	}
	t.Run("many-pieces", func(t *testing.T) {
		var crc uint32
		off := 0
		for off < len(data) {
			n := min(int(r.UintN(50000)), len(data)-off)
			crc = CRC32Combine(PolyIEEE, crc, crc32.ChecksumIEEE(data[off:off+n]), int64(n))
			off += n
		}
		if want := crc32.ChecksumIEEE(data); crc != want {
			t.Fatalf("combined %08x, direct %08x", crc, want)
		}
	})
}

func BenchmarkCRC32Combine(b *testing.B) {
	for i := 0; i < b.N; i++ {
		CRC32Combine(PolyCastagnoli, uint32(i), 0x12345678, 1<<33+int64(i))
	}
}
