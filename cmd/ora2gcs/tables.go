package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

func cmdTables(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tables", flag.ContinueOnError)
	o := addFlags(fs, flagsSource)
	fs.BoolVar(&o.json, "json", false, "machine-readable JSON on stdout")
	exact := fs.Bool("exact", false, "count rows with COUNT(*) instead of the statistics' estimate")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "tables", "unexpected argument %q", fs.Arg(0))
	}
	o.target = "null"
	e, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	ts, err := e.conn.Tables(ctx, *exact)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ts)
	}
	rows := make([][]string, 0, len(ts))
	estimated := false
	for _, t := range ts {
		estimated = estimated || (t.Rows >= 0 && !t.RowsExact)
		count := "unknown"
		if t.Rows >= 0 {
			count = fmt.Sprint(t.Rows)
			if !t.RowsExact {
				count = "~" + count
			}
		}
		rows = append(rows, []string{t.Schema, t.Name, count, fmt.Sprint(t.ColumnCount)})
	}
	printTable(stdout, []string{"schema", "table", "rows", "columns"}, rows)
	if estimated {
		fmt.Fprintln(stderr, "(~ rows are estimates from the database's statistics; --exact counts them)")
	}
	return nil
}

func cmdSample(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	o := addFlags(fs, flagsSource|flagsEncoding)
	limit := fs.Int("limit", 100, "rows to print (1..10000)")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	name := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if name == "" {
		name = o.tables
	}
	if name == "" {
		return usageError(stderr, "sample", "which table? ora2gcs sample [flags] TABLE")
	}
	if *limit < 1 || *limit > 10000 {
		return usageError(stderr, "sample", "--limit %d is out of range 1..10000", *limit)
	}
	o.target = "null"
	o.tables = ""
	e, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	return writeSample(ctx, e.conn, name, *limit, e.ndjson, stdout)
}

// writeSample writes the first limit rows of a table as NDJSON.
func writeSample(ctx context.Context, conn pipeline.Connector, name string, limit int, opts stages.NDJSONOptions, w io.Writer) error {
	t, err := conn.Describe(ctx, name)
	if err != nil {
		return err
	}
	src, err := conn.Open(ctx, t, nil, pipeline.ReadOptions{Limit: limit, BatchRows: limit})
	if err != nil {
		return err
	}
	defer src.Close()
	enc, err := stages.NewEncoder(src.Columns(), opts)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	var buf []byte
	for {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		buf, err = enc.AppendRows(buf[:0], b.Rows)
		if b.Release != nil {
			b.Release()
		}
		if err != nil {
			return err
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
