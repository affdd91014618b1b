package oracle

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// rawReader reads one table below database/sql: the SELECT runs on the
// reader's own connection through (*sql.Conn).Raw, and each row comes
// from godror's driver.Rows.Next(dest []driver.Value) straight into the
// converters, without database/sql's Scan (a conversion and a copy per
// value) in between. A 274-column row costs about a fifth of the time the
// database/sql reader took and no allocation per value on our side
// (BenchmarkReadFake274, docs/PERFORMANCE.md).
//
// The connection is the one the shared reader would use: taken from the
// pool by sqlsource.Connector.Begin, with the snapshot's READ ONLY
// transaction begun on it when the table is read that way (godror runs a
// transaction on the session, so a statement prepared on the driver
// connection runs inside it) and AS OF SCN in the SELECT otherwise.
//
// database/sql allows the driver connection only inside the function
// given to Raw, so one goroutine (session) runs Raw for the reader's
// lifetime and fills the batches Next asks for. A Next whose context ends
// while godror waits for rows breaks the call on the server
// (godror's conn.Break, conn.go:146-166, the way godror cancels an
// execute, stmt.go:766-782): godror's fetch does not watch the context
// itself (rows.go:309-323 only applies a deadline), so without the break
// the stall watchdog could not end a hung fetch.
type rawReader struct {
	c       *Connector
	q       sqlsource.Query
	opts    []any // godror options for the statement
	cancel  context.CancelFunc
	conn    *sql.Conn
	tx      *sql.Tx
	conv    []func(any) (any, error)
	kind    []valueKind
	stream  []int  // per column: the result index of its streamed part (lobStreamItems), or -1
	lobBuf  []byte // read buffer of readLOB, reused
	batches *sqlsource.Batches
	req     chan fillReq
	res     chan fillRes
	done    chan error // Raw's result, once the session ended
	read    int
	eof     bool
	err     error
}

type fillReq struct {
	ctx   context.Context
	store [][]any
}

type fillRes struct {
	n   int
	eof bool
	err error
}

// breaker is godror's *conn.Break (conn.go:146).
type breaker interface{ Break() error }

// openRaw starts q on a connection of its own and returns its reader.
func (c *Connector) openRaw(ctx context.Context, q sqlsource.Query, opts []any) (pipeline.Source, error) {
	ctx, cancel := context.WithCancel(ctx)
	r := &rawReader{c: c, q: q, opts: opts, cancel: cancel,
		req: make(chan fillReq), res: make(chan fillRes), done: make(chan error, 1)}
	var err error
	if r.conn, r.tx, err = c.Begin(ctx, q.Setup); err != nil {
		cancel()
		return nil, c.Errorf("open %s: %w", q.Table.Name, err)
	}
	go func() { r.done <- r.conn.Raw(func(dc any) error { return r.session(ctx, dc) }) }()
	select {
	case res := <-r.res:
		if res.err == nil {
			return r, nil
		}
		if err = <-r.done; err == nil {
			err = res.err
		}
	case err = <-r.done: // Raw failed before the session ran
		if err == nil {
			err = errors.New("the connection ended before the query started")
		}
	}
	r.req, r.eof = nil, true
	r.Close()
	return nil, c.Errorf("open %s: %w", q.Table.Name, err)
}

// session runs inside Raw: it starts the query, answers the open on r.res,
// then fills one batch per request until req is closed.
func (r *rawReader) session(ctx context.Context, dc any) error {
	stmt, rows, err := r.query(ctx, dc)
	if err == nil {
		err = r.prepare(rows)
	}
	if err != nil {
		if rows != nil {
			rows.Close()
		}
		if stmt != nil {
			stmt.Close()
		}
		r.res <- fillRes{err: err}
		return err
	}
	r.res <- fillRes{}
	defer stmt.Close()
	defer rows.Close()
	brk, _ := dc.(breaker)
	dest := make([]driver.Value, len(r.stream)+r.streams())
	broken := false
	for req := range r.req {
		var stop func() bool
		var broke chan struct{}
		if brk != nil {
			broke = make(chan struct{})
			stop = context.AfterFunc(req.ctx, func() { defer close(broke); _ = brk.Break() })
		}
		res := r.fill(req, rows, dest)
		if stop != nil && !stop() {
			<-broke // the break ran: wait for it before the connection is used again
			broken = true
		}
		r.res <- res
		if res.err != nil && errors.Is(res.err, driver.ErrBadConn) {
			return res.err
		}
	}
	if broken {
		// a break that found no call running may still hit the next one
		// (godror: the connection "MUST NOT be used till the executing
		// thread finishes", conn.go:140-145): the pool must not hand this
		// connection out again
		return driver.ErrBadConn
	}
	return nil
}

// query prepares and runs the SELECT on the driver connection the way
// database/sql would: each argument goes through the statement's
// CheckNamedValue, where godror takes its Options (stmt.go:3394-3407,
// returning ErrRemoveArgument) and keeps the bind values.
func (r *rawReader) query(ctx context.Context, dc any) (driver.Stmt, driver.Rows, error) {
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, nil, fmt.Errorf("driver connection %T cannot prepare with a context", dc)
	}
	stmt, err := pc.PrepareContext(ctx, r.q.SQL)
	if err != nil {
		return nil, nil, err
	}
	sq, ok := stmt.(driver.StmtQueryContext)
	if !ok {
		stmt.Close()
		return nil, nil, fmt.Errorf("driver statement %T cannot query with a context", stmt)
	}
	checker, _ := stmt.(driver.NamedValueChecker)
	all := append(append([]any(nil), r.q.Args...), r.opts...)
	named := make([]driver.NamedValue, 0, len(all))
	for _, a := range all {
		nv := driver.NamedValue{Ordinal: len(named) + 1, Value: a}
		if checker != nil {
			switch err := checker.CheckNamedValue(&nv); {
			case errors.Is(err, driver.ErrRemoveArgument):
				continue
			case errors.Is(err, driver.ErrSkip):
				if nv.Value, err = driver.DefaultParameterConverter.ConvertValue(nv.Value); err != nil {
					stmt.Close()
					return nil, nil, fmt.Errorf("argument %d: %w", nv.Ordinal, err)
				}
			case err != nil:
				stmt.Close()
				return nil, nil, fmt.Errorf("argument %d: %w", nv.Ordinal, err)
			}
		}
		named = append(named, nv)
	}
	rows, err := sq.QueryContext(ctx, named)
	if err != nil {
		stmt.Close()
		return nil, nil, err
	}
	return stmt, rows, nil
}

func (r *rawReader) prepare(rows driver.Rows) error {
	cols := r.q.Table.Columns
	cis := sqlsource.DriverColumnInfos(rows)
	r.stream = make([]int, len(cols))
	next := len(cols)
	for i, c := range cols {
		r.stream[i] = -1
		if streamedLOB(c) {
			r.stream[i], next = next, next+1
		}
	}
	if len(cis) != next {
		return fmt.Errorf("query returned %d columns, the table was described with %d (did it change?)", len(cis), len(cols))
	}
	d := dialect{cfg: r.c.cfg}
	r.conv = make([]func(any) (any, error), len(cols))
	r.kind = make([]valueKind, len(cols))
	for i := range cols {
		r.conv[i] = d.Converter(cols[i], cis[i])
		r.kind[i] = kindOf(cols[i], cis[i], r.conv[i] != nil)
	}
	r.batches = sqlsource.NewBatches(len(cols), r.q.Options.BatchRows, 4)
	if r.q.BatchBytes > 0 {
		r.batches.ClearOnRelease() // a released batch must not keep its LOBs alive
	}
	return nil
}

// fill reads rows into req.store until it is full, the limit or the batch
// byte bound is reached, or the rows end.
func (r *rawReader) fill(req fillReq, rows driver.Rows, dest []driver.Value) fillRes {
	limit, maxBytes := r.q.Options.Limit, r.q.BatchBytes
	read := r.read
	n := 0
	var bytes int64
	for n < len(req.store) && (limit == 0 || read < limit) && (maxBytes <= 0 || bytes < maxBytes) {
		if n&255 == 255 {
			if err := req.ctx.Err(); err != nil {
				return fillRes{n: n, err: err}
			}
		}
		if err := rows.Next(dest); err != nil {
			if err == io.EOF {
				return fillRes{n: n, eof: true}
			}
			return fillRes{n: n, err: err}
		}
		row := req.store[n]
		for j, v := range dest[:len(row)] {
			if s := r.stream[j]; s >= 0 && dest[s] != nil && emptyInline(v) { // too long to come inline, or empty: its locator
				var err error
				if v, err = r.readLOB(r.q.Table.Columns[j], dest[s]); err != nil {
					return fillRes{n: n, err: fmt.Errorf("column %s: %w", r.q.Table.Columns[j].Name, err)}
				}
				dest[s] = nil
				row[j] = v
				bytes += valueBytes(v)
				continue
			}
			if v != nil {
				if v = fast(r.kind[j], v); v == slow {
					var err error
					if lob, ok := dest[j].(*godror.Lob); ok { // JSON_SERIALIZE's CLOB, BFILE
						v, err = r.readLOB(r.q.Table.Columns[j], lob)
					} else {
						v, err = r.conv[j](dest[j])
					}
					if err != nil {
						return fillRes{n: n, err: fmt.Errorf("column %s: %w", r.q.Table.Columns[j].Name, err)}
					}
				}
			}
			row[j] = v
			if maxBytes > 0 {
				bytes += valueBytes(v)
			}
		}
		n++
		read++
	}
	return fillRes{n: n}
}

func (r *rawReader) Columns() []pipeline.Column { return r.q.Table.Columns }

func (r *rawReader) Next(ctx context.Context) (*pipeline.Batch, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.eof {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	store := r.batches.Rows()
	r.req <- fillReq{ctx: ctx, store: store}
	res := <-r.res
	if res.err != nil {
		if ctx.Err() != nil && !errors.Is(res.err, ctx.Err()) {
			// the break ended the fetch (ORA-01013): the caller's context is why
			res.err = fmt.Errorf("%w (%w)", ctx.Err(), res.err)
		}
		r.err = r.c.Errorf("read %s after %d rows: %w", r.q.Table.Name, r.read+res.n, res.err)
		return nil, r.err
	}
	r.read += res.n
	if res.eof || (r.q.Options.Limit > 0 && r.read >= r.q.Options.Limit) {
		r.eof = true
	}
	if res.n == 0 {
		return nil, io.EOF
	}
	return r.batches.Batch(store, res.n), nil
}

// Close ends the query without draining it (the statement is closed, the
// query's context cancelled first when rows remain), rolls back and
// returns the connection to the pool.
func (r *rawReader) Close() error {
	if r.cancel == nil {
		return nil
	}
	if !r.eof {
		r.cancel()
	}
	if r.req != nil {
		close(r.req)
		<-r.done
		r.req = nil
	}
	sqlsource.Rollback(r.tx)
	r.conn.Close()
	r.cancel()
	r.cancel = nil
	return nil
}

// valueKind picks fast's shortcut for the values of one column.
type valueKind uint8

const (
	kindConv     valueKind = iota // always the column's converter (Normalize)
	kindAsIs                      // no converter: the value as godror gave it
	kindText                      // VARCHAR2 and friends read as TypeString
	kindNumber                    // NUMBER as godror.Number
	kindDateTime                  // DATE, TIMESTAMP: time.Time in UTC
)

// kindOf is the shortcut for column c (its driver description ci); each
// shortcut gives exactly what Normalize gives for the values it takes and
// leaves every other value to the converter.
func kindOf(c pipeline.Column, ci sqlsource.ColumnInfo, hasConv bool) valueKind {
	if !hasConv {
		return kindAsIs
	}
	switch c.Type {
	case pipeline.TypeString:
		return kindText
	case pipeline.TypeDecimal:
		return kindNumber
	case pipeline.TypeDateTime, pipeline.TypeTimestamp, pipeline.TypeDate:
		return kindDateTime
	}
	return kindConv
}

// slow is fast's answer for "ask the converter".
var slow any = new(struct{ slow byte })

// fast converts a non-nil value v of a column of kind k the way Normalize
// does for the common cases, without a call through the converter: text
// (” is NULL), godror.Number (its digits as a string, asString), a
// time.Time godror built in UTC. Anything else is slow.
func fast(k valueKind, v any) any {
	switch k {
	case kindAsIs:
		return v
	case kindText:
		if s, ok := v.(string); ok {
			if s == "" {
				return nil
			}
			return v
		}
	case kindNumber:
		if n, ok := v.(godror.Number); ok {
			if n == "" {
				return nil
			}
			return asString(v)
		}
	case kindDateTime:
		if t, ok := v.(time.Time); ok && t.Location() == time.UTC {
			return v
		}
	}
	return slow
}

func valueBytes(v any) int64 {
	switch x := v.(type) {
	case string:
		return int64(len(x))
	case []byte:
		return int64(len(x))
	}
	return 0
}

func (r *rawReader) streams() int {
	n := 0
	for _, s := range r.stream {
		if s >= 0 {
			n++
		}
	}
	return n
}

// lobReadChunk is the least room readLOB offers one Read: a multiple of
// every usual LOB chunk size, as godror's own WriteTo uses (lob.go:128-145),
// so each read is one round trip of whole chunks. lobKeep is the most
// buffer a reader keeps between values (a larger one, grown by an
// exceptional LOB, is dropped after it).
const (
	lobReadChunk = 1 << 20
	lobKeep      = 64 << 20
)

// readLOB reads a streamed LOB value (*godror.Lob, LobAsReader) whole, as
// Normalize does: a CLOB's text as a string (an empty CLOB is NULL), a
// BLOB's bytes ([]byte{} when empty). The chunks are collected in one
// buffer per reader and the value is copied out of it once, at its exact
// size, so a 5 MB CLOB costs 5 MB (not a doubling builder's 8, plus the
// garbage of its growth). The text is assembled from the chunks' bytes
// before it is interpreted, so a character split across two chunks
// arrives whole.
func (r *rawReader) readLOB(c pipeline.Column, v any) (any, error) {
	lob, ok := v.(*godror.Lob)
	if !ok || lob == nil || lob.Reader == nil {
		return Normalize(c, v)
	}
	// an empty LOB needs no read: ODPI-C prefetches every LOB's length with
	// the row (dpiStmt.c:528-535), and godror's reader reports it, for a
	// CLOB in characters together with ErrCLOB (lob.go:219-231)
	size, sized, err := lobLength(lob)
	if err != nil {
		return nil, err
	}
	if sized && size == 0 {
		if lob.IsClob {
			return nil, nil
		}
		return []byte{}, nil
	}
	buf := r.lobBuf[:0]
	for {
		if cap(buf)-len(buf) < lobReadChunk {
			buf = append(buf, make([]byte, max(lobReadChunk, cap(buf)))...)[:len(buf)]
		}
		n, err := lob.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read LOB: %w", err)
		}
		if n == 0 {
			return nil, fmt.Errorf("read LOB: %w", io.ErrNoProgress)
		}
	}
	if cap(buf) <= lobKeep {
		r.lobBuf = buf[:0]
	} else {
		r.lobBuf = nil
	}
	if sized {
		if err := lobComplete(lob.IsClob, buf, size); err != nil {
			return nil, err
		}
	}
	if lob.IsClob {
		if len(buf) == 0 {
			return nil, nil
		}
		return string(buf), nil
	}
	return bytes.Clone(buf[:len(buf):len(buf)]), nil
}

// emptyInline: a LOB's inline part (VARCHAR2, NVARCHAR2 or RAW) holds no
// value: NULL, which godror gives as "" for text (rows.go:400-403).
func emptyInline(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []byte:
		return len(x) == 0
	}
	return false
}

// lobLength is the length ODPI-C prefetched with the row (godror's
// dpiLobReader.Size, lob.go:219-231): bytes for a BLOB, characters as
// Oracle counts them (UTF-16 code units) for a CLOB or NCLOB, which godror
// reports together with ErrCLOB. ok is false when the reader has none.
// An error is final: godror closes a LOB whose length it cannot get, and
// every later read of it ends at once (lob.go:232-248, 259), so reading on
// would give an empty value.
func lobLength(lob *godror.Lob) (n int64, ok bool, err error) {
	sz, ok := lob.Reader.(interface{ Size() (int64, error) })
	if !ok {
		return 0, false, nil
	}
	n, err = sz.Size()
	if err != nil && !errors.Is(err, godror.ErrCLOB) {
		return 0, false, fmt.Errorf("LOB length: %w", err)
	}
	return n, true, nil
}

// lobComplete checks a LOB value read whole against its length. godror's
// CLOB reader drops every U+FFFD that ends a read, taking it for a cut
// character, and ends the LOB when a read keeps nothing (godror v0.51.2
// lob.go:338-349, 361-365): a CLOB ending in U+FFFD, or holding a read's
// worth of them in a row, would otherwise be written cut (or, when it is
// nothing but U+FFFD, as NULL). A short value fails the table; retrying
// reads it the same way.
func lobComplete(clob bool, b []byte, want int64) error {
	if !clob {
		if int64(len(b)) == want {
			return nil
		}
		return &Error{Kind: KindOther, Hint: fmt.Sprintf("the LOB read returned %d of its %d bytes; the table is not written with the value cut", len(b), want)}
	}
	if got := utf16Units(b); got != want {
		return &Error{Kind: KindOther, Hint: fmt.Sprintf("the CLOB read returned %d of its %d characters: the Oracle driver (godror) drops U+FFFD "+
			"(replacement) characters that end one of its reads, so a CLOB ending in U+FFFD, or holding a long run of them, "+
			"cannot be read whole; the table is not written with the value cut (replace those U+FFFD characters in the source, "+
			"or leave the column out through a view)", got, want)}
	}
	return nil
}

// utf16Units counts the UTF-16 code units of UTF-8 text b, as Oracle
// counts a CLOB's characters: one per character, two for a character
// beyond U+FFFF (a 4-byte sequence).
func utf16Units(b []byte) int64 {
	var n int64
	count := func(b []byte) {
		for _, c := range b {
			if c&0xC0 != 0x80 { // not a continuation byte: a character
				n++
			}
			if c >= 0xF0 { // a 4-byte sequence: a surrogate pair
				n++
			}
		}
	}
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 == 0 { // 8 ASCII characters
			n += 8
		} else {
			count(b[:8])
		}
		b = b[8:]
	}
	count(b)
	return n
}
