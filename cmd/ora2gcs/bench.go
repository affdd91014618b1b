package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// benchResult is one run of `ora2gcs bench`.
type benchResult struct {
	Run        int     `json:"run"`
	Table      string  `json:"table"`
	Rows       int64   `json:"rows"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_second"`
	RawMBps    float64 `json:"raw_mb_per_second"`
	GzMBps     float64 `json:"compressed_mb_per_second"`
	RawBytes   int64   `json:"raw_bytes"`
	GzBytes    int64   `json:"compressed_bytes"`
	CPUSeconds float64 `json:"cpu_seconds"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := addCommonFlags(fs)
	runs := fs.Int("runs", 5, "number of runs; the median is reported")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of all runs to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if o.target == "" {
		o.target = "null"
	}
	env, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer env.Close()
	tables, err := env.resolveTables(ctx)
	if err != nil {
		return err
	}
	var results []benchResult
	for run := 1; run <= *runs; run++ {
		for _, t := range tables {
			sink, err := env.sink(ctx, env.bucket)
			if err != nil {
				return err
			}
			src, err := env.conn.Open(ctx, t, nil, env.readOptions())
			if err != nil {
				return err
			}
			before := readUsage()
			start := time.Now()
			p := &pipeline.Pipeline{
				Source: src, Sink: sink,
				Name:       fmt.Sprintf("BENCH/run-%03d/%s.jsonl.gz", run, t.Name),
				Encoder:    stages.NDJSON(env.ndjson),
				Compressor: stages.Gzip(),
				Config:     env.pcfg,
			}
			st, err := p.Run(ctx)
			if err != nil {
				return err
			}
			secs := time.Since(start).Seconds()
			after := readUsage()
			r := benchResult{
				Run: run, Table: t.Name, Rows: st.Rows, Seconds: secs,
				RowsPerSec: float64(st.Rows) / secs,
				RawMBps:    float64(st.RawBytes) / 1e6 / secs,
				GzMBps:     float64(st.CompressedBytes) / 1e6 / secs,
				RawBytes:   st.RawBytes, GzBytes: st.CompressedBytes,
				CPUSeconds: (after.CPU - before.CPU).Seconds(),
				PeakRSSMiB: float64(after.PeakRSS) / (1 << 20),
			}
			results = append(results, r)
			if !o.quiet && !o.json {
				fmt.Fprintf(stderr, "run %d %s: %.0f rows/s\n", run, t.Name, r.RowsPerSec)
			}
		}
	}
	med := medianResult(results)
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"source": env.conn.Kind(), "target": o.target, "gzip_level": env.pcfg.GzipLevel, "workers": env.pcfg.EncodeWorkers, "runs": results, "median": med})
	}
	rows := make([][]string, 0, len(results)+1)
	for _, r := range append(results, med) {
		name := fmt.Sprint(r.Run)
		if r.Run == 0 {
			name = "median"
		}
		rows = append(rows, []string{name, r.Table, fmt.Sprint(r.Rows), fmt.Sprintf("%.2f", r.Seconds), fmt.Sprintf("%.0f", r.RowsPerSec),
			fmt.Sprintf("%.1f", r.RawMBps), fmt.Sprintf("%.1f", r.GzMBps), fmt.Sprintf("%.2f", r.CPUSeconds), fmt.Sprintf("%.0f", r.PeakRSSMiB)})
	}
	fmt.Fprintf(stdout, "source=%s target=%s gzip_level=%d encode_workers=%d GOMAXPROCS=%d\n", env.conn.Kind(), o.target, env.pcfg.GzipLevel, env.pcfg.EncodeWorkers, env.pcfg.EncodeWorkers)
	printTable(stdout, []string{"run", "table", "rows", "seconds", "rows/s", "raw MB/s", "gz MB/s", "cpu s", "peak RSS MiB"}, rows)
	return nil
}

// medianResult is the run with the median rows/s (Run 0), with the peak RSS
// of all runs.
func medianResult(rs []benchResult) benchResult {
	if len(rs) == 0 {
		return benchResult{}
	}
	s := append([]benchResult(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return s[i].RowsPerSec < s[j].RowsPerSec })
	m := s[len(s)/2]
	m.Run = 0
	for _, r := range rs {
		if r.PeakRSSMiB > m.PeakRSSMiB {
			m.PeakRSSMiB = r.PeakRSSMiB
		}
	}
	return m
}
