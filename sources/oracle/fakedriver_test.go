package oracle

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/godror/godror"
)

// fakeCol is a result column as godror describes it.
type fakeCol struct {
	name, dbType  string
	prec, scale   int64
	hasPS         bool
	nullable      bool
	nullableKnown bool
	// signedYear: the column is TO_CHAR(…, 'SYYYY…') of a datetime
	// (see oraTZRegion.toChar).
	signedYear bool
}

// fakeResult is what the fake database answers to one query.
type fakeResult struct {
	cols []fakeCol
	rows [][]driver.Value
	err  error // returned by the query itself
	// failAt, with failErr, makes Next fail when row failAt is due (the
	// connection dropping mid-table).
	failAt  int
	failErr error
	// stallAt, when > 0, makes Next wait at row stallAt until the
	// connection's Break (ORA-01013) or the test's release.
	stallAt int
	release chan struct{}
}

// fakeCall is one statement the fake database received.
type fakeCall struct {
	SQL  string
	Args []any // bind values and godror options, in order
	Tx   string
	// Prepared: the statement was prepared on the driver connection (a
	// reader below database/sql), not run through database/sql.
	Prepared bool
}

// fakeDB is a database/sql driver that speaks like godror: it reports
// godror's DatabaseTypeName and precision/scale, returns godror's value
// types, and records every statement with its arguments. answer decides
// the reply to each query by its text.
type fakeDB struct {
	mu     sync.Mutex
	calls  []fakeCall
	answer func(sql string, args []any) fakeResult
	open   int
	// tz is godror's ConnectionParams.Timezone, which godror builds DATE
	// and TIMESTAMP values in (see oraDateTime); nil is time.Local.
	tz *time.Location
	// peakFetchBuffers is the most bytes any query's LOB/LONG fetch
	// buffers held (see fakeRows.holdLong); guarded by mu.
	peakFetchBuffers int64
	// lobChunk is the bytes one fakeLob Read returns at most (default
	// 8132); lobErr, when set, fails every LOB read; lobReads counts the
	// reads. Guarded by mu.
	lobChunk int
	lobErr   error
	lobReads int
	// lobSizeErr, when set, fails every LOB's Size (dpiLob_getSize: a
	// BFILE whose file is missing, ORA-22288); guarded by mu.
	lobSizeErr error
}

// godrorStmtOptions applies the godror Options among args the way godror's
// statement does (godror v0.51.2 stmt.go:156, type Option
// func(*stmtOptions); FetchArraySize and PrefetchCount, stmt.go:200-225,
// set stmtOptions.fetchArraySize / prefetchCount) and reads the two fields.
func godrorStmtOptions(args []any) (fetch, prefetch int) {
	for _, a := range args {
		o, ok := a.(godror.Option)
		if !ok {
			continue
		}
		fn := reflect.ValueOf(o)
		so := reflect.New(fn.Type().In(0).Elem())
		fn.Call([]reflect.Value{so})
		if f := so.Elem().FieldByName("fetchArraySize"); f.IsValid() && f.Int() != 0 {
			fetch = int(f.Int())
		}
		if f := so.Elem().FieldByName("prefetchCount"); f.IsValid() && f.Int() != 0 {
			prefetch = int(f.Int())
		}
	}
	return fetch, prefetch
}

// sqlOpenDB opens a pool over f.
func sqlOpenDB(f *fakeDB) *sql.DB { return sql.OpenDB(f) }

func newFakeDB(t testing.TB, answer func(sql string, args []any) fakeResult) (*fakeDB, *sql.DB) {
	t.Helper()
	f := &fakeDB{answer: answer}
	db := sql.OpenDB(f)
	t.Cleanup(func() { _ = db.Close() })
	return f, db
}

func (f *fakeDB) Connect(context.Context) (driver.Conn, error) {
	f.mu.Lock()
	f.open++
	f.mu.Unlock()
	return &fakeConn{db: f}, nil
}

func (f *fakeDB) Driver() driver.Driver { return fakeDriver{f} }

// Calls returns the statements received so far.
func (f *fakeDB) Calls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

// SQLs returns the text of the statements received so far.
func (f *fakeDB) SQLs() []string {
	var s []string
	for _, c := range f.Calls() {
		s = append(s, c.SQL)
	}
	return s
}

func (f *fakeDB) record(c fakeCall) fakeResult {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	answer := f.answer
	f.mu.Unlock()
	if answer == nil {
		return fakeResult{err: errors.New("fake: no answer")}
	}
	return answer(c.SQL, c.Args)
}

type fakeDriver struct{ db *fakeDB }

func (d fakeDriver) Open(string) (driver.Conn, error) { return d.db.Connect(context.Background()) }

type fakeConn struct {
	db *fakeDB
	tx string // "", "rw", "ro"

	brkOnce sync.Once
	brkMu   sync.Mutex
	brkCh   chan struct{} // closed by Break
}

var (
	_ driver.QueryerContext                 = (*fakeConn)(nil)
	_ driver.ExecerContext                  = (*fakeConn)(nil)
	_ driver.ConnBeginTx                    = (*fakeConn)(nil)
	_ driver.NamedValueChecker              = (*fakeConn)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*fakeRows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*fakeRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*fakeRows)(nil)
)

// CheckNamedValue accepts every argument, as godror does with its Option
// values (FetchArraySize, PrefetchCount).
func (c *fakeConn) CheckNamedValue(*driver.NamedValue) error { return nil }

func (c *fakeConn) Prepare(query string) (driver.Stmt, error) {
	return nil, errors.New("fake: Prepare not supported; use QueryContext/ExecContext")
}
func (c *fakeConn) Close() error { return nil }
func (c *fakeConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx records a read-only transaction as godror runs it.
func (c *fakeConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.tx = "rw"
	if opts.ReadOnly {
		c.tx = "ro"
		if r := c.db.record(fakeCall{SQL: ReadOnlySQL, Tx: c.tx}); r.err != nil {
			return nil, r.err
		}
	}
	return fakeTx{c}, nil
}

type fakeTx struct{ c *fakeConn }

func (t fakeTx) Commit() error   { t.c.tx = ""; return nil }
func (t fakeTx) Rollback() error { t.c.tx = ""; return nil }

func args(named []driver.NamedValue) []any {
	a := make([]any, len(named))
	for i, n := range named {
		a[i] = n.Value
	}
	return a
}

func (c *fakeConn) ExecContext(ctx context.Context, query string, named []driver.NamedValue) (driver.Result, error) {
	r := c.db.record(fakeCall{SQL: query, Args: args(named), Tx: c.tx})
	if r.err != nil {
		return nil, r.err
	}
	return driver.RowsAffected(0), nil
}

func (c *fakeConn) QueryContext(ctx context.Context, query string, named []driver.NamedValue) (driver.Rows, error) {
	return c.query(fakeCall{SQL: query, Args: args(named), Tx: c.tx})
}

func (c *fakeConn) query(call fakeCall) (driver.Rows, error) {
	r := c.db.record(call)
	if r.err != nil {
		return nil, r.err
	}
	fetch, _ := godrorStmtOptions(call.Args)
	if fetch <= 0 {
		fetch = godror.DefaultFetchArraySize // stmt.go:126-131
	}
	return &fakeRows{res: r, tz: c.db.tz, db: c.db, fetch: fetch, conn: c, lobAsReader: godrorLobAsReader(call.Args)}, nil
}

// PrepareContext prepares a statement on the driver connection, as
// godror's conn does (conn.go:341; godror's conn has no QueryContext of its
// own, so a reader below database/sql prepares). database/sql itself uses
// fakeConn's QueryContext.
func (c *fakeConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return &fakeStmt{c: c, query: query}, nil
}

// Break interrupts the call running on the connection, as godror's
// conn.Break does (conn.go:146-166, dpiConn_breakExecution): a fetch
// waiting for rows fails with ORA-01013.
func (c *fakeConn) Break() error {
	c.brkOnce.Do(func() { close(c.brk()) })
	return nil
}

func (c *fakeConn) brk() chan struct{} {
	c.brkMu.Lock()
	defer c.brkMu.Unlock()
	if c.brkCh == nil {
		c.brkCh = make(chan struct{})
	}
	return c.brkCh
}

// fakeStmt is a statement prepared on the driver connection.
type fakeStmt struct {
	c     *fakeConn
	query string
	opts  []any // godror Options taken out of the arguments
}

var (
	_ driver.StmtQueryContext  = (*fakeStmt)(nil)
	_ driver.NamedValueChecker = (*fakeStmt)(nil)
)

// CheckNamedValue takes godror's Options out of the arguments and applies
// them to the statement, as godror's statement does (stmt.go:3394-3407,
// returning driver.ErrRemoveArgument); bind values stay.
func (s *fakeStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if o, ok := nv.Value.(godror.Option); ok {
		s.opts = append(s.opts, o)
		return driver.ErrRemoveArgument
	}
	return nil
}

func (s *fakeStmt) Close() error  { return nil }
func (s *fakeStmt) NumInput() int { return -1 }
func (s *fakeStmt) Exec([]driver.Value) (driver.Result, error) {
	return nil, errors.New("fake: Exec on a prepared statement")
}
func (s *fakeStmt) Query([]driver.Value) (driver.Rows, error) {
	return nil, errors.New("fake: Query without a context")
}

// QueryContext records the statement with its bind values followed by the
// Options it took (so godrorStmtOptions reads them as for database/sql).
func (s *fakeStmt) QueryContext(ctx context.Context, named []driver.NamedValue) (driver.Rows, error) {
	for _, n := range named {
		if _, ok := n.Value.(godror.Option); ok {
			return nil, errors.New("fake: a godror Option reached the statement's binds")
		}
	}
	return s.c.query(fakeCall{SQL: s.query, Args: append(args(named), s.opts...), Tx: s.c.tx, Prepared: true})
}

// godrorLobAsReader reports whether args hold godror.LobAsReader()
// (stmt.go:278, stmtOptions.lobAsReader).
func godrorLobAsReader(args []any) bool {
	for _, a := range args {
		o, ok := a.(godror.Option)
		if !ok {
			continue
		}
		fn := reflect.ValueOf(o)
		so := reflect.New(fn.Type().In(0).Elem())
		fn.Call([]reflect.Value{so})
		if f := so.Elem().FieldByName("lobAsReader"); f.IsValid() && f.Bool() {
			return true
		}
	}
	return false
}

type fakeRows struct {
	res  fakeResult
	i    int
	tz   *time.Location
	db   *fakeDB
	conn *fakeConn
	// lobAsReader: the statement has godror.LobAsReader.
	lobAsReader bool
	// fetch is the statement's fetch array size; slotBytes[k] what the
	// LOB/LONG buffers of row slot k hold (see holdLong).
	fetch     int
	slotBytes []int64
	longCols  []int // indexes of the LOB/LONG columns
	held      int64
}

// holdLong models ODPI-C's buffers for LONG, LONG RAW and XMLTYPE columns
// and, without LobAsReader, CLOB and BLOB columns, which godror then
// defines as LONG VARCHAR / LONG RAW (stmt.go:3474-3483; NCLOB and, with
// LobAsReader, CLOB and BLOB are defined as locators, and XMLTYPE is
// dynamic too: its buffer size is DPI_MAX_BASIC_BUFFER_SIZE + 1,
// dpiOracleType.c:348-356, dpiVar.c:112-116): the variable has one dynamic buffer per row of the fetch
// array (dpiVar.c:112-115) whose chunks grow to the largest value fetched
// into that row slot and are kept until the statement ends
// (dpiVar__defineCallback dpiVar.c:363-393; dpiVar__extendedPreFetch
// resets only the count, dpiVar.c:411-415; freed in dpiVar.c:592-608).
// So the buffers hold about fetch-array-size × the largest LOB.
func (r *fakeRows) holdLong(row []driver.Value) {
	if r.slotBytes == nil {
		r.slotBytes = make([]int64, r.fetch)
		for i, c := range r.res.cols {
			switch c.dbType {
			case "LONG", "LONG RAW", "XMLTYPE":
				r.longCols = append(r.longCols, i)
			case "CLOB", "BLOB":
				if !r.lobAsReader {
					r.longCols = append(r.longCols, i)
				}
			}
		}
	}
	var n int64
	for _, i := range r.longCols {
		switch x := row[i].(type) {
		case string:
			n += int64(len(x))
		case []byte:
			n += int64(len(x))
		}
	}
	slot := (r.i - 1) % r.fetch
	if n > r.slotBytes[slot] {
		r.held += n - r.slotBytes[slot]
		r.slotBytes[slot] = n
		r.db.mu.Lock()
		r.db.peakFetchBuffers = max(r.db.peakFetchBuffers, r.held)
		r.db.mu.Unlock()
	}
}

func (r *fakeRows) Columns() []string {
	n := make([]string, len(r.res.cols))
	for i, c := range r.res.cols {
		n[i] = c.name
	}
	return n
}
func (r *fakeRows) Close() error { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.res.failErr != nil && r.i == r.res.failAt {
		return r.res.failErr
	}
	if r.res.stallAt > 0 && r.i == r.res.stallAt {
		select {
		case <-r.conn.brk():
			return oraErr(1013, "user requested cancel of current operation")
		case <-r.res.release:
		}
	}
	if r.i >= len(r.res.rows) {
		return io.EOF
	}
	row := r.res.rows[r.i]
	r.i++
	defer r.holdLong(dest)
	if len(row) != len(dest) {
		return fmt.Errorf("fake: row has %d values for %d columns", len(row), len(dest))
	}
	copy(dest, row)
	for i, v := range dest {
		switch x := v.(type) {
		case oraDateTime:
			if r.res.cols[i].dbType == "VARCHAR2" { // selected with TO_CHAR
				dest[i] = oraTZRegion{ts: x, offset: x.tzh*3600 + x.tzm*60}.toChar(r.res.cols[i].signedYear)
			} else {
				dest[i] = x.godror(r.res.cols[i].dbType, r.tz)
			}
		case oraTZRegion:
			if r.res.cols[i].dbType == "VARCHAR2" {
				dest[i] = x.toChar(r.res.cols[i].signedYear)
			} else {
				return x.godrorFetch()
			}
		case oraJSON:
			if r.res.cols[i].dbType == "JSON" {
				dest[i] = x.godrorJSONAsString()
			} else {
				dest[i] = string(x) // JSON_SERIALIZE(… RETURNING CLOB): a CLOB, which godror reads whole into a string (rows.go:584-611)
			}
		case oraIntervalDS:
			if r.res.cols[i].dbType == "INTERVAL DAY TO SECOND" {
				dest[i] = x.godror()
			} else {
				dest[i] = x.extractText()
			}
		}
		if r.lobAsReader || r.res.cols[i].dbType == "BFILE" { // a BFILE is always a *godror.Lob (rows.go:584-613)
			dest[i] = r.db.lobLocator(r.res.cols[i].dbType, dest[i])
		}
	}
	return nil
}

// lobLocator models godror's rows.Next for a CLOB, NCLOB or BLOB column of
// a statement with LobAsReader (rows.go:584-613): NULL is nil, any other
// value a *godror.Lob whose Reader reads the value through its locator in
// chunks (fakeLob).
func (f *fakeDB) lobLocator(dbType string, v driver.Value) driver.Value {
	var b string // shares the row's memory: the fake's copy is not the reader's cost
	switch x := v.(type) {
	case string:
		b = x
	case []byte:
		b = unsafe.String(unsafe.SliceData(x), len(x))
	default:
		return v
	}
	switch dbType {
	case "CLOB", "NCLOB":
		return &godror.Lob{Reader: &fakeLob{db: f, data: b, clob: true}, IsClob: true}
	case "BLOB", "BFILE":
		return &godror.Lob{Reader: &fakeLob{db: f, data: b}}
	}
	return v
}

// fakeLob reads a LOB value the way godror's dpiLobReader does, one
// dpiLob_readBytes round trip per Read (lob.go:251-365), in chunks of at
// most f.lobChunk bytes (the reader must not depend on their size).
// f.lobErr fails the first read (ORA-22924).
//
// A CLOB read ends as godror v0.51.2 ends it: every utf8.RuneError at the
// end of what was read is dropped, byte by byte, as a cut character ("trim
// last erroneous encodings", lob.go:338-349) — so a chunk never ends
// inside a character, and a genuine U+FFFD there is dropped too — and
// the offset advances only past what was kept, so the next read starts
// at the dropped characters; a read that keeps nothing ends the LOB
// (amount != 0 && n == 0, lob.go:361-365). A CLOB ending in U+FFFD
// therefore loses those characters, and one whose next read is nothing
// but U+FFFD loses the rest of its text.
type fakeLob struct {
	db       *fakeDB
	data     string
	off      int
	clob     bool
	finished bool
}

// Size is godror's dpiLobReader.Size (lob.go:219-231): the length ODPI-C
// prefetched with the row (no round trip); for a CLOB in characters as
// Oracle counts them, UTF-16 code units (godror advances its offset by
// utf16.RuneLen, lob.go:350-357), with ErrCLOB.
//
// A failing length (f.lobSizeErr) closes the LOB, as godror's getSize does
// (lob.go:232-248): every later Read then reports io.EOF at once
// (lob.go:259), so a reader that goes on reading gets an empty value.
func (l *fakeLob) Size() (int64, error) {
	l.db.mu.Lock()
	sizeErr := l.db.lobSizeErr
	l.db.mu.Unlock()
	if sizeErr != nil {
		l.finished = true
		return 0, fmt.Errorf("getSize: %w", sizeErr)
	}
	if l.clob {
		return int64(len(utf16.Encode([]rune(l.data)))), godror.ErrCLOB
	}
	return int64(len(l.data)), nil
}

func (l *fakeLob) Read(p []byte) (int, error) {
	l.db.mu.Lock()
	l.db.lobReads++
	chunk, lobErr := l.db.lobChunk, l.db.lobErr
	l.db.mu.Unlock()
	if lobErr != nil {
		return 0, lobErr
	}
	if l.finished || l.off >= len(l.data) {
		return 0, io.EOF
	}
	if chunk <= 0 {
		chunk = 8132 // a SecureFile chunk size
	}
	n := copy(p[:min(len(p), chunk)], l.data[l.off:])
	if l.clob {
		for { // lob.go:338-349
			r, size := utf8.DecodeLastRune(p[:n])
			if size == 0 || r != utf8.RuneError {
				break
			}
			n--
		}
		if n == 0 {
			l.finished = true
			return 0, io.EOF
		}
	}
	l.off += n
	return n, nil
}

// oraIntervalDS is an INTERVAL DAY TO SECOND as ODPI-C hands it to godror
// (dpiIntervalDS: days, hours, minutes, seconds, fseconds in ns, each
// carrying the sign).
type oraIntervalDS struct{ days, hours, minutes, seconds, fseconds int32 }

// godror models dataGetIntervalDS (godror v0.51.2 stmt.go:1846-1853): the
// fields summed into a time.Duration, which wraps past ≈106,751 days.
func (v oraIntervalDS) godror() time.Duration {
	return time.Duration(v.days)*24*time.Hour + time.Duration(v.hours)*time.Hour +
		time.Duration(v.minutes)*time.Minute + time.Duration(v.seconds)*time.Second + time.Duration(v.fseconds)
}

// extractText is what Oracle returns for intervalExpr (EXTRACT of each
// field joined by text, seconds with TO_CHAR(…, 'TM9') and '.' as the
// decimal character): "D H:M:S.F", each field with its sign, "0" for a
// zero field, no leading zero before the point (".5").
func (v oraIntervalDS) extractText() string {
	sec := ""
	s, f := int64(v.seconds), int64(v.fseconds)
	if s < 0 || f < 0 {
		sec, s, f = "-", -s, -f
	}
	if s != 0 || f == 0 {
		sec += strconv.FormatInt(s, 10)
	}
	if f != 0 {
		sec += "." + strings.TrimRight(fmt.Sprintf("%09d", f), "0")
	}
	return fmt.Sprintf("%d %d:%d:%s", v.days, v.hours, v.minutes, sec)
}

// oraTZRegion is a TIMESTAMP WITH TIME ZONE value stored with a region
// name that the client's time-zone file does not know (or knows with other
// rules). ODPI-C converts every TZ value with OCIDateTimeGetTimeZoneOffset
// (dpiData.c:277-298, dpiDataBuffer__fromOracleTimestamp), which fails with
// ORA-01805 for it, so godror's fetch fails; the database formats it itself
// under TO_CHAR with the region's offset at that instant (offset here).
type oraTZRegion struct {
	ts     oraDateTime // fields in the region's local time
	region string
	offset int // seconds east of UTC at that instant, per the database's file
}

func (v oraTZRegion) godrorFetch() error {
	return oraErr(1805, "possible error in date/time operation")
}

// toChar is TO_CHAR(v, 'YYYY-MM-DD"T"HH24:MI:SS.FF9TZH:TZM'), or with
// signed 'SYYYY-…'. Oracle's years run -4712..9999 (negative: BC); YYYY
// prints a BC year without its sign (44 BC as 0044), SYYYY prefixes a
// minus sign for BC and a blank for AD (SQL Language Reference,
// "Datetime Format Elements").
func (v oraTZRegion) toChar(signed bool) string {
	y := v.ts.y
	sign := ""
	if signed {
		sign = " "
	}
	if y < 0 {
		y = -y
		if signed {
			sign = "-"
		}
	}
	t := time.Date(2000, time.Month(v.ts.mo), v.ts.d, v.ts.h, v.ts.mi, v.ts.s, v.ts.ns, time.FixedZone("", v.offset))
	return fmt.Sprintf("%s%04d", sign, y) + t.Format("-01-02T15:04:05.000000000-07:00")
}

// oraJSON is a native JSON (21c+) value: the document as stored.
type oraJSON string

// godrorJSONAsString models godror's JSONAsString for a JSON column
// (rows.go:669-687 calls JSON.StringWithOption, json.go:261-271): the
// document becomes Go values and goes through json.Marshal, so numbers
// pass through float64 and object keys come out sorted.
func (v oraJSON) godrorJSONAsString() string {
	var x any
	if err := json.Unmarshal([]byte(v), &x); err != nil {
		panic(err)
	}
	b, err := json.Marshal(x)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// describeSelect is how Oracle describes the SELECT list q of a table with
// columns cols: a column selected by name keeps godror's description; one
// selected through intervalExpr is a VARCHAR2, through
// JSON_SERIALIZE(… RETURNING CLOB) a CLOB.
func describeSelect(q string, cols []fakeCol) []fakeCol {
	out := append([]fakeCol(nil), cols...)
	for i, c := range out {
		if strings.Contains(q, "EXTRACT(DAY FROM "+quoteIdent(c.name)+")") {
			out[i] = fakeCol{name: c.name, dbType: "VARCHAR2", nullable: true, nullableKnown: true}
		}
		for _, pre := range []string{"TO_CHAR(" + quoteIdent(c.name) + ", ", "TO_CHAR(CAST(" + quoteIdent(c.name) + " AS TIMESTAMP(9) WITH TIME ZONE), "} {
			if j := strings.Index(q, pre); j >= 0 {
				out[i] = fakeCol{name: c.name, dbType: "VARCHAR2", nullable: true, nullableKnown: true,
					signedYear: strings.HasPrefix(q[j+len(pre):], "'SYYYY")}
			}
		}
		if strings.Contains(q, "JSON_SERIALIZE("+quoteIdent(c.name)+" RETURNING CLOB)") {
			out[i] = fakeCol{name: c.name, dbType: "CLOB", nullable: true, nullableKnown: true}
		}
	}
	return out
}

// oraDateTime is a DATE or TIMESTAMP [WITH [LOCAL] TIME ZONE] value as
// ODPI-C hands it to godror (a dpiTimestamp: the stored fields, and for
// TZ/LTZ the value's offset; an LTZ value arrives in the session
// TIME_ZONE). A fake row holding one yields what godror's rows.Next makes
// of it.
type oraDateTime struct {
	y, mo, d, h, mi, s, ns int
	tzh, tzm               int
}

// godror models rows.Next for DATE/TIMESTAMP columns (godror v0.51.2
// rows.go:537-563): the location is the connection's params.Timezone
// (conn.go:942, Timezone()), for TZ and LTZ columns the value's own offset
// (drv.go:1238-1271, timeZoneFor with local nil: UTC for +00:00, else a
// FixedZone), time.Local when none; then time.Date(fields…, location),
// which normalises a wall clock that does not exist in that location.
func (v oraDateTime) godror(dbType string, connTZ *time.Location) time.Time {
	tz := connTZ
	if dbType == "TIMESTAMP WITH TIME ZONE" || dbType == "TIMESTAMP WITH LOCAL TIME ZONE" {
		off := v.tzh*3600 + v.tzm*60
		if off == 0 {
			tz = time.UTC
		} else {
			tz = time.FixedZone(fmt.Sprintf("%02d:%02d", v.tzh, v.tzm), off)
		}
	}
	if tz == nil {
		tz = time.Local
	}
	return time.Date(v.y, time.Month(v.mo), v.d, v.h, v.mi, v.s, v.ns, tz)
}
func (r *fakeRows) ColumnTypeDatabaseTypeName(i int) string { return r.res.cols[i].dbType }
func (r *fakeRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	c := r.res.cols[i]
	return c.prec, c.scale, c.hasPS
}
func (r *fakeRows) ColumnTypeNullable(i int) (bool, bool) {
	c := r.res.cols[i]
	return c.nullable, c.nullableKnown
}

// oraErr is an error with godror's message shape ("ORA-NNNNN: text"); the
// real *godror.OraErr cannot be built outside godror, so Code falls back
// to its text.
func oraErr(code int, msg string) error { return fmt.Errorf("ORA-%05d: %s", code, msg) }

// textCols makes VARCHAR2 result columns named names.
func textCols(names ...string) []fakeCol {
	c := make([]fakeCol, len(names))
	for i, n := range names {
		c[i] = fakeCol{name: n, dbType: "VARCHAR2"}
	}
	return c
}

// matches reports whether sql contains every fragment.
func matches(sql string, frags ...string) bool {
	for _, f := range frags {
		if !strings.Contains(sql, f) {
			return false
		}
	}
	return true
}
