// Command loadvbrp loads the 274-column VBRP benchmark table into the
// PostgreSQL database named by ORA2GCS_TEST_POSTGRES_DSN (or -dsn).
//
//	scripts/with-postgres.sh go run ./docs/perf/loadvbrp -rows 250000 [-data synth|md5]
//
// -data synth (the default) loads the rows of the synthetic VBRP source
// (sources/synth: SAP-like values with realistic redundancy, ≈4.5 KB of
// NDJSON per row, ≈5.8:1 with gzip -1) through COPY FROM STDIN, so the
// database path is measured on data that compresses like the synthetic
// benchmark. -data md5 loads the rows of sources/postgres/pgtest, generated
// on the server from md5 hashes (every type exercised, NULLs, empty
// strings; it compresses only ≈3.2:1, which makes gzip dominate).
//
// It is the loader of the PostgreSQL measurements in docs/PERFORMANCE.md.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
	"github.com/ora2gcs/ora2gcs/sources/synth"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("ORA2GCS_TEST_POSTGRES_DSN"), "PostgreSQL URL (default $ORA2GCS_TEST_POSTGRES_DSN)")
	rows := flag.Int("rows", 250_000, "rows to load")
	table := flag.String("table", "vbrp", "table name")
	data := flag.String("data", "synth", "row data: synth (SAP-like, from sources/synth) or md5 (pgtest, generated on the server)")
	flag.Parse()
	if err := load(*dsn, *table, *data, *rows); err != nil {
		fmt.Fprintln(os.Stderr, "loadvbrp:", err)
		os.Exit(1)
	}
}

func load(dsn, table, data string, rows int) error {
	if dsn == "" {
		return fmt.Errorf("no DSN: set ORA2GCS_TEST_POSTGRES_DSN or -dsn")
	}
	if data != "synth" && data != "md5" {
		return fmt.Errorf("-data %q: want synth or md5", data)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	start := time.Now()
	exec := func(ctx context.Context, q string, args ...any) error {
		_, err := conn.Exec(ctx, q, args...)
		return err
	}
	if data == "md5" {
		if err := pgtest.CreateVBRP(ctx, exec, table, rows); err != nil {
			return err
		}
	} else if err := loadSynth(ctx, conn, table, rows); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loadvbrp: %d %s rows into %s in %s\n", rows, data, table, time.Since(start).Round(time.Millisecond))
	return nil
}

// loadSynth creates the table and copies the synthetic VBRP rows into it
// in COPY text format, then VACUUM ANALYZEs it (visibility map and
// statistics as a settled production table has them).
func loadSynth(ctx context.Context, conn *pgx.Conn, table string, rows int) error {
	q := pgx.Identifier{table}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+q); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, pgtest.VBRPDDL(table)); err != nil {
		return err
	}
	c, err := synth.New(synth.Config{Rows: map[string]int64{"VBRP": int64(rows)}})
	if err != nil {
		return err
	}
	t, err := c.Describe(ctx, "VBRP")
	if err != nil {
		return err
	}
	src, err := c.Open(ctx, t, nil, pipeline.ReadOptions{BatchRows: 2000})
	if err != nil {
		return err
	}
	defer src.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeCopyText(ctx, src, pw)) }()
	if _, err := conn.PgConn().CopyFrom(ctx, pr, "COPY "+q+" FROM STDIN"); err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("copy: %w", err)
	}
	_, err = conn.Exec(ctx, "VACUUM ANALYZE "+q)
	return err
}

// writeCopyText writes the rows of src in COPY text format.
func writeCopyText(ctx context.Context, src pipeline.Source, w io.Writer) error {
	var buf bytes.Buffer
	for {
		b, err := src.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		buf.Reset()
		for _, row := range b.Rows {
			for j, v := range row {
				if j > 0 {
					buf.WriteByte('\t')
				}
				if err := appendText(&buf, v); err != nil {
					return fmt.Errorf("column %d: %w", j, err)
				}
			}
			buf.WriteByte('\n')
		}
		if b.Release != nil {
			b.Release()
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
}

func appendText(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case nil:
		buf.WriteString(`\N`)
	case string:
		for i := 0; i < len(v); i++ {
			switch c := v[i]; c {
			case '\\':
				buf.WriteString(`\\`)
			case '\t':
				buf.WriteString(`\t`)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			default:
				buf.WriteByte(c)
			}
		}
	case int64:
		buf.WriteString(strconv.FormatInt(v, 10))
	case int:
		buf.WriteString(strconv.Itoa(v))
	case float64:
		switch {
		case math.IsNaN(v):
			buf.WriteString("NaN")
		case math.IsInf(v, 1):
			buf.WriteString("Infinity")
		case math.IsInf(v, -1):
			buf.WriteString("-Infinity")
		default:
			buf.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
	case time.Time:
		buf.WriteString(v.Format("2006-01-02 15:04:05.999999"))
	default:
		return fmt.Errorf("unsupported value %T", v)
	}
	return nil
}
