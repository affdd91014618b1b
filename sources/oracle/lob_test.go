package oracle

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

const lobSize = 5 << 20 // 5 MB CLOBs

// lobTable is T.X with 40 rows of a 5 MB CLOB (one shared string: the
// fake accounts the bytes without allocating them per row).
func lobTable() *tableFake {
	big := strings.Repeat("x", lobSize)
	f := &tableFake{
		cols: []fakeCol{{name: "ID", dbType: "NUMBER"}, {name: "C", dbType: "CLOB"}},
		decl: [][2]string{{"ID", "NUMBER"}, {"C", "CLOB"}},
	}
	for i := 0; i < 40; i++ {
		f.rows = append(f.rows, []driver.Value{"1", big})
	}
	return f
}

// lobRead is what readLOBTable saw.
type lobRead struct {
	rows         int
	maxBatch     int64 // the largest batch's LOB bytes
	fetchBuffers int64 // the most the fake driver's LOB/LONG fetch buffers held
	peakHeap     int64 // the most heap the read added (live and not yet collected)
	fetch        int   // godror's fetch array size for the SELECT
}

// readLOBTable reads T.X the way a job does (its batch rows and fetch array
// size) and reports what it cost.
func readLOBTable(tb testing.TB, f *tableFake) lobRead {
	fake, db := newFakeDB(tb, f.answer)
	c, err := New(db, Config{User: "u", Password: "p", ConnectString: "h:1521/S"})
	if err != nil {
		tb.Fatal(err)
	}
	ti, err := c.Describe(context.Background(), "T.X")
	if err != nil {
		tb.Fatal(err)
	}
	var out lobRead
	stop := sampleHeap(&out.peakHeap)
	src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{BatchRows: 10000, FetchArraySize: 1000})
	if err != nil {
		stop()
		tb.Fatal(err)
	}
	for {
		b, err := src.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			stop()
			src.Close()
			tb.Fatal(err)
		}
		var n int64
		for _, r := range b.Rows {
			s, ok := r[1].(string)
			if !ok || len(s) != lobSize {
				stop()
				src.Close()
				tb.Fatalf("row %d: CLOB %T of %d bytes, want %d", out.rows, r[1], len(s), lobSize)
			}
			n += int64(len(s))
		}
		out.maxBatch = max(out.maxBatch, n)
		out.rows += len(b.Rows)
		if b.Release != nil {
			b.Release()
		}
	}
	src.Close()
	stop()
	for _, call := range fake.Calls() {
		if strings.Contains(call.SQL, ` FROM "T"."X"`) && !strings.HasPrefix(call.SQL, "SELECT * ") {
			out.fetch, _ = godrorStmtOptions(call.Args)
		}
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	out.fetchBuffers = fake.peakFetchBuffers
	return out
}

// sampleHeap records in peak the most heap (runtime/metrics
// /memory/classes/heap/objects:bytes: live objects and those not yet
// swept) above what it was at the start, sampled every 200µs until stop.
func sampleHeap(peak *int64) (stop func()) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := int64(s[0].Value.Uint64())
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			*peak = max(*peak, int64(s[0].Value.Uint64())-base)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// TestLOBTableWithinBudget: with a job's fetch array of 1000 rows, godror
// reading CLOBs inline would grow its buffers to 1000 × 5 MB, and a batch
// of 10000 rows would hold 10000 × 5 MB. The CLOBs are streamed instead
// (their locators in the fetch array, the text read in chunks), so the
// fetch array keeps its width-based size and holds no LOB data, batches
// are cut by bytes, and the heap the read adds stays within
// DefaultLOBMemory.
func TestLOBTableWithinBudget(t *testing.T) {
	r := readLOBTable(t, lobTable())
	if r.rows != 40 {
		t.Fatalf("%d rows", r.rows)
	}
	if r.fetchBuffers != 0 {
		t.Errorf("LOB fetch buffers held %d bytes: the CLOBs were fetched inline", r.fetchBuffers)
	}
	if r.fetch < 100 {
		t.Errorf("fetch array %d rows: a streamed-LOB table keeps its width-based array", r.fetch)
	}
	if r.maxBatch > DefaultLOBMemory/8+lobSize {
		t.Errorf("a batch held %d MB of LOBs, budget %d MB", r.maxBatch>>20, (DefaultLOBMemory/8+lobSize)>>20)
	}
	if r.peakHeap > DefaultLOBMemory {
		t.Errorf("the read added %d MB of heap, budget %d MB", r.peakHeap>>20, DefaultLOBMemory>>20)
	}
	t.Logf("fetch array %d, fetch buffers %d MB, largest batch %d MB, peak heap +%d MB", r.fetch, r.fetchBuffers>>20, r.maxBatch>>20, r.peakHeap>>20)
}

// TestLONGTableKeepsShortFetchArray: LONG and XMLTYPE have no locator;
// godror fetches them inline into buffers that grow to the largest value
// (dpiVar.c), so a table with such a column keeps the LOBMemory-bounded
// fetch array.
func TestLONGTableKeepsShortFetchArray(t *testing.T) {
	for _, typ := range []string{"LONG", "XMLTYPE"} {
		t.Run(typ, func(t *testing.T) {
			f := lobTable()
			f.cols[1].dbType, f.decl[1][1] = typ, typ
			r := readLOBTable(t, f)
			if r.rows != 40 || r.fetch != int(DefaultLOBMemory/2/LOBRowBytes) {
				t.Fatalf("%d rows, fetch array %d, want %d", r.rows, r.fetch, DefaultLOBMemory/2/LOBRowBytes)
			}
			if r.fetchBuffers == 0 || r.fetchBuffers > DefaultLOBMemory/2 {
				t.Errorf("%s fetch buffers held %d MB, budget %d MB", typ, r.fetchBuffers>>20, DefaultLOBMemory/2>>20)
			}
		})
	}
}

// BenchmarkLOBTable reads 40 rows of 5 MB CLOBs through the fake driver,
// which accounts godror's LOB fetch buffers as ODPI-C keeps them and
// streams LOBs through locators as godror's LobAsReader does, and reports
// the peak heap the read added, the most the fetch buffers held and the
// largest batch, in MB, against the budget (DefaultLOBMemory).
func BenchmarkLOBTable(b *testing.B) {
	f := lobTable()
	var fetchMB, batchMB, heapMB float64
	for b.Loop() {
		r := readLOBTable(b, f)
		if r.rows != 40 {
			b.Fatalf("%d rows", r.rows)
		}
		fetchMB, batchMB = float64(r.fetchBuffers)/(1<<20), float64(r.maxBatch)/(1<<20)
		heapMB = max(heapMB, float64(r.peakHeap)/(1<<20))
	}
	b.SetBytes(40 * lobSize)
	b.ReportMetric(heapMB, "peak-heap-MB")
	b.ReportMetric(fetchMB, "fetch-buffer-MB")
	b.ReportMetric(batchMB, "batch-MB")
	b.ReportMetric(float64(DefaultLOBMemory>>20), "budget-MB")
}

// lobValuesTable is T.X with CLOB, NCLOB and BLOB values around the
// inline limits: NULL, empty, short, exactly at and one past the limit,
// multi-byte text (2-, 3- and 4-byte UTF-8) inside which the fake's
// 7-byte chunk ends fall (a read is then cut back to whole characters, as
// godror does, lob.go:338-349), and several MB.
func lobValuesTable() *tableFake {
	f := &tableFake{
		cols: []fakeCol{{name: "ID", dbType: "NUMBER"}, {name: "C", dbType: "CLOB", nullable: true, nullableKnown: true},
			{name: "N", dbType: "NCLOB", nullable: true, nullableKnown: true}, {name: "B", dbType: "BLOB", nullable: true, nullableKnown: true}},
		decl: [][2]string{{"ID", "NUMBER"}, {"C", "CLOB"}, {"N", "NCLOB"}, {"B", "BLOB"}},
	}
	texts := []driver.Value{nil, "", "short", strings.Repeat("a", LOBInlineChars), strings.Repeat("a", LOBInlineChars+1),
		strings.Repeat("é", LOBInlineChars), strings.Repeat("€", LOBInlineChars+1), strings.Repeat("x€😀é", 700),
		strings.Repeat("😀", 3000), strings.Repeat("yz€", 1<<20)}
	blobs := []driver.Value{nil, []byte{}, []byte{0}, make([]byte, LOBInlineBytes), make([]byte, LOBInlineBytes+1),
		[]byte(strings.Repeat("\xff\x00", 3000)), nil, []byte{}, []byte("b"), make([]byte, 3<<20)}
	for i := range texts {
		f.rows = append(f.rows, []driver.Value{godror.Number(fmt.Sprint(i)), texts[i], texts[len(texts)-1-i], blobs[i]})
	}
	return f
}

// TestLOBStreamedSameJSONAsInline: LOBs read as the connector reads them
// (short ones inline, longer ones streamed in chunks through their
// locators) give exactly the JSON lines of the whole-value inline read
// godror does without LobAsReader, for every value around the limits,
// with chunk ends falling inside characters, and with NULL and empty LOBs kept
// apart where Oracle keeps them apart (an empty BLOB is "", an empty CLOB
// NULL: Oracle has no empty strings).
func TestLOBStreamedSameJSONAsInline(t *testing.T) {
	read := func(viaSQL bool) (string, int) {
		fake, c := lobValuesTable().open(t, Config{})
		fake.lobChunk = 7
		c.viaDatabaseSQL = viaSQL
		ti, err := c.Describe(context.Background(), "T.X")
		if err != nil {
			t.Fatal(err)
		}
		src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{BatchRows: 3})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := readAll(t, src)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := stages.NewEncoder(ti.Columns, stages.NDJSONOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := enc.AppendRows(nil, rows)
		if err != nil {
			t.Fatal(err)
		}
		fake.mu.Lock()
		defer fake.mu.Unlock()
		return string(out), fake.lobReads
	}
	streamed, reads := read(false)
	inline, inlineReads := read(true)
	if reads == 0 || inlineReads != 0 {
		t.Fatalf("LOB reads: streamed %d, inline %d: the two reads did not differ", reads, inlineReads)
	}
	if streamed != inline {
		s, i := strings.Split(streamed, "\n"), strings.Split(inline, "\n")
		for k := range min(len(s), len(i)) {
			if s[k] != i[k] {
				t.Fatalf("line %d differs:\nstreamed %.300s\ninline   %.300s", k, s[k], i[k])
			}
		}
		t.Fatalf("%d lines streamed, %d inline", len(s), len(i))
	}
	lines := strings.Split(strings.TrimSpace(streamed), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines", len(lines))
	}
	if !strings.Contains(lines[0], `"C":null,`) || !strings.Contains(lines[1], `"C":null,`) {
		t.Errorf("NULL and empty CLOB must both be null: %.60s / %.60s", lines[0], lines[1])
	}
	if !strings.Contains(lines[0], `"B":null`) || !strings.Contains(lines[1], `"B":""`) {
		t.Errorf("NULL and empty BLOB: %.100s / %.100s", lines[0][len(lines[0])-40:], lines[1][len(lines[1])-40:])
	}
	if !strings.Contains(lines[8], `"C":"`+strings.Repeat("😀", 3000)+`"`) {
		t.Errorf("4-byte characters across chunks not whole")
	}
}

// TestLOBSnapshotTooOld: a LOB whose undo is gone by the time its chunks
// are read (ORA-22924) fails the table with the translated message, not a
// bare driver error.
func TestLOBSnapshotTooOld(t *testing.T) {
	fake, c := lobValuesTable().open(t, Config{})
	fake.lobErr = oraErr(22924, "snapshot too old")
	ti, err := c.Describe(context.Background(), "T.X")
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = readAll(t, src)
	if err == nil || KindOf(err) != KindSnapshot || !strings.Contains(err.Error(), "LOB snapshot too old (ORA-22924)") {
		t.Fatalf("got %v (kind %v), want the translated ORA-22924", err, KindOf(err))
	}
}

// TestLOBShortAndEmptyNeedNoLOBRead: short LOBs come inline and empty ones
// are known empty from the length ODPI-C prefetches with the row, so a
// table of them costs no LOB round trip; an empty BLOB stays "" and an
// empty CLOB is NULL.
func TestLOBShortAndEmptyNeedNoLOBRead(t *testing.T) {
	f := lobValuesTable()
	f.rows = f.rows[:4] // NULL, empty, short, at the limit
	for _, r := range f.rows {
		r[2] = r[1] // the NCLOB too
	}
	fake, c := f.open(t, Config{})
	ti, err := c.Describe(context.Background(), "T.X")
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readAll(t, src)
	if err != nil || len(rows) != 4 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	fake.mu.Lock()
	reads := fake.lobReads
	fake.mu.Unlock()
	if reads != 0 {
		t.Errorf("%d LOB reads for short and empty LOBs", reads)
	}
	if rows[1][1] != nil || rows[1][3] == nil || len(rows[1][3].([]byte)) != 0 || rows[0][3] != nil {
		t.Errorf("empty CLOB %#v (want nil), empty BLOB %#v (want []byte{}), NULL BLOB %#v", rows[1][1], rows[1][3], rows[0][3])
	}
	if rows[2][1] != "short" || rows[3][1] != strings.Repeat("a", LOBInlineChars) {
		t.Errorf("short CLOBs %v / %d bytes", rows[2][1], len(rows[3][1].(string)))
	}
}

// TestCLOBReplacementCharsNotLost: godror's CLOB reader drops every U+FFFD
// at the end of each read, taking it for a cut character, and ends the LOB
// when a read keeps nothing (modelled by fakeLob.Read, godror v0.51.2
// lob.go:338-349, 361-365). U+FFFD is ordinary text (what a mis-converted
// character became), so a streamed CLOB ending in it would lose those
// characters, and one of nothing but U+FFFD would arrive empty: NULL. The
// reader checks every streamed LOB against the length ODPI-C prefetched
// with the row (lob.go:219-231, in UTF-16 code units for a CLOB): a short
// read fails the table naming the column instead of writing the value cut.
// U+FFFD inside a value, where the next read starts again at it, costs
// nothing.
func TestCLOBReplacementCharsNotLost(t *testing.T) {
	const fffd = "\uFFFD"
	read := func(t *testing.T, values ...string) ([][]any, error) {
		f := &tableFake{
			cols: []fakeCol{{name: "ID", dbType: "NUMBER"}, {name: "C", dbType: "CLOB", nullable: true, nullableKnown: true}},
			decl: [][2]string{{"ID", "NUMBER"}, {"C", "CLOB"}},
		}
		for i, v := range values {
			f.rows = append(f.rows, []driver.Value{godror.Number(fmt.Sprint(i)), v})
		}
		fake, c := f.open(t, Config{})
		fake.lobChunk = 1000
		ti, err := c.Describe(context.Background(), "T.X")
		if err != nil {
			t.Fatal(err)
		}
		src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return readAll(t, src)
	}
	t.Run("inside a value", func(t *testing.T) {
		// chunk ends of 1000 bytes fall on U+FFFD many times
		v := strings.Repeat("ab"+fffd+fffd+"😀", 1500) + "end"
		rows, err := read(t, v)
		if err != nil {
			t.Fatal(err)
		}
		if rows[0][1] != v {
			t.Fatalf("CLOB of %d bytes came back as %d bytes", len(v), len(rows[0][1].(string)))
		}
	})
	for _, tt := range []struct{ name, value string }{
		{"ending in U+FFFD", strings.Repeat("a", 2*LOBInlineChars) + fffd + fffd},
		{"nothing but U+FFFD", strings.Repeat(fffd, 2*LOBInlineChars)},
		{"U+FFFD for a whole read", strings.Repeat("a", 2*LOBInlineChars) + strings.Repeat(fffd, 400) + strings.Repeat("z", 5000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := read(t, "ok", tt.value)
			if err == nil {
				got, _ := rows[len(rows)-1][1].(string)
				t.Fatalf("a CLOB of %d characters was written as %d bytes with no error", len([]rune(tt.value)), len(got))
			}
			for _, w := range []string{`column C`, "U+FFFD", "characters"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if pipeline.IsTransient(err) {
				t.Errorf("retrying reads the same cut value: %v", err)
			}
			t.Log(err)
		})
	}
}

// TestUTF16Units: the length check counts characters as Oracle counts a
// CLOB's length, in UTF-16 code units, for any mix of 1- to 4-byte UTF-8.
func TestUTF16Units(t *testing.T) {
	for _, s := range []string{"", "a", "abcdefgh", "abcdefghi", "é€😀", strings.Repeat("ab€😀é", 37) + "xyz", "\uFFFD" + strings.Repeat("z", 17) + "😀"} {
		if got, want := utf16Units([]byte(s)), int64(len(utf16.Encode([]rune(s)))); got != want {
			t.Errorf("utf16Units(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestLOBLengthErrorNotEmpty: the reader asks each LOB for its length
// first. When godror cannot get it (dpiLob_getSize fails: a BFILE whose
// file is missing, ORA-22288), godror closes the LOB and every later read
// reports the end at once (modelled by fakeLob.Size, lob.go:232-248, 259):
// reading on would write an empty value. The error fails the table.
func TestLOBLengthErrorNotEmpty(t *testing.T) {
	for _, typ := range []string{"BFILE", "BLOB", "CLOB"} {
		t.Run(typ, func(t *testing.T) {
			f := &tableFake{
				cols: []fakeCol{{name: "ID", dbType: "NUMBER"}, {name: "F", dbType: typ, nullable: true, nullableKnown: true}},
				decl: [][2]string{{"ID", "NUMBER"}, {"F", typ}},
				rows: [][]driver.Value{{godror.Number("1"), []byte(strings.Repeat("file content ", 400))}},
			}
			if typ == "CLOB" {
				f.rows[0][1] = strings.Repeat("text ", 400)
			}
			fake, c := f.open(t, Config{})
			fake.lobSizeErr = oraErr(22288, "file or LOB operation FILEOPEN failed")
			ti, err := c.Describe(context.Background(), "T.X")
			if err != nil {
				t.Fatal(err)
			}
			src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rows, err := readAll(t, src)
			if err == nil {
				t.Fatalf("a %s whose length could not be read was written as %#v", typ, rows[0][1])
			}
			if !strings.Contains(err.Error(), "ORA-22288") || !strings.Contains(err.Error(), "column F") {
				t.Fatalf("error does not say which column and why: %v", err)
			}
		})
	}
}
