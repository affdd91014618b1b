package main

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"time"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
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
	o := addFlags(fs, flagsAll)
	runs := fs.Int("runs", 5, "number of runs; the median is reported")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of all runs to this file (go tool pprof)")
	memProfile := fs.String("memprofile", "", "write an allocation profile of all runs to this file (go tool pprof -sample_index=alloc_space)")
	gzipBlocks := fs.Int("gzip-blocks", 0, "blocks pgzip compresses at once (pipeline gzip_blocks; default 2×GOMAXPROCS+2)")
	gzipBlockSize := fs.Int("gzip-block-size", 0, "bytes per pgzip block (pipeline gzip_block_size; default 1 MiB)")
	batchQueue := fs.Int("batch-queue", 0, "batches queued per encode worker (pipeline batch_queue; default 0)")
	encodedQueue := fs.Int("encoded-queue", 0, "encoded pieces queued per encode worker (pipeline encoded_queue; default 8)")
	pieceBytes := fs.Int("piece-bytes", 0, "bytes per encoded piece (pipeline piece_bytes; default 1 MiB)")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "bench", "unexpected argument %q", fs.Arg(0))
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			if err := writeHeapProfile(*memProfile); err != nil {
				fmt.Fprintf(stderr, "bench: memprofile: %v\n", err)
			}
		}()
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
	emulated := o.target == "emulator"
	if emulated {
		o.target = "null" // replaced below by the in-process emulator
	}
	env, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer env.Close()
	if emulated {
		o.target = "emulator"
		if err := env.useEmulator(ctx); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		v   int
		dst *int
	}{{*gzipBlocks, &env.pcfg.GzipBlocks}, {*gzipBlockSize, &env.pcfg.GzipBlockSize}, {*batchQueue, &env.pcfg.BatchQueue},
		{*encodedQueue, &env.pcfg.EncodedQueue}, {*pieceBytes, &env.pcfg.PieceBytes}} {
		if f.v != 0 {
			*f.dst = f.v
		}
	}
	if err := env.pcfg.Validate(); err != nil {
		return err
	}
	tables, err := env.resolveTables(ctx)
	if err != nil {
		return err
	}
	var results []benchResult
	// Objects never replace each other: each invocation writes below its
	// own BENCH/{UTC time}-{random}/ prefix.
	var rnd [3]byte
	_, _ = crand.Read(rnd[:])
	prefix := fmt.Sprintf("BENCH/%s-%x", time.Now().UTC().Format("20060102T150405"), rnd)
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
			// Start every run from the same heap, as go test -bench does:
			// otherwise the garbage of earlier runs (pgzip and encoder
			// buffers, ≈45 MB per VBRP run) is still there when a run peaks.
			debug.FreeOSMemory()
			before := readUsage()
			start := time.Now()
			p := &pipeline.Pipeline{
				Source: src, Sink: sink,
				Name:    fmt.Sprintf("%s/run-%03d/%s.jsonl.gz", prefix, run, pipeline.ObjectBaseName(t.Schema, t.Name, false)),
				Encoder: stages.NDJSON(env.ndjson),
				Codec:   env.codec,
				Config:  env.pcfg,
			}
			st, err := p.Run(ctx)
			if err != nil {
				return err
			}
			secs := time.Since(start).Seconds()
			after := readUsage()
			if r, ok := sink.(remover); ok && emulated {
				// the emulator keeps objects in memory: drop each after its run
				_ = r.Remove(ctx, p.Name)
			}
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
		return enc.Encode(map[string]any{"source": env.conn.Kind(), "target": o.target, "compressor": env.codec.Name(), "gzip_level": env.codec.Level(), "workers": env.pcfg.EncodeWorkers, "runs": results, "median": med})
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
	fmt.Fprintf(stdout, "source=%s target=%s compressor=%s gzip_level=%d encode_workers=%d GOMAXPROCS=%d\n", env.conn.Kind(), o.target, env.codec.Name(), env.codec.Level(), env.pcfg.EncodeWorkers, runtime.GOMAXPROCS(0))
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

// remover is a sink that can delete an object.
type remover interface {
	Remove(ctx context.Context, name string) error
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC() // the profile shows the heap as of the last collection
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// useEmulator points e's sinks at an in-process fake-gcs-server on
// 127.0.0.1 holding e.bucket. The emulator recomputes MD5 and CRC32C over the
// whole object on every chunk and keeps objects in memory, so its figures
// measure the emulator as much as ora2gcs (see docs/PERFORMANCE.md).
func (e *env) useEmulator(ctx context.Context) error {
	fake, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", Port: 0, PublicHost: "127.0.0.1",
	})
	if err != nil {
		return fmt.Errorf("bench: start emulator: %w", err)
	}
	e.closers = append(e.closers, func() error { fake.Stop(); return nil })
	fake.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: e.bucket})
	client, err := storage.NewClient(ctx,
		option.WithEndpoint(fake.URL()+"/storage/v1/"), option.WithoutAuthentication(), storage.WithJSONReads())
	if err != nil {
		return fmt.Errorf("bench: emulator client: %w", err)
	}
	e.closers = append(e.closers, client.Close)
	e.sink = func(_ context.Context, bucket string) (pipeline.Sink, error) {
		return gcs.NewWithClient(client, gcs.Config{Bucket: bucket, ChunkSize: e.cfg.GCS.ChunkSize})
	}
	return nil
}
