package oracle

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// oracleIT is a connection to the real Oracle of EnvTestDSN, for the cases
// that check Oracle's own behaviour (one table per case, dropped after).
type oracleIT struct {
	t   *testing.T
	ctx context.Context
	cfg Config
	c   *Connector
}

// openOracleIT connects to EnvTestDSN (skipping when it is unset) with
// cfg's Timezone applied.
func openOracleIT(t *testing.T, tz *time.Location) *oracleIT {
	t.Helper()
	dsn := os.Getenv(EnvTestDSN)
	if dsn == "" {
		t.Skip(EnvTestDSN + " is not set (see TestOracleIntegration)")
	}
	if dsn == "atp" {
		dsn = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	cfg, err := NewConfig(dsn, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if tz != nil {
		cfg.Timezone = tz
	}
	c, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &oracleIT{t: t, ctx: ctx, cfg: cfg, c: c}
}

func (o *oracleIT) exec(q string, args ...any) {
	o.t.Helper()
	if _, err := o.c.DB().ExecContext(o.ctx, q, args...); err != nil {
		o.t.Fatalf("%s: %v", q, err)
	}
}

// table creates a table from ddl ("(…) options", after the name) under a
// fresh name, dropped at the end; it returns the name.
func (o *oracleIT) table(ddl string) string {
	o.t.Helper()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := "ORA2GCS_IT_" + strings.ToUpper(hex.EncodeToString(rnd[:]))
	o.exec(`CREATE TABLE ` + name + ` ` + ddl)
	o.t.Cleanup(func() { _, _ = o.c.DB().ExecContext(context.Background(), `DROP TABLE `+name+` PURGE`) })
	return name
}

// read describes table and reads it through the connector as of a fresh
// SCN, in at most n ranges.
func (o *oracleIT) read(table string, n int) (pipeline.TableInfo, [][]any) {
	o.t.Helper()
	ti, err := o.c.Describe(o.ctx, table)
	if err != nil {
		o.t.Fatal(err)
	}
	snap, err := o.c.Snapshot(o.ctx)
	if err != nil {
		o.t.Fatal(err)
	}
	defer snap.Close()
	rs, err := o.c.Ranges(o.ctx, ti, snap, n)
	if err != nil {
		o.t.Fatal(err)
	}
	var out [][]any
	for i := range rs {
		src, err := o.c.Open(o.ctx, ti, snap, pipeline.ReadOptions{Range: &rs[i]})
		if err != nil {
			o.t.Fatal(err)
		}
		for {
			b, err := src.Next(o.ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				o.t.Fatal(err)
			}
			for _, r := range b.Rows {
				out = append(out, append([]any(nil), r...))
			}
		}
		src.Close()
	}
	return ti, out
}

// TestOracleDSTZone: with timezone=Europe/Berlin, DATE and TIMESTAMP values
// inside the spring-forward gap keep their wall clock; TIMESTAMP WITH LOCAL
// TIME ZONE arrives in the session zone.
func TestOracleDSTZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	o := openOracleIT(t, berlin)
	tab := o.table(`(D DATE, TS TIMESTAMP(6), LTZ TIMESTAMP(6) WITH LOCAL TIME ZONE)`)
	o.exec(`INSERT INTO ` + tab + ` VALUES (TO_DATE('2024-03-31 02:30:00', 'YYYY-MM-DD HH24:MI:SS'),
		TO_TIMESTAMP('2024-03-31 02:15:01.25', 'YYYY-MM-DD HH24:MI:SS.FF'),
		TO_TIMESTAMP_TZ('2024-03-31 01:30:00 +00:00', 'YYYY-MM-DD HH24:MI:SS TZH:TZM'))`)
	_, rows := o.read(tab, 1)
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	if d := rows[0][0].(time.Time); d.Format("2006-01-02T15:04:05") != "2024-03-31T02:30:00" {
		t.Errorf("DATE = %v, want the stored wall clock 02:30", d)
	}
	if ts := rows[0][1].(time.Time); ts.Format("2006-01-02T15:04:05.00") != "2024-03-31T02:15:01.25" {
		t.Errorf("TIMESTAMP = %v, want the stored wall clock 02:15:01.25", ts)
	}
	if ltz := rows[0][2].(time.Time); ltz.Format(time.RFC3339) != "2024-03-31T03:30:00+02:00" {
		t.Errorf("LTZ = %v, want 03:30+02:00 (the session zone)", ltz)
	}
}

// TestOracleRangesBothTablespaceKinds reads a multi-extent table in a
// BIGFILE and in a smallfile tablespace (each where the user may create
// one) in 4 ROWID ranges: every row exactly once, and the rows spread over
// more than one range (wrong bounds put them all into one, or fail with
// ORA-01410).
func TestOracleRangesBothTablespaceKinds(t *testing.T) {
	o := openOracleIT(t, nil)
	rows, err := o.c.DB().QueryContext(o.ctx, `SELECT TABLESPACE_NAME, BIGFILE FROM USER_TABLESPACES WHERE CONTENTS = 'PERMANENT' AND STATUS = 'ONLINE' ORDER BY TABLESPACE_NAME`)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string][]string{}
	for rows.Next() {
		var name, big string
		if err := rows.Scan(&name, &big); err != nil {
			t.Fatal(err)
		}
		kinds[big] = append(kinds[big], name)
	}
	rows.Close()
	for _, kind := range []string{"YES", "NO"} {
		t.Run("bigfile="+kind, func(t *testing.T) {
			const n = 20000
			var tab string
			db := o.c.DB()
			for _, ts := range kinds[kind] {
				var rnd [4]byte
				_, _ = rand.Read(rnd[:])
				name := "ORA2GCS_IT_" + strings.ToUpper(hex.EncodeToString(rnd[:]))
				if _, err := db.ExecContext(o.ctx, `CREATE TABLE `+name+` (ID NUMBER(10), PAD VARCHAR2(1000)) TABLESPACE "`+ts+`"`); err != nil {
					continue
				}
				// the segment (and a missing quota, ORA-01950) comes with the first row
				if _, err := db.ExecContext(o.ctx, `INSERT INTO `+name+` SELECT LEVEL, RPAD('x', 900, 'x') FROM DUAL CONNECT BY LEVEL <= :n`, n); err != nil {
					t.Logf("tablespace %s: %v", ts, err)
					_, _ = db.ExecContext(context.Background(), `DROP TABLE `+name+` PURGE`)
					continue
				}
				tab = name
				t.Cleanup(func() { _, _ = db.ExecContext(context.Background(), `DROP TABLE `+name+` PURGE`) })
				t.Logf("tablespace %s (BIGFILE=%s)", ts, kind)
				break
			}
			if tab == "" {
				t.Skipf("no tablespace with BIGFILE=%s where the user may store a table (%v)", kind, kinds[kind])
			}
			ti, err := o.c.Describe(o.ctx, tab)
			if err != nil {
				t.Fatal(err)
			}
			snap, err := o.c.Snapshot(o.ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Close()
			rs, err := o.c.Ranges(o.ctx, ti, snap, 4)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			nonEmpty := 0
			for i := range rs {
				src, err := o.c.Open(o.ctx, ti, snap, pipeline.ReadOptions{Range: &rs[i]})
				if err != nil {
					t.Fatalf("range %+v: %v", rs[i], err)
				}
				got := 0
				for {
					b, err := src.Next(o.ctx)
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("range %+v: %v", rs[i], err)
					}
					for _, r := range b.Rows {
						id := fmt.Sprint(r[0])
						if seen[id] {
							t.Fatalf("row %s read by two ranges", id)
						}
						seen[id] = true
						got++
					}
				}
				src.Close()
				if got > 0 {
					nonEmpty++
				}
				t.Logf("range %d [%s, %s): %d rows", i, rs[i].Lo, rs[i].Hi, got)
			}
			if len(seen) != n {
				t.Fatalf("ranges read %d rows, want %d", len(seen), n)
			}
			if len(rs) > 1 && nonEmpty < 2 {
				t.Fatalf("%d ranges but all rows in one: the bounds do not match the tablespace's ROWID encoding", len(rs))
			}
		})
	}
}

// TestOracleLongInterval: INTERVAL DAY TO SECOND beyond time.Duration's
// ≈106,751 days, negative, and with nanoseconds, arrive exactly.
func TestOracleLongInterval(t *testing.T) {
	o := openOracleIT(t, nil)
	tab := o.table(`(ID NUMBER(2), I6 INTERVAL DAY(6) TO SECOND(6), I9 INTERVAL DAY(9) TO SECOND(9))`)
	o.exec(`INSERT INTO ` + tab + ` VALUES (1, INTERVAL '200000 0:0:0' DAY(6) TO SECOND(6), INTERVAL '999999999 23:59:59.999999999' DAY(9) TO SECOND(9))`)
	o.exec(`INSERT INTO ` + tab + ` VALUES (2, INTERVAL '-3 4:05:06.5' DAY(6) TO SECOND(6), INTERVAL '-0 0:0:0.000000007' DAY(9) TO SECOND(9))`)
	o.exec(`INSERT INTO ` + tab + ` VALUES (3, NULL, INTERVAL '0 0:0:0' DAY(9) TO SECOND(9))`)
	_, rows := o.read(tab, 1)
	want := map[string][2]any{
		"1": {"+200000 00:00:00.000000", "+999999999 23:59:59.999999999"},
		"2": {"-03 04:05:06.500000", "-00 00:00:00.000000007"},
		"3": {nil, "+00 00:00:00.000000000"},
	}
	for _, r := range rows {
		w := want[fmt.Sprint(r[0])]
		if r[1] != w[0] || r[2] != w[1] {
			t.Errorf("row %v: %#v %#v, want %#v %#v", r[0], r[1], r[2], w[0], w[1])
		}
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
}

// TestOracleInvisibleColumns: INVISIBLE columns (12c+) are described,
// marked and read.
func TestOracleInvisibleColumns(t *testing.T) {
	o := openOracleIT(t, nil)
	var version string
	if err := o.c.DB().QueryRowContext(o.ctx, `SELECT VERSION FROM PRODUCT_COMPONENT_VERSION WHERE PRODUCT LIKE 'Oracle%' AND ROWNUM = 1`).Scan(&version); err == nil && strings.HasPrefix(version, "11.") {
		t.Skip("Oracle 11g has no invisible columns")
	}
	tab := o.table(`(ID NUMBER(10), V VARCHAR2(10), SECRET NUMBER(15,2) INVISIBLE)`)
	o.exec(`INSERT INTO ` + tab + ` (ID, V, SECRET) VALUES (1, 'a', 12.5)`)
	ti, rows := o.read(tab, 1)
	if len(ti.Columns) != 3 || ti.Columns[2].Name != "SECRET" || !ti.Columns[2].Invisible || ti.Columns[0].Invisible {
		t.Fatalf("columns %+v", ti.Columns)
	}
	if len(rows) != 1 || rows[0][2] != "12.5" {
		t.Fatalf("rows %v", rows)
	}
}

// TestOracleIOTOneRange: an index-organized table cannot be cut by ROWID;
// it is read as one range, whole, and the snapshot's note says so.
func TestOracleIOTOneRange(t *testing.T) {
	o := openOracleIT(t, nil)
	tab := o.table(`(ID NUMBER(10) PRIMARY KEY, V VARCHAR2(100)) ORGANIZATION INDEX`)
	o.exec(`INSERT INTO `+tab+` SELECT LEVEL, RPAD('v', 90, 'v') FROM DUAL CONNECT BY LEVEL <= :n`, 5000)
	ti, err := o.c.Describe(o.ctx, tab)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := o.c.Snapshot(o.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	rs, err := o.c.Ranges(o.ctx, ti, snap, 4)
	if err != nil {
		t.Fatalf("an IOT must run as one range, not fail: %v", err)
	}
	if len(rs) != 1 {
		t.Fatalf("ranges %+v", rs)
	}
	if info := snap.Info(); info.Kind == "scn" && !strings.Contains(info.Note, tab+" was read as one range") {
		t.Errorf("snapshot note %q does not name %s", info.Note, tab)
	}
	_, rows := o.read(tab, 4)
	if len(rows) != 5000 {
		t.Fatalf("%d rows", len(rows))
	}
}

// TestOracleObjectColumnRefused: a table with an object-type column is
// refused when described, naming the column.
func TestOracleObjectColumnRefused(t *testing.T) {
	o := openOracleIT(t, nil)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	typ := "ORA2GCS_IT_T" + strings.ToUpper(hex.EncodeToString(rnd[:]))
	if _, err := o.c.DB().ExecContext(o.ctx, `CREATE TYPE `+typ+` AS OBJECT (A NUMBER, B VARCHAR2(10))`); err != nil {
		t.Skipf("cannot create a type (needs CREATE TYPE): %v", err)
	}
	t.Cleanup(func() { _, _ = o.c.DB().ExecContext(context.Background(), `DROP TYPE `+typ+` FORCE`) }) // after the table's drop
	tab := o.table(`(ID NUMBER(10), OBJ ` + typ + `)`)
	_, err := o.c.Describe(o.ctx, tab)
	if err == nil || !strings.Contains(err.Error(), `"OBJ"`) || !strings.Contains(err.Error(), typ) {
		t.Fatalf("err = %v, want a refusal naming column OBJ and type %s", err, typ)
	}
}

// TestOracleNativeJSON (21c+): a native JSON document arrives with its
// numbers' digits and its key order.
func TestOracleNativeJSON(t *testing.T) {
	o := openOracleIT(t, nil)
	var major int
	if err := o.c.DB().QueryRowContext(o.ctx, `SELECT TO_NUMBER(REGEXP_SUBSTR(VERSION, '^[0-9]+')) FROM PRODUCT_COMPONENT_VERSION WHERE PRODUCT LIKE 'Oracle%' AND ROWNUM = 1`).Scan(&major); err != nil {
		t.Fatal(err)
	}
	if major < 21 {
		t.Skipf("Oracle %d has no native JSON type", major)
	}
	tab := o.table(`(ID NUMBER(2), DOC JSON)`)
	o.exec(`INSERT INTO ` + tab + ` VALUES (1, JSON('{"z":12345678901234567890,"a":0.1000000000000000055511151231257827}'))`)
	_, rows := o.read(tab, 1)
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	doc, _ := rows[0][1].(string)
	if !strings.Contains(doc, "12345678901234567890") || !strings.Contains(doc, "0.1000000000000000055511151231257827") ||
		strings.Index(doc, `"z"`) > strings.Index(doc, `"a"`) {
		t.Fatalf("DOC = %q: digits or key order changed", doc)
	}
}

// TestOracleRegionTimeZones: TIMESTAMP WITH TIME ZONE values with region
// names arrive with their offset at that instant. When the Instant
// Client's time-zone file differs from the database's (ORA-01805), the
// first read fails transiently and the retry reads them as text.
func TestOracleRegionTimeZones(t *testing.T) {
	o := openOracleIT(t, nil)
	tab := o.table(`(ID NUMBER(2), TZ TIMESTAMP(6) WITH TIME ZONE)`)
	o.exec(`INSERT INTO ` + tab + ` VALUES (1, TIMESTAMP '2024-07-01 12:00:00.5 Europe/Berlin')`)
	o.exec(`INSERT INTO ` + tab + ` VALUES (2, TIMESTAMP '2024-01-15 08:30:00 America/Sao_Paulo')`)
	ti, err := o.c.Describe(o.ctx, tab)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	for attempt := 1; ; attempt++ {
		rows = rows[:0]
		src, err := o.c.Open(o.ctx, ti, nil, pipeline.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for err == nil {
			var b *pipeline.Batch
			if b, err = src.Next(o.ctx); err == nil {
				rows = append(rows, b.Rows...)
			}
		}
		src.Close()
		if err == io.EOF {
			break
		}
		if attempt > 1 || !pipeline.IsTransient(err) {
			t.Fatal(err)
		}
		t.Logf("first read: %v", err)
	}
	want := map[string]string{"1": "2024-07-01T12:00:00.5+02:00", "2": "2024-01-15T08:30:00-03:00"}
	for _, r := range rows {
		if got := r[1].(time.Time).Format(time.RFC3339Nano); got != want[fmt.Sprint(r[0])] {
			t.Errorf("row %v: %s, want %s", r[0], got, want[fmt.Sprint(r[0])])
		}
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
}

// TestOracleLargeLOBs: CLOBs and BLOBs of several MB arrive whole,
// streamed through their locators in byte-bounded batches.
func TestOracleLargeLOBs(t *testing.T) {
	o := openOracleIT(t, nil)
	tab := o.table(`(ID NUMBER(4), C CLOB, B BLOB)`)
	o.exec(`DECLARE c CLOB; b BLOB; piece VARCHAR2(32767) := RPAD('x', 32767, 'x'); BEGIN
		FOR i IN 1..12 LOOP
			INSERT INTO ` + tab + ` VALUES (i, EMPTY_CLOB(), EMPTY_BLOB()) RETURNING C, B INTO c, b;
			FOR k IN 1..100 LOOP
				DBMS_LOB.WRITEAPPEND(c, LENGTH(piece), piece);
				DBMS_LOB.WRITEAPPEND(b, 16384, UTL_RAW.CAST_TO_RAW(SUBSTR(piece, 1, 16384)));
			END LOOP;
		END LOOP;
		COMMIT;
	END;`)
	_, rows := o.read(tab, 1)
	if len(rows) != 12 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		c, _ := r[1].(string)
		b, _ := r[2].([]byte)
		if len(c) != 100*32767 || len(b) != 100*16384 {
			t.Fatalf("row %v: CLOB %d bytes, BLOB %d bytes", r[0], len(c), len(b))
		}
	}
}

// TestOracleLOBsAroundInlineLimit: CLOB, NCLOB and BLOB values on both
// sides of the inline limits (LOBInlineChars, LOBInlineBytes), NULL and
// empty ones, multi-byte text and values of several MB come out of the
// connector's reader (short values inline, longer ones streamed through
// their locators) exactly as expected and exactly as godror's whole-value
// inline read through database/sql gives them.
func TestOracleLOBsAroundInlineLimit(t *testing.T) {
	o := openOracleIT(t, nil)
	tab := o.table(`(ID NUMBER(4), C CLOB, N NCLOB, B BLOB)`)
	o.exec(`DECLARE
		PROCEDURE put(i PLS_INTEGER, c CLOB, n NCLOB, b BLOB) IS BEGIN INSERT INTO ` + tab + ` VALUES (i, c, n, b); END;
		FUNCTION rep(s NVARCHAR2, k PLS_INTEGER) RETURN NCLOB IS
			r NCLOB; m PLS_INTEGER := LEAST(k, 500); piece NVARCHAR2(8000) := RPAD(s, LENGTH(s) * LEAST(k, 500), s); left PLS_INTEGER := k;
		BEGIN
			DBMS_LOB.CREATETEMPORARY(r, TRUE);
			WHILE left >= m LOOP DBMS_LOB.WRITEAPPEND(r, LENGTH(piece), piece); left := left - m; END LOOP;
			IF left > 0 THEN DBMS_LOB.WRITEAPPEND(r, LENGTH(s) * left, RPAD(s, LENGTH(s) * left, s)); END IF;
			RETURN r;
		END;
		FUNCTION bytes(k PLS_INTEGER) RETURN BLOB IS
			r BLOB; piece RAW(2000) := UTL_RAW.COPIES(HEXTORAW('AB'), 2000); left PLS_INTEGER := k;
		BEGIN
			DBMS_LOB.CREATETEMPORARY(r, TRUE);
			WHILE left > 0 LOOP DBMS_LOB.WRITEAPPEND(r, LEAST(left, 2000), piece); left := left - LEAST(left, 2000); END LOOP;
			RETURN r;
		END;
	BEGIN
		put(1, NULL, NULL, NULL);
		INSERT INTO ` + tab + ` VALUES (2, EMPTY_CLOB(), EMPTY_CLOB(), EMPTY_BLOB());
		put(3, 'short', UNISTR('\20AC'), HEXTORAW('00'));
		put(4, TO_CLOB(rep('a', ` + fmt.Sprint(LOBInlineChars) + `)), rep(UNISTR('\20AC'), ` + fmt.Sprint(LOBInlineChars) + `), bytes(` + fmt.Sprint(LOBInlineBytes) + `));
		put(5, TO_CLOB(rep('a', ` + fmt.Sprint(LOBInlineChars+1) + `)), rep(UNISTR('\20AC'), ` + fmt.Sprint(LOBInlineChars+1) + `), bytes(` + fmt.Sprint(LOBInlineBytes+1) + `));
		put(6, TO_CLOB(rep('xyz', 1000000)), rep(UNISTR('x\20ACy'), 1000000), bytes(3000000));
		COMMIT;
	END;`)
	euro := "€"
	want := map[string][3]any{
		"1": {nil, nil, nil},
		"2": {nil, nil, []byte{}},
		"3": {"short", euro, []byte{0}},
		"4": {strings.Repeat("a", LOBInlineChars), strings.Repeat(euro, LOBInlineChars), bytes.Repeat([]byte{0xab}, LOBInlineBytes)},
		"5": {strings.Repeat("a", LOBInlineChars+1), strings.Repeat(euro, LOBInlineChars+1), bytes.Repeat([]byte{0xab}, LOBInlineBytes+1)},
		"6": {strings.Repeat("xyz", 1000000), strings.Repeat("x"+euro+"y", 1000000), bytes.Repeat([]byte{0xab}, 3000000)},
	}
	_, streamed := o.read(tab, 1)
	o.c.viaDatabaseSQL = true
	_, inline := o.read(tab, 1)
	o.c.viaDatabaseSQL = false
	if len(streamed) != 6 || len(inline) != 6 {
		t.Fatalf("%d and %d rows", len(streamed), len(inline))
	}
	for i, r := range streamed {
		w := want[fmt.Sprint(r[0])]
		for j := 0; j < 3; j++ {
			if !reflect.DeepEqual(r[j+1], w[j]) {
				t.Errorf("row %v column %d: %T of %d, want %T of %d", r[0], j+1, r[j+1], lobLen(r[j+1]), w[j], lobLen(w[j]))
			}
			if !reflect.DeepEqual(r[j+1], inline[i][j+1]) {
				t.Errorf("row %v column %d: streamed %T of %d, inline %T of %d", r[0], j+1, r[j+1], lobLen(r[j+1]), inline[i][j+1], lobLen(inline[i][j+1]))
			}
		}
	}
}

func lobLen(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []byte:
		return len(x)
	}
	return -1
}

// TestOracleCLOBReplacementChars: U+FFFD is ordinary text in a CLOB, but
// the driver's CLOB reader drops it where it ends a read. A streamed CLOB
// with U+FFFD inside arrives whole; one ending in U+FFFD either arrives
// whole or fails the read naming the column and U+FFFD: never written cut.
func TestOracleCLOBReplacementChars(t *testing.T) {
	o := openOracleIT(t, nil)
	var cs string
	if err := o.c.DB().QueryRowContext(o.ctx, `SELECT VALUE FROM NLS_DATABASE_PARAMETERS WHERE PARAMETER = 'NLS_CHARACTERSET'`).Scan(&cs); err != nil {
		t.Fatal(err)
	}
	if cs != "AL32UTF8" && cs != "UTF8" {
		t.Skipf("database character set %s cannot store U+FFFD in a CLOB", cs)
	}
	fffd := "\uFFFD"
	// build stores s1 repeated n1 times, then s2 repeated n2 times, as one CLOB
	build := func(tab, s1 string, n1 int, s2 string, n2 int) {
		o.exec(`DECLARE c CLOB; n1 PLS_INTEGER := :n1; s1 VARCHAR2(32767) := :s1; n2 PLS_INTEGER := :n2; s2 VARCHAR2(32767) := :s2;
		BEGIN DBMS_LOB.CREATETEMPORARY(c, TRUE);
			FOR i IN 1..n1 LOOP DBMS_LOB.WRITEAPPEND(c, LENGTH(s1), s1); END LOOP;
			FOR i IN 1..n2 LOOP DBMS_LOB.WRITEAPPEND(c, LENGTH(s2), s2); END LOOP;
			INSERT INTO `+tab+` VALUES (1, c); COMMIT; END;`, n1, s1, n2, s2)
	}
	inside := o.table(`(ID NUMBER(2), C CLOB)`)
	build(inside, "ab"+fffd+fffd+"z", 3000, "end", 1)
	_, rows := o.read(inside, 1)
	if want := strings.Repeat("ab"+fffd+fffd+"z", 3000) + "end"; len(rows) != 1 || rows[0][1] != want {
		t.Fatalf("CLOB with U+FFFD inside: %d rows, value %T of %d bytes, want %d bytes", len(rows), rows[0][1], lobLen(rows[0][1]), len(want))
	}

	ending := o.table(`(ID NUMBER(2), C CLOB)`)
	build(ending, "a", 2000, fffd, 2)
	ti, err := o.c.Describe(o.ctx, ending)
	if err != nil {
		t.Fatal(err)
	}
	src, err := o.c.Open(o.ctx, ti, nil, pipeline.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want := strings.Repeat("a", 2000) + fffd + fffd
	var got any
	for {
		b, err := src.Next(o.ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			if !strings.Contains(err.Error(), "U+FFFD") || !strings.Contains(err.Error(), "column C") {
				t.Fatalf("read failed without saying why: %v", err)
			}
			t.Logf("CLOB ending in U+FFFD: %v", err)
			return
		}
		for _, r := range b.Rows {
			got = r[1]
		}
	}
	if got != want {
		t.Fatalf("CLOB ending in U+FFFD written as %T of %d bytes, want %d bytes", got, lobLen(got), len(want))
	}
}

// TestOracleMissingBFILE: a BFILE whose file does not exist has no length;
// the read fails naming the column instead of writing an empty value.
// Needs CREATE ANY DIRECTORY (skipped without it).
func TestOracleMissingBFILE(t *testing.T) {
	o := openOracleIT(t, nil)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	dir := "ORA2GCS_IT_D" + strings.ToUpper(hex.EncodeToString(rnd[:]))
	if _, err := o.c.DB().ExecContext(o.ctx, `CREATE DIRECTORY `+dir+` AS '/nonexistent/ora2gcs'`); err != nil {
		t.Skipf("cannot create a directory object (needs CREATE ANY DIRECTORY): %v", err)
	}
	t.Cleanup(func() { _, _ = o.c.DB().ExecContext(context.Background(), `DROP DIRECTORY `+dir) })
	tab := o.table(`(ID NUMBER(2), F BFILE)`)
	o.exec(`INSERT INTO ` + tab + ` VALUES (1, BFILENAME('` + dir + `', 'missing.bin'))`)
	ti, err := o.c.Describe(o.ctx, tab)
	if err != nil {
		t.Fatal(err)
	}
	src, err := o.c.Open(o.ctx, ti, nil, pipeline.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for {
		b, err := src.Next(o.ctx)
		if err == io.EOF {
			t.Fatal("a BFILE whose file is missing was read without an error")
		}
		if err != nil {
			if !strings.Contains(err.Error(), "column F") {
				t.Fatalf("error does not name the column: %v", err)
			}
			t.Logf("missing BFILE: %v", err)
			return
		}
		for _, r := range b.Rows {
			t.Fatalf("a BFILE whose file is missing was read as %#v", r[1])
		}
	}
}

// EnvTestNoFlashbackTable names, for TestOracleNoFlashbackTable, a small
// table of another schema (OWNER.TABLE) that the user of EnvTestDSN may
// SELECT but not read AS OF an SCN: as a DBA, GRANT SELECT ON owner.table
// TO the user, and no FLASHBACK on it nor FLASHBACK ANY TABLE.
const EnvTestNoFlashbackTable = "ORA2GCS_TEST_ORACLE_NOFLASHBACK_TABLE"

// TestOracleNoFlashbackTable runs a job of one of the user's own tables
// (read AS OF the job's SCN) and a table of another schema it lacks
// FLASHBACK on: Oracle refuses that table's AS OF read with ORA-01031, it
// is read in a READ ONLY transaction, and the manifest and the job record
// say so for that table and do not claim one point in time.
func TestOracleNoFlashbackTable(t *testing.T) {
	o := openOracleIT(t, nil)
	other := os.Getenv(EnvTestNoFlashbackTable)
	if other == "" {
		t.Skip(EnvTestNoFlashbackTable + " is not set: name a small table of another schema (OWNER.TABLE) the test user may " +
			"SELECT but not FLASHBACK")
	}
	var n int
	if err := o.c.DB().QueryRowContext(o.ctx, `SELECT COUNT(*) FROM SESSION_PRIVS WHERE PRIVILEGE = 'FLASHBACK ANY TABLE'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		t.Skip("the test user has FLASHBACK ANY TABLE: every table can be read AS OF SCN")
	}
	own := o.table(`(ID NUMBER(10), V VARCHAR2(20))`)
	o.exec(`INSERT INTO `+own+` SELECT LEVEL, 'v' || LEVEL FROM DUAL CONNECT BY LEVEL <= :n`, 100)
	ownInfo, err := o.c.Describe(o.ctx, own)
	if err != nil {
		t.Fatal(err)
	}
	otherInfo, err := o.c.Describe(o.ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	e := newOracleJobEnv(t, o.c)
	tr, err := e.m.CreateTransport(o.ctx, jobs.NewTransport{Name: "no flashback", Tables: []string{own, other}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.m.Execute(o.ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j, err = e.m.Wait(o.ctx, j.ID); err != nil || j.Status != jobs.StatusCompleted {
		t.Fatalf("job %s %v: %v", j.Status, j.Error, err)
	}
	rec, err := e.m.GetJob(o.ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(e.root, "ora-bucket", tr.ID, "v001", "_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man jobs.Manifest
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	for i, te := range rec.Tables {
		mc, c := man.Tables[i].Consistency, te.Consistency
		if c == nil || mc == nil || *c != *mc {
			t.Errorf("%s: job record %+v, manifest %+v", te.TableName, c, mc)
			continue
		}
		switch i {
		case 0:
			if c.Mode != pipeline.ConsistencyAsOfSCN || !c.AtSnapshot || c.ID != man.Snapshot.ID {
				t.Errorf("%s (own): %+v, want as_of_scn %s", ownInfo.Name, c, man.Snapshot.ID)
			}
		case 1:
			if c.Mode != pipeline.ConsistencyReadOnlyTransaction || c.AtSnapshot || c.Code != "ORA-01031" {
				t.Errorf("%s.%s: %+v, want read_only_transaction ORA-01031", otherInfo.Schema, otherInfo.Name, c)
			}
		}
	}
	if man.Consistency.OnePointInTime || len(man.Consistency.NotAtSnapshot) != 1 {
		t.Errorf("manifest consistency %+v", man.Consistency)
	}
}
