package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
	"github.com/ora2gcs/ora2gcs/jobs"
)

// newTransport runs one job of a named transport into the file target of
// dir and returns the transport's id.
func newTransport(t *testing.T, dir, name string, extra ...string) string {
	t.Helper()
	args := append([]string{"run", "--rows", "40", "--tables", "VBRK", "--data-dir", dir, "--target", "file://" + dir, "--quiet", "--json", "--transport", name}, extra...)
	code, out, errs := cli(t, args...)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errs)
	}
	var job jobs.Job
	if err := json.Unmarshal([]byte(out), &job); err != nil {
		t.Fatalf("run --json: %v", err)
	}
	return job.TransportID
}

// TestTransportsCommandsValidateLikeTheAPI sets a schedule, windows and a
// retention period from the command line: wrong values are exit 2 naming
// the API's field and the flag, an unknown transport exit 1, and what is
// set is what list and show report (as text and as the API's JSON).
func TestTransportsCommandsValidateLikeTheAPI(t *testing.T) {
	dir := t.TempDir()
	id := newTransport(t, dir, "nightly")
	p := []string{"--data-dir", dir, "--target", "file://" + dir}
	tr := func(args ...string) (int, string, string) {
		t.Helper()
		return cli(t, append(append([]string{"transports"}, args...), p...)...)
	}
	for _, c := range []struct {
		args []string
		code int
		errs string
	}{
		{[]string{"schedule", id, "--cron", "0 25 * * *", "--timezone", "Asia/Seoul"}, 2, "cron (--cron): \"0 25 * * *\""},
		{[]string{"schedule", id, "--cron", "0 1 * * *", "--timezone", "Asia/Seul"}, 2, "timezone (--timezone): \"Asia/Seul\" is not a known IANA time zone"},
		{[]string{"schedule", id, "--cron", "0 1 * * *"}, 2, "timezone (--timezone): required"},
		{[]string{"schedule", id, "--cron", "@every 1h", "--timezone", "UTC"}, 2, "cron (--cron): @every is not supported"},
		{[]string{"schedule", id}, 2, "give --cron and --timezone, or --clear"},
		{[]string{"schedule", id, "--clear", "--cron", "0 1 * * *"}, 2, "--clear removes the schedule"},
		{[]string{"schedule", "--cron", "0 1 * * *", "--timezone", "UTC"}, 2, "the transport ID is missing"},
		{[]string{"schedule", id, "extra", "--cron", "0 1 * * *"}, 2, `unexpected argument "extra"`},
		{[]string{"schedule", "TRP-19990101-001", "--cron", "0 1 * * *", "--timezone", "UTC"}, 1, "TRP-19990101-001: not found"},
		{[]string{"windows", id, "--timezone", "Asia/Seoul", "--allow", "22:00"}, 2, "allow[0] (--allow #1): \"22:00\""},
		{[]string{"windows", id, "--timezone", "Asia/Seoul", "--allow", "mon-fri 22:00-06:00", "--allow", "sat,sun 00:00-25:00"}, 2, "allow[1].to (--allow #2): \"25:00\" is not a time"},
		{[]string{"windows", id, "--timezone", "Asia/Seoul", "--allow", "mon-fry 22:00-06:00"}, 2, "allow[0].days (--allow #1)"},
		{[]string{"windows", id, "--timezone", "Asia/Seoul", "--allow", "22:00-06:00", "--on-close", "later"}, 2, "on_close (--on-close): \"later\" is not finish or stop"},
		{[]string{"windows", id, "--allow", "22:00-06:00"}, 2, "timezone (--timezone): required"},
		{[]string{"retention", id, "--days", "-1"}, 2, "retention_days (--days): -1 is out of range"},
		{[]string{"retention", id, "--days", "36501"}, 2, "retention_days (--days): 36501 is out of range"},
		{[]string{"retention", id}, 2, "retention_days (--days): required"},
		{[]string{"show"}, 2, "the transport ID is missing"},
		{[]string{"list", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
	} {
		code, out, errs := tr(c.args...)
		if code != c.code || !strings.Contains(errs, c.errs) || out != "" {
			t.Errorf("%q: exit %d (want %d)\nstdout %q\nstderr %q (want %q)", c.args, code, c.code, out, errs, c.errs)
		}
	}
	// nothing of that was stored
	code, out, _ := tr("show", id, "--json")
	var d map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d["schedule"] != nil || d["windows"] != nil || d["retention_days"] != float64(90) {
		t.Fatalf("after refused changes: exit %d %s", code, out)
	}

	// the action flags never come from the environment
	t.Setenv("ORA2GCS_CRON", "0 1 * * *")
	t.Setenv("ORA2GCS_TIMEZONE", "UTC")
	t.Setenv("ORA2GCS_CLEAR", "true")
	if code, _, errs := tr("schedule", id); code != 2 || !strings.Contains(errs, "give --cron and --timezone") {
		t.Fatalf("ORA2GCS_CRON applied: %d %s", code, errs)
	}

	before := time.Now()
	code, out, errs := tr("schedule", id, "--cron", "0 1 * * *", "--timezone", "Asia/Seoul", "--json")
	var got jobs.Transport
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("schedule: exit %d %s %s", code, out, errs)
	}
	seoul, _ := time.LoadLocation("Asia/Seoul")
	next := got.Schedule.NextRun
	if got.Schedule.Cron != "0 1 * * *" || got.Schedule.Timezone != "Asia/Seoul" || next == nil ||
		next.In(seoul).Hour() != 1 || next.In(seoul).Minute() != 0 || !next.After(before) || next.Sub(before) > 24*time.Hour {
		t.Fatalf("schedule: %+v next %v", got.Schedule, next)
	}
	code, out, errs = tr("windows", "--timezone", "Asia/Seoul", id, "--allow", "mon-fri 22:00-06:00", "--allow", "sat,sun 00:00-24:00", "--on-close", "stop", "--json")
	got = jobs.Transport{}
	want := &jobs.WindowSpec{Timezone: "Asia/Seoul", OnClose: "stop", Allow: []jobs.WindowRule{{Days: "mon-fri", From: "22:00", To: "06:00"}, {Days: "sat,sun", From: "00:00", To: "24:00"}}}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || !reflect.DeepEqual(got.Windows, want) {
		t.Fatalf("windows: exit %d %s %s", code, out, errs)
	}
	code, out, errs = tr("retention", id, "--days", "30", "--json")
	got = jobs.Transport{}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.RetentionDays != 30 ||
		got.Retention == nil || !got.Retention.Enforced || got.Retention.By != "sweep" {
		t.Fatalf("retention: exit %d %s %s", code, out, errs)
	}

	code, out, errs = tr("list")
	for _, w := range []string{id, "nightly", "0 1 * * * Asia/Seoul", " 01:00 KST", "mon-fri 22:00-06:00, sat,sun 00:00-24:00 Asia/Seoul (on close: stop)",
		"30 days, by the server's daily sweep", "v001 "} {
		if code != 0 || !strings.Contains(out, w) {
			t.Fatalf("list: exit %d, no %q in\n%s%s", code, w, out, errs)
		}
	}
	code, out, _ = tr("show", id)
	if code != 0 || !strings.Contains(out, "queue: no run waiting") || !strings.Contains(out, "jobs (newest 1 of 1)") || !strings.Contains(out, "completed  cli") {
		t.Fatalf("show: %d\n%s", code, out)
	}
	// removed again
	if code, out, errs := tr("schedule", id, "--clear"); code != 0 || !strings.Contains(out, "schedule:  none") {
		t.Fatalf("clear: %d %s %s", code, out, errs)
	}
	if code, out, errs := tr("windows", id, "--clear", "--json"); code != 0 || strings.Contains(out, `"windows"`) {
		t.Fatalf("clear windows: %d %s %s", code, out, errs)
	}
	// no state database there: said, and none is created
	empty := t.TempDir()
	if code, _, errs := cli(t, "transports", "list", "--data-dir", empty); code != 1 || !strings.Contains(errs, "no state database at") {
		t.Fatalf("empty data dir: %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(empty, "ora2gcs.db")); err == nil {
		t.Fatal("a state database was created by list")
	}
}

// TestTransportsWhileServeRuns: `ora2gcs serve` holds the state database;
// the transports commands refuse (exit 1, naming the lock holder and the
// API) and change nothing. What the API set is what the commands show once
// the server has stopped, in the API's own representation.
func TestTransportsWhileServeRuns(t *testing.T) {
	dir := t.TempDir()
	id := newTransport(t, dir, "nightly")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testutil.LogBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, []string{"--listen", addr, "--data-dir", dir, "--target", "file://" + dir, "--rows", "40"}, io.Discard, logs)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
		}
	}
	defer stop()
	base := "http://" + addr + "/api/v1"
	var key string
	for i := 0; i < 200; i++ {
		if r, err := http.Get("http://" + addr + "/api/health"); err == nil {
			r.Body.Close()
			b, _ := os.ReadFile(filepath.Join(dir, "api_key"))
			if key = strings.TrimSpace(string(b)); key != "" {
				break
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	if key == "" {
		t.Fatalf("server did not start: %s", logs.String())
	}
	call := func(method, path, body string) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("X-API-Key", key)
		req.Header.Set("Content-Type", "application/json")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, r.StatusCode, b)
		}
		return b
	}

	p := []string{"--data-dir", dir, "--target", "file://" + dir}
	for _, args := range [][]string{
		{"transports", "schedule", id, "--cron", "0 1 * * *", "--timezone", "Asia/Seoul"},
		{"transports", "retention", id, "--days", "7"},
		{"transports", "list"},
		{"retention", "apply", "--bucket", "oracle-etl-data", "--all"},
	} {
		code, out, errs := cli(t, append(args, p...)...)
		if code != 1 || out != "" || !strings.Contains(errs, "in use by another process (pid ") || !strings.Contains(errs, "through its API") ||
			strings.Count(errs, "\n") != 1 {
			t.Fatalf("%q while serve runs: exit %d\n%s%s", args, code, out, errs)
		}
	}
	var tr jobs.Transport
	if err := json.Unmarshal(call("GET", "/transport/"+id, ""), &tr); err != nil || tr.Schedule != nil || tr.RetentionDays != 90 {
		t.Fatalf("the refused commands changed the transport: %+v %v", tr, err)
	}
	// the server's own changes, and its representation
	call("PUT", "/transport/"+id+"/schedule", `{"cron": "30 2 * * 1-5", "timezone": "Europe/Berlin"}`)
	call("PUT", "/transport/"+id+"/windows", `{"timezone": "Asia/Seoul", "allow": [{"days": "mon-fri", "from": "22:00", "to": "06:00"}]}`)
	call("PUT", "/transport/"+id+"/retention", `{"retention_days": 45}`)
	apiOne := call("GET", "/transport/"+id, "")
	apiList := call("GET", "/transports", "")
	stop()

	code, out, errs := cli(t, append([]string{"transports", "show", id, "--json"}, p...)...)
	if code != 0 {
		t.Fatalf("show after serve: %d %s", code, errs)
	}
	var cliOne, want map[string]any
	if err := json.Unmarshal([]byte(out), &cliOne); err != nil {
		t.Fatal(err)
	}
	if q, ok := cliOne["queue"].([]any); !ok || len(q) != 0 {
		t.Fatalf("queue: %v", cliOne["queue"])
	}
	if js, ok := cliOne["recent_jobs"].([]any); !ok || len(js) != 1 {
		t.Fatalf("recent_jobs: %v", cliOne["recent_jobs"])
	}
	delete(cliOne, "queue")
	delete(cliOne, "recent_jobs")
	delete(cliOne, "recent_scheduled_runs")
	json.Unmarshal(apiOne, &want)
	if !reflect.DeepEqual(cliOne, want) {
		t.Fatalf("show --json is not the API's representation:\ncli %v\napi %v", cliOne, want)
	}
	code, out, _ = cli(t, append([]string{"transports", "list", "--json"}, p...)...)
	var cliList, apiPage struct{ Items []map[string]any }
	if code != 0 || json.Unmarshal([]byte(out), &cliList) != nil || json.Unmarshal(apiList, &apiPage) != nil ||
		len(cliList.Items) != 1 || !reflect.DeepEqual(cliList.Items, apiPage.Items) {
		t.Fatalf("list --json is not the API's page:\ncli %s\napi %s", out, apiList)
	}
}

// TestTransportsHelp: the group's help lists every command with an example;
// each command's help lists its flags.
func TestTransportsHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"transports", "--help"}, []string{"transports list", "transports schedule ID --cron '0 1 * * *' --timezone Asia/Seoul", "--allow 'mon-fri 22:00-06:00'", "retention ID --days 90", "exit 2"}},
		{[]string{"help", "transports"}, []string{"transports show ID"}},
		{[]string{"help", "transports", "schedule"}, []string{"Usage: ora2gcs transports schedule ID --cron", "-clear", "-timezone", "command line only"}},
		{[]string{"transports", "windows", "--help"}, []string{"-allow", "-on-close", "past midnight"}},
		{[]string{"help", "retention"}, []string{"retention check --bucket B", "storage.buckets.update"}},
		{[]string{"retention", "apply", "-h"}, []string{"-prune", "-all", "-bucket"}},
	} {
		code, out, errs := cli(t, c.args...)
		for _, w := range c.want {
			if code != 0 || errs != "" || !strings.Contains(out, w) {
				t.Errorf("%q: exit %d, want %q in\n%s%s", c.args, code, w, out, errs)
			}
		}
	}
	if code, _, errs := cli(t, "transports"); code != 2 || !strings.Contains(errs, "transports list") {
		t.Errorf("no subcommand: %d %s", code, errs)
	}
}

// TestRetentionSweepFileTarget: on a file target `retention check` lists the
// versions past their period (exit 1) and `retention apply` removes them,
// never the newest completed version, marking the jobs expired.
func TestRetentionSweepFileTarget(t *testing.T) {
	dir := t.TempDir()
	id := newTransport(t, dir, "nightly")
	newTransport(t, dir, "nightly")
	newTransport(t, dir, "nightly")
	other := newTransport(t, dir, "other")
	p := []string{"--data-dir", dir, "--target", "file://" + dir}
	if code, _, errs := cli(t, append([]string{"transports", "retention", id, "--days", "30"}, p...)...); code != 0 {
		t.Fatalf("retention: %s", errs)
	}
	defer func(f func() time.Time) { cliNow = f }(cliNow)
	// now: the transport's jobs are 10 days old (all kept)
	if code, out, errs := cli(t, append([]string{"retention", "check", "--bucket", "oracle-etl-data"}, p...)...); code != 0 {
		t.Fatalf("check, nothing due: %d %s %s", code, out, errs)
	}
	cliNow = func() time.Time { return time.Now().Add(40 * 24 * time.Hour) }
	code, out, errs := cli(t, append([]string{"retention", "check", "--bucket", "oracle-etl-data", "--json"}, p...)...)
	var rep retentionReport
	if code != 1 || json.Unmarshal([]byte(out), &rep) != nil || !rep.Drift || rep.By != "sweep" || len(rep.Items) != 2 ||
		!reflect.DeepEqual(rep.Items[0].Versions, []string{"v001", "v002"}) || rep.Items[1].TransportID != other || len(rep.Items[1].Versions) != 0 ||
		!strings.Contains(errs, "has drift") {
		t.Fatalf("check: %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := cli(t, append([]string{"retention", "apply", "--bucket", "oracle-etl-data"}, p...)...); code != 2 || !strings.Contains(errs, "--transport ID or --all") {
		t.Fatalf("apply without a selection: %d %s", code, errs)
	}
	code, out, errs = cli(t, append([]string{"retention", "apply", "--bucket", "oracle-etl-data", "--transport", id}, p...)...)
	if code != 0 || !strings.Contains(out, "expired v001,v002") {
		t.Fatalf("apply: %d\n%s%s", code, out, errs)
	}
	root := filepath.Join(dir, "oracle-etl-data", id)
	for v, kept := range map[string]bool{"v001": false, "v002": false, "v003": true} {
		_, err := os.Stat(filepath.Join(root, v, "_manifest.json"))
		if (err == nil) != kept {
			t.Errorf("%s kept %v, want %v", v, err == nil, kept)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "oracle-etl-data", other, "v001", "_manifest.json")); err != nil {
		t.Errorf("the other transport (90 days, not selected) lost its version: %v", err)
	}
	code, out, _ = cli(t, append([]string{"transports", "show", id, "--json"}, p...)...)
	var d transportDetail
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || len(d.RecentJobs) != 3 {
		t.Fatalf("show: %s", out)
	}
	for _, j := range d.RecentJobs {
		if (j.ExpiredAt != nil) != (j.Version != "v003") {
			t.Errorf("%s expired_at %v", j.Version, j.ExpiredAt)
		}
	}
	// nothing left to do; the newest completed version stays however old
	cliNow = func() time.Time { return time.Now().Add(400 * 24 * time.Hour) }
	if code, out, errs := cli(t, append([]string{"retention", "check", "--bucket", "oracle-etl-data", "--transport", id}, p...)...); code != 0 {
		t.Fatalf("check after apply: %d %s %s", code, out, errs)
	}
	if code, out, _ := cli(t, append([]string{"retention", "apply", "--bucket", "oracle-etl-data", "--all"}, p...)...); code != 0 || !bytes.Contains([]byte(out), []byte("unchanged")) {
		t.Fatalf("apply again: %d %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(root, "v003", "_manifest.json")); err != nil {
		t.Fatalf("the newest completed version was removed: %v", err)
	}
}
