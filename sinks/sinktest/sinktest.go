package sinktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Harness connects the suite to one sink implementation.
type Harness struct {
	// New returns a fresh, empty sink for one subtest.
	New func(t *testing.T) pipeline.Sink
	// Read returns the committed bytes of object name as the storage holds
	// them, and false when nothing is visible under name.
	Read func(t *testing.T, name string) ([]byte, bool)
	// URI, if set, is the URI ObjectInfo must report for name; otherwise the
	// suite only checks that the URI ends with the name.
	URI func(name string) string
	// StoresNothing marks a sink that keeps no bytes (discard): read-back
	// cases are not run, only their ObjectInfo checks.
	StoresNothing bool
}

// SpecName is an object name of the spec's pattern.
const SpecName = "TRP-20260118-001/v001/VBRP.jsonl.gz"

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Run("RoundTrip", func(t *testing.T) {
		cases := []struct {
			name   string
			size   int
			pieces []int // write sizes, cycled
		}{
			{"empty", 0, nil},
			{"one-byte", 1, []int{1}},
			{"small", 1000, []int{1000}},
			{"multi-MB-odd-writes", 3<<20 + 17, []int{7, 4093, 65537, 1, 300001}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := h.New(t)
				data := Random(c.size, uint64(c.size))
				name := "rt/" + c.name + ".jsonl.gz"
				obj := create(t, s, context.Background(), name)
				writePieces(t, obj, data, c.pieces)
				info, err := obj.Commit()
				if err != nil {
					t.Fatalf("Commit: %v", err)
				}
				h.checkInfo(t, info, name, data)
				h.checkStored(t, name, data)
			})
		}
	})

	t.Run("SpecNames", func(t *testing.T) {
		s := h.New(t)
		names := []string{SpecName, "TRP-20260118-001/v001/VBRK.jsonl.gz", "TRP-20260118-001/v002/LIKP.part-00001.jsonl.gz", "flat.jsonl.gz"}
		for i, name := range names {
			data := Random(100+i, uint64(i))
			obj := create(t, s, context.Background(), name)
			writePieces(t, obj, data, nil)
			info, err := obj.Commit()
			if err != nil {
				t.Fatalf("Commit %s: %v", name, err)
			}
			h.checkInfo(t, info, name, data)
			h.checkStored(t, name, data)
		}
	})

	t.Run("InvisibleBeforeCommit", func(t *testing.T) {
		s := h.New(t)
		obj := create(t, s, context.Background(), SpecName)
		writePieces(t, obj, Random(600<<10, 1), []int{100 << 10})
		h.checkAbsent(t, SpecName, "before Commit")
		if _, err := obj.Commit(); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	})

	t.Run("Abort", func(t *testing.T) {
		for _, size := range []int{0, 10, 2<<20 + 3} {
			t.Run(fmt.Sprint(size), func(t *testing.T) {
				s := h.New(t)
				obj := create(t, s, context.Background(), SpecName)
				writePieces(t, obj, Random(size, 2), []int{65536})
				if err := obj.Abort(); err != nil {
					t.Fatalf("Abort: %v", err)
				}
				h.checkAbsent(t, SpecName, "after Abort")
			})
		}
	})

	t.Run("CancelMidWrite", func(t *testing.T) {
		for _, then := range []string{"Commit", "Abort"} {
			t.Run("then-"+then, func(t *testing.T) {
				s := h.New(t)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				obj := create(t, s, ctx, SpecName)
				data := Random(1<<20, 3)
				writePieces(t, obj, data[:len(data)/2], []int{32768})
				cancel()
				_, _ = obj.Write(data[len(data)/2:]) // may or may not fail; must not make anything visible
				switch then {
				case "Commit":
					if _, err := obj.Commit(); err == nil {
						t.Fatal("Commit after the Create context was cancelled succeeded; want an error")
					}
				case "Abort":
					if err := obj.Abort(); err != nil {
						t.Fatalf("Abort: %v", err)
					}
				}
				h.checkAbsent(t, SpecName, "after cancel and "+then)
			})
		}
	})

	t.Run("AbortAfterCommitKeepsObject", func(t *testing.T) {
		s := h.New(t)
		data := Random(5000, 4)
		obj := create(t, s, context.Background(), SpecName)
		writePieces(t, obj, data, nil)
		if _, err := obj.Commit(); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		if err := obj.Abort(); err != nil {
			t.Fatalf("Abort after Commit: %v", err)
		}
		h.checkStored(t, SpecName, data)
	})

	t.Run("InvalidNames", func(t *testing.T) {
		s := h.New(t)
		for _, name := range []string{"", "/abs/VBRP.jsonl.gz", "TRP/../VBRP.jsonl.gz", `TRP\VBRP.jsonl.gz`, "TRP//VBRP.jsonl.gz", "TRP/"} {
			obj, err := s.Create(context.Background(), name)
			if err == nil {
				_ = obj.Abort()
				t.Errorf("Create(%q) succeeded; want an error", name)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := h.New(t)
		names := []string{"TRP-C/v001/A.jsonl.gz", "TRP-C/v001/B.jsonl.gz"}
		datas := [][]byte{Random(1<<20+11, 5), Random(700<<10+5, 6)}
		objs := []pipeline.Object{create(t, s, context.Background(), names[0]), create(t, s, context.Background(), names[1])}
		infos := make([]pipeline.ObjectInfo, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range objs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := datas[i]
				for len(d) > 0 {
					n := min(len(d), 12345+i)
					if _, err := objs[i].Write(d[:n]); err != nil {
						errs[i] = err
						_ = objs[i].Abort()
						return
					}
					d = d[n:]
				}
				infos[i], errs[i] = objs[i].Commit()
			}()
		}
		wg.Wait()
		for i := range objs {
			if errs[i] != nil {
				t.Fatalf("object %s: %v", names[i], errs[i])
			}
			h.checkInfo(t, infos[i], names[i], datas[i])
			h.checkStored(t, names[i], datas[i])
		}
	})

	t.Run("NoReplace", func(t *testing.T) {
		if h.StoresNothing {
			return // nothing stored, nothing to replace
		}
		// committed first, then a second object of the same name
		t.Run("after-commit", func(t *testing.T) {
			s := h.New(t)
			first := Random(3000, 7)
			obj := create(t, s, context.Background(), SpecName)
			writePieces(t, obj, first, nil)
			if _, err := obj.Commit(); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			for _, size := range []int{0, 10, 3000, 300 << 10} {
				again := create(t, s, context.Background(), SpecName)
				writePieces(t, again, Random(size, 8), []int{65536})
				_, err := again.Commit()
				checkExists(t, err)
				h.checkStored(t, SpecName, first)
			}
		})
		// two writers open at once: the first to commit wins, the other fails
		t.Run("both-open", func(t *testing.T) {
			s := h.New(t)
			a := create(t, s, context.Background(), SpecName)
			b := create(t, s, context.Background(), SpecName)
			da, db := Random(2000, 9), Random(1000, 10)
			writePieces(t, a, da, nil)
			writePieces(t, b, db, nil)
			if _, err := b.Commit(); err != nil {
				t.Fatalf("first Commit: %v", err)
			}
			_, err := a.Commit()
			checkExists(t, err)
			h.checkStored(t, SpecName, db)
		})
	})

	t.Run("List", func(t *testing.T) {
		s0 := h.New(t)
		if _, ok := s0.(pipeline.Lister); !ok || h.StoresNothing {
			return // the sink does not list; nothing to check
		}
		s := s0.(pipeline.Lister)
		ctx := context.Background()
		for _, name := range []string{"L/v001/a.jsonl.gz", "L/v001/_ranges/T/00000-a1.deflate", "L/v002/b.jsonl.gz", "L/top.json", "Lx/other"} {
			obj := create(t, s0, ctx, name)
			writePieces(t, obj, Random(10, 11), nil)
			if _, err := obj.Commit(); err != nil {
				t.Fatalf("Commit %s: %v", name, err)
			}
		}
		open := create(t, s0, ctx, "L/v001/unfinished.jsonl.gz") // never committed: not listed
		writePieces(t, open, Random(100, 12), nil)
		defer func() { _ = open.Abort() }()
		for _, c := range []struct {
			prefix string
			want   []string
		}{
			{"L/", []string{"L/top.json", "L/v001/", "L/v002/"}},
			{"L/v001/", []string{"L/v001/_ranges/", "L/v001/a.jsonl.gz"}},
			{"L/v001/_ranges/T/", []string{"L/v001/_ranges/T/00000-a1.deflate"}},
			{"nothing/", nil},
		} {
			got, err := s.List(ctx, c.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", c.prefix, err)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("List(%q) = %q, want %q", c.prefix, got, c.want)
			}
		}
	})

	t.Run("Compose", func(t *testing.T) {
		if _, ok := h.New(t).(pipeline.Composer); !ok {
			return // the sink does not compose; nothing to check
		}
		for _, n := range []int{1, 3, 32, 33, 70} { // > 32 needs a tree in GCS
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				s := h.New(t)
				comp := s.(pipeline.Composer)
				var srcs []string
				var all []byte
				for i := range n {
					name := fmt.Sprintf("TRP-X/v001/_ranges/T/%05d.deflate", i)
					data := Random(i*37%300+1, uint64(i))
					obj := create(t, s, context.Background(), name)
					writePieces(t, obj, data, nil)
					if _, err := obj.Commit(); err != nil {
						t.Fatalf("Commit %s: %v", name, err)
					}
					srcs = append(srcs, name)
					all = append(all, data...)
				}
				info, err := comp.Compose(context.Background(), SpecName, srcs)
				if err != nil {
					t.Fatalf("Compose: %v", err)
				}
				h.checkInfo(t, info, SpecName, all)
				h.checkStored(t, SpecName, all)
				for i, name := range srcs { // sources stay
					if _, ok := h.Read(t, name); !ok && !h.StoresNothing {
						t.Fatalf("source %d vanished", i)
					}
				}
				// never overwrites
				_, err = comp.Compose(context.Background(), SpecName, srcs[:1])
				checkExists(t, err)
				h.checkStored(t, SpecName, all)
			})
		}
		t.Run("missing-source", func(t *testing.T) {
			s := h.New(t)
			if _, err := s.(pipeline.Composer).Compose(context.Background(), SpecName, []string{"TRP-X/v001/nope"}); err == nil {
				t.Fatal("Compose of a missing source succeeded")
			}
			h.checkAbsent(t, SpecName, "after a failed Compose")
		})
	})
}

// checkExists fails unless err is the refusal of a write over an existing
// object: an error matching pipeline.ErrObjectExists.
func checkExists(t *testing.T, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatal("a write over an existing object succeeded; want an error matching pipeline.ErrObjectExists")
	case !errors.Is(err, pipeline.ErrObjectExists):
		t.Fatalf("a write over an existing object failed with %v; want an error matching pipeline.ErrObjectExists", err)
	case pipeline.IsTransient(err):
		t.Errorf("the exists error is marked transient, but retrying cannot help: %v", err)
	}
}

func create(t *testing.T, s pipeline.Sink, ctx context.Context, name string) pipeline.Object {
	t.Helper()
	obj, err := s.Create(ctx, name)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	return obj
}

// writePieces writes data in pieces of the given sizes (cycled; nil means one write).
func writePieces(t *testing.T, obj pipeline.Object, data []byte, pieces []int) {
	t.Helper()
	for i := 0; len(data) > 0; i++ {
		n := len(data)
		if len(pieces) > 0 {
			n = min(n, pieces[i%len(pieces)])
		}
		w, err := obj.Write(data[:n])
		if err != nil || w != n {
			_ = obj.Abort()
			t.Fatalf("Write %d bytes: wrote %d, %v", n, w, err)
		}
		data = data[n:]
	}
}

func (h Harness) checkInfo(t *testing.T, info pipeline.ObjectInfo, name string, data []byte) {
	t.Helper()
	if info.Name != name {
		t.Errorf("ObjectInfo.Name = %q, want %q", info.Name, name)
	}
	if info.Size != int64(len(data)) {
		t.Errorf("ObjectInfo.Size = %d, want %d", info.Size, len(data))
	}
	if want := crc32.Checksum(data, pipeline.Castagnoli); info.CRC32C != want {
		t.Errorf("ObjectInfo.CRC32C = %08x, want %08x", info.CRC32C, want)
	}
	if h.URI != nil {
		if want := h.URI(name); info.URI != want {
			t.Errorf("ObjectInfo.URI = %q, want %q", info.URI, want)
		}
	} else if !strings.HasSuffix(info.URI, name) {
		t.Errorf("ObjectInfo.URI = %q, want a URI ending in %q", info.URI, name)
	}
}

func (h Harness) checkStored(t *testing.T, name string, want []byte) {
	t.Helper()
	if h.StoresNothing {
		return
	}
	got, ok := h.Read(t, name)
	if !ok {
		t.Fatalf("object %s not visible after Commit", name)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("object %s: read back %d bytes (crc %08x), want %d bytes (crc %08x)", name,
			len(got), crc32.Checksum(got, pipeline.Castagnoli), len(want), crc32.Checksum(want, pipeline.Castagnoli))
	}
}

func (h Harness) checkAbsent(t *testing.T, name, when string) {
	t.Helper()
	if got, ok := h.Read(t, name); ok {
		t.Fatalf("object %s visible %s (%d bytes); want nothing", name, when, len(got))
	}
}

// Random returns n deterministic pseudo-random bytes for seed.
func Random(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}
