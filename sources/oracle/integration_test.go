package oracle

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/stages"
)

// EnvTestDSN names a real Oracle for TestOracleIntegration:
// oracle://user@host:1521/service, with the password in ORACLE_PASSWORD
// (or the ATP variables with an empty DSN value "atp"). The user needs
// CREATE TABLE in its own schema; the test creates and drops one table.
const EnvTestDSN = "ORA2GCS_TEST_ORACLE_DSN"

const integrationRows = 5000

// TestOracleIntegration runs the whole path against a real Oracle: catalog,
// describe, SCN snapshot (rows inserted after it stay invisible), the
// pipeline to gzip NDJSON with every type family checked value by value,
// ROWID ranges that together read every row once, and a ROWNUM sample.
func TestOracleIntegration(t *testing.T) {
	dsn := os.Getenv(EnvTestDSN)
	if dsn == "" {
		t.Skip(EnvTestDSN + " is not set: set it to oracle://user@host:1521/service (password in ORACLE_PASSWORD), or to \"atp\" " +
			"with ORACLE_USER, ORACLE_PASSWORD, ORACLE_TNS_NAME, ORACLE_WALLET_PATH, to run the real-Oracle test (needs Instant Client 19)")
	}
	if dsn == "atp" {
		dsn = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg, err := NewConfig(dsn, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	db := c.DB()

	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	table := "ORA2GCS_IT_" + strings.ToUpper(hex.EncodeToString(rnd[:]))
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE ` + table + ` (ID NUMBER(10) PRIMARY KEY, N38 NUMBER(38), NNEG NUMBER(10,-2), NANY NUMBER, FL FLOAT,
		V VARCHAR2(20), NV NVARCHAR2(20), CH CHAR(4), D DATE, TS TIMESTAMP(6), TSTZ TIMESTAMP(6) WITH TIME ZONE,
		TSLTZ TIMESTAMP(6) WITH LOCAL TIME ZONE, IDS INTERVAL DAY(2) TO SECOND(6), IYM INTERVAL YEAR(2) TO MONTH,
		R RAW(16), B BLOB, C CLOB, NC NCLOB, BF BINARY_FLOAT, BD BINARY_DOUBLE)`)
	t.Cleanup(func() { _, _ = db.ExecContext(context.Background(), `DROP TABLE `+table+` PURGE`) })
	exec(`INSERT INTO ` + table + ` VALUES (1, 99999999999999999999999999999999999999, 12345, 1/3, 0.1,
		'abc', N'한국어', 'AB', TO_DATE('2024-12-31 23:59:59', 'YYYY-MM-DD HH24:MI:SS'),
		TO_TIMESTAMP('2024-01-02 03:04:05.123456', 'YYYY-MM-DD HH24:MI:SS.FF6'),
		TO_TIMESTAMP_TZ('2024-01-02 03:04:05.5 +09:00', 'YYYY-MM-DD HH24:MI:SS.FF TZH:TZM'),
		TO_TIMESTAMP_TZ('2024-01-02 03:04:05 +09:00', 'YYYY-MM-DD HH24:MI:SS TZH:TZM'),
		INTERVAL '1 12:00:01.5' DAY TO SECOND, INTERVAL '-1-6' YEAR TO MONTH,
		HEXTORAW('DEADBEEF'), HEXTORAW('0102'), 'clob text', N'nclob 텍스트', BINARY_FLOAT_INFINITY, BINARY_DOUBLE_NAN)`)
	exec(`INSERT INTO ` + table + ` (ID, V, C) VALUES (2, '', '')`)
	exec(`INSERT INTO `+table+` (ID, V, N38) SELECT LEVEL + 10, 'r' || LEVEL, LEVEL FROM DUAL CONNECT BY LEVEL <= :n`, integrationRows-2)
	exec(`BEGIN DBMS_STATS.GATHER_TABLE_STATS(USER, :t); END;`, table)

	tables, err := c.Tables(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var listed bool
	for _, ti := range tables {
		listed = listed || ti.Name == table
	}
	if !listed {
		t.Fatalf("%s not in Tables", table)
	}
	ti, err := c.Describe(ctx, strings.ToLower(table))
	if err != nil {
		t.Fatal(err)
	}

	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	t.Logf("snapshot %+v", snap.Info())
	exec(`INSERT INTO ` + table + ` (ID, V) VALUES (999999999, 'after the snapshot')`)

	src, err := c.Open(ctx, ti, snap, pipeline.ReadOptions{BatchRows: 700})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := file.New(t.TempDir(), "bucket")
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Pipeline{Source: src, Sink: sink, Name: "IT/" + table + ".jsonl.gz",
		Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: compression.Must(compression.New(compression.Spec{Name: "pgzip", Level: 1}))}
	st, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != integrationRows {
		t.Fatalf("%d rows, want %d (a row inserted after the snapshot must not appear)", st.Rows, integrationRows)
	}
	rows := readNDJSON(t, sink, p.Name)
	byID := map[string]map[string]any{}
	for _, r := range rows {
		byID[r["ID"].(json.Number).String()] = r
	}
	if _, ok := byID["999999999"]; ok {
		t.Fatal("row inserted after the snapshot was read")
	}
	want := map[string]any{
		"N38": "99999999999999999999999999999999999999", "NNEG": "12300", "V": "abc", "NV": "한국어", "CH": "AB  ",
		"D": "2024-12-31T23:59:59", "TS": "2024-01-02T03:04:05.123456", "TSTZ": "2024-01-02T03:04:05.500000+09:00",
		"TSLTZ": "2024-01-01T18:04:05.000000Z", "IDS": "+01 12:00:01.500000", "IYM": "-01-06", "R": "3q2+7w==", "B": "AQI=",
		"C": "clob text", "NC": "nclob 텍스트", "BF": "Infinity", "BD": "NaN",
	}
	for k, w := range want {
		got := byID["1"][k]
		if n, ok := got.(json.Number); ok {
			got = n.String()
		}
		if got != w && !(k == "TSLTZ" && got == "2024-01-01T18:04:05.000000+00:00") {
			t.Errorf("%s = %#v, want %#v", k, got, w)
		}
	}
	if n := byID["1"]["NANY"].(json.Number).String(); !strings.HasPrefix(n, ".3333333333") && !strings.HasPrefix(n, "0.3333333333") {
		t.Errorf("NANY = %s", n)
	}
	for _, k := range []string{"V", "C", "D", "B", "BF"} {
		if byID["2"][k] != nil {
			t.Errorf("row 2 %s = %#v, want null ('' is NULL in Oracle)", k, byID["2"][k])
		}
	}

	ranges, err := c.Ranges(ctx, ti, snap, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d ranges", len(ranges))
	seen := map[string]bool{}
	for i := range ranges {
		src, err := c.Open(ctx, ti, snap, pipeline.ReadOptions{Range: &ranges[i]})
		if err != nil {
			t.Fatal(err)
		}
		for {
			b, err := src.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range b.Rows {
				id := fmt.Sprint(r[0]) // NUMBER(10) arrives as int64
				if seen[id] {
					t.Fatalf("row %s read by two ranges", id)
				}
				seen[id] = true
			}
		}
		src.Close()
	}
	if len(seen) != integrationRows {
		t.Fatalf("ranges read %d rows, want %d", len(seen), integrationRows)
	}

	sample, err := c.Open(ctx, ti, nil, pipeline.ReadOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer sample.Close()
	var n int
	for {
		b, err := sample.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n += len(b.Rows)
	}
	if n != 100 {
		t.Fatalf("sample %d rows", n)
	}
	if st := c.Status(ctx); !st.Reachable || st.Version == "" {
		t.Fatalf("status %+v", st)
	}
}

func readNDJSON(t *testing.T, sink *file.Sink, name string) []map[string]any {
	t.Helper()
	f, err := sink.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
