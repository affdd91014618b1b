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
	type tn = pipeline.TableName
	for _, tc := range []struct {
		in   string
		want tn
		bad  bool
	}{
		{in: "vbrp", want: tn{Name: "vbrp"}},
		{in: " sapsr3.VBRP ", want: tn{Schema: "sapsr3", Name: "VBRP"}},
		{in: `"Mixed"."a.b"`, want: tn{Schema: "Mixed", SchemaQuoted: true, Name: "a.b", NameQuoted: true}},
		{in: `"say ""hi"""`, want: tn{Name: `say "hi"`, NameQuoted: true}},
		{in: `s."T"`, want: tn{Schema: "s", Name: "T", NameQuoted: true}},
		{in: `s."..."`, want: tn{Schema: "s", Name: "...", NameQuoted: true}},
		{in: `s."Q""uote"`, want: tn{Schema: "s", Name: `Q"uote`, NameQuoted: true}},
		{in: `s."t.part-00001"`, want: tn{Schema: "s", Name: "t.part-00001", NameQuoted: true}},
		{in: "", bad: true}, {in: "  ", bad: true}, {in: ".", bad: true}, {in: "a.", bad: true}, {in: ".a", bad: true},
		{in: "a.b.c", bad: true}, {in: `"open`, bad: true}, {in: `ab"c`, bad: true}, {in: `"a"b`, bad: true},
		{in: "x\x00y", bad: true}, {in: "\xff", bad: true}, {in: `""`, bad: true},
	} {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			got, err := pipeline.ParseTableName(tc.in)
			if tc.bad {
				if !errors.Is(err, pipeline.ErrTableNotFound) {
					t.Fatalf("ParseTableName(%q) = %+v, %v; want ErrTableNotFound", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseTableName(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			// The canonical exact form of what was parsed parses back to the
			// same parts, quoted.
			back, err := pipeline.ParseTableName(pipeline.ExactTableName(got.Schema, got.Name))
			if err != nil || back.Schema != got.Schema || back.Name != got.Name || !back.NameQuoted {
				t.Fatalf("exact form %q parsed as %+v, %v", pipeline.ExactTableName(got.Schema, got.Name), back, err)
			}
		})
	}
}

func TestPick(t *testing.T) {
	cands := []pipeline.TableInfo{
		{Schema: "SAPSR3", Name: "VBRP"}, {Schema: "SAPSR3", Name: "Vbrp"}, {Schema: "OTHER", Name: "VBRK"},
		{Schema: "OTHER", Name: "vbrk"}, {Schema: "OTHER", Name: "LIKP"}, {Schema: "s", Name: "Mixed"}, {Schema: "s", Name: "MIXED"},
		{Schema: "q", Name: "only"}, {Schema: "T", Name: "Ab"}, {Schema: "T", Name: "aB"},
	}
	upper := strings.ToUpper
	for _, tc := range []struct {
		in, schema, name string
		err              error
	}{
		{in: "VBRP", schema: "SAPSR3", name: "VBRP"},            // exact and folded agree
		{in: `"Vbrp"`, schema: "SAPSR3", name: "Vbrp"},          // quoted keeps case
		{in: "sapsr3.VBRP", schema: "SAPSR3", name: "VBRP"},     //
		{in: `"SAPSR3"."VBRP"`, schema: "SAPSR3", name: "VBRP"}, // the stored exact form
		{in: `"vbrp"`, err: pipeline.ErrTableNotFound},          // quoted, no exact match
		{in: `"VBRP "`, err: pipeline.ErrTableNotFound},         // quoted is exact, spaces too
		{in: "vbrp", schema: "SAPSR3", name: "VBRP"},            // folded VBRP beats case-insensitive Vbrp
		{in: "Vbrp", err: pipeline.ErrAmbiguousTable},           // exact "Vbrp" and folded VBRP: never guess
		{in: "other.vbrk", err: pipeline.ErrAmbiguousTable},     // exact vbrk and folded VBRK
		{in: `other."vbrk"`, schema: "OTHER", name: "vbrk"},     //
		{in: `other."VBRK"`, schema: "OTHER", name: "VBRK"},     //
		{in: "other.likp", schema: "OTHER", name: "LIKP"},       // folded only
		{in: "s.Mixed", err: pipeline.ErrAmbiguousTable},        // exact Mixed and folded MIXED
		{in: `s."Mixed"`, schema: "s", name: "Mixed"},           // quoted: exactly that one
		{in: `"s"."MIXED"`, schema: "s", name: "MIXED"},         //
		{in: "S.mixed", schema: "s", name: "MIXED"},             // folded name beats case-insensitive
		{in: "T.ab", err: pipeline.ErrAmbiguousTable},           // only case-insensitive matches, two of them
		{in: "Q.ONLY", schema: "q", name: "only"},               // case-insensitive, one candidate
		{in: `"Q".only`, err: pipeline.ErrTableNotFound},        // quoted schema is exact
		{in: "nosuch", err: pipeline.ErrTableNotFound},          //
		{in: "x.vbrp", err: pipeline.ErrTableNotFound},          // wrong schema
	} {
		t.Run(tc.in, func(t *testing.T) {
			ref, err := pipeline.ParseTableName(tc.in)
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
	// An ambiguity names both candidates in their exact form.
	_, err := pick(pipeline.TableName{Schema: "s", Name: "Mixed"}, cands, upper)
	if !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), `"s"."Mixed"`) || !strings.Contains(err.Error(), `"s"."MIXED"`) {
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

// TestBatchesClearOnRelease: with ClearOnRelease a released batch's rows
// hold no values (a LOB table's released storage must not keep LOBs
// alive); without it they are left for overwriting.
func TestBatchesClearOnRelease(t *testing.T) {
	for _, clearing := range []bool{false, true} {
		b := NewBatches(2, 3, 1)
		if clearing {
			b.ClearOnRelease()
		}
		rows := b.Rows()
		rows[0][0], rows[0][1], rows[1][0] = "lob", []byte("x"), "y"
		bt := b.Batch(rows, 2)
		bt.Release()
		left := 0
		for _, r := range rows {
			for _, v := range r {
				if v != nil {
					left++
				}
			}
		}
		if want := map[bool]int{false: 3, true: 0}[clearing]; left != want {
			t.Errorf("clear %v: %d values left after Release, want %d", clearing, left, want)
		}
	}
}
