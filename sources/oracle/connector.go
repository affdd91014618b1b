package oracle

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Connector is the Oracle pipeline.Connector and pipeline.RangeSplitter: the
// shared sqlsource machinery over a godror session pool, plus the
// per-table READ ONLY fallback for tables the user may not read AS OF SCN.
type Connector struct {
	*sqlsource.Connector
	cfg Config

	mu     sync.Mutex
	tzText map[string]bool // tables whose TZ columns are read as text (ORA-01805); guarded by mu

	// viaDatabaseSQL reads through sqlsource's database/sql reader instead
	// of rawReader (benchmarks only).
	viaDatabaseSQL bool
}

var (
	_ pipeline.Connector     = (*Connector)(nil)
	_ pipeline.RangeSplitter = (*Connector)(nil)
)

// Open validates cfg, opens a godror session pool (PoolMin..PoolMax) and
// pings the database. A missing Instant Client, a bad wallet, TNS alias or
// password give one clear error each (see Translate); none shows the
// password.
func Open(ctx context.Context, cfg Config) (*Connector, error) {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c, err := New(db, cfg)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return c, nil
}

// New returns a Connector over db, which must speak godror's dialect of
// database/sql (godror itself, or a test double of it). It owns db.
func New(db *sql.DB, cfg Config) (*Connector, error) {
	cfg = cfg.WithDefaults()
	sc, err := sqlsource.New(db, dialect{cfg: cfg}, sqlsource.Options{MaxOpen: cfg.PoolMax, MinIdle: cfg.PoolMin,
		FetchTimeout: cfg.FetchTimeout, SnapshotTimeout: cfg.SnapshotTimeout})
	if err != nil {
		return nil, fmt.Errorf("oracle: %w", err)
	}
	return &Connector{Connector: sc, cfg: cfg}, nil
}

// Describe resolves name (see sqlsource.Connector.Describe) and adds the
// table's INVISIBLE columns after the visible ones, marked Invisible: they
// hold data, and SELECT * would silently leave them out.
func (c *Connector) Describe(ctx context.Context, name string) (pipeline.TableInfo, error) {
	t, err := c.Connector.Describe(ctx, name)
	if err != nil {
		return t, err
	}
	inv, err := c.invisibleColumns(ctx, t)
	if err != nil {
		return pipeline.TableInfo{}, fmt.Errorf("oracle: describe %s.%s: invisible columns: %w", t.Schema, t.Name, Translate(err, ""))
	}
	t.Columns = append(t.Columns, inv...)
	t.ColumnCount = len(t.Columns)
	for i, col := range t.Columns {
		if col.SourceType == "JSON" {
			// native JSON, whatever a client older than 21 calls it
			t.Columns[i].Type = pipeline.TypeJSON
		}
		if err := exportable(col); err != nil {
			return pipeline.TableInfo{}, fmt.Errorf("oracle: describe %s.%s: %w", t.Schema, t.Name, err)
		}
	}
	return t, nil
}

// exportable refuses columns the connector cannot write exactly: object
// types (godror returns *godror.Object: SDO_GEOMETRY, ANYDATA, user types,
// collections, REFs) and VECTOR (godror.Vector). XMLTYPE arrives as text
// and is fine. Refusing at Describe stops a transport at its creation,
// instead of failing the table in the middle of a job.
func exportable(c pipeline.Column) error {
	typ := ""
	switch {
	case strings.HasPrefix(c.SourceType, "OBJECT "):
		typ = "object type " + strings.TrimPrefix(c.SourceType, "OBJECT ")
	case c.SourceType == "OBJECT": // godror's name, when the catalog had none
		typ = "an object type"
	case c.SourceType == "VECTOR" || strings.HasPrefix(c.SourceType, "VECTOR("):
		typ = "type VECTOR"
	default:
		return nil
	}
	return &Error{Kind: KindInvalid, Err: pipeline.ErrUnsupportedColumn, Hint: fmt.Sprintf("column %s is of %s, which ora2gcs cannot export exactly "+
		"(only scalar types, LOBs, XMLTYPE and JSON are supported): leave this table out of the transport", quoteIdent(c.Name), typ)}
}

// invisibleColumns describes t's INVISIBLE columns: their names and
// declared types from ALL_TAB_COLS, godror's description from a probe that
// names them.
func (c *Connector) invisibleColumns(ctx context.Context, t pipeline.TableInfo) ([]pipeline.Column, error) {
	q, args := InvisibleColumnsSQL(t.Schema, t.Name)
	rows, err := c.DB().QueryContext(ctx, q, args...)
	if err != nil {
		if Code(err) == 904 { // before 12c: no USER_GENERATED, no invisible columns
			return nil, nil
		}
		return nil, err
	}
	type decl struct {
		name, typ string
		nullable  bool
	}
	var decls []decl
	for rows.Next() {
		var d decl
		if err := rows.Scan(&d.name, &d.typ, &d.nullable); err != nil {
			rows.Close()
			return nil, err
		}
		decls = append(decls, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(decls) == 0 {
		return nil, err
	}
	names := make([]string, len(decls))
	for i, d := range decls {
		names[i] = quoteIdent(d.name)
	}
	probe, err := c.DB().QueryContext(ctx, NamedProbeSQL(c.QuoteTable(t), names))
	if err != nil {
		return nil, err
	}
	defer probe.Close()
	cts, err := probe.ColumnTypes()
	if err != nil {
		return nil, err
	}
	if len(cts) != len(decls) {
		return nil, fmt.Errorf("probe returned %d columns for %d invisible ones", len(cts), len(decls))
	}
	cols := make([]pipeline.Column, len(cts))
	for i, ct := range cts {
		p, s, hasPS := ct.DecimalSize()
		nullable, hasNullable := ct.Nullable()
		cols[i] = DriverColumn(decls[i].name, ct.DatabaseTypeName(), p, s, hasPS, nullable || !hasNullable)
		cols[i].SourceType, cols[i].Nullable, cols[i].Invisible = decls[i].typ, decls[i].nullable, true
	}
	return cols, nil
}

// Open returns a reader of t as of snap. When snap is an SCN and the user
// may not read t AS OF it (ORA-01031: no FLASHBACK on the table), t is read
// in a READ ONLY transaction instead and the snapshot's Note says so.
//
// The fetch array size is the source URL's fetch_array_size when it has one,
// else opts.FetchArraySize, else Config.FetchArraySize.
//
// A table whose read fails with ORA-01805 (the client's time-zone file
// lacks a region of a TIMESTAMP WITH TIME ZONE value) is read from then on
// with its time-zone columns as text formatted by the database: failing
// at Open it is reopened so at once; failing mid-read the error is
// transient, so the table's retry reads it that way.
func (c *Connector) Open(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	if opts.FetchArraySize <= 0 || c.cfg.fetchFromSource {
		opts.FetchArraySize = c.cfg.FetchArraySize
	}
	key := t.Schema + "." + t.Name
	asText := c.tzTextFor(key)
	src, err := c.openConsistent(ctx, t, snap, opts)
	if err != nil && Code(err) == 1805 && hasTZColumn(t) && !asText {
		c.setTZText(key)
		asText = true
		src, err = c.openConsistent(ctx, t, snap, opts)
	}
	if err != nil || !hasTZColumn(t) || asText {
		return src, err
	}
	return &tzWatch{Source: src, c: c, key: key}, nil
}

// openConsistent opens t as of snap, falling back to a READ ONLY
// transaction when the user may not read t AS OF the SCN and snap is this
// connector's own (an *scnSnapshot, which records the fallback for the
// job's record and manifest). With a snapshot known only by its SCN (a
// distributed plan's, in a shard) nothing could record it, so the refusal
// fails the open instead of reading a moment other than the one claimed.
// A range of a table split into several (Ranges found it readable AS OF
// the SCN) fails too: ranges from different moments are no consistent
// table.
func (c *Connector) openConsistent(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	src, err := c.open(ctx, t, snap, opts)
	s, own := snap.(*scnSnapshot)
	key := t.Schema + "." + t.Name
	if err == nil && own {
		s.readAsOf(key)
	}
	if err == nil || snap == nil || snap.Info().Kind != "scn" || !asOfDenied(err) {
		return src, err
	}
	if !own {
		return nil, &Error{Kind: KindPermission, Code: Code(err), DPI: DPICode(err),
			Hint: fmt.Sprintf("%s cannot be read AS OF SCN %s, and with a snapshot taken by another process (a distributed job's plan) it is not read at a moment of its own: %s", key, snap.Info().ID, asOfDeniedReason(err)),
			Err:  err}
	}
	if opts.Range != nil && opts.Range.Total > 1 {
		// Ranges split t because its AS OF probe passed: ranges read at
		// moments of their own would not make one consistent table.
		return nil, &Error{Kind: KindPermission, Code: Code(err), DPI: DPICode(err),
			Hint: fmt.Sprintf("%s was split into ranges read AS OF SCN %s, but Oracle refused range %d's AS OF read; its ranges are not read at moments of their own: %s",
				key, snap.Info().ID, opts.Range.Index+1, asOfDeniedReason(err)),
			Err: err}
	}
	s.fellBack(key, err)
	return c.open(ctx, t, readOnlySnapshot{info: ReadOnlyInfo(err), cause: err}, opts)
}

// hasTZColumn: t has a TIMESTAMP WITH [LOCAL] TIME ZONE column.
func hasTZColumn(t pipeline.TableInfo) bool {
	for _, col := range t.Columns {
		if col.Type == pipeline.TypeTimestampTZ {
			return true
		}
	}
	return false
}

// setTZText makes table's time-zone columns read as text from now on.
func (c *Connector) setTZText(table string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tzText == nil {
		c.tzText = map[string]bool{}
	}
	c.tzText[table] = true
}

func (c *Connector) tzTextFor(table string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tzText[table]
}

// tzWatch wraps a reader that reads a table's time-zone columns natively:
// its ORA-01805 switches the table to time-zone columns as text and is
// transient, so the retry succeeds. Every such reader does so, not only
// the first: the ranges of a table fail each on their own, and whichever
// error the job sees first decides whether the table is retried.
type tzWatch struct {
	pipeline.Source
	c   *Connector
	key string
}

func (w *tzWatch) Next(ctx context.Context) (*pipeline.Batch, error) {
	b, err := w.Source.Next(ctx)
	if err != nil && Code(err) == 1805 {
		w.c.setTZText(w.key)
		return nil, &Error{Kind: KindTransient, Code: 1805, Hint: "the table is read again with its time-zone columns as text", Err: err}
	}
	return b, err
}

// open reads t below database/sql (see rawReader) with this package's
// SELECT list (see SelectItem), under the stall watchdog, with godror's
// fetch array and prefetch sized from the row width (fetchSizes).
func (c *Connector) open(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, opts pipeline.ReadOptions) (pipeline.Source, error) {
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("oracle: open %s: table has no described columns (call Describe first)", t.Name)
	}
	setup, err := dialect{cfg: c.cfg}.ReadSetup(snap)
	if err != nil {
		return nil, fmt.Errorf("oracle: open %s: %w", t.Name, err)
	}
	items := make([]string, len(t.Columns))
	tzText := c.tzTextFor(t.Schema + "." + t.Name)
	for i, col := range t.Columns {
		if tzText && col.Type == pipeline.TypeTimestampTZ {
			items[i] = tzTextExpr(col) + " AS " + quoteIdent(col.Name)
			continue
		}
		items[i] = SelectItem(col)
		if c.viaDatabaseSQL && streamedLOB(col) { // the shared reader reads LOBs inline
			items[i] = quoteIdent(col.Name)
		}
	}
	if !c.viaDatabaseSQL {
		items = append(items, lobStreamItems(t.Columns)...)
	}
	q, args, err := SelectSQL(c.QuoteTable(t), items, setup.AsOf, opts.Limit, opts.Range)
	if opts.Window != nil {
		var col pipeline.Column
		if col, err = sqlsource.WatermarkColumn(t, *opts.Window); err == nil {
			q, args, err = WindowSelectSQL(c.QuoteTable(t), items, setup.AsOf, opts.Limit, opts.Range, col, *opts.Window)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("oracle: open %s: %w", t.Name, err)
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = sqlsource.DefaultBatchRows
	}
	opts.Limit = max(opts.Limit, 0)
	query := sqlsource.Query{Table: t, SQL: q, Args: args, Setup: setup, Options: opts}
	fetch, _ := fetchSizes(t.Columns, opts.FetchArraySize, 0)
	if hasLongColumn(t) {
		// godror keeps one buffer per fetch-array row for LONG, LONG RAW
		// and XMLTYPE, grown to the largest value fetched into it (see
		// Config.LOBMemory)
		fetch = int(max(1, min(int64(fetch), c.cfg.LOBMemory/2/LOBRowBytes)))
	}
	if hasLOBColumn(t) {
		query.BatchBytes = max(1, c.cfg.LOBMemory/8)
	}
	prefetch := c.cfg.PrefetchCount
	if prefetch <= 0 {
		prefetch = fetch + 1
	}
	query.Options.FetchArraySize = fetch
	godrorOpts := append(FetchOptions(fetch, prefetch), godror.JSONAsString())
	if hasStreamedLOB(t) && !c.viaDatabaseSQL {
		// CLOB and BLOB results arrive as locators (*godror.Lob) and are
		// read in chunks; short values come inline (lobStreamItems)
		godrorOpts = append(godrorOpts, godror.LobAsReader())
	}
	return c.Watch(ctx, t, opts.Range, func(ctx context.Context) (pipeline.Source, error) {
		if c.viaDatabaseSQL { // benchmarks compare with the shared reader (its QueryArgs are the same options)
			return c.Connector.OpenSQL(ctx, query)
		}
		return c.openRaw(ctx, query, godrorOpts)
	})
}

// hasLOBColumn: t has a column of unbounded size (CLOB, NCLOB, BLOB,
// LONG, LONG RAW, XMLTYPE, JSON), whose batches are cut by bytes.
func hasLOBColumn(t pipeline.TableInfo) bool {
	for _, col := range t.Columns {
		switch strings.ToUpper(col.SourceType) {
		case "CLOB", "NCLOB", "BLOB", "LONG", "LONG RAW", "XMLTYPE", "JSON":
			return true
		}
	}
	return false
}

// hasLongColumn: t has a column godror can only fetch inline into buffers
// that grow with the values (LONG and LONG RAW: no locator; XMLTYPE:
// ODPI-C's long string, rows.go:396-420).
func hasLongColumn(t pipeline.TableInfo) bool {
	for _, col := range t.Columns {
		switch strings.ToUpper(col.SourceType) {
		case "LONG", "LONG RAW", "XMLTYPE":
			return true
		}
	}
	return false
}

// hasStreamedLOB: t has a column read through a LOB locator (CLOB, NCLOB,
// BLOB, or native JSON selected as a CLOB).
func hasStreamedLOB(t pipeline.TableInfo) bool {
	for _, col := range t.Columns {
		if streamedLOB(col) || strings.EqualFold(col.SourceType, "JSON") || col.Type == pipeline.TypeJSON {
			return true
		}
	}
	return false
}

// tzTextExpr selects a TIMESTAMP WITH [LOCAL] TIME ZONE column c as RFC
// 3339 text with nanoseconds and the value's offset, formatted by the
// database, so no client time-zone file is involved. A LOCAL TIME ZONE
// value is first cast to a TIMESTAMP WITH TIME ZONE in the session zone
// (TZH/TZM need a zone of the value itself). The year is SYYYY: YYYY
// would print a BC year without its sign (Normalize refuses BC years, as
// the encoder refuses godror's).
func tzTextExpr(c pipeline.Column) string {
	q := quoteIdent(c.Name)
	if strings.Contains(strings.ToUpper(c.SourceType), "LOCAL") {
		q = "CAST(" + q + " AS TIMESTAMP(9) WITH TIME ZONE)"
	}
	return "TO_CHAR(" + q + `, 'SYYYY-MM-DD"T"HH24:MI:SS.FF9TZH:TZM')`
}

// SelectItem is the SELECT list entry that reads column c exactly: its
// quoted name, or, where godror's own value would lose data, an
// expression named like the column:
//   - INTERVAL DAY TO SECOND: the fields as text (intervalExpr), since
//     godror's time.Duration wraps past ≈106,751 days;
//   - native JSON (21c+): JSON_SERIALIZE(… RETURNING CLOB), the document's
//     text, since godror's JSONAsString re-encodes it through Go values
//     (numbers through float64, keys sorted).
//   - CLOB, NCLOB and BLOB: the value inline when it is short (at most
//     LOBInlineChars characters, LOBInlineBytes bytes for a BLOB), NULL
//     otherwise; the longer values come through a second, streamed result
//     column (lobStreamItems).
func SelectItem(c pipeline.Column) string {
	q := quoteIdent(c.Name)
	if streamedLOB(c) {
		n := lobInline(c)
		return fmt.Sprintf("CASE WHEN DBMS_LOB.GETLENGTH(%s) <= %d THEN CAST(DBMS_LOB.SUBSTR(%s, %d, 1) AS %s) END AS %s", q, n, q, n, lobInlineType(c), q)
	}
	switch {
	case c.Type == pipeline.TypeInterval && !isYearMonth(c):
		return intervalExpr(q) + " AS " + q
	case c.Type == pipeline.TypeJSON:
		return "JSON_SERIALIZE(" + q + " RETURNING CLOB) AS " + q
	}
	return q
}

// Ranges splits t for parallel reads as of snap. Ranges must share one
// point in time, so a table read without AS OF SCN (a "read_only" snapshot,
// or no FLASHBACK on t) is one range. A table that cannot be split (an
// index-organized table, ORA-29491, or no privilege for DBA_EXTENTS nor
// DBMS_PARALLEL_EXECUTE) is one range too, and the snapshot's Note names
// it and says why.
func (c *Connector) Ranges(ctx context.Context, t pipeline.TableInfo, snap pipeline.Snapshot, n int) ([]pipeline.Range, error) {
	one := []pipeline.Range{{Index: 0, Total: 1}}
	if n <= 1 || snap == nil || snap.Info().Kind != "scn" {
		return one, nil
	}
	asOf, err := AsOfClause(snap.Info().ID)
	if err != nil {
		return nil, fmt.Errorf("oracle: ranges of %s: %w", t.Name, err)
	}
	var cnt int64
	if err := c.DB().QueryRowContext(ctx, AsOfProbeSQL(c.QuoteTable(t), asOf)).Scan(&cnt); err != nil {
		if asOfDenied(err) {
			return one, nil
		}
		return nil, fmt.Errorf("oracle: ranges of %s: %w", t.Name, Translate(err, ""))
	}
	rs, why, err := splitTable(ctx, c.DB(), t.Schema, t.Name, n)
	if err != nil {
		return nil, fmt.Errorf("oracle: ranges of %s: %w", t.Name, Translate(err, ""))
	}
	if why != "" {
		if s, ok := snap.(*scnSnapshot); ok {
			s.notSplit(t.Schema+"."+t.Name, why)
		}
	}
	return rs, nil
}
