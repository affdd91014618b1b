package postgres_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/file"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
	"github.com/ora2gcs/ora2gcs/stages"
)

// ndjson runs the whole pipeline over one table and returns the NDJSON.
func ndjson(t *testing.T, c *postgres.Connector, table string, opts pipeline.ReadOptions) (string, pipeline.Stats) {
	t.Helper()
	ctx := context.Background()
	ti := mustDescribe(t, c, table)
	src, err := c.Open(ctx, ti, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := file.New(t.TempDir(), "bucket")
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.Pipeline{Source: src, Sink: sink, Name: table + ".jsonl.gz",
		Encoder: stages.NDJSON(stages.NDJSONOptions{}), Codec: compression.Must(compression.New(compression.Spec{Name: "pgzip", Level: 1})),
		Config: pipeline.Config{EncodeWorkers: 3, PieceBytes: 4096}}
	st, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := sink.Open(table + ".jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), st
}

// TestCopyMatchesNative: the COPY reader (raw batches decoded by the encode
// workers) and the native row reader write byte-identical NDJSON for every
// type, escape-heavy text, extreme values and NULLs, and for VBRP.
func TestCopyMatchesNative(t *testing.T) {
	db := admin(t)
	exec(t, db, `DROP TABLE IF EXISTS copy_rt`)
	exec(t, db, `DROP TYPE IF EXISTS copy_mood`)
	exec(t, db, `CREATE TYPE copy_mood AS ENUM ('happy', 'sad')`)
	exec(t, db, `CREATE TABLE copy_rt (
  id int4 NOT NULL, i2 int2, i8 int8, num numeric, num_ps numeric(13,3), f4 float4, f8 float8,
  t text, vc varchar(20), bp char(5), b bool, d date, ts timestamp, ts0 timestamp(0), tstz timestamptz,
  by bytea, u uuid, j json, jb jsonb, ai int4[], at text[], an numeric[], iv interval, tm time, e copy_mood)`)
	exec(t, db, `INSERT INTO copy_rt VALUES `+strings.Join(typesRows, ","))
	exec(t, db, `INSERT INTO copy_rt VALUES
  (4, 32767, -9223372036854775808, 'Infinity', 9999999999.999, 3.4028235e38, 1.7976931348623157e308,
   E'tab\there\nnew\rcr\\back\bbs\fff\vvt "q" \u2028 \u2029 한국어 😀 \x01\x1f', E'a\tb', E'\\\\', false,
   '10000-12-31', '0044-03-15 12:00:00.000001 BC', '294276-12-31 23:59:59', '2024-06-30 23:59:59.999999-05:30',
   decode(repeat('00ff7f80', 4) || '5c0a09', 'hex'), '00000000-0000-0000-0000-000000000000',
   E'{"s": "tab\\t nl\\n bs\\\\ u\\u2028", "n": -0.0e-5}', E'{"k\\"ey": "v\\\\al\\n"}',
   '{2147483647,-2147483648}', E'{"back\\\\slash","q\\"uote","tab\\there",""}', '{-Infinity,0.000}',
   '-178000000 years', '24:00:00', 'sad'),
  (5, NULL, 0, '-Infinity', -0.001, 1.4e-45, 5e-324, E'\\N', 'N', E'\\', true,
   '4713-01-01 BC', '1999-01-08 04:05:06', '2000-02-29 00:00:00', '1970-01-01 00:00:00+14',
   E'\\x5c4e', NULL, '"just a string"', '[1, "two", {"three": [3]}, null, true]', '{}', '{NULL}', '{{1,2},{3,4}}',
   '1 day -00:00:00.000001', '00:00:00.000001', NULL)`)
	exec(t, db, `ANALYZE copy_rt`)
	loadVBRP(t, db, "vbrp_copy", 2500)
	c := open(t, postgres.Options{})
	conn, err := pgx.Connect(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	err = pgtest.CreateSynthVBRP(context.Background(), conn.PgConn(), "vbrp_copy_synth", 2000)
	conn.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"copy_rt", "vbrp_copy", "vbrp_copy_synth"} {
		for _, batch := range []int{1, 3, 1000} {
			t.Run(fmt.Sprintf("%s/batch%d", table, batch), func(t *testing.T) {
				native, nst := ndjson(t, c, table, pipeline.ReadOptions{BatchRows: batch})
				copied, cst := ndjson(t, c, table, pipeline.ReadOptions{BatchRows: batch, Raw: true})
				if nst.Rows != cst.Rows || nst.RawCRC32C != cst.RawCRC32C || nst.Batches != cst.Batches {
					t.Errorf("stats differ: native %+v, copy %+v", nst, cst)
				}
				if native != copied {
					nl, cl := strings.Split(native, "\n"), strings.Split(copied, "\n")
					for i := range min(len(nl), len(cl)) {
						if nl[i] != cl[i] {
							t.Fatalf("line %d differs:\nnative %s\ncopy   %s", i+1, nl[i], cl[i])
						}
					}
					t.Fatalf("native %d lines, copy %d lines", len(nl), len(cl))
				}
				if want := map[string]int64{"copy_rt": 5, "vbrp_copy": 2500, "vbrp_copy_synth": 2000}[table]; cst.Rows != want {
					t.Fatalf("%d rows, want %d", cst.Rows, want)
				}
			})
		}
	}
}

// TestCopyCloseMidTable: closing a COPY reader in the middle of a table
// stops the copy (no goroutine left: TestMain runs goleak), discards the
// connection instead of reading the rest, and the pool serves the next read.
func TestCopyCloseMidTable(t *testing.T) {
	db := admin(t)
	exec(t, db, `DROP TABLE IF EXISTS copy_big`)
	exec(t, db, `CREATE TABLE copy_big (id int, pad text)`)
	exec(t, db, `INSERT INTO copy_big SELECT g, repeat('p', 300) FROM generate_series(1, 200000) g`)
	c := open(t, postgres.Options{})
	ctx := context.Background()
	ti := mustDescribe(t, c, "copy_big")
	for _, tc := range []struct {
		name  string
		reads int
	}{{"before the first batch", 0}, {"after one batch", 1}, {"after three batches unreleased", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := c.Open(ctx, ti, nil, pipeline.ReadOptions{BatchRows: 1000, Raw: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := src.(pipeline.RawSource); !ok {
				t.Fatalf("raw read gave a %T, not a RawSource", src)
			}
			for range tc.reads {
				b, err := src.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if b.RawRows != 1000 || b.Rows != nil || bytes.Count(b.Raw, []byte{'\n'}) != 1000 {
					t.Fatalf("batch: %d raw rows, %d newlines, rows %v", b.RawRows, bytes.Count(b.Raw, []byte{'\n'}), b.Rows != nil)
				}
			}
			if err := src.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := src.Next(ctx); err == nil {
				t.Fatal("Next after Close returned a batch")
			}
		})
	}
	// the pool is usable and the whole table reads (a fresh connection)
	_, rows, _ := readAll(t, c, "copy_big", nil, pipeline.ReadOptions{Raw: true})
	if len(rows) != 200000 {
		t.Fatalf("re-read %d rows", len(rows))
	}
	if st := c.Status(ctx); st.Pool.InUse != 0 {
		t.Fatalf("connections still in use: %+v", st.Pool)
	}
}

// TestCopyCancelledNext: a cancelled context ends Next with its error and
// Close still cleans up.
func TestCopyCancelledNext(t *testing.T) {
	db := admin(t)
	exec(t, db, `DROP TABLE IF EXISTS copy_cancel`)
	exec(t, db, `CREATE TABLE copy_cancel (id int)`)
	exec(t, db, `INSERT INTO copy_cancel SELECT g FROM generate_series(1, 50000) g`)
	c := open(t, postgres.Options{})
	ti := mustDescribe(t, c, "copy_cancel")
	ctx, cancel := context.WithCancel(context.Background())
	src, err := c.Open(ctx, ti, nil, pipeline.ReadOptions{BatchRows: 100, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Next(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := src.Next(ctx); err != context.Canceled {
		t.Fatalf("Next after cancel: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRowReaderOption: with Options.RowReader a raw read is served by the
// pgx row reader (typed Rows, no Raw) with the same content.
func TestRowReaderOption(t *testing.T) {
	db := admin(t)
	exec(t, db, `DROP TABLE IF EXISTS copy_opt`)
	exec(t, db, `CREATE TABLE copy_opt (id int, s text)`)
	exec(t, db, `INSERT INTO copy_opt SELECT g, 'v' || g FROM generate_series(1, 2500) g`)
	for _, tc := range []struct {
		name string
		opts postgres.Options
		raw  bool
	}{{"copy", postgres.Options{}, true}, {"row reader", postgres.Options{RowReader: true}, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := open(t, tc.opts)
			ctx := context.Background()
			src, err := c.Open(ctx, mustDescribe(t, c, "copy_opt"), nil, pipeline.ReadOptions{BatchRows: 1000, Raw: true})
			if err != nil {
				t.Fatal(err)
			}
			b, err := src.Next(ctx)
			src.Close()
			if err != nil {
				t.Fatal(err)
			}
			if (b.Raw != nil) != tc.raw || b.Len() != 1000 {
				t.Fatalf("raw %v (want %v), %d rows", b.Raw != nil, tc.raw, b.Len())
			}
			out, _ := ndjson(t, c, "copy_opt", pipeline.ReadOptions{Raw: true})
			if n := strings.Count(out, "\n"); n != 2500 || !strings.Contains(out, `{"id":2500,"s":"v2500"}`) {
				t.Fatalf("%d lines, last %q", n, out[max(0, len(out)-40):])
			}
		})
	}
}
