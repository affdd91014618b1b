package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// The transports and retention commands work on the state database
// directly, through the same jobs.Manager methods as the HTTP API (so
// validation and stored state are identical). They take the state
// database's lock like `run` and `serve`: while `ora2gcs serve` runs on the
// same data directory they refuse with exit 1 and point to the API; they
// never write behind the server's back.

func init() {
	commands["transports"] = command{"transports", "list|show|schedule|windows|retention [ID] [flags]", transportsSummary}
	commands["transports list"] = command{"transports list", "[flags]",
		"Lists every transport: tables, schedule and next run, allowed windows, retention and how it is enforced, last job."}
	commands["transports show"] = command{"transports show", "ID [flags]",
		"Shows one transport with its queued runs, its recent jobs and its recent scheduled runs."}
	commands["transports schedule"] = command{"transports schedule", "ID --cron EXPR --timezone ZONE | --clear",
		"Sets (or with --clear removes) the transport's schedule: a five-field cron expression (minute hour day-of-month\n" +
			"month day-of-week) or a descriptor such as @daily, read in an IANA time zone. The first run is the first\n" +
			"scheduled time after now. Example: ora2gcs transports schedule TRP-20260118-001 --cron '0 1 * * *' --timezone Asia/Seoul"}
	commands["transports windows"] = command{"transports windows", "ID --timezone ZONE --allow '[DAYS] HH:MM-HH:MM' ... [--on-close finish|stop] | --clear",
		"Sets (or with --clear removes) the hours the transport's jobs may run in. Each --allow is one period: days\n" +
			"(mon-fri, sat,sun, * for every day; default every day) and a time range; a range whose end is at or before\n" +
			"its start runs past midnight, 00:00-24:00 is all day. Without windows of its own a transport uses the\n" +
			"server's default (schedule.windows of config.yaml). --on-close says what happens to a job still running\n" +
			"when its window closes: finish (default) or stop.\n" +
			"Example: ora2gcs transports windows TRP-20260118-001 --timezone Asia/Seoul --allow 'mon-fri 22:00-06:00' --allow 'sat,sun 00:00-24:00'"}
	commands["transports retention"] = command{"transports retention", "ID --days N",
		"Sets how many days a transport's job versions are kept (1.." + strconv.Itoa(jobs.MaxRetentionDays) + "; 0: the default, schedule.retention_days\n" +
			"of config.yaml, else 90). With a gcs target the bucket's lifecycle rule for the transport is updated at once\n" +
			"(as the server does); if that fails (e.g. no storage.buckets.update) the period is stored, the command says\n" +
			"why it is not enforced and exits 1. With a file target the server's daily sweep (or 'ora2gcs retention apply') deletes."}
	for _, name := range []string{"transports list", "transports show", "transports schedule", "transports windows", "transports retention"} {
		usageFooters[name] = stateFooter
	}
}

const transportsSummary = `Shows and changes transports in the state database ({data-dir}/ora2gcs.db), for use without the server:

  ora2gcs transports list [--check] [--json]
  ora2gcs transports show ID [--check] [--json]
  ora2gcs transports schedule ID --cron '0 1 * * *' --timezone Asia/Seoul
  ora2gcs transports schedule ID --clear
  ora2gcs transports windows ID --timezone Asia/Seoul --allow 'mon-fri 22:00-06:00' --allow 'sat,sun 00:00-24:00' [--on-close stop]
  ora2gcs transports windows ID --clear
  ora2gcs transports retention ID --days 90

Validation is the API's: a wrong value is exit 2 naming the field (cron, timezone, allow[0].from, retention_days)
and its flag. --json prints the API's representation of the transport (GET /api/v1/transport/ID).
While 'ora2gcs serve' runs on the same data directory these commands refuse (exit 1): the server holds the state
database; use its API or dashboard, or stop it first. Run 'ora2gcs help transports COMMAND' for the flags.`

// stateFooter ends the usage of the state commands.
const stateFooter = "\n--config, --data-dir, --target and --log-level can also be set as ORA2GCS_<FLAG> or in the config file;\n" +
	"the flags that say what to change are taken from the command line only.\n"

// cliNow is the CLI's clock (tests move it).
var cliNow = time.Now

func cmdTransports(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: ora2gcs transports %s\n\n%s\n", commands["transports"].synopsis, transportsSummary)
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprintf(stdout, "Usage: ora2gcs transports %s\n\n%s\n", commands["transports"].synopsis, transportsSummary)
		return errHelp
	case "list":
		return transportsList(ctx, args[1:], stdout, stderr)
	case "show":
		return transportsShow(ctx, args[1:], stdout, stderr)
	case "schedule":
		return transportsSchedule(ctx, args[1:], stdout, stderr)
	case "windows":
		return transportsWindows(ctx, args[1:], stdout, stderr)
	case "retention":
		return transportsRetention(ctx, args[1:], stdout, stderr)
	}
	return usageError(stderr, "transports", "unknown command %q: use list, show, schedule, windows or retention", args[0])
}

// fieldError turns the Manager's validation error into a usage error (exit
// 2) naming the API's field and the flag that sets it.
func fieldError(stderr io.Writer, cmd string, err error) error {
	var fe *jobs.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	f := fe.Field
	flagName := map[string]string{"cron": "--cron", "timezone": "--timezone", "retention_days": "--days", "on_close": "--on-close", "allow": "--allow"}[f]
	if strings.HasPrefix(f, "allow[") {
		if i, err := strconv.Atoi(f[len("allow["):strings.IndexByte(f, ']')]); err == nil {
			flagName = fmt.Sprintf("--allow #%d", i+1)
		}
	}
	if flagName == "" {
		return usageError(stderr, cmd, "%s: %s", f, fe.Message)
	}
	return usageError(stderr, cmd, "%s (%s): %s", f, flagName, fe.Message)
}

func transportsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("transports list", flag.ContinueOnError)
	o := addStateFlags(fs)
	check := fs.Bool("check", false, "read the bucket's lifecycle rules of gcs targets to show whether retention is enforced")
	if _, err := parseWithID(fs, args, stdout, stderr, map[string]bool{"check": true}, false); err != nil {
		return err
	}
	s, err := openState(ctx, o, stderr, false)
	if err != nil {
		return err
	}
	defer s.Close()
	ts, err := allTransports(ctx, s.m)
	if err != nil {
		return err
	}
	for i := range ts {
		s.retentionState(ctx, &ts[i], *check)
	}
	if o.json {
		if ts == nil {
			ts = []jobs.Transport{}
		}
		// GET /api/v1/transports, every transport on one page
		return writeJSON(stdout, jobs.Page[jobs.Transport]{Items: ts, Page: 1, PageSize: len(ts), Total: len(ts)})
	}
	if len(ts) == 0 {
		fmt.Fprintln(stdout, "no transports (a run or the API creates them)")
		return nil
	}
	rows := make([][]string, 0, len(ts))
	for _, t := range ts {
		sched, next := "-", "-"
		if t.Schedule != nil {
			sched = t.Schedule.Cron + " " + t.Schedule.Timezone
			next = nextRunText(t.Schedule)
		}
		rows = append(rows, []string{t.ID, clip(t.Name, 24), clip(strings.Join(t.Tables, ","), 30), sched, next,
			windowsText(t.Windows), retentionText(t), lastJobText(t)})
	}
	printTable(stdout, []string{"id", "name", "tables", "schedule", "next run", "windows", "retention", "last job"}, rows)
	return nil
}

// transportDetail is `transports show --json`: the API's transport
// representation plus the transport's queued runs, recent jobs and recent
// scheduled runs.
type transportDetail struct {
	jobs.Transport
	Queue         []jobs.QueuedRun    `json:"queue"`
	RecentJobs    []jobs.Job          `json:"recent_jobs"`
	ScheduledRuns []jobs.ScheduledRun `json:"recent_scheduled_runs"`
}

// showRecent is how many jobs and scheduled runs show lists.
const showRecent = 10

func transportsShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("transports show", flag.ContinueOnError)
	o := addStateFlags(fs)
	check := fs.Bool("check", false, "read the bucket's lifecycle rules (gcs target) to show whether retention is enforced")
	id, err := parseWithID(fs, args, stdout, stderr, map[string]bool{"check": true}, true)
	if err != nil {
		return err
	}
	s, err := openState(ctx, o, stderr, false)
	if err != nil {
		return err
	}
	defer s.Close()
	t, err := s.m.GetTransport(ctx, id)
	if err != nil {
		return err
	}
	s.retentionState(ctx, &t, *check)
	d := transportDetail{Transport: t, Queue: []jobs.QueuedRun{}, RecentJobs: []jobs.Job{}, ScheduledRuns: []jobs.ScheduledRun{}}
	q, err := s.m.ListQueue(ctx)
	if err != nil {
		return err
	}
	for _, it := range q {
		if it.TransportID == id {
			d.Queue = append(d.Queue, it)
		}
	}
	jp, err := s.m.ListJobs(ctx, jobs.JobFilter{TransportID: id, Page: 1, PageSize: showRecent})
	if err != nil {
		return err
	}
	d.RecentJobs = append(d.RecentJobs, jp.Items...)
	runs, err := s.m.Store().ScheduledRuns(ctx, id)
	if err != nil {
		return err
	}
	for i := len(runs) - 1; i >= 0 && len(d.ScheduledRuns) < showRecent; i-- {
		d.ScheduledRuns = append(d.ScheduledRuns, runs[i]) // newest first
	}
	if o.json {
		return writeJSON(stdout, d)
	}
	printTransport(stdout, t)
	fmt.Fprintln(stdout)
	if len(d.Queue) == 0 {
		fmt.Fprintln(stdout, "queue: no run waiting")
	} else {
		rows := [][]string{}
		for _, it := range d.Queue {
			due := "-"
			if it.DueAt != nil {
				due = it.DueAt.Format(time.RFC3339)
			}
			rows = append(rows, []string{strconv.Itoa(it.Position), it.ID, it.Trigger, due, it.EnqueuedAt.Format(time.RFC3339)})
		}
		fmt.Fprintln(stdout, "queue:")
		printTable(stdout, []string{"position", "id", "trigger", "due at", "queued at"}, rows)
	}
	fmt.Fprintln(stdout)
	if len(d.RecentJobs) == 0 {
		fmt.Fprintln(stdout, "jobs: none yet")
	} else {
		rows := [][]string{}
		for _, j := range d.RecentJobs {
			ended, status := "-", j.Status
			if j.CompletedAt != nil {
				ended = j.CompletedAt.Format(time.RFC3339)
			}
			if j.ExpiredAt != nil {
				status += " (expired)"
			}
			rows = append(rows, []string{j.Version, j.ID, status, orDash(j.Trigger), j.StartedAt.Format(time.RFC3339), ended, strconv.FormatInt(j.TotalRows, 10)})
		}
		fmt.Fprintf(stdout, "jobs (newest %d of %d):\n", len(d.RecentJobs), jp.Total)
		printTable(stdout, []string{"version", "id", "status", "trigger", "started", "ended", "rows"}, rows)
	}
	if len(d.ScheduledRuns) > 0 {
		fmt.Fprintln(stdout)
		rows := [][]string{}
		for _, r := range d.ScheduledRuns {
			outcome := r.Outcome
			if r.Missed {
				outcome += " (missed)"
			}
			rows = append(rows, []string{r.DueAt.Format(time.RFC3339), outcome, orDash(r.JobID), orDash(r.JobStatus), orDash(r.Reason)})
		}
		fmt.Fprintln(stdout, "scheduled runs (newest first):")
		printTable(stdout, []string{"due at", "outcome", "job", "job status", "reason"}, rows)
	}
	return nil
}

func transportsSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("transports schedule", flag.ContinueOnError)
	o := addStateFlags(fs)
	cronExpr := fs.String("cron", "", `cron expression, five fields (minute hour day-of-month month day-of-week) or @daily, @weekly, …: "0 1 * * *" is 01:00 every day`)
	tz := fs.String("timezone", "", `IANA time zone the expression is read in, e.g. Asia/Seoul or UTC (required with --cron)`)
	clear := fs.Bool("clear", false, "remove the schedule (runs already queued stay queued)")
	id, err := parseWithID(fs, args, stdout, stderr, map[string]bool{"cron": true, "timezone": true, "clear": true}, true)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case *clear && (given["cron"] || given["timezone"]):
		return usageError(stderr, fs.Name(), "--clear removes the schedule: give it without --cron and --timezone")
	case !*clear && !given["cron"] && !given["timezone"]:
		return usageError(stderr, fs.Name(), "give --cron and --timezone, or --clear")
	}
	s, err := openState(ctx, o, stderr, false)
	if err != nil {
		return err
	}
	defer s.Close()
	var t jobs.Transport
	if *clear {
		if err := s.m.DeleteSchedule(ctx, id); err != nil {
			return err
		}
		if t, err = s.m.GetTransport(ctx, id); err != nil {
			return err
		}
	} else if t, err = s.m.SetSchedule(ctx, id, jobs.ScheduleSpec{Cron: *cronExpr, Timezone: *tz}); err != nil {
		return fieldError(stderr, fs.Name(), err)
	}
	return s.printResult(ctx, stdout, o, t)
}

// allowList is the repeatable --allow flag.
type allowList []string

func (a *allowList) String() string     { return strings.Join(*a, "; ") }
func (a *allowList) Set(v string) error { *a = append(*a, v); return nil }

// parseAllow reads one --allow value, "[DAYS] HH:MM-HH:MM", into the API's
// {days, from, to}; the values themselves are validated by the Manager.
func parseAllow(v string) (jobs.WindowRule, bool) {
	f := strings.Fields(v)
	var days, span string
	switch len(f) {
	case 1:
		span = f[0]
	case 2:
		days, span = f[0], f[1]
	default:
		return jobs.WindowRule{}, false
	}
	from, to, ok := strings.Cut(span, "-")
	if !ok || from == "" || to == "" {
		return jobs.WindowRule{}, false
	}
	return jobs.WindowRule{Days: days, From: from, To: to}, true
}

func transportsWindows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("transports windows", flag.ContinueOnError)
	o := addStateFlags(fs)
	tz := fs.String("timezone", "", "IANA time zone of the periods, e.g. Asia/Seoul (required)")
	var allow allowList
	fs.Var(&allow, "allow", `one allowed period, '[DAYS] HH:MM-HH:MM': 'mon-fri 22:00-06:00', 'sat,sun 00:00-24:00', '01:00-05:00' (every day); repeat for more`)
	onClose := fs.String("on-close", "", "what happens to a job still running when its window closes: finish (default) or stop (interrupted; the next run makes a new version)")
	clear := fs.Bool("clear", false, "remove the transport's own windows (it uses the server's default, schedule.windows of config.yaml)")
	id, err := parseWithID(fs, args, stdout, stderr, map[string]bool{"timezone": true, "allow": true, "on-close": true, "clear": true}, true)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case *clear && (given["timezone"] || given["allow"] || given["on-close"]):
		return usageError(stderr, fs.Name(), "--clear removes the windows: give it without --timezone, --allow and --on-close")
	case !*clear && !given["allow"] && !given["timezone"] && !given["on-close"]:
		return usageError(stderr, fs.Name(), "give --timezone and one or more --allow, or --clear")
	}
	var spec *jobs.WindowSpec
	if !*clear {
		spec = &jobs.WindowSpec{Timezone: *tz, OnClose: *onClose}
		for i, v := range allow {
			r, ok := parseAllow(v)
			if !ok {
				return usageError(stderr, fs.Name(), "allow[%d] (--allow #%d): %q: want '[DAYS] HH:MM-HH:MM', e.g. 'mon-fri 22:00-06:00'", i, i+1, v)
			}
			spec.Allow = append(spec.Allow, r)
		}
	}
	s, err := openState(ctx, o, stderr, false)
	if err != nil {
		return err
	}
	defer s.Close()
	t, err := s.m.SetWindows(ctx, id, spec)
	if err != nil {
		return fieldError(stderr, fs.Name(), err)
	}
	return s.printResult(ctx, stdout, o, t)
}

func transportsRetention(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("transports retention", flag.ContinueOnError)
	o := addStateFlags(fs)
	days := fs.Int("days", -1, "days a job version is kept (1.."+strconv.Itoa(jobs.MaxRetentionDays)+"; 0: the default of config.yaml, else 90); required")
	id, err := parseWithID(fs, args, stdout, stderr, map[string]bool{"days": true}, true)
	if err != nil {
		return err
	}
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "days" })
	if !given {
		return usageError(stderr, fs.Name(), "retention_days (--days): required")
	}
	s, err := openState(ctx, o, stderr, true)
	if err != nil {
		return err
	}
	defer s.Close()
	t, err := s.m.SetRetention(ctx, id, *days)
	if err != nil {
		return fieldError(stderr, fs.Name(), err)
	}
	if err := s.printResult(ctx, stdout, o, t); err != nil {
		return err
	}
	if r := t.Retention; r != nil && !r.Enforced {
		return fmt.Errorf("%s: retention set to %d days but not enforced: %s", t.ID, t.RetentionDays, firstLine(r.Reason))
	}
	return nil
}
