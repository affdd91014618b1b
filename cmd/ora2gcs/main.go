// Command ora2gcs copies whole database tables into Google Cloud Storage (or
// a local directory laid out like a bucket) as gzip-compressed JSON Lines.
//
//	ora2gcs run     [flags]          run a transport as the next job version
//	ora2gcs tables  [flags]          list tables with row counts
//	ora2gcs sample  [flags] TABLE    print the first rows of a table as NDJSON
//	ora2gcs bench   [flags]          measure the engine (rows/s, MB/s, CPU, peak RSS)
//	ora2gcs serve   [flags]          the HTTP API (SPEC-ETL-001)
//	ora2gcs plan | shard | finalize  one job as shards on several machines
//	ora2gcs transports list|show|schedule|windows|retention   a transport's policies in the state database
//	ora2gcs retention apply|check --bucket B                  the bucket's lifecycle rules (or the file sweep)
//	ora2gcs config show [flags]      every setting's value and where it came from
//
// With no flags every command works on the embedded defaults: the synthetic
// SAP-like tables VBRP, VBRK and LIKP, written below ./data.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"cloud.google.com/go/storage"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

const usageText = `ora2gcs copies database tables to Google Cloud Storage as gzip NDJSON.

Usage:
  ora2gcs run     [flags]          run the tables as the next job version of a transport
  ora2gcs tables  [flags]          list tables with row counts (--exact for COUNT(*))
  ora2gcs sample  [flags] TABLE    print the first 100 rows of TABLE as NDJSON
  ora2gcs bench   [flags]          run tables through the engine several times and report rows/s
  ora2gcs serve   [flags]          serve the HTTP API (and the dashboard)
  ora2gcs watermarks list|rebuild [flags]  show or rebuild incremental tables' watermarks (rebuild: from the manifests)
  ora2gcs plan    [flags]          split a job into shards for other processes (docs/DISTRIBUTED.md)
  ora2gcs shard   --plan URI       extract one shard of a plan (--index, or the platform's task index)
  ora2gcs finalize --plan URI      compose the shards into the job's objects and manifest
  ora2gcs transports list|show|schedule|windows|retention
                                   transports, their schedules, windows and retention (state database)
  ora2gcs retention apply|check --bucket B
                                   the bucket's lifecycle rules for the transports' retention
  ora2gcs config show [flags]     every setting's value and where it came from (default, file, env, flag)
  ora2gcs version

Run 'ora2gcs help COMMAND' for the flags of a command.
Exit codes: 0 success, 1 failure, 2 wrong command line, 3 source or target unavailable (retry later).
`

// defaultMemoryLimit is the soft heap limit when GOMEMLIMIT is not set:
// below the 2 GB of spec NFR-01.3, leaving room for stacks and the runtime.
// The live heap of one VBRP pipeline is ≈180 MB (three 10,000-row batches of
// 44 MB, pgzip and encoder buffers); with GOGC=100 the heap may reach twice
// the live heap before a collection, so four tables at once stay well below
// the limit and the limit only matters when many tables or ranges run at once.
const defaultMemoryLimit = 1536 << 20

func main() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "tables":
		err = cmdTables(ctx, args[1:], stdout, stderr)
	case "sample":
		err = cmdSample(ctx, args[1:], stdout, stderr)
	case "bench":
		err = cmdBench(ctx, args[1:], stdout, stderr)
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "watermarks":
		err = cmdWatermarks(ctx, args[1:], stdout, stderr)
	case "plan":
		err = cmdPlan(ctx, args[1:], stdout, stderr)
	case "shard":
		err = cmdShard(ctx, args[1:], stdout, stderr)
	case "finalize":
		err = cmdFinalize(ctx, args[1:], stdout, stderr)
	case "transports":
		err = cmdTransports(ctx, args[1:], stdout, stderr)
	case "retention":
		err = cmdRetention(ctx, args[1:], stdout, stderr)
	case "config":
		err = cmdConfig(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, versionLine())
	case "help", "-h", "--help":
		if len(args) > 1 && args[0] == "help" {
			if _, ok := commands[args[1]]; ok {
				// help run; help transports schedule
				return run(append(append([]string(nil), args[1:]...), "--help"), stdout, stderr)
			}
			if args[1] != "version" && args[1] != "help" {
				fmt.Fprintf(stderr, "ora2gcs help: unknown command %q\n\n%s", args[1], usageText)
				return exitUsage
			}
		}
		fmt.Fprint(stdout, usageText)
	default:
		fmt.Fprintf(stderr, "ora2gcs: unknown command %q\n\n%s", args[0], usageText)
		return exitUsage
	}
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.Is(err, errDrift):
		return exitFailure // the report was printed
	case errors.Is(err, storage.ErrBucketNotExist):
		fmt.Fprintf(stderr, "ora2gcs: error: %s\n", oneLine(err))
		return exitFailure
	case pipeline.IsTransient(err), errors.Is(err, jobs.ErrTargetUnavailable):
		fmt.Fprintf(stderr, "ora2gcs: error (temporary, retry later): %s\n", oneLine(err))
		return exitTransient
	default:
		fmt.Fprintf(stderr, "ora2gcs: error: %s\n", oneLine(err))
		return exitFailure
	}
}

// oneLine is err's message on one line: drivers (pgx) list the addresses
// they tried on indented lines of their own.
func oneLine(err error) string {
	lines := strings.Split(err.Error(), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
