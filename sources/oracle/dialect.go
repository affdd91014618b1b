package oracle

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// dialect is the Oracle sqlsource.Dialect.
type dialect struct{ cfg Config }

var (
	_ sqlsource.Dialect       = dialect{}
	_ sqlsource.RangeDialect  = dialect{}
	_ sqlsource.ColumnCatalog = dialect{}
)

func (dialect) Kind() string                                    { return "oracle" }
func (dialect) ListTablesSQL() string                           { return CatalogSQL() }
func (dialect) FindTableSQL(owner, name string) (string, []any) { return FindTableSQL(owner, name) }
func (dialect) ColumnsSQL(owner, name string) (string, []any)   { return ColumnsSQL(owner, name) }
func (dialect) FoldCase(s string) string                        { return strings.ToUpper(s) }
func (dialect) QuoteIdent(s string) string                      { return quoteIdent(s) }
func (dialect) ProbeSQL(table string) string                    { return ProbeSQL(table) }
func (dialect) CountSQL(table, asOf string) string              { return CountSQL(table, asOf) }

func (dialect) SelectSQL(table string, columns []string, asOf string, limit int, r *pipeline.Range) (string, []any, error) {
	return SelectSQL(table, columns, asOf, limit, r)
}

func (dialect) Column(ci sqlsource.ColumnInfo) pipeline.Column {
	return DriverColumn(ci.Name, ci.DatabaseTypeName, ci.Precision, ci.Scale, ci.HasPrecision, ci.Nullable || !ci.HasNullable)
}

// Converter normalises godror's values (see Normalize). Binary floats,
// integers and RAW need nothing and get no converter.
func (dialect) Converter(c pipeline.Column, ci sqlsource.ColumnInfo) func(any) (any, error) {
	switch strings.ToUpper(ci.DatabaseTypeName) {
	case "FLOAT", "DOUBLE", "BINARY_FLOAT", "BINARY_DOUBLE", "BINARY_INTEGER", "RAW", "LONG RAW", "BOOLEAN":
		return nil
	}
	if c.Type == pipeline.TypeInterval {
		if fs := secondPrecision(c.SourceType); fs >= 0 {
			c.Scale = fs
		}
	}
	return func(v any) (any, error) { return Normalize(c, v) }
}

// secondPrecision is n of "… SECOND(n)", or -1.
func secondPrecision(t string) int {
	i := strings.Index(strings.ToUpper(t), "SECOND(")
	if i < 0 {
		return -1
	}
	return parenInt(t[i:])
}

// QueryArgs are godror's options for the table SELECT: FetchArraySize rows
// per round trip, PrefetchCount rows with the execute reply
// (Config.PrefetchCount, or FetchArraySize+1 so a table under one array
// needs one round trip), and JSONAsString so a JSON value that still
// reaches godror arrives as text (the connector selects JSON columns with
// JSON_SERIALIZE, see SelectItem).
func (d dialect) QueryArgs(opts pipeline.ReadOptions) []any {
	fetch := opts.FetchArraySize
	if fetch <= 0 {
		fetch = d.cfg.FetchArraySize
	}
	prefetch := d.cfg.PrefetchCount
	if prefetch <= 0 {
		prefetch = fetch + 1
	}
	return append(FetchOptions(fetch, prefetch), godror.JSONAsString())
}

func (dialect) StatusSQL() (string, string) { return VersionSQL, SCNSQL }

// Classify translates the error (see Translate); lost connections come
// back transient.
func (dialect) Classify(err error) error { return Translate(err, "") }

// scnSnapshot is one SCN every table of a job is read AS OF. Tables whose
// AS OF read was refused (no FLASHBACK privilege on them, ORA-01031, or AS
// OF not allowed on them, ORA-08187) are read in a READ ONLY transaction
// instead, listed in the Note and reported by TableConsistency.
type scnSnapshot struct {
	scn      string
	mu       sync.Mutex
	readOnly []string                             // in the order they fell back; guarded by mu
	tables   map[string]pipeline.TableConsistency // by OWNER.NAME, once opened; guarded by mu
	unsplit  [][2]string                          // table, why it was read as one range; guarded by mu
}

func newSCNSnapshot(scn string) *scnSnapshot {
	return &scnSnapshot{scn: scn, tables: map[string]pipeline.TableConsistency{}}
}

// Info is kind "scn" with the SCN; when some tables fell back to READ ONLY
// transactions, or could not be split into ranges, the Note names them and
// says why (read it at the end of the job).
func (s *scnSnapshot) Info() pipeline.SnapshotInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := SCNInfo(s.scn)
	var notes []string
	if len(s.readOnly) > 0 {
		named := make([]string, len(s.readOnly))
		var codes []string
		for i, t := range s.readOnly {
			c := s.tables[t].Code
			named[i] = t + " (" + c + ")"
			if !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
		}
		note := fmt.Sprintf("%s were read in READ ONLY transactions, not AS OF SCN %s: each is consistent in itself but from a moment of its own",
			strings.Join(named, ", "), s.scn)
		for _, c := range codes {
			switch c {
			case "ORA-01031":
				note += "; ORA-01031: the user lacks FLASHBACK on the table (GRANT FLASHBACK ON each table, or FLASHBACK ANY TABLE, for one consistent point in time)"
			case "ORA-08187":
				note += "; ORA-08187: Oracle allows no AS OF on the object"
			}
		}
		notes = append(notes, note)
	}
	for _, u := range s.unsplit {
		notes = append(notes, fmt.Sprintf("%s was read as one range, not in parallel: %s", u[0], u[1]))
	}
	info.Note = strings.Join(notes, "; ")
	return info
}

// TableConsistency is as_of_scn for a table opened AS OF the SCN, and
// read_only_transaction (with the reason and the ORA code) for one that
// fell back; false for a table not opened with this snapshot.
func (s *scnSnapshot) TableConsistency(t pipeline.TableInfo) (pipeline.TableConsistency, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.tables[t.Schema+"."+t.Name]
	return c, ok
}

// readAsOf records that table was opened AS OF the SCN, unless it fell
// back before: one read outside the SCN makes the table's output not of it.
func (s *scnSnapshot) readAsOf(table string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tables[table]; !ok {
		s.tables[table] = pipeline.TableConsistency{Mode: pipeline.ConsistencyAsOfSCN, ID: s.scn, AtSnapshot: true}
	}
}

// notSplit records that table is read as one range, and why.
func (s *scnSnapshot) notSplit(table, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.unsplit {
		if u[0] == table {
			return
		}
	}
	s.unsplit = append(s.unsplit, [2]string{table, why})
}

// fellBack records that table is read in a READ ONLY transaction because
// reading it AS OF the SCN failed with cause.
func (s *scnSnapshot) fellBack(table string, cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.tables[table]; !ok || c.AtSnapshot {
		s.tables[table] = readOnlyConsistency(fmt.Sprintf("not read AS OF SCN %s: %s", s.scn, asOfDeniedReason(cause)), cause)
	}
	for _, t := range s.readOnly {
		if t == table {
			return
		}
	}
	s.readOnly = append(s.readOnly, table)
}

func (s *scnSnapshot) Close() error { return nil }

// asOfDeniedReason says why Oracle refused an AS OF SCN read (see
// asOfDenied).
func asOfDeniedReason(err error) string {
	switch Code(err) {
	case 8187:
		return "Oracle does not allow AS OF on this object (ORA-08187: snapshot expression not allowed here)"
	}
	return "the user lacks FLASHBACK on the table (ORA-01031: GRANT FLASHBACK ON the table, or FLASHBACK ANY TABLE, " +
		"for one consistent point in time)"
}

// readOnlyConsistency is a table read in its own READ ONLY transaction.
func readOnlyConsistency(reason string, cause error) pipeline.TableConsistency {
	c := pipeline.TableConsistency{Mode: pipeline.ConsistencyReadOnlyTransaction, Reason: reason}
	if n := Code(cause); n != 0 {
		c.Code = fmt.Sprintf("ORA-%05d", n)
	}
	return c
}

// readOnlySnapshot: no SCN could be captured, every table is read in its
// own READ ONLY transaction.
type readOnlySnapshot struct {
	info  pipeline.SnapshotInfo
	cause error
}

func (s readOnlySnapshot) Info() pipeline.SnapshotInfo { return s.info }
func (s readOnlySnapshot) Close() error                { return nil }

// TableConsistency is read_only_transaction for every table: without an
// SCN each table is read at a moment of its own.
func (s readOnlySnapshot) TableConsistency(pipeline.TableInfo) (pipeline.TableConsistency, bool) {
	return readOnlyConsistency("the job has no SCN: the user may neither capture one (EXECUTE on DBMS_FLASHBACK, "+
		"or SELECT on V$DATABASE) nor, then, read AS OF it; each table is consistent in itself but tables may be from different moments", s.cause), true
}

var errNoSCN = errors.New("no SCN")

// SCNInfo is the SnapshotInfo of a job read AS OF scn.
func SCNInfo(scn string) pipeline.SnapshotInfo {
	return pipeline.SnapshotInfo{Kind: "scn", ID: scn}
}

// ReadOnlyInfo is the SnapshotInfo of a job that fell back to per-table
// READ ONLY transactions; cause (may be nil) is why.
func ReadOnlyInfo(cause error) pipeline.SnapshotInfo {
	note := ReadOnlyNote
	if c := Code(cause); c != 0 {
		note = fmt.Sprintf("%s (ORA-%05d)", note, c)
	}
	return pipeline.SnapshotInfo{Kind: "read_only", Note: note}
}

// captureSCN returns the current SCN from DBMS_FLASHBACK or V$DATABASE; an
// error wrapping errNoSCN when the user may use neither.
func captureSCN(ctx context.Context, db *sql.DB) (string, error) {
	var scn string
	err := db.QueryRowContext(ctx, SCNSQL).Scan(&scn)
	if err == nil {
		return scn, nil
	}
	if !flashbackDenied(err) {
		return "", err
	}
	err2 := db.QueryRowContext(ctx, SCNFallbackSQL).Scan(&scn)
	switch {
	case err2 == nil:
		return scn, nil
	case flashbackDenied(err2):
		return "", fmt.Errorf("%w: %w", errNoSCN, err2)
	}
	return "", err2
}

// Snapshot captures the job's SCN (DBMS_FLASHBACK.GET_SYSTEM_CHANGE_NUMBER,
// else V$DATABASE.CURRENT_SCN). When the user may read neither, the job
// falls back to one READ ONLY transaction per table and the snapshot's
// kind is "read_only" with a Note saying so.
func (dialect) Snapshot(ctx context.Context, db *sql.DB) (pipeline.Snapshot, error) {
	scn, err := captureSCN(ctx, db)
	if errors.Is(err, errNoSCN) {
		return readOnlySnapshot{info: ReadOnlyInfo(err), cause: err}, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := AsOfClause(scn); err != nil {
		return nil, fmt.Errorf("capture SCN: %w", err)
	}
	return newSCNSnapshot(scn), nil
}

// ReadSetup reads AS OF SCN for kind "scn" and in a READ ONLY transaction
// for kind "read_only"; nil reads the current state (one statement is
// consistent in itself).
func (dialect) ReadSetup(snap pipeline.Snapshot) (sqlsource.ReadSetup, error) {
	if snap == nil {
		return sqlsource.ReadSetup{}, nil
	}
	switch info := snap.Info(); info.Kind {
	case "scn":
		asOf, err := AsOfClause(info.ID)
		if err != nil {
			return sqlsource.ReadSetup{}, err
		}
		return sqlsource.ReadSetup{AsOf: asOf}, nil
	case "read_only":
		return sqlsource.ReadSetup{Tx: &sql.TxOptions{ReadOnly: true}}, nil
	default:
		return sqlsource.ReadSetup{}, fmt.Errorf("snapshot of kind %q is not an Oracle snapshot", info.Kind)
	}
}

// Ranges splits a table by ROWID from its extents (DBA_EXTENTS); without
// access to DBA_EXTENTS it asks DBMS_PARALLEL_EXECUTE for ROWID chunks; when
// both are refused the table is read as one range.
func (d dialect) Ranges(ctx context.Context, db *sql.DB, owner, name, _ string, n int) ([]pipeline.Range, error) {
	rs, _, err := splitTable(ctx, db, owner, name, n)
	return rs, err
}

// splitTable is Ranges, plus why a table that cannot be split is read as
// one range ("" when it was split, or is simply too small to split): it
// has no table segment (an index-organized table: no ROWIDs to cut),
// DBMS_PARALLEL_EXECUTE refuses to chunk it (ORA-29491 for IOTs and other
// tables without physical ROWIDs), or the user may use neither way.
func splitTable(ctx context.Context, db *sql.DB, owner, name string, n int) ([]pipeline.Range, string, error) {
	one := []pipeline.Range{{Index: 0, Total: 1}}
	rs, noSegment, err := extentRanges(ctx, db, owner, name, n)
	if err == nil {
		if noSegment {
			return one, "it has no table segment in DBA_EXTENTS (an index-organized table, whose rows have no physical ROWIDs to cut, " +
				"or a table whose segment was never created because it has no rows)", nil
		}
		return rs, "", nil
	}
	if !privilegeDenied(err) {
		return nil, "", err
	}
	rs, err2 := chunkRanges(ctx, db, owner, name, n)
	switch {
	case err2 == nil:
		return rs, "", nil
	case Code(err2) == 29491:
		return one, "DBMS_PARALLEL_EXECUTE cannot chunk it by ROWID (ORA-29491: an index-organized or other table without physical ROWIDs)", nil
	case cannotChunk(err2):
		return one, fmt.Sprintf("DBMS_PARALLEL_EXECUTE refused to chunk it (ORA-%05d)", Code(err2)), nil
	case privilegeDenied(err2):
		return one, fmt.Sprintf("the user may read neither DBA_EXTENTS (%s) nor use DBMS_PARALLEL_EXECUTE (%s): "+
			"GRANT SELECT_CATALOG_ROLE (or SELECT on DBA_EXTENTS, DBA_OBJECTS and DBA_TABLESPACES) to split tables", oraCode(err), oraCode(err2)), nil
	}
	return nil, "", err2
}

// cannotChunk: DBMS_PARALLEL_EXECUTE refuses the task with one of its own
// errors, ORA-29490..29499 (ORA-29491 invalid table for chunking: IOT,
// external, no ROWIDs; ORA-29490 insufficient privilege…). Reading the
// table as one range is always correct, so none of them fails the table.
func cannotChunk(err error) bool { c := Code(err); return c >= 29490 && c <= 29499 }

// oraCode is "PLS-00201" or "ORA-NNNNN" of err, or "refused".
func oraCode(err error) string {
	if strings.Contains(err.Error(), "PLS-00201") {
		return "PLS-00201"
	}
	if c := Code(err); c != 0 {
		return fmt.Sprintf("ORA-%05d", c)
	}
	return "refused"
}

// privilegeDenied: no access to a dictionary view or package.
func privilegeDenied(err error) bool {
	switch Code(err) {
	case 942, 1031, 904, 6550, 27486:
		return true
	}
	return strings.Contains(err.Error(), "PLS-00201")
}

// extentRanges cuts the table's extents into ranges; noSegment reports a
// table without any table segment extent (an index-organized table).
func extentRanges(ctx context.Context, db *sql.DB, owner, name string, n int) (_ []pipeline.Range, noSegment bool, err error) {
	rows, err := db.QueryContext(ctx, ExtentsSQL(), owner, name)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var exts []Extent
	for rows.Next() {
		var e Extent
		var bigfile sql.NullString
		if err := rows.Scan(&e.DataObjectID, &e.RelativeFNO, &e.BlockID, &e.Blocks, &bigfile); err != nil {
			return nil, false, err
		}
		e.Bigfile = bigfile.String == "YES"
		exts = append(exts, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	rs, err := RowidRanges(exts, n)
	return rs, len(exts) == 0, err
}

// chunkRanges asks DBMS_PARALLEL_EXECUTE for about 4n ROWID chunks (sized
// from ALL_TABLES.BLOCKS) and groups them into n ranges; the task is
// dropped afterwards.
func chunkRanges(ctx context.Context, db *sql.DB, owner, name string, n int) (_ []pipeline.Range, err error) {
	var blocks sql.NullInt64
	if err := db.QueryRowContext(ctx, BlocksSQL, owner, name).Scan(&blocks); err != nil {
		return nil, err
	}
	chunk := int64(10000)
	if blocks.Valid && blocks.Int64 > 0 {
		chunk = max(blocks.Int64/int64(4*n), 64)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	task := "ORA2GCS_" + strings.ToUpper(hex.EncodeToString(rnd[:]))
	if _, err := db.ExecContext(ctx, CreateTaskSQL, task); err != nil {
		return nil, err
	}
	defer func() {
		if _, derr := db.ExecContext(context.WithoutCancel(ctx), DropTaskSQL, task); derr != nil && err == nil {
			err = derr
		}
	}()
	if _, err := db.ExecContext(ctx, ChunksByRowidSQL, task, owner, name, chunk); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, ChunksSQL, task)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var starts []string
	for rows.Next() {
		var lo, hi string
		if err := rows.Scan(&lo, &hi); err != nil {
			return nil, err
		}
		starts = append(starts, lo)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return RangesFromChunks(starts, n)
}

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

// asOfDenied: the user may not read this table AS OF an SCN.
func asOfDenied(err error) bool {
	switch Code(err) {
	case 1031, 8187:
		return true
	}
	return false
}
