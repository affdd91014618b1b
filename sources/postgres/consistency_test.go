package postgres_test

import (
	"context"
	"database/sql"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
)

func loadVBRP(t testing.TB, db *sql.DB, table string, rows int) {
	t.Helper()
	err := pgtest.CreateVBRP(context.Background(), func(ctx context.Context, q string, args ...any) error {
		_, err := db.ExecContext(ctx, q, args...)
		return err
	}, table, rows)
	if err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotConsistency(t *testing.T) {
	db := admin(t)
	for _, tb := range []string{"snap_a", "snap_b"} {
		exec(t, db, `DROP TABLE IF EXISTS `+tb)
		exec(t, db, `CREATE TABLE `+tb+` (id int PRIMARY KEY, v text)`)
		exec(t, db, `INSERT INTO `+tb+` SELECT g, 'v' || g FROM generate_series(1, 1000) g`)
	}
	c := open(t, postgres.Options{})
	ctx := context.Background()
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	info := snap.Info()
	if info.Kind != "pg_snapshot" || info.ID == "" {
		t.Fatalf("snapshot info %+v", info)
	}
	// every table is read in a transaction importing the snapshot
	if tc, ok := snap.TableConsistency(mustDescribe(t, c, "snap_a")); !ok ||
		tc != (pipeline.TableConsistency{Mode: pipeline.ConsistencySnapshot, ID: info.ID, AtSnapshot: true}) {
		t.Fatalf("table consistency %+v %v", tc, ok)
	}
	// another connection changes both tables after the snapshot
	exec(t, db, `INSERT INTO snap_a SELECT g, 'new' FROM generate_series(1001, 1500) g`)
	exec(t, db, `UPDATE snap_a SET v = 'changed' WHERE id <= 10`)
	exec(t, db, `DELETE FROM snap_b WHERE id > 500`)
	for _, tb := range []string{"snap_a", "snap_b"} {
		for _, opts := range []pipeline.ReadOptions{{BatchRows: 7}, {BatchRows: 1000}, {BatchRows: 10000}, {BatchRows: 7, Raw: true}, {BatchRows: 10000, Raw: true}} {
			_, rows, _ := readAll(t, c, tb, snap, opts)
			if len(rows) != 1000 {
				t.Fatalf("%s with snapshot (%+v): %d rows, want 1000", tb, opts, len(rows))
			}
			seen := map[int64]bool{}
			for _, r := range rows {
				id := asInt(t, r[0])
				if seen[id] || r[1] != "v"+itoa(id) {
					t.Fatalf("%s: row %v (duplicate=%v)", tb, r, seen[id])
				}
				seen[id] = true
			}
		}
	}
	n, err := c.Count(ctx, mustDescribe(t, c, "snap_a"), snap)
	if err != nil || n != 1000 {
		t.Fatalf("Count as of snapshot = %d, %v", n, err)
	}
	// without the snapshot the changes are visible
	for _, raw := range []bool{false, true} {
		_, rows, _ := readAll(t, c, "snap_a", nil, pipeline.ReadOptions{Raw: raw})
		if len(rows) != 1500 {
			t.Fatalf("current snap_a (raw %v): %d rows, want 1500", raw, len(rows))
		}
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	// a closed snapshot cannot be imported any more
	ti := mustDescribe(t, c, "snap_a")
	for _, raw := range []bool{false, true} {
		if src, err := c.Open(ctx, ti, snap, pipeline.ReadOptions{Raw: raw}); err == nil {
			src.Close()
			t.Fatalf("reading with a closed snapshot succeeded (raw %v)", raw)
		} else if pipeline.IsTransient(err) {
			t.Fatalf("closed snapshot error is transient (raw %v): %v", raw, err)
		}
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func mustDescribe(t testing.TB, c *postgres.Connector, name string) pipeline.TableInfo {
	t.Helper()
	ti, err := c.Describe(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return ti
}

func TestKilledConnectionIsTransient(t *testing.T) {
	db := admin(t)
	exec(t, db, `DROP TABLE IF EXISTS killme`)
	exec(t, db, `CREATE TABLE killme (id int, pad text)`)
	exec(t, db, `INSERT INTO killme SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g`)
	for _, mode := range readModes {
		t.Run(mode.name, func(t *testing.T) {
			c := open(t, mode.opts)
			ctx := context.Background()
			ti := mustDescribe(t, c, "killme")
			src, err := c.Open(ctx, ti, nil, pipeline.ReadOptions{BatchRows: 1000, Raw: mode.raw})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if _, err := src.Next(ctx); err != nil {
				t.Fatal(err)
			}
			var killed bool
			if err := db.QueryRow(`SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE (query LIKE 'SELECT "id", "pad" FROM%' OR query LIKE 'COPY (SELECT "id", "pad" FROM%') AND pid <> pg_backend_pid()`).Scan(&killed); err != nil || !killed {
				t.Fatalf("terminate: %v %v", killed, err)
			}
			for {
				_, err = src.Next(ctx)
				if err != nil {
					break
				}
			}
			if err == io.EOF {
				t.Fatal("table read to the end after its backend was terminated")
			}
			if !pipeline.IsTransient(err) {
				t.Fatalf("error is not transient: %v", err)
			}
			// the pool recovers: the table can be read again (what a retry does)
			_, rows, _ := readAll(t, c, "killme", nil, pipeline.ReadOptions{Raw: mode.raw})
			if len(rows) != 100000 {
				t.Fatalf("re-read %d rows", len(rows))
			}
		})
	}
}

func TestLimitAndBatches(t *testing.T) {
	db := admin(t)
	exec(t, db, `DROP TABLE IF EXISTS batches`)
	exec(t, db, `CREATE TABLE batches (id int)`)
	exec(t, db, `INSERT INTO batches SELECT g FROM generate_series(1, 25003) g`)
	for _, mode := range readModes {
		c := open(t, mode.opts)
		for _, tc := range []struct {
			name  string
			opts  pipeline.ReadOptions
			sizes []int
		}{
			{"default 10000", pipeline.ReadOptions{}, []int{10000, 10000, 5003}},
			{"sample 100", pipeline.ReadOptions{Limit: 100}, []int{100}},
			{"limit 25 batch 10", pipeline.ReadOptions{Limit: 25, BatchRows: 10}, []int{10, 10, 5}},
			{"batch 25003", pipeline.ReadOptions{BatchRows: 25003}, []int{25003}},
			{"batch 5001", pipeline.ReadOptions{BatchRows: 5001}, []int{5001, 5001, 5001, 5001, 4999}},
		} {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				opts := tc.opts
				opts.Raw = mode.raw
				_, rows, sizes := readAll(t, c, "batches", nil, opts)
				if len(sizes) != len(tc.sizes) {
					t.Fatalf("batch sizes %v, want %v", sizes, tc.sizes)
				}
				for i := range sizes {
					if sizes[i] != tc.sizes[i] {
						t.Fatalf("batch sizes %v, want %v", sizes, tc.sizes)
					}
				}
				for i, r := range rows {
					if asInt(t, r[0]) != int64(i+1) {
						t.Fatalf("row %d = %v", i, r)
					}
				}
			})
		}
	}
}

func TestRanges(t *testing.T) {
	db := admin(t)
	exec(t, db, `DROP TABLE IF EXISTS ranged`)
	exec(t, db, `CREATE TABLE ranged (id int, pad text)`)
	exec(t, db, `INSERT INTO ranged SELECT g, repeat('r', 100) FROM generate_series(1, 20000) g`)
	c := open(t, postgres.Options{})
	ctx := context.Background()
	ti := mustDescribe(t, c, "ranged")
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	rs, err := c.Ranges(ctx, ti, snap, 4)
	if err != nil || len(rs) != 4 {
		t.Fatalf("ranges %v, %v", rs, err)
	}
	for _, raw := range []bool{false, true} {
		seen := make(map[int64]bool)
		for _, r := range rs {
			_, rows, _ := readAll(t, c, "ranged", snap, pipeline.ReadOptions{Range: &r, Raw: raw})
			for _, row := range rows {
				id := asInt(t, row[0])
				if seen[id] {
					t.Fatalf("row %d in two ranges (raw %v)", id, raw)
				}
				seen[id] = true
			}
		}
		if len(seen) != 20000 {
			t.Fatalf("ranges covered %d rows, want 20000 (raw %v)", len(seen), raw)
		}
	}
}

func TestTablesAndStatus(t *testing.T) {
	db := admin(t)
	loadVBRP(t, db, "vbrp_small", 2000)
	exec(t, db, `DROP TABLE IF EXISTS never_analysed`)
	exec(t, db, `CREATE TABLE never_analysed (x int)`)
	exec(t, db, `INSERT INTO never_analysed SELECT generate_series(1, 10)`)
	c := open(t, postgres.Options{})
	ctx := context.Background()
	find := func(ts []pipeline.TableInfo, name string) pipeline.TableInfo {
		for _, ti := range ts {
			if ti.Schema == "public" && ti.Name == name {
				return ti
			}
		}
		t.Fatalf("%s not listed", name)
		return pipeline.TableInfo{}
	}
	est, err := c.Tables(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if v := find(est, "vbrp_small"); v.Rows != 2000 || v.RowsExact || v.ColumnCount != 274 {
		t.Fatalf("estimate %+v", v)
	}
	if v := find(est, "never_analysed"); v.Rows != -1 {
		t.Fatalf("never analysed table estimate %+v", v)
	}
	exact, err := c.Tables(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if v := find(exact, "never_analysed"); v.Rows != 10 || !v.RowsExact {
		t.Fatalf("exact %+v", v)
	}
	ti := mustDescribe(t, c, "VBRP_SMALL")
	if len(ti.Columns) != 274 || ti.Columns[0].Name != "MANDT" || ti.Columns[0].Nullable || ti.Columns[0].SourceType != "character varying(3)" {
		t.Fatalf("describe: %d columns, first %+v", len(ti.Columns), ti.Columns[0])
	}
	st := c.Status(ctx)
	if !st.Reachable || st.Version == "" || st.Snapshot == "" || st.Pool.MaxOpen != 20 || st.Pool.MinIdle != 5 || st.Error != "" {
		t.Fatalf("status %+v", st)
	}
}

func TestVBRPReadersAgree(t *testing.T) {
	db := admin(t)
	loadVBRP(t, db, "vbrp_agree", 3000)
	_, native, _ := readAll(t, open(t, postgres.Options{}), "vbrp_agree", nil, pipeline.ReadOptions{BatchRows: 1000})
	_, viaSQL, _ := readAll(t, open(t, postgres.Options{DatabaseSQL: true}), "vbrp_agree", nil, pipeline.ReadOptions{BatchRows: 1000})
	if len(native) != 3000 || len(viaSQL) != 3000 {
		t.Fatalf("rows %d / %d", len(native), len(viaSQL))
	}
	var nulls, empties int
	for i := range native {
		for j := range native[i] {
			a, b := native[i][j], viaSQL[i][j]
			if ta, ok := a.(time.Time); ok {
				if tb, ok := b.(time.Time); !ok || !ta.Equal(tb) || ta.Format(time.DateTime) != tb.Format(time.DateTime) {
					t.Fatalf("row %d col %d: %v vs %v", i, j, a, b)
				}
				continue
			}
			if a != b {
				t.Fatalf("row %d col %d: native %#v, database/sql %#v", i, j, a, b)
			}
			switch a {
			case nil:
				nulls++
			case "":
				empties++
			}
		}
	}
	if nulls == 0 || empties == 0 {
		t.Fatalf("generator made %d NULLs and %d empty strings; want both", nulls, empties)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := postgres.Open(ctx, "postgres://u:s3cret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", postgres.Options{}); err == nil {
		t.Fatal("connected to port 1")
	} else if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error leaks the password: %v", err)
	}
	if _, err := postgres.Open(ctx, "postgres://x", postgres.Options{MaxOpen: 2, MinIdle: 5}); err == nil {
		t.Fatal("invalid options accepted")
	}
}
