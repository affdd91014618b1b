package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/ora2gcs/ora2gcs/internal/bucketname"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
)

// errDrift: `retention check` found something `retention apply` would
// change; the report was printed (exit 1).
var errDrift = errors.New("retention drift")

// ownPrefix is the start of the transport prefixes whose retention rules
// `retention check` counts as ours when no transport of the state database
// owns them (stale).
const ownPrefix = "TRP-"

func init() {
	commands["retention"] = command{"retention", "apply|check --bucket BUCKET [flags]", retentionSummary}
	commands["retention apply"] = command{"retention apply", "--bucket BUCKET (--transport ID | --all [--prune])",
		"Makes the target enforce the retention periods of the transports writing to BUCKET. gcs target: one lifecycle\n" +
			"Delete rule per transport (matchesPrefix TRP-…/, age = its retention days) is added or updated; every other\n" +
			"rule of the bucket is kept as it is. file target: the sweep runs now, as the server's daily one does."}
	commands["retention check"] = command{"retention check", "--bucket BUCKET [--transport ID]",
		"Reports what 'retention apply --all --prune' would change: missing rules, rules of the wrong age, stale rules\n" +
			"of ours (gcs target); versions past their period that the sweep has not removed yet (file target).\n" +
			"Exit 0: nothing to change; exit 1: drift (or an error, said on stderr)."}
	usageFooters["retention apply"] = stateFooter
	usageFooters["retention check"] = stateFooter
}

const retentionSummary = `Applies and checks the transports' retention periods (spec BC-02) on a bucket, from the state database:

  ora2gcs retention apply --bucket B --transport ID    the rule of one transport
  ora2gcs retention apply --bucket B --all [--prune]   the rules of every transport of B (--prune: also remove
                                                       stale rules of ours, for TRP-… prefixes no transport owns)
  ora2gcs retention check --bucket B [--transport ID]  report drift; exit 1 when there is some

With a gcs target (--target gcs, or target of config.yaml) retention is the bucket's Object Lifecycle Management:
one Delete rule per transport, "matchesPrefix": ["TRP-…/"] and "age" = its retention days. Rules of any other
shape or prefix are never changed. Reading the rules needs storage.buckets.get, changing them
storage.buckets.update. With a file target apply runs the retention sweep (never the newest completed version of
a transport) and check lists the versions it would remove.
While 'ora2gcs serve' runs on the same data directory these commands refuse (exit 1): the server applies the
rules when a retention changes and checks them at start-up.`

// retentionItem is one transport (or stale rule) in the JSON report.
type retentionItem struct {
	TransportID    string   `json:"transport_id,omitempty"`
	Prefix         string   `json:"prefix"`
	RetentionDays  int      `json:"retention_days,omitempty"`
	Result         string   `json:"result"` // ok, drift, added, updated, unchanged, stale, removed, swept
	Drift          string   `json:"drift,omitempty"`
	AgeDays        int      `json:"age_days,omitempty"`        // stale rules
	Versions       []string `json:"versions,omitempty"`        // file target: versions past the period (check) or expired (apply)
	ObjectsDeleted int      `json:"objects_deleted,omitempty"` // file target, apply
}

type retentionReport struct {
	Bucket string          `json:"bucket"`
	By     string          `json:"by"` // lifecycle or sweep
	Items  []retentionItem `json:"items"`
	Drift  bool            `json:"drift"`
}

func cmdRetention(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: ora2gcs retention %s\n\n%s\n", commands["retention"].synopsis, retentionSummary)
		return errUsage
	}
	apply := false
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprintf(stdout, "Usage: ora2gcs retention %s\n\n%s\n", commands["retention"].synopsis, retentionSummary)
		return errHelp
	case "apply":
		apply = true
	case "check":
	default:
		return usageError(stderr, "retention", "unknown command %q: use apply or check", args[0])
	}
	fs := flag.NewFlagSet("retention "+args[0], flag.ContinueOnError)
	o := addStateFlags(fs)
	fs.StringVar(&o.bucket, "bucket", "", "the bucket (required)")
	transport := fs.String("transport", "", "only this transport")
	var all, prune *bool
	if apply {
		all = fs.Bool("all", false, "every transport writing to the bucket")
		prune = fs.Bool("prune", false, "with --all: also remove stale rules of ours (TRP-… prefixes no transport of this state database writes to in this bucket)")
	}
	if _, err := parseWithID(fs, args[1:], stdout, stderr, map[string]bool{"bucket": true, "transport": true, "all": true, "prune": true}, false); err != nil {
		return err
	}
	switch {
	case o.bucket == "":
		return usageError(stderr, fs.Name(), "--bucket is required")
	case apply && *transport == "" && !*all:
		return usageError(stderr, fs.Name(), "give --transport ID or --all")
	case apply && *transport != "" && *all:
		return usageError(stderr, fs.Name(), "give --transport ID or --all, not both")
	case apply && *prune && !*all:
		return usageError(stderr, fs.Name(), "--prune goes with --all")
	}
	if err := bucketname.Validate(o.bucket); err != nil {
		return usageError(stderr, fs.Name(), "--bucket %q: %v", o.bucket, err)
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
	owned := map[string]bool{} // prefixes of this bucket's transports
	var sel []jobs.Transport
	for _, t := range ts {
		if t.TargetBucket != o.bucket {
			continue
		}
		owned[t.ID+"/"] = true
		if *transport == "" || t.ID == *transport {
			sel = append(sel, t)
		}
	}
	if *transport != "" && len(sel) == 0 {
		t, err := s.m.GetTransport(ctx, *transport)
		if err != nil {
			return err
		}
		return fmt.Errorf("transport %s writes to bucket %s, not %s", t.ID, t.TargetBucket, o.bucket)
	}
	sort.Slice(sel, func(a, b int) bool { return sel[a].ID < sel[b].ID })
	rep := retentionReport{Bucket: o.bucket, By: "lifecycle", Items: []retentionItem{}}
	if !s.gcs {
		rep.By = "sweep"
		err = s.sweep(ctx, &rep, sel, apply)
	} else {
		stale := *transport == "" // a check of the whole bucket, or apply --all
		err = s.lifecycle(ctx, &rep, sel, owned, apply, stale, prune != nil && *prune)
	}
	if err != nil {
		return err
	}
	if o.json {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		printRetention(stdout, rep)
	}
	if !apply && rep.Drift {
		hint := "ora2gcs retention apply --bucket " + o.bucket + " --all"
		if s.gcs {
			hint += " (--prune for stale rules)"
		}
		fmt.Fprintf(stderr, "ora2gcs retention check: bucket %s has drift: %s\n", o.bucket, hint)
		return errDrift
	}
	return nil
}

// lifecycle checks or applies the bucket's lifecycle rules.
func (s *state) lifecycle(ctx context.Context, rep *retentionReport, sel []jobs.Transport, owned map[string]bool, apply, stale, prune bool) error {
	sink, err := s.e.sink(ctx, rep.Bucket)
	if err != nil {
		return err
	}
	g, ok := sink.(*gcs.Sink)
	if !ok {
		return fmt.Errorf("the target of bucket %s has no lifecycle rules", rep.Bucket)
	}
	before, err := g.RetentionRules(ctx)
	if err != nil {
		return permissionHint(rep.Bucket, err)
	}
	ages := map[string][]int{}
	for _, r := range before {
		ages[r.Prefix] = append(ages[r.Prefix], r.AgeDays)
	}
	for _, t := range sel {
		it := retentionItem{TransportID: t.ID, Prefix: t.ID + "/", RetentionDays: t.RetentionDays}
		if apply {
			changed, err := g.EnsureRetention(ctx, it.Prefix, t.RetentionDays)
			if err != nil {
				return permissionHint(rep.Bucket, err)
			}
			switch {
			case !changed:
				it.Result = "unchanged"
			case len(ages[it.Prefix]) == 0:
				it.Result = "added"
			default:
				it.Result = "updated"
			}
		} else {
			drift, err := g.CheckRetention(ctx, it.Prefix, t.RetentionDays)
			if err != nil {
				return permissionHint(rep.Bucket, err)
			}
			it.Result = "ok"
			if drift != "" {
				it.Result, it.Drift, rep.Drift = "drift", drift, true
			}
		}
		rep.Items = append(rep.Items, it)
	}
	if !stale {
		return nil
	}
	for _, r := range before {
		if owned[r.Prefix] || !strings.HasPrefix(r.Prefix, ownPrefix) {
			continue
		}
		it := retentionItem{Prefix: r.Prefix, AgeDays: r.AgeDays, Result: "stale",
			Drift: fmt.Sprintf("bucket %s deletes %s after %d days, but no transport of this state database writes there", rep.Bucket, r.Prefix, r.AgeDays)}
		if prune {
			if _, err := g.EnsureRetention(ctx, r.Prefix, 0); err != nil {
				return permissionHint(rep.Bucket, err)
			}
			it.Result = "removed"
		} else {
			rep.Drift = true
		}
		rep.Items = append(rep.Items, it)
		owned[r.Prefix] = true // once per prefix
	}
	return nil
}

// sweep checks or runs the file target's retention sweep of the selected
// transports.
func (s *state) sweep(ctx context.Context, rep *retentionReport, sel []jobs.Transport, apply bool) error {
	now := cliNow().UTC()
	for _, t := range sel {
		it := retentionItem{TransportID: t.ID, Prefix: t.ID + "/", RetentionDays: t.RetentionDays}
		due, err := s.dueVersions(ctx, t, now)
		if err != nil {
			return err
		}
		if apply {
			n, err := s.m.SweepTransport(ctx, t.ID, now)
			if err != nil {
				return err
			}
			after, err := s.dueVersions(ctx, t, now)
			if err != nil {
				return err
			}
			left := map[string]bool{}
			for _, v := range after {
				left[v] = true
			}
			for _, v := range due {
				if !left[v] {
					it.Versions = append(it.Versions, v)
				}
			}
			it.Result, it.ObjectsDeleted = "unchanged", n
			if len(it.Versions) > 0 {
				it.Result = "swept"
			}
		} else {
			it.Result, it.Versions = "ok", due
			if len(due) > 0 {
				it.Result, rep.Drift = "drift", true
				it.Drift = fmt.Sprintf("%d versions ended more than %d days ago and are still kept", len(due), t.RetentionDays)
			}
		}
		rep.Items = append(rep.Items, it)
	}
	return nil
}

// dueVersions are the versions of t the sweep removes at now: ended
// (completed or failed) more than its retention period ago, not expired
// yet, never its newest completed version (jobs.Manager.SweepTransport's
// rule).
func (s *state) dueVersions(ctx context.Context, t jobs.Transport, now time.Time) ([]string, error) {
	if t.RetentionDays <= 0 {
		return nil, nil
	}
	cutoff := now.Add(-time.Duration(t.RetentionDays) * 24 * time.Hour)
	var all []jobs.Job
	for page := 1; ; page++ {
		p, err := s.m.ListJobs(ctx, jobs.JobFilter{TransportID: t.ID, Page: page, PageSize: 200})
		if err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if len(p.Items) == 0 || len(all) >= p.Total {
			break
		}
	}
	newest := ""
	for _, j := range all {
		if j.Status == jobs.StatusCompleted && (newest == "" || versionNo(j.Version) > versionNo(newest)) {
			newest = j.Version
		}
	}
	var out []string
	for _, j := range all {
		if (j.Status == jobs.StatusCompleted || j.Status == jobs.StatusFailed) && j.ExpiredAt == nil &&
			j.CompletedAt != nil && j.CompletedAt.Before(cutoff) && j.Version != newest {
			out = append(out, j.Version)
		}
	}
	sort.Slice(out, func(a, b int) bool { return versionNo(out[a]) < versionNo(out[b]) })
	return out, nil
}

func versionNo(v string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(v, "v"))
	return n
}

// permissionHint turns a refused lifecycle read or update into one line
// naming the permission the credentials lack, and marks a bucket that
// cannot be reached (network, 5xx, 429) as ErrTargetUnavailable (exit 3).
func permissionHint(bucket string, err error) error {
	var ge *googleapi.Error
	switch {
	case errors.Is(err, storage.ErrBucketNotExist), errors.Is(err, context.Canceled):
		return err
	case !errors.As(err, &ge):
		return fmt.Errorf("%w: %w", err, jobs.ErrTargetUnavailable) // no answer from GCS
	case ge.Code >= 500 || ge.Code == http.StatusTooManyRequests:
		return fmt.Errorf("%w: %w", err, jobs.ErrTargetUnavailable)
	case ge.Code != http.StatusForbidden:
		return err
	}
	perm := "storage.buckets.get"
	if strings.Contains(err.Error(), "gcs: update lifecycle") {
		perm = "storage.buckets.update"
	}
	return fmt.Errorf("bucket %s: permission denied: the credentials in use lack %s (needed to %s the bucket's lifecycle rules)",
		bucket, perm, map[string]string{"storage.buckets.get": "read", "storage.buckets.update": "change"}[perm])
}

func printRetention(w io.Writer, rep retentionReport) {
	how := "lifecycle rules"
	if rep.By == "sweep" {
		how = "file target, retention sweep"
	}
	fmt.Fprintf(w, "bucket %s (%s)\n", rep.Bucket, how)
	if len(rep.Items) == 0 {
		fmt.Fprintln(w, "no transport writes to this bucket")
		return
	}
	rows := make([][]string, 0, len(rep.Items))
	for _, it := range rep.Items {
		days := "-"
		if it.RetentionDays > 0 {
			days = strconv.Itoa(it.RetentionDays)
		}
		note := it.Drift
		switch {
		case it.Result == "stale":
			note += " (kept; apply --all --prune removes it)"
		case len(it.Versions) > 0 && it.Result == "swept":
			note = fmt.Sprintf("expired %s (%d objects deleted)", strings.Join(it.Versions, ","), it.ObjectsDeleted)
		case len(it.Versions) > 0:
			note += ": " + strings.Join(it.Versions, ",")
		}
		rows = append(rows, []string{it.Prefix, days, it.Result, orDash(note)})
	}
	printTable(w, []string{"prefix", "days", "result", "note"}, rows)
}
