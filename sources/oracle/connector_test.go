package oracle

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// vbrpCols is a small table with every Oracle type family, described the
// way godror describes it.
var vbrpCols = []fakeCol{
	{name: "MANDT", dbType: "VARCHAR2"},
	{name: "NETWR", dbType: "NUMBER", prec: 15, scale: 2, hasPS: true, nullable: true, nullableKnown: true},
	{name: "BIG", dbType: "NUMBER", prec: 38, scale: 0, hasPS: true, nullable: true, nullableKnown: true},
	{name: "ROUNDED", dbType: "NUMBER", prec: 10, scale: -2, hasPS: true, nullable: true, nullableKnown: true},
	{name: "ANYNUM", dbType: "NUMBER", prec: 0, scale: -127, hasPS: true, nullable: true, nullableKnown: true},
	{name: "TXT", dbType: "NVARCHAR2", nullable: true, nullableKnown: true},
	{name: "FKDAT", dbType: "DATE", nullable: true, nullableKnown: true},
	{name: "TS", dbType: "TIMESTAMP", prec: 6, hasPS: true, nullable: true, nullableKnown: true},
	{name: "TSTZ", dbType: "TIMESTAMP WITH TIME ZONE", prec: 6, hasPS: true, nullable: true, nullableKnown: true},
	{name: "TSLTZ", dbType: "TIMESTAMP WITH LOCAL TIME ZONE", prec: 6, hasPS: true, nullable: true, nullableKnown: true},
	{name: "IDS", dbType: "INTERVAL DAY TO SECOND", nullable: true, nullableKnown: true},
	{name: "IYM", dbType: "INTERVAL YEAR TO MONTH", nullable: true, nullableKnown: true},
	{name: "R", dbType: "RAW", nullable: true, nullableKnown: true},
	{name: "B", dbType: "BLOB", nullable: true, nullableKnown: true},
	{name: "C", dbType: "CLOB", nullable: true, nullableKnown: true},
	{name: "BF", dbType: "FLOAT", nullable: true, nullableKnown: true},
	{name: "BD", dbType: "DOUBLE", nullable: true, nullableKnown: true},
	{name: "CH", dbType: "CHAR", nullable: true, nullableKnown: true},
}

// vbrpDecl is what ALL_TAB_COLUMNS declares (ColumnsSQL's rows).
var vbrpDecl = [][2]string{
	{"MANDT", "VARCHAR2(3 CHAR)"}, {"NETWR", "NUMBER(15,2)"}, {"BIG", "NUMBER(38)"}, {"ROUNDED", "NUMBER(10,-2)"},
	{"ANYNUM", "NUMBER"}, {"TXT", "NVARCHAR2(40 CHAR)"}, {"FKDAT", "DATE"}, {"TS", "TIMESTAMP(6)"},
	{"TSTZ", "TIMESTAMP(6) WITH TIME ZONE"}, {"TSLTZ", "TIMESTAMP(6) WITH LOCAL TIME ZONE"},
	{"IDS", "INTERVAL DAY(2) TO SECOND(3)"}, {"IYM", "INTERVAL YEAR(2) TO MONTH"}, {"R", "RAW(16)"},
	{"B", "BLOB"}, {"C", "CLOB"}, {"BF", "BINARY_FLOAT"}, {"BD", "BINARY_DOUBLE"}, {"CH", "CHAR(4 CHAR)"},
}

var kst = time.FixedZone("+09:00", 9*3600)

// vbrpRow returns row i with godror's value types; every third row is all
// NULL the way godror returns NULLs ("" for text, nil otherwise).
func vbrpRow(i int) []driver.Value {
	if i%3 == 2 {
		return []driver.Value{"100", nil, nil, nil, nil, "", nil, nil, nil, nil, nil, nil, nil, nil, "", nil, nil, ""}
	}
	return []driver.Value{
		"100", godror.Number("-12345678901.25"), godror.Number("99999999999999999999999999999999999999"), godror.Number("12300"),
		godror.Number("3.14159265358979323846264338327950288"), "한국어", time.Date(2024, 12, 31, 23, 59, 59, 0, kst),
		time.Date(2024, 1, 2, 3, 4, 5, 123456000, kst), time.Date(2024, 1, 2, 3, 4, 5, 0, kst), time.Date(2024, 1, 1, 18, 4, 5, 0, time.UTC),
		oraIntervalDS{days: 1, hours: 12, seconds: 1, fseconds: 500000000}, "-1--6", []byte{0xde, 0xad, 0xbe, 0xef}, []byte{}, "long clob text",
		float32(math.Inf(1)), math.NaN(), "AB  ",
	}
}

// oracleFake answers the catalog, snapshot and read statements for one
// table SAPSR3.VBRP of n rows. Hooks override answers by SQL fragment.
type oracleFake struct {
	rows      int
	scnErr    error // DBMS_FLASHBACK
	scnFbErr  error // V$DATABASE
	asOfErr   error // SELECT … AS OF SCN
	readErr   error // mid-stream error of the table SELECT
	readErrAt int
	extentErr error
	bigfile   bool  // the table's tablespace is BIGFILE
	noExtents bool  // DBA_EXTENTS has no TABLE segment (index-organized table)
	chunkErr  error // DBMS_PARALLEL_EXECUTE.CREATE_CHUNKS_BY_ROWID
	// asOfErrs refuses AS OF reads of one table (by quoted name, e.g.
	// `"SAPSR3"."VBRK"`) with the error; onSelect, when set, sees every
	// table SELECT before it is answered (and may hold it).
	asOfErrs map[string]error
	onSelect func(q string)
}

// asOfErrFor is the error refusing q's AS OF read, if any.
func (o *oracleFake) asOfErrFor(q string) error {
	for table, err := range o.asOfErrs {
		if strings.Contains(q, table) {
			return err
		}
	}
	return o.asOfErr
}

func (o *oracleFake) answer(q string, args []any) fakeResult {
	switch {
	case q == SCNSQL:
		if o.scnErr != nil {
			return fakeResult{err: o.scnErr}
		}
		return fakeResult{cols: textCols("SCN"), rows: [][]driver.Value{{"123456789"}}}
	case q == SCNFallbackSQL:
		if o.scnFbErr != nil {
			return fakeResult{err: o.scnFbErr}
		}
		return fakeResult{cols: textCols("SCN"), rows: [][]driver.Value{{"987654321"}}}
	case q == VersionSQL:
		return fakeResult{cols: textCols("BANNER"), rows: [][]driver.Value{{"Oracle Database 11g Enterprise Edition Release 11.2.0.4.0 - 64bit Production"}}}
	case strings.HasPrefix(q, tableSelect):
		num := func(s string) driver.Value { return godror.Number(s) }
		all := [][]driver.Value{
			{"SAPSR3", "VBRP", num("18"), num("250000")},
			{"SAPSR3", "VBRK", num("3"), nil},
		}
		if strings.Contains(q, "UPPER(:name)") {
			var hit [][]driver.Value
			for _, r := range all {
				if strings.EqualFold(r[1].(string), args[len(args)-1].(string)) {
					hit = append(hit, r)
				}
			}
			all = hit
		}
		return fakeResult{cols: []fakeCol{{name: "OWNER", dbType: "VARCHAR2"}, {name: "TABLE_NAME", dbType: "VARCHAR2"},
			{name: "COLS", dbType: "NUMBER"}, {name: "NUM_ROWS", dbType: "NUMBER"}}, rows: all}
	case strings.HasPrefix(q, "SELECT COLUMN_NAME, CASE") && strings.Contains(q, "ALL_TAB_COLS "):
		return fakeResult{cols: textCols("COLUMN_NAME", "DECL", "NULLABLE")} // no INVISIBLE columns
	case strings.HasPrefix(q, "SELECT COLUMN_NAME, CASE"):
		var rows [][]driver.Value
		for _, d := range vbrpDecl {
			null := "true"
			if d[0] == "MANDT" {
				null = "false"
			}
			rows = append(rows, []driver.Value{d[0], d[1], null})
		}
		return fakeResult{cols: textCols("COLUMN_NAME", "DECL", "NULLABLE"), rows: rows}
	case strings.HasPrefix(q, "SELECT * FROM "):
		return fakeResult{cols: vbrpCols}
	case strings.HasPrefix(q, "SELECT COUNT(*) FROM (SELECT 1 FROM"):
		if err := o.asOfErrFor(q); err != nil {
			return fakeResult{err: err}
		}
		return fakeResult{cols: []fakeCol{{name: "N", dbType: "NUMBER"}}, rows: [][]driver.Value{{int64(0)}}}
	case strings.HasPrefix(q, "SELECT COUNT(*) FROM "):
		return fakeResult{cols: []fakeCol{{name: "N", dbType: "NUMBER"}}, rows: [][]driver.Value{{godror.Number("250001")}}}
	case strings.Contains(q, "FROM DBA_EXTENTS"):
		if o.extentErr != nil {
			return fakeResult{err: o.extentErr}
		}
		n := func(v int64) driver.Value { return godror.Number(strconv.FormatInt(v, 10)) }
		cols := []fakeCol{{name: "O", dbType: "NUMBER"}, {name: "F", dbType: "NUMBER"}, {name: "B", dbType: "NUMBER"}, {name: "N", dbType: "NUMBER"}, {name: "BIGFILE", dbType: "VARCHAR2"}}
		if o.noExtents {
			return fakeResult{cols: cols}
		}
		if o.bigfile {
			// DBA_EXTENTS.RELATIVE_FNO of a BIGFILE tablespace is always 1024
			return fakeResult{cols: cols, rows: [][]driver.Value{{n(73749), n(1024), n(20), n(1024), "YES"}, {n(73749), n(1024), n(1 << 23), n(1024), "YES"}}}
		}
		return fakeResult{cols: cols,
			rows: [][]driver.Value{{n(800), n(4), n(16), n(128), "NO"}, {n(800), n(4), n(144), n(128), "NO"}, {n(800), n(5), n(8), n(128), "NO"}, {n(800), n(5), n(136), n(128), "NO"}}}
	case q == BlocksSQL:
		return fakeResult{cols: []fakeCol{{name: "BLOCKS", dbType: "NUMBER"}}, rows: [][]driver.Value{{godror.Number("4096")}}}
	case q == ChunksByRowidSQL && o.chunkErr != nil:
		return fakeResult{err: o.chunkErr}
	case q == CreateTaskSQL, q == ChunksByRowidSQL, q == DropTaskSQL:
		return fakeResult{}
	case q == ChunksSQL:
		var rows [][]driver.Value
		for i := int64(0); i < 8; i++ {
			rows = append(rows, []driver.Value{RowidCreate(800, 4, i*512, 0), RowidCreate(800, 4, i*512+511, 32767)})
		}
		return fakeResult{cols: textCols("S", "E"), rows: rows}
	case strings.HasPrefix(q, `SELECT "MANDT"`):
		if o.onSelect != nil {
			o.onSelect(q)
		}
		if err := o.asOfErrFor(q); strings.Contains(q, "AS OF SCN") && err != nil {
			return fakeResult{err: err}
		}
		var rows [][]driver.Value
		for i := 0; i < o.rows; i++ {
			rows = append(rows, vbrpRow(i))
		}
		res := lobSplit(q, describeSelect(q, vbrpCols), rows)
		res.failAt, res.failErr = o.readErrAt, o.readErr
		return res
	case q == ReadOnlySQL:
		return fakeResult{}
	}
	return fakeResult{err: errors.New("fake oracle: unexpected statement: " + q)}
}

func newFakeConnector(t *testing.T, o *oracleFake) (*fakeDB, *Connector) {
	t.Helper()
	fake, db := newFakeDB(t, o.answer)
	c, err := New(db, Config{User: "u", Password: "p", ConnectString: "h:1521/S"})
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

// readAll drains src, checking batch order and sizes.
func readAll(t *testing.T, src pipeline.Source) ([][]any, error) {
	t.Helper()
	defer src.Close()
	var out [][]any
	for seq := int64(0); ; seq++ {
		b, err := src.Next(context.Background())
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if b.Seq != seq {
			t.Fatalf("batch seq %d, want %d", b.Seq, seq)
		}
		for _, r := range b.Rows {
			out = append(out, append([]any(nil), r...))
		}
		if b.Release != nil {
			b.Release()
		}
	}
}

func TestConnectorTables(t *testing.T) {
	fake, c := newFakeConnector(t, &oracleFake{})
	ts, err := c.Tables(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	want := []pipeline.TableInfo{{Schema: "SAPSR3", Name: "VBRP", ColumnCount: 18, Rows: 250000}, {Schema: "SAPSR3", Name: "VBRK", ColumnCount: 3, Rows: -1}}
	if !reflect.DeepEqual(ts, want) {
		t.Fatalf("tables %+v", ts)
	}
	if sqls := fake.SQLs(); len(sqls) != 1 || sqls[0] != CatalogSQL() {
		t.Fatalf("catalog SQL %v", sqls)
	}
	ts, err = c.Tables(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if ts[0].Rows != 250001 || !ts[0].RowsExact {
		t.Fatalf("exact %+v", ts[0])
	}
	sqls := fake.SQLs()
	if got := sqls[len(sqls)-2:]; got[0] != `SELECT COUNT(*) FROM "SAPSR3"."VBRP"` || got[1] != `SELECT COUNT(*) FROM "SAPSR3"."VBRK"` {
		t.Fatalf("exact counts %v", got)
	}
	if c.Kind() != "oracle" {
		t.Fatal(c.Kind())
	}
}

func TestConnectorDescribe(t *testing.T) {
	for _, name := range []string{"vbrp", "VBRP", "sapsr3.vbrp", `"SAPSR3"."VBRP"`} {
		t.Run(name, func(t *testing.T) {
			_, c := newFakeConnector(t, &oracleFake{})
			ti, err := c.Describe(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			if ti.Schema != "SAPSR3" || ti.Name != "VBRP" || len(ti.Columns) != len(vbrpCols) || ti.ColumnCount != len(vbrpCols) {
				t.Fatalf("%+v", ti)
			}
			want := map[string]pipeline.Column{
				"MANDT":   {Name: "MANDT", Type: pipeline.TypeString, SourceType: "VARCHAR2(3 CHAR)"},
				"NETWR":   {Name: "NETWR", Type: pipeline.TypeDecimal, SourceType: "NUMBER(15,2)", Precision: 15, Scale: 2, Nullable: true},
				"ROUNDED": {Name: "ROUNDED", Type: pipeline.TypeDecimal, SourceType: "NUMBER(10,-2)", Precision: 10, Scale: -2, Nullable: true},
				"ANYNUM":  {Name: "ANYNUM", Type: pipeline.TypeDecimal, SourceType: "NUMBER", Nullable: true},
				"FKDAT":   {Name: "FKDAT", Type: pipeline.TypeDateTime, SourceType: "DATE", Nullable: true},
				"TSLTZ":   {Name: "TSLTZ", Type: pipeline.TypeTimestampTZ, SourceType: "TIMESTAMP(6) WITH LOCAL TIME ZONE", Scale: 6, Nullable: true},
				"BF":      {Name: "BF", Type: pipeline.TypeFloat, SourceType: "BINARY_FLOAT", Nullable: true},
				"B":       {Name: "B", Type: pipeline.TypeBytes, SourceType: "BLOB", Nullable: true},
			}
			for _, col := range ti.Columns {
				if w, ok := want[col.Name]; ok && col != w {
					t.Errorf("column %s = %+v, want %+v", col.Name, col, w)
				}
			}
		})
	}
	t.Run("hostile and unknown names", func(t *testing.T) {
		for _, name := range []string{"x; DROP TABLE y", `VBRP" --`, "nope", "sapsr3.vbrp.x", `"vbrp"`, ""} {
			fake, c := newFakeConnector(t, &oracleFake{})
			_, err := c.Describe(context.Background(), name)
			if !errors.Is(err, pipeline.ErrTableNotFound) {
				t.Fatalf("%q: err = %v, want ErrTableNotFound", name, err)
			}
			for _, q := range fake.SQLs() {
				if strings.Contains(q, "DROP TABLE") || strings.Contains(q, "--") || strings.Contains(q, "nope") {
					t.Fatalf("%q reached SQL text: %s", name, q)
				}
			}
		}
	})
}

func describe(t *testing.T, c *Connector) pipeline.TableInfo {
	t.Helper()
	ti, err := c.Describe(context.Background(), "vbrp")
	if err != nil {
		t.Fatal(err)
	}
	return ti
}

// TestConnectorReadTypes reads through the shared machinery end to end:
// catalog, SCN snapshot, AS OF SCN SELECT with godror's fetch options,
// batches of godror values normalised for the encoder.
func TestConnectorReadTypes(t *testing.T) {
	fake, c := newFakeConnector(t, &oracleFake{rows: 7})
	ti := describe(t, c)
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info := snap.Info(); info != (pipeline.SnapshotInfo{Kind: "scn", ID: "123456789"}) {
		t.Fatalf("snapshot %+v", info)
	}
	defer snap.Close()
	src, err := c.Open(context.Background(), ti, snap, pipeline.ReadOptions{BatchRows: 3, FetchArraySize: 500})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(src.Columns(), ti.Columns) {
		t.Fatal("source columns differ from Describe")
	}
	rows, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 {
		t.Fatalf("%d rows", len(rows))
	}

	var sel fakeCall
	for _, call := range fake.Calls() {
		if strings.HasPrefix(call.SQL, `SELECT "MANDT"`) {
			sel = call
		}
	}
	wantSQL := `SELECT "MANDT", "NETWR", "BIG", "ROUNDED", "ANYNUM", "TXT", "FKDAT", "TS", "TSTZ", "TSLTZ", ` + intervalExpr(`"IDS"`) + ` AS "IDS", "IYM", "R", ` +
		// LOBs: short values inline, the others through the column's locator
		`CASE WHEN DBMS_LOB.GETLENGTH("B") <= 2000 THEN CAST(DBMS_LOB.SUBSTR("B", 2000, 1) AS RAW(2000)) END AS "B", ` +
		`CASE WHEN DBMS_LOB.GETLENGTH("C") <= 1000 THEN CAST(DBMS_LOB.SUBSTR("C", 1000, 1) AS VARCHAR2(4000 BYTE)) END AS "C", "BF", "BD", "CH", ` +
		`"B" AS "ORA2GCS_LOB_0", "C" AS "ORA2GCS_LOB_1" FROM "SAPSR3"."VBRP" AS OF SCN 123456789`
	if sel.SQL != wantSQL {
		t.Fatalf("SELECT\n got %s\nwant %s", sel.SQL, wantSQL)
	}
	if len(sel.Args) != 4 || !godrorLobAsReader(sel.Args) {
		t.Fatalf("args %#v: want godror.FetchArraySize, PrefetchCount, JSONAsString and LobAsReader", sel.Args)
	}
	for _, a := range sel.Args {
		if _, ok := a.(godror.Option); !ok {
			t.Fatalf("arg %T is not a godror.Option", a)
		}
	}

	r := rows[0]
	wantVals := map[int]any{
		0: "100", 1: "-12345678901.25", 2: "99999999999999999999999999999999999999", 3: "12300",
		4: "3.14159265358979323846264338327950288", 5: "한국어", 10: "+01 12:00:01.500", 11: "-01-06",
		12: []byte{0xde, 0xad, 0xbe, 0xef}, 13: []byte{}, 14: "long clob text", 17: "AB  ",
	}
	for i, w := range wantVals {
		if !reflect.DeepEqual(r[i], w) {
			t.Errorf("%s = %#v (%T), want %#v", ti.Columns[i].Name, r[i], r[i], w)
		}
	}
	if d := r[6].(time.Time); d.Location() != time.UTC || d.Format("2006-01-02T15:04:05") != "2024-12-31T23:59:59" {
		t.Errorf("DATE moved: %v", d)
	}
	if ts := r[7].(time.Time); ts.Location() != time.UTC || ts.Format("15:04:05.000000") != "03:04:05.123456" {
		t.Errorf("TIMESTAMP moved: %v", ts)
	}
	if tz := r[8].(time.Time); tz.Format(time.RFC3339) != "2024-01-02T03:04:05+09:00" {
		t.Errorf("TSTZ: %v", tz)
	}
	if f, ok := r[15].(float32); !ok || !math.IsInf(float64(f), 1) {
		t.Errorf("BINARY_FLOAT: %#v", r[15])
	}
	if f, ok := r[16].(float64); !ok || !math.IsNaN(f) {
		t.Errorf("BINARY_DOUBLE: %#v", r[16])
	}
	for j, v := range rows[2][1:] {
		if v != nil {
			t.Errorf("NULL row: %s = %#v, want nil ('' is NULL in Oracle)", ti.Columns[j+1].Name, v)
		}
	}
}

func TestConnectorSample(t *testing.T) {
	fake, c := newFakeConnector(t, &oracleFake{rows: 250})
	ti := describe(t, c)
	src, err := c.Open(context.Background(), ti, nil, pipeline.ReadOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 100 {
		t.Fatalf("%d rows, want 100", len(rows))
	}
	var found bool
	for _, q := range fake.SQLs() {
		if strings.HasPrefix(q, `SELECT "MANDT"`) {
			found = true
			if !strings.HasSuffix(q, `FROM "SAPSR3"."VBRP" WHERE ROWNUM <= 100`) || strings.Contains(q, "FETCH FIRST") || strings.Contains(q, "AS OF") {
				t.Fatalf("sample SQL %s", q)
			}
		}
	}
	if !found {
		t.Fatal("no SELECT")
	}
}

func TestConnectorSnapshotFallbacks(t *testing.T) {
	denied := oraErr(904, `"DBMS_FLASHBACK"."GET_SYSTEM_CHANGE_NUMBER": invalid identifier`)
	tests := []struct {
		name string
		o    oracleFake
		want pipeline.SnapshotInfo
		err  string
	}{
		{"dbms_flashback", oracleFake{}, pipeline.SnapshotInfo{Kind: "scn", ID: "123456789"}, ""},
		{"v$database", oracleFake{scnErr: denied}, pipeline.SnapshotInfo{Kind: "scn", ID: "987654321"}, ""},
		{"neither", oracleFake{scnErr: denied, scnFbErr: oraErr(942, "table or view does not exist")},
			pipeline.SnapshotInfo{Kind: "read_only", Note: ReadOnlyNote + " (ORA-00942)"}, ""},
		{"lost connection", oracleFake{scnErr: oraErr(3113, "end-of-file on communication channel")}, pipeline.SnapshotInfo{}, "connection was lost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newFakeConnector(t, &tt.o)
			snap, err := c.Snapshot(context.Background())
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !pipeline.IsTransient(err) {
					t.Fatalf("err = %v (transient %v)", err, pipeline.IsTransient(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if snap.Info() != tt.want {
				t.Fatalf("info %+v, want %+v", snap.Info(), tt.want)
			}
		})
	}
}

// TestConnectorReadOnlyFallback: the user may not read the table AS OF SCN
// (ORA-01031), so it is read in a READ ONLY transaction and the job's
// snapshot says so; ranges are not split.
func TestConnectorReadOnlyFallback(t *testing.T) {
	fake, c := newFakeConnector(t, &oracleFake{rows: 4, asOfErr: oraErr(1031, "insufficient privileges")})
	ti := describe(t, c)
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.Ranges(context.Background(), ti, snap, 4)
	if err != nil || len(rs) != 1 {
		t.Fatalf("ranges %+v %v: a table read without AS OF must not be split", rs, err)
	}
	src, err := c.Open(context.Background(), ti, snap, pipeline.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readAll(t, src)
	if err != nil || len(rows) != 4 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	calls := fake.Calls()
	var sawRO, sawPlain bool
	for _, call := range calls {
		if call.SQL == ReadOnlySQL {
			sawRO = true
		}
		if strings.HasPrefix(call.SQL, `SELECT "MANDT"`) && !strings.Contains(call.SQL, "AS OF") {
			sawPlain = call.Tx == "ro"
		}
	}
	if !sawRO || !sawPlain {
		t.Fatalf("no READ ONLY transaction read: %v", fake.SQLs())
	}
	info := snap.Info()
	if info.Kind != "scn" || !strings.Contains(info.Note, "SAPSR3.VBRP (ORA-01031) were read in READ ONLY transactions") || !strings.Contains(info.Note, "FLASHBACK") {
		t.Fatalf("snapshot info %+v", info)
	}

	t.Run("whole job read only", func(t *testing.T) {
		fake, c := newFakeConnector(t, &oracleFake{rows: 2, scnErr: oraErr(1031, "x"), scnFbErr: oraErr(942, "y")})
		ti := describe(t, c)
		snap, err := c.Snapshot(context.Background())
		if err != nil || snap.Info().Kind != "read_only" {
			t.Fatalf("%v %v", snap, err)
		}
		src, err := c.Open(context.Background(), ti, snap, pipeline.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rows, err := readAll(t, src); err != nil || len(rows) != 2 {
			t.Fatalf("%d %v", len(rows), err)
		}
		for _, call := range fake.Calls() {
			if strings.HasPrefix(call.SQL, `SELECT "MANDT"`) && (call.Tx != "ro" || strings.Contains(call.SQL, "AS OF")) {
				t.Fatalf("read outside a READ ONLY transaction: %+v", call)
			}
		}
	})
}

func TestConnectorReadErrors(t *testing.T) {
	tests := []struct {
		name      string
		o         oracleFake
		transient bool
		want      []string
	}{
		{"connection lost mid-table", oracleFake{rows: 10, readErr: oraErr(3113, "end-of-file on communication channel"), readErrAt: 5}, true,
			[]string{"oracle: read VBRP after 5 rows", "connection was lost", "ORA-03113"}},
		{"snapshot too old", oracleFake{rows: 10, readErr: oraErr(1555, "snapshot too old"), readErrAt: 3}, false,
			[]string{"UNDO_RETENTION", "table_parallelism", "off-hours"}},
		{"definition changed", oracleFake{rows: 10, readErr: oraErr(1466, "unable to read data - table definition has changed"), readErrAt: 0}, false,
			[]string{"ORA-01466"}},
		{"bad conn", oracleFake{rows: 10, readErr: driver.ErrBadConn, readErrAt: 2}, true, []string{"connection was lost"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newFakeConnector(t, &tt.o)
			ti := describe(t, c)
			snap, err := c.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			src, err := c.Open(context.Background(), ti, snap, pipeline.ReadOptions{BatchRows: 100})
			if err != nil {
				t.Fatal(err)
			}
			_, err = readAll(t, src)
			if err == nil {
				t.Fatal("no error")
			}
			if pipeline.IsTransient(err) != tt.transient {
				t.Fatalf("transient %v, want %v: %v", pipeline.IsTransient(err), tt.transient, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
	t.Run("no select privilege on open", func(t *testing.T) {
		_, c := newFakeConnector(t, &oracleFake{asOfErr: oraErr(942, "table or view does not exist")})
		ti := describe(t, c)
		snap, _ := c.Snapshot(context.Background())
		_, err := c.Open(context.Background(), ti, snap, pipeline.ReadOptions{})
		if err == nil || pipeline.IsTransient(err) || !strings.Contains(err.Error(), "GRANT SELECT") {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(snap.Info().Note, "READ ONLY") {
			t.Fatal("ORA-00942 is not a FLASHBACK problem; no fallback expected")
		}
	})
}

func TestConnectorRanges(t *testing.T) {
	t.Run("extents", func(t *testing.T) {
		fake, c := newFakeConnector(t, &oracleFake{rows: 3})
		ti := describe(t, c)
		snap, _ := c.Snapshot(context.Background())
		rs, err := c.Ranges(context.Background(), ti, snap, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := []pipeline.Range{{Index: 0, Total: 2, Hi: RowidCreate(800, 5, 8, 0)}, {Index: 1, Total: 2, Lo: RowidCreate(800, 5, 8, 0)}}
		if !reflect.DeepEqual(rs, want) {
			t.Fatalf("ranges %+v", rs)
		}
		src, err := c.Open(context.Background(), ti, snap, pipeline.ReadOptions{Range: &rs[1]})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := readAll(t, src); err != nil {
			t.Fatal(err)
		}
		calls := fake.Calls()
		last := calls[len(calls)-1]
		if !strings.HasSuffix(last.SQL, `FROM "SAPSR3"."VBRP" AS OF SCN 123456789 WHERE ROWID >= CHARTOROWID(:lo)`) || last.Args[0] != rs[1].Lo {
			t.Fatalf("range read %+v", last)
		}
	})
	t.Run("bigfile tablespace", func(t *testing.T) {
		fake, c := newFakeConnector(t, &oracleFake{rows: 3, bigfile: true})
		ti := describe(t, c)
		snap, _ := c.Snapshot(context.Background())
		rs, err := c.Ranges(context.Background(), ti, snap, 2)
		if err != nil {
			t.Fatal(err)
		}
		// block 8388608 (1<<23) of data object 73749: the nine file+block
		// digits hold the block number, the file number 1024 is not in it
		want := []pipeline.Range{{Index: 0, Total: 2, Hi: "AAASAVAAAAAgAAAAAA"}, {Index: 1, Total: 2, Lo: "AAASAVAAAAAgAAAAAA"}}
		if !reflect.DeepEqual(rs, want) {
			t.Fatalf("ranges %+v, want %+v", rs, want)
		}
		for _, q := range fake.SQLs() {
			if strings.Contains(q, "FROM DBA_EXTENTS") && !strings.Contains(q, "DBA_TABLESPACES") {
				t.Fatalf("extents query does not read BIGFILE: %s", q)
			}
		}
	})
	t.Run("parallel execute when DBA_EXTENTS is denied", func(t *testing.T) {
		fake, c := newFakeConnector(t, &oracleFake{extentErr: oraErr(942, "table or view does not exist")})
		ti := describe(t, c)
		snap, _ := c.Snapshot(context.Background())
		rs, err := c.Ranges(context.Background(), ti, snap, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 4 || rs[1].Lo != RowidCreate(800, 4, 2*512, 0) {
			t.Fatalf("ranges %+v", rs)
		}
		var task string
		var seen []string
		for _, call := range fake.Calls() {
			switch call.SQL {
			case CreateTaskSQL, ChunksByRowidSQL, ChunksSQL, DropTaskSQL:
				seen = append(seen, call.SQL)
				if task == "" {
					task = call.Args[0].(string)
				} else if call.Args[0] != task {
					t.Fatalf("task %v, want %s", call.Args[0], task)
				}
			}
			if call.SQL == ChunksByRowidSQL && (call.Args[1] != "SAPSR3" || call.Args[2] != "VBRP" || call.Args[3] != int64(256)) {
				t.Fatalf("chunk args %v", call.Args)
			}
		}
		if !reflect.DeepEqual(seen, []string{CreateTaskSQL, ChunksByRowidSQL, ChunksSQL, DropTaskSQL}) || !strings.HasPrefix(task, "ORA2GCS_") {
			t.Fatalf("task calls %v (%s)", seen, task)
		}
	})
	t.Run("unsplittable tables run as one range and the snapshot says so", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			o    oracleFake
			why  string
		}{
			{"IOT without DBA_EXTENTS", oracleFake{extentErr: oraErr(942, "table or view does not exist"),
				chunkErr: oraErr(29491, "invalid table for chunking")}, "ORA-29491"},
			{"IOT with DBA_EXTENTS", oracleFake{noExtents: true}, "no table segment"},
			// DBMS_PARALLEL_EXECUTE's own refusals (ORA-29490 insufficient
			// privilege, ORA-29490..29499): one range is always a correct read
			{"DBMS_PARALLEL_EXECUTE refuses", oracleFake{extentErr: oraErr(942, "table or view does not exist"),
				chunkErr: oraErr(29490, "insufficient privilege")}, "ORA-29490"},
			{"no privilege for either", oracleFake{extentErr: oraErr(942, "table or view does not exist"),
				chunkErr: errors.New("ORA-06550: line 1, column 7:\nPLS-00201: identifier 'DBMS_PARALLEL_EXECUTE' must be declared")}, "SELECT_CATALOG_ROLE"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				fake, c := newFakeConnector(t, &tt.o)
				ti := describe(t, c)
				snap, _ := c.Snapshot(context.Background())
				rs, err := c.Ranges(context.Background(), ti, snap, 4)
				if err != nil || len(rs) != 1 || rs[0].Lo != "" || rs[0].Hi != "" {
					t.Fatalf("ranges %+v, %v: want one whole-table range", rs, err)
				}
				note := snap.Info().Note
				if !strings.Contains(note, "SAPSR3.VBRP was read as one range") || !strings.Contains(note, tt.why) {
					t.Fatalf("snapshot note %q does not say why SAPSR3.VBRP was not split (%s)", note, tt.why)
				}
				var created, dropped int
				for _, q := range fake.SQLs() {
					if q == CreateTaskSQL {
						created++
					}
					if q == DropTaskSQL {
						dropped++
					}
				}
				if created != dropped {
					t.Fatalf("%d tasks created, %d dropped", created, dropped)
				}
			})
		}
	})
	t.Run("one range without snapshot", func(t *testing.T) {
		fake, c := newFakeConnector(t, &oracleFake{})
		ti := describe(t, c)
		before := len(fake.Calls())
		rs, err := c.Ranges(context.Background(), ti, nil, 4)
		if err != nil || len(rs) != 1 || len(fake.Calls()) != before {
			t.Fatalf("%+v %v", rs, err)
		}
	})
}

func TestConnectorStatus(t *testing.T) {
	_, c := newFakeConnector(t, &oracleFake{})
	st := c.Status(context.Background())
	if !st.Reachable || st.Kind != "oracle" || !strings.Contains(st.Version, "11.2") || st.Snapshot != "123456789" || st.Error != "" {
		t.Fatalf("%+v", st)
	}
	if st.Pool.MaxOpen != 20 || st.Pool.MinIdle != 5 {
		t.Fatalf("pool %+v", st.Pool)
	}
}
