package synth

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// poolCol is the precomputed value pool of one column: a row picks entry
// x>>shift of vals for a 64-bit x, so len(vals) is exactly 1<<(64-shift)
// and every such index is in range.
type poolCol struct {
	base  unsafe.Pointer // &vals[0]: the hot loop indexes without bounds checks
	key   uint64         // per-column random key mixed into the row state
	shift uint64
	doc   uint64 // all ones: the value follows the document, not the row
	vals  []any
}

// docCol is a column holding a per-document number: base+doc, printed as 10
// zero-padded digits (VBELN, VGBEL, AUBEL…).
type docCol struct {
	idx  int
	base uint64
}

// maxPoolBits caps pools at 128 values per column, so all pools of VBRP
// (≈550 KB of interface values) stay in a core's L2 cache: with 512 values
// the random picks missed it and generation took ≈40% more CPU. Compression
// does not notice: gzip's 32 KB window spans only a few rows.
const maxPoolBits = 7

// docWidth is the width of SAP document numbers.
const docWidth = 10

// table generates the rows of one synthetic table.
type table struct {
	info    pipeline.TableInfo // Schema, Name, Columns, ColumnCount, Comment
	seed    uint64             // derived from Config.Seed and the table name
	pools   []poolCol          // one per column, in column order
	docs    []docCol           // overwritten per row with document numbers
	items   []int              // columns holding the item number (POSNR…)
	grouped bool               // rows form documents of 1–8 items (VBRP)
	// idle holds batch storage of closed sources for the next source of
	// the table: a VBRP batch of 10,000 rows is 44 MB of cells, and making
	// it anew per run let a process's heap grow by that much each run.
	idle sync.Pool
}

// itemNumbers are the boxed item numbers "10", "20", … "80".
var itemNumbers = func() [8]any {
	var a [8]any
	for i := range a {
		a[i] = formatDecimal(false, uint64(10*(i+1)), 0)
	}
	return a
}()

// docCols and itemCols name the per-document and per-item columns of each
// table, with the number range of each document column.
var (
	docCols = map[string]map[string]uint64{
		"VBRP": {"VBELN": 90_000_000, "VGBEL": 80_000_000, "AUBEL": 10_000_000},
		"VBRK": {"VBELN": 90_000_000, "KNUMV": 1_000_000_000, "BELNR": 100_000_000},
		"LIKP": {"VBELN": 80_000_000, "KNUMV": 2_000_000_000},
	}
	itemCols = map[string][]string{
		"VBRP": {"POSNR", "VGPOS", "AUPOS"},
	}
)

// newTable builds the pools of one table from an embedded schema file.
func newTable(file string, seed uint64) (*table, error) {
	name, comment, cols, lengths, err := loadSchema(file)
	if err != nil {
		return nil, err
	}
	t := &table{
		info: pipeline.TableInfo{Schema: schemaName, Name: name, Columns: cols, ColumnCount: len(cols), Comment: comment},
		seed: mix64(seed ^ hashString(name)),
	}
	t.grouped = name == "VBRP"
	byName := make(map[string]int, len(cols))
	t.pools = make([]poolCol, len(cols))
	for i, c := range cols {
		byName[c.Name] = i
		cseed := mix64(t.seed ^ hashString(c.Name))
		spec := specFor(c, lengths[i], cseed)
		// A constant gets two equal entries, which keeps shift < 64.
		spec.bits = max(min(spec.bits, maxPoolBits), 1)
		vals := buildPool(c, spec, &rng{s: cseed ^ 0xA5A5A5A5A5A5A5A5})
		t.pools[i] = poolCol{base: unsafe.Pointer(&vals[0]), key: mix64(cseed ^ 0x5A5A5A5A5A5A5A5A), shift: uint64(64 - spec.bits), vals: vals}
	}
	if t.grouped {
		for i, c := range cols {
			if documentLevel(c, t.seed) {
				t.pools[i].doc = ^uint64(0)
			}
		}
		// Dates of one billing event are one date in every column of the
		// group: the columns share the first one's pool and key.
		for _, group := range sameValue[name] {
			first, ok := byName[group[0]]
			if !ok {
				continue
			}
			for _, other := range group[1:] {
				if j, ok := byName[other]; ok && cols[j].Type == cols[first].Type && cols[j].Nullable == cols[first].Nullable {
					t.pools[j] = t.pools[first]
				}
			}
		}
	}
	for i, c := range cols { // in column order, so the layout is deterministic too
		if base, ok := docCols[name][c.Name]; ok {
			t.docs = append(t.docs, docCol{idx: i, base: base})
		}
	}
	for _, col := range itemCols[name] {
		if i, ok := byName[col]; ok {
			t.items = append(t.items, i)
		}
	}
	return t, nil
}

// docOf returns the document and item index (0-based) of row i. In grouped
// tables rows come in blocks of 8 split into documents at positions chosen by
// a hash of the block, so both depend on i alone; documents are numbered by
// their first row, so document numbers increase with the row number.
func (t *table) docOf(i uint64) (doc uint64, item int) {
	if !t.grouped {
		return i, 0
	}
	h := mix64(t.seed ^ (i>>3)*0xD1B54A32D192ED03)
	starts := uint8(h&(h>>8)) | 1 // each later row starts a document with p=1/4
	k := uint(i & 7)
	start := bits.Len8(starts&uint8(1<<(k+1)-1)) - 1
	return i&^7 + uint64(start), int(k) - start
}

// slot is reusable storage for one batch.
type slot struct {
	batch pipeline.Batch
	rows  [][]any
	cells []any
	arena []byte   // digits of document numbers
	strs  []string // string headers pointing into arena
	inUse bool     // guarded by the source's mutex
}

// fill generates rows [lo, lo+n) of the table into s.
func (t *table) fill(s *slot, lo uint64, n int) {
	ncol := len(t.pools)
	s.arena = s.arena[:0]
	nstr := 0
	lastDoc := ^uint64(0)
	for r := 0; r < n; r++ {
		row := s.cells[r*ncol : (r+1)*ncol : (r+1)*ncol]
		s.rows[r] = row
		i := lo + uint64(r)
		doc, item := t.docOf(i)
		// Each column's index is the high bits of (state ^ column key) × an
		// odd constant: independent per column, so the loop has no
		// dependency chain and the CPU overlaps the columns. The state is
		// the row's hash, or the document's for document-level columns
		// (p.doc selects it without a branch).
		st := mix64(t.seed + i*0x9E3779B97F4A7C15)
		sd := mix64(t.seed ^ doc*0xC2B2AE3D27D4EB4F)
		pools := t.pools[:len(row)]
		for j := range pools {
			p := &pools[j]
			x := st ^ (st^sd)&p.doc
			k := ((x ^ p.key) * 0xD6E8FEB86659FD93) >> (p.shift & 63) // < len(p.vals)
			row[j] = *(*any)(unsafe.Add(p.base, k*uint64(unsafe.Sizeof(any(nil)))))
		}
		if len(t.docs) == 0 {
			continue
		}
		for _, c := range t.items {
			row[c] = itemNumbers[item]
		}
		if doc == lastDoc && r > 0 {
			prev := s.rows[r-1]
			for _, d := range t.docs {
				row[d.idx] = prev[d.idx]
			}
			continue
		}
		lastDoc = doc
		for _, d := range t.docs {
			off := len(s.arena)
			s.arena = appendZeroPad(s.arena, d.base+doc, docWidth)
			s.strs[nstr] = unsafe.String(&s.arena[off], docWidth)
			row[d.idx] = boxString(&s.strs[nstr])
			nstr++
		}
	}
}

// eface is the memory layout of an empty interface.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

var stringTypeWord = func() unsafe.Pointer {
	var v any = ""
	return (*eface)(unsafe.Pointer(&v)).typ
}()

// boxString returns *p as an interface value without copying the string
// header to a new allocation (which any(*p) does). The interface points at
// *p, so *p must not change while the value is in use: slot storage is only
// rewritten after the batch's Release.
func boxString(p *string) (v any) {
	e := (*eface)(unsafe.Pointer(&v))
	e.typ = stringTypeWord
	e.data = unsafe.Pointer(p)
	return v
}
