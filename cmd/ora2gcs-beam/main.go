// Command ora2gcs-beam runs a distributed job's plan (made by `ora2gcs
// plan`) as an Apache Beam pipeline: on Google Cloud Dataflow
// (--runner dataflow) or on Prism, Beam's local runner, in this process
// (--runner prism, the default). It is a command of its own so that the
// ora2gcs binary does not carry Beam.
//
//	ora2gcs-beam --plan gs://BUCKET/TRP/v001/_plan.json --source postgres://etl@db:5432/erp \
//	    --runner dataflow --project P --region asia-northeast3 --staging_location gs://B/staging \
//	    --worker_machine_type e2-standard-4 --max_num_workers 50 --subnetwork regions/asia-northeast3/subnetworks/S \
//	    --sdk_container_image asia-northeast3-docker.pkg.dev/P/ora2gcs/ora2gcs-beam:VERSION
//
// The pipeline extracts every shard (the code of `ora2gcs shard`) and then
// finalizes every table and the manifest (the code of `ora2gcs finalize`);
// see docs/DISTRIBUTED.md. Every Beam and Dataflow pipeline option is
// accepted (Beam's flag names, with underscores).
//
// Exit codes: 0 the job is finalized (or was before), 1 the pipeline
// failed (the shards without a result are named), 2 wrong command line.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/ora2gcs/ora2gcs/distributed/beamjob"
)

var (
	planFlag   = flag.String("plan", "", "the plan's URI as 'ora2gcs plan' printed it (gs://… or file://…); default $ORA2GCS_PLAN")
	sourceFlag = flag.String("source", "", `the source, as for 'ora2gcs shard' ("postgres://user@host:5432/db", "oracle://user@host:1521/service", "oracle", "synth"); no password: the workers read PGPASSWORD / ORACLE_PASSWORD; default the workers' $ORA2GCS_SOURCE`)
	rowsFlag   = flag.Int64("rows", 0, "rows per synthetic table (--source synth)")
	runnerFlag = flag.String("runner", "prism", `Beam runner: "prism" (local, in this process) or "dataflow"`)
	jsonFlag   = flag.Bool("json", false, "print the result as one JSON line")
	attempts   = flag.Int("attempts", 0, "runs of the pipeline when it fails (default 3 on prism, which does not retry bundles; 1 on dataflow, which does)")
)

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: ora2gcs-beam --plan URI [--source SRC] [--runner prism|dataflow] [Beam/Dataflow options]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	// a Dataflow worker started from this binary runs the SDK harness
	// here and never returns
	beam.Init()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, stdout, stderr io.Writer) int {
	if flag.NArg() > 0 {
		fmt.Fprintf(stderr, "ora2gcs-beam: unexpected argument %q\n", flag.Arg(0))
		return exitUsage
	}
	plan := *planFlag
	if plan == "" {
		plan = os.Getenv("ORA2GCS_PLAN")
	}
	if plan == "" {
		fmt.Fprintln(stderr, "ora2gcs-beam: --plan is required (the URI 'ora2gcs plan' printed)")
		return exitUsage
	}
	switch *runnerFlag {
	case "prism", "dataflow":
	default:
		fmt.Fprintf(stderr, "ora2gcs-beam: --runner %q: use prism or dataflow\n", *runnerFlag)
		return exitUsage
	}
	if *runnerFlag == "dataflow" && *jobopts.WorkerBinary == "" {
		// Dataflow starts the worker binary in the SDK container; this
		// binary is one when it was built for linux/amd64
		if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
			fmt.Fprintln(stderr, "ora2gcs-beam: --runner dataflow needs --worker_binary: a linux/amd64 build of ora2gcs-beam")
			return exitUsage
		}
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "ora2gcs-beam: --worker_binary: %v\n", err)
			return exitUsage
		}
		*jobopts.WorkerBinary = self
	}
	res, err := beamjob.Run(ctx, *runnerFlag, beamjob.Options{Plan: plan, Source: *sourceFlag, SynthRows: *rowsFlag, Attempts: *attempts})
	if err != nil {
		fmt.Fprintf(stderr, "ora2gcs-beam: %s\n", oneLine(err))
		return exitFailure
	}
	m := res.Manifest
	if *jsonFlag {
		out := map[string]any{"plan": plan, "finished": res.Finished}
		if res.Finished {
			out["manifest"], out["tables"], out["rows"], out["bytes"], out["already_finalized"] =
				res.ManifestURI, len(m.Tables), m.TotalRows, m.TotalBytes, res.AlreadyFinalized
		}
		b, _ := json.Marshal(out)
		fmt.Fprintf(stdout, "%s\n", b)
		return exitOK
	}
	switch {
	case !res.Finished:
		fmt.Fprintf(stdout, "%s %s: submitted, not waited for (follow the job on the runner; then check %s)\n",
			res.Plan.TransportID, res.Plan.JobVersion, res.Plan.ManifestName())
	case res.AlreadyFinalized:
		fmt.Fprintf(stdout, "%s %s finalized before: %s\n", m.TransportID, m.JobVersion, res.ManifestURI)
	default:
		fmt.Fprintf(stdout, "%s %s finalized: %d tables, %d rows, %d bytes; manifest %s\n",
			m.TransportID, m.JobVersion, len(m.Tables), m.TotalRows, m.TotalBytes, res.ManifestURI)
	}
	return exitOK
}

// oneLine joins a joined error's lines with "; ".
func oneLine(err error) string {
	var b []byte
	for i, r := range err.Error() {
		if r == '\n' {
			if i > 0 {
				b = append(b, "; "...)
			}
			continue
		}
		b = append(b, string(r)...)
	}
	return string(b)
}
