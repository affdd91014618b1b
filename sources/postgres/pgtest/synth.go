package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/synth"
)

// CreateSynthVBRP drops and creates table as VBRP and copies into it the
// first rows rows of the synthetic VBRP source (sources/synth: SAP-like
// values with realistic redundancy, ≈ 4.5 KB of NDJSON per row, ≈ 5.8 : 1
// with gzip -1), through COPY FROM STDIN in text format, then VACUUM
// ANALYZEs it. Unlike CreateVBRP's md5 strings (≈ 3.2 : 1), this data
// compresses like the synthetic benchmark, so database measurements are
// comparable with it. Loads ≈ 15k rows/s here.
func CreateSynthVBRP(ctx context.Context, pg *pgconn.PgConn, table string, rows int) error {
	q := quote(table)
	for _, s := range []string{"DROP TABLE IF EXISTS " + q, VBRPDDL(table)} {
		if _, err := pg.Exec(ctx, s).ReadAll(); err != nil {
			return fmt.Errorf("pgtest: create %s: %w", table, err)
		}
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
	go func() { pw.CloseWithError(WriteCopyText(ctx, src, pw)) }()
	if _, err := pg.CopyFrom(ctx, pr, "COPY "+q+" FROM STDIN"); err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("pgtest: load %s: %w", table, err)
	}
	if _, err := pg.Exec(ctx, "VACUUM ANALYZE "+q).ReadAll(); err != nil {
		return fmt.Errorf("pgtest: vacuum %s: %w", table, err)
	}
	return nil
}

// WriteCopyText writes the rows of src in COPY text format (strings escaped,
// NULL as \N, time.Time as "2006-01-02 15:04:05.999999").
func WriteCopyText(ctx context.Context, src pipeline.Source, w io.Writer) error {
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
				if err := appendCopyText(&buf, v); err != nil {
					return fmt.Errorf("pgtest: column %d: %w", j, err)
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

func appendCopyText(buf *bytes.Buffer, v any) error {
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
