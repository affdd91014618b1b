package oracle

import (
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
		big := []Extent{{1, 1, 0, 1000}, {1, 1, 1000, 10}, {1, 1, 1010, 10}, {1, 1, 1020, 10}}
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
		if _, err := RowidRanges([]Extent{{1, 1, 1, -1}, {1, 1, 2, 1}}, 2); err == nil {
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
