package sqlsource

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want tableRef
		bad  bool
	}{
		{in: "vbrp", want: tableRef{name: "vbrp"}},
		{in: " sapsr3.VBRP ", want: tableRef{schema: "sapsr3", name: "VBRP"}},
		{in: `"Mixed"."a.b"`, want: tableRef{schema: "Mixed", schemaQuoted: true, name: "a.b", nameQuoted: true}},
		{in: `"say ""hi"""`, want: tableRef{name: `say "hi"`, nameQuoted: true}},
		{in: `s."T"`, want: tableRef{schema: "s", name: "T", nameQuoted: true}},
		{in: "", bad: true}, {in: "  ", bad: true}, {in: ".", bad: true}, {in: "a.", bad: true}, {in: ".a", bad: true},
		{in: "a.b.c", bad: true}, {in: `"open`, bad: true}, {in: `ab"c`, bad: true}, {in: `"a"b`, bad: true},
		{in: "x\x00y", bad: true}, {in: "\xff", bad: true}, {in: `""`, bad: true},
	} {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			got, err := parseName(tc.in)
			if tc.bad {
				if !errors.Is(err, pipeline.ErrTableNotFound) {
					t.Fatalf("parseName(%q) = %+v, %v; want ErrTableNotFound", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseName(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestPick(t *testing.T) {
	cands := []pipeline.TableInfo{
		{Schema: "SAPSR3", Name: "VBRP"}, {Schema: "SAPSR3", Name: "Vbrp"}, {Schema: "OTHER", Name: "VBRK"},
		{Schema: "OTHER", Name: "vbrk"},
	}
	upper := strings.ToUpper
	for _, tc := range []struct {
		in, schema, name string
		err              error
	}{
		{in: "vbrp", schema: "SAPSR3", name: "VBRP"},        // folded match wins
		{in: `"Vbrp"`, schema: "SAPSR3", name: "Vbrp"},      // quoted keeps case
		{in: "sapsr3.vbrp", schema: "SAPSR3", name: "VBRP"}, //
		{in: `"vbrp"`, err: pipeline.ErrTableNotFound},      // quoted, no exact match
		{in: "other.vbrk", schema: "OTHER", name: "VBRK"},   // folded beats as-typed
		{in: `other."vbrk"`, schema: "OTHER", name: "vbrk"}, //
		{in: "nosuch", err: pipeline.ErrTableNotFound},      //
		{in: "x.vbrp", err: pipeline.ErrTableNotFound},      // wrong schema
		{in: "Vbrp", schema: "SAPSR3", name: "VBRP"},        // folded (VBRP) before as-typed
	} {
		t.Run(tc.in, func(t *testing.T) {
			ref, err := parseName(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pick(ref, cands, upper)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %+v, %v; want %v", got, err, tc.err)
				}
				return
			}
			if err != nil || got.Schema != tc.schema || got.Name != tc.name {
				t.Fatalf("got %+v, %v; want %s.%s", got, err, tc.schema, tc.name)
			}
		})
	}
	amb := []pipeline.TableInfo{{Schema: "S", Name: "Ab"}, {Schema: "S", Name: "aB"}}
	if _, err := pick(tableRef{name: "ab"}, amb, upper); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("ambiguous: %v", err)
	}
}

func TestClassifyCommon(t *testing.T) {
	for _, tc := range []struct {
		err       error
		transient bool
	}{
		{driver.ErrBadConn, true}, {fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true}, {io.EOF, true},
		{syscall.ECONNRESET, true}, {syscall.EPIPE, true}, {errors.New("permission denied"), false},
		{nil, false},
	} {
		if got := pipeline.IsTransient(ClassifyCommon(tc.err)); got != tc.transient {
			t.Errorf("ClassifyCommon(%v) transient = %v, want %v", tc.err, got, tc.transient)
		}
	}
}

func TestBatchesReuse(t *testing.T) {
	b := NewBatches(3, 4, 2)
	s1 := b.Rows()
	if len(s1) != 4 || len(s1[0]) != 3 {
		t.Fatalf("storage %dx%d", len(s1), len(s1[0]))
	}
	bt := b.Batch(s1, 2)
	if bt.Seq != 0 || len(bt.Rows) != 2 {
		t.Fatalf("batch %+v", bt)
	}
	bt.Release()
	bt.Release() // at most once takes effect
	s2 := b.Rows()
	if &s2[0][0] != &s1[0][0] || len(s2) != 4 {
		t.Fatal("released storage not reused")
	}
	if s3 := b.Rows(); &s3[0][0] == &s1[0][0] {
		t.Fatal("storage handed out twice")
	}
	if bt2 := b.Batch(s2, 4); bt2.Seq != 1 {
		t.Fatalf("seq %d", bt2.Seq)
	}
}

func TestOptions(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Fatal(err)
	}
	if o := (Options{}).WithDefaults(); o.MaxOpen != 20 || o.MinIdle != 5 {
		t.Fatalf("defaults %+v", o)
	}
	for _, o := range []Options{{MaxOpen: -1}, {MinIdle: 30, MaxOpen: 20}, {MaxOpen: 5000}} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
