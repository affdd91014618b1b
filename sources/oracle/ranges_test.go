package oracle

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

func TestRowidCreate(t *testing.T) {
	tests := []struct {
		obj, file, block, row int64
		want                  string
	}{
		// The example of Oracle's "ROWID Pseudocolumn" documentation.
		{63388, 5, 82, 0, "AAAPecAAFAAAABSAAA"},
		{73196, 4, 151, 0, "AAAR3sAAEAAAACXAAA"},
		{0, 0, 0, 0, "AAAAAAAAAAAAAAAAAA"},
		{1<<32 - 1, 1023, 1<<22 - 1, 32767, "D/////AP/AAP///H//"},
	}
	for _, tt := range tests {
		if got := RowidCreate(tt.obj, tt.file, tt.block, tt.row); got != tt.want {
			t.Errorf("RowidCreate(%d,%d,%d,%d) = %s, want %s", tt.obj, tt.file, tt.block, tt.row, got, tt.want)
		}
	}
	// BIGFILE: the example, block 20 of data object 73749 (the
	// extent's RELATIVE_FNO 1024 is not encoded), and a 32-bit block.
	if got := BigfileRowid(73749, 20, 0); got != "AAASAVAAAAAAAAUAAA" {
		t.Errorf("BigfileRowid(73749, 20, 0) = %s, want AAASAVAAAAAAAAUAAA", got)
	}
	if got := BigfileRowid(1, 1<<32-1, 3); got != "AAAAABAAAD/////AAD" {
		t.Errorf("BigfileRowid(1, 2^32-1, 3) = %s", got)
	}
	// ROWID order is byte order of the text only within the alphabet's
	// order, which is not ASCII; the ranges rely on Oracle comparing ROWIDs,
	// never on Go string order.
}

func TestRowidRanges(t *testing.T) {
	// Two data files, a partitioned table (two data objects), unsorted input.
	exts := []Extent{
		{DataObjectID: 900, RelativeFNO: 7, BlockID: 128, Blocks: 8},
		{DataObjectID: 800, RelativeFNO: 4, BlockID: 16, Blocks: 8},
		{DataObjectID: 800, RelativeFNO: 4, BlockID: 24, Blocks: 8},
		{DataObjectID: 800, RelativeFNO: 5, BlockID: 8, Blocks: 8},
		{DataObjectID: 900, RelativeFNO: 4, BlockID: 40, Blocks: 8},
	}
	t.Run("four", func(t *testing.T) {
		rs, err := RowidRanges(exts, 4)
		if err != nil {
			t.Fatal(err)
		}
		want := []pipeline.Range{
			{Index: 0, Total: 4, Hi: RowidCreate(800, 4, 24, 0)},
			{Index: 1, Total: 4, Lo: RowidCreate(800, 4, 24, 0), Hi: RowidCreate(800, 5, 8, 0)},
			{Index: 2, Total: 4, Lo: RowidCreate(800, 5, 8, 0), Hi: RowidCreate(900, 7, 128, 0)}, // 2 extents: a cut before (900,4,40) would be farther from 30 blocks
			{Index: 3, Total: 4, Lo: RowidCreate(900, 7, 128, 0)},
		}
		if !reflect.DeepEqual(rs, want) {
			t.Fatalf("got  %+v\nwant %+v", rs, want)
		}
	})
	t.Run("contiguous and open ended", func(t *testing.T) {
		for n := 1; n <= 8; n++ {
			rs, err := RowidRanges(exts, n)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) > n || len(rs) > len(exts) || rs[0].Lo != "" || rs[len(rs)-1].Hi != "" {
				t.Fatalf("n=%d: %+v", n, rs)
			}
			for i := 1; i < len(rs); i++ {
				if rs[i].Lo != rs[i-1].Hi || rs[i].Lo == "" || rs[i].Index != i || rs[i].Total != len(rs) {
					t.Fatalf("n=%d: gap or overlap at %d: %+v", n, i, rs)
				}
			}
		}
	})
	t.Run("weighted by blocks", func(t *testing.T) {
		big := []Extent{{1, 1, 0, 1000, false}, {1, 1, 1000, 10, false}, {1, 1, 1010, 10, false}, {1, 1, 1020, 10, false}}
		rs, _ := RowidRanges(big, 2)
		if len(rs) != 2 || rs[0].Hi != RowidCreate(1, 1, 1000, 0) {
			t.Fatalf("%+v", rs)
		}
	})
	t.Run("empty table", func(t *testing.T) {
		rs, err := RowidRanges(nil, 4)
		if err != nil || len(rs) != 1 || rs[0].Lo != "" || rs[0].Hi != "" {
			t.Fatalf("%+v %v", rs, err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		if _, err := RowidRanges(exts, 0); err == nil {
			t.Fatal("n=0 accepted")
		}
		if _, err := RowidRanges([]Extent{{DataObjectID: 1, RelativeFNO: 1, BlockID: 1, Blocks: -1}, {DataObjectID: 1, RelativeFNO: 1, BlockID: 2, Blocks: 1}}, 2); err == nil {
			t.Fatal("negative blocks accepted")
		}
	})
	if !strings.Contains(ExtentsSQL(), "DATA_OBJECT_ID") || !strings.Contains(ExtentsSQL(), "TABLE PARTITION") {
		t.Fatal(ExtentsSQL())
	}
}

func TestRangesFromChunks(t *testing.T) {
	starts := []string{"A", "B", "C", "D", "E", "F", "G"}
	rs, err := RangesFromChunks(starts, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []pipeline.Range{{Index: 0, Total: 3, Hi: "C"}, {Index: 1, Total: 3, Lo: "C", Hi: "E"}, {Index: 2, Total: 3, Lo: "E"}}
	if !reflect.DeepEqual(rs, want) {
		t.Fatalf("got %+v", rs)
	}
	if rs, _ := RangesFromChunks(nil, 3); len(rs) != 1 {
		t.Fatalf("no chunks: %+v", rs)
	}
	if rs, _ := RangesFromChunks(starts[:2], 5); len(rs) != 2 {
		t.Fatalf("more ranges than chunks: %+v", rs)
	}
}

// oracleRowid is a ROWID as Oracle compares it (CHARTOROWID of the text):
// data object number, data block address and row. Extended ROWID text is
// OOOOOO FFF BBBBBB RRR in base 64 (Oracle Database SQL Language
// Reference, "ROWID Pseudocolumn"); the block address is FFF<<22 | BBBBBB,
// which holds the relative file number (1..1023) and a 22-bit block in a
// smallfile tablespace, and the 32-bit block number alone (FFF = 0) in a
// BIGFILE tablespace (Database Concepts, "Rowid Format"; DBMS_ROWID's
// ts_type_in 'BIGFILE'). ok is false for text that is no valid ROWID.
type oracleRowid struct{ obj, dba, row uint64 }

func parseOracleRowid(s string) (r oracleRowid, ok bool) {
	if len(s) != 18 {
		return r, false
	}
	get := func(off, n int) uint64 {
		var v uint64
		for _, c := range []byte(s[off : off+n]) {
			i := strings.IndexByte(rowidAlphabet, c)
			if i < 0 {
				return 1 << 63
			}
			v = v<<6 | uint64(i)
		}
		return v
	}
	obj, file, block, row := get(0, 6), get(6, 3), get(9, 6), get(15, 3)
	if obj >= 1<<32 || file > 1023 || (file > 0 && block >= 1<<22) || block >= 1<<32 || row >= 1<<16 {
		return r, false
	}
	return oracleRowid{obj: obj, dba: file<<22 | block, row: row}, true
}

func (a oracleRowid) less(b oracleRowid) bool {
	if a.obj != b.obj {
		return a.obj < b.obj
	}
	if a.dba != b.dba {
		return a.dba < b.dba
	}
	return a.row < b.row
}

// rowOf is the ROWID Oracle gives row r of block b of an extent, built
// from the documented layout (independently of RowidCreate): in a BIGFILE
// tablespace the block number fills the nine file+block digits.
func rowOf(e Extent, block, row int64) string {
	enc := func(v uint64, n int) string {
		b := make([]byte, n)
		for i := n - 1; i >= 0; i-- {
			b[i] = rowidAlphabet[v&63]
			v >>= 6
		}
		return string(b)
	}
	if e.Bigfile {
		return enc(uint64(e.DataObjectID), 6) + enc(uint64(block), 9) + enc(uint64(row), 3)
	}
	return enc(uint64(e.DataObjectID), 6) + enc(uint64(e.RelativeFNO), 3) + enc(uint64(block), 6) + enc(uint64(row), 3)
}

// TestRowidRangesCoverEveryBlockOnce checks, as Oracle compares ROWIDs,
// that the ranges of smallfile, BIGFILE (where DBA_EXTENTS.RELATIVE_FNO is
// always 1024) and mixed partitioned tables put every row of every block
// into exactly one range, each extent whole into the range planned for it,
// and that no range is empty.
func TestRowidRangesCoverEveryBlockOnce(t *testing.T) {
	tests := []struct {
		name string
		exts []Extent
	}{
		{"smallfile", []Extent{
			{DataObjectID: 800, RelativeFNO: 4, BlockID: 16, Blocks: 128}, {DataObjectID: 800, RelativeFNO: 4, BlockID: 144, Blocks: 128},
			{DataObjectID: 800, RelativeFNO: 5, BlockID: 8, Blocks: 1024}, {DataObjectID: 800, RelativeFNO: 1023, BlockID: 1<<22 - 1024, Blocks: 1024},
		}},
		{"bigfile", []Extent{
			{DataObjectID: 73749, RelativeFNO: 1024, BlockID: 20, Blocks: 8, Bigfile: true},
			{DataObjectID: 73749, RelativeFNO: 1024, BlockID: 4096, Blocks: 1024, Bigfile: true},
			{DataObjectID: 73749, RelativeFNO: 1024, BlockID: 1 << 22, Blocks: 1024, Bigfile: true}, // beyond a smallfile block field
			{DataObjectID: 73749, RelativeFNO: 1024, BlockID: 1<<32 - 2048, Blocks: 2048, Bigfile: true},
		}},
		{"partitions in both kinds", []Extent{
			{DataObjectID: 900, RelativeFNO: 1024, BlockID: 1 << 30, Blocks: 512, Bigfile: true},
			{DataObjectID: 900, RelativeFNO: 1024, BlockID: 128, Blocks: 512, Bigfile: true},
			{DataObjectID: 901, RelativeFNO: 7, BlockID: 64, Blocks: 512},
			{DataObjectID: 901, RelativeFNO: 3, BlockID: 64, Blocks: 512},
			{DataObjectID: 902, RelativeFNO: 1024, BlockID: 9, Blocks: 512, Bigfile: true},
		}},
	}
	for _, tt := range tests {
		for n := 2; n <= len(tt.exts); n++ {
			t.Run(fmt.Sprintf("%s/%d", tt.name, n), func(t *testing.T) {
				rs, err := RowidRanges(tt.exts, n)
				if err != nil {
					t.Fatal(err)
				}
				if len(rs) < 2 || len(rs) > n {
					t.Fatalf("%d ranges, want 2..%d", len(rs), n)
				}
				type bound struct {
					lo, hi       oracleRowid
					hasLo, hasHi bool
				}
				bs := make([]bound, len(rs))
				for i, r := range rs {
					var ok bool
					if r.Lo != "" {
						if bs[i].lo, ok = parseOracleRowid(r.Lo); !ok {
							t.Fatalf("range %d: Lo %s is not a valid ROWID (CHARTOROWID would fail)", i, r.Lo)
						}
						bs[i].hasLo = true
					}
					if r.Hi != "" {
						if bs[i].hi, ok = parseOracleRowid(r.Hi); !ok {
							t.Fatalf("range %d: Hi %s is not a valid ROWID", i, r.Hi)
						}
						bs[i].hasHi = true
					}
				}
				rangeOf := func(rowid string) int {
					id, ok := parseOracleRowid(rowid)
					if !ok {
						t.Fatalf("test built an invalid ROWID %s", rowid)
					}
					found := -1
					for i, b := range bs {
						if (!b.hasLo || !id.less(b.lo)) && (!b.hasHi || id.less(b.hi)) {
							if found >= 0 {
								t.Fatalf("ROWID %s in ranges %d and %d", rowid, found, i)
							}
							found = i
						}
					}
					if found < 0 {
						t.Fatalf("ROWID %s in no range", rowid)
					}
					return found
				}
				blocks := make([]int64, len(rs))
				for _, e := range tt.exts {
					r := rangeOf(rowOf(e, e.BlockID, 0))
					// every block of the extent: checked at its edges and at
					// every 64th block, rows 0 and the last row number
					for b := e.BlockID; b < e.BlockID+e.Blocks; b++ {
						if b != e.BlockID && b != e.BlockID+e.Blocks-1 && (b-e.BlockID)%64 != 0 {
							continue
						}
						for _, row := range []int64{0, 1<<16 - 1} {
							if got := rangeOf(rowOf(e, b, row)); got != r {
								t.Fatalf("extent %+v split between ranges %d and %d", e, r, got)
							}
						}
					}
					blocks[r] += e.Blocks
				}
				for i, b := range blocks {
					if b == 0 {
						t.Fatalf("range %d holds no block: %+v (blocks per range %v)", i, rs, blocks)
					}
				}
			})
		}
	}
}
