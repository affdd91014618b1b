package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// Buckets whose retention the test's lifecycle enforcer handles: the rule
// cannot be set on noLifecycleBucket (a permission error whose text holds
// HTML), and on driftedBucket the check finds a different rule.
const (
	noLifecycleBucket = "no-lifecycle-bucket"
	driftedBucket     = "drifted-bucket"
	permissionMsg     = `googleapi: Error 403: <b>ora2gcs@p.iam</b> does not have storage.buckets.update access`
	driftMsg          = "the rule for the prefix has age 30, want 90"
)

// hostileName is a transport name made to break a page that builds HTML
// from strings, and long enough to break a layout that does not wrap.
var hostileName = `Nightly <img src=x onerror="document.title='pwned'"><b>bold</b> ` + strings.Repeat("W", 120)

// lifecycleFake is the test's bucket-rule enforcer for the two buckets
// above; every other bucket is swept by the server (nil enforcer).
type lifecycleFake struct{ bucket string }

func (l lifecycleFake) EnsureRetention(context.Context, string, int) (bool, error) {
	if l.bucket == noLifecycleBucket {
		return false, errors.New(permissionMsg)
	}
	return true, nil
}

func (l lifecycleFake) CheckRetention(context.Context, string, int) (string, error) {
	if l.bucket == noLifecycleBucket {
		return "", errors.New(permissionMsg)
	}
	return driftMsg, nil
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// TestDashboardSchedules: the transports list and a transport's page show
// what was set up through the API (schedule, next run in its zone and in
// the viewer's, window and policy, queue position, retention and its
// enforcement: enforced, not enforced with the reason, drift); the
// schedule form changes the schedule (checked through the API), shows an
// invalid cron or zone next to its field and changes nothing; a queued run
// is cancelled from the page (checked through GET /queue); Execute outside
// the window and while a job runs offers "Run anyway" and "Queue this run";
// a name and an error message holding HTML are shown as text. The
// server's clock is fixed, so every time shown is exact.
func TestDashboardSchedules(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Tuesday 2026-03-10 09:00 in Seoul; New York is on daylight time
	// (since March 8), Berlin is not yet (March 29).
	clk := &fakeClock{t: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)}
	st := startStack(t, func(c *jobs.ManagerConfig) {
		c.Clock = clk.now
		c.Lifecycle = func(bucket string) (jobs.RetentionEnforcer, error) {
			if bucket == noLifecycleBucket || bucket == driftedBucket {
				return lifecycleFake{bucket: bucket}, nil
			}
			return nil, nil
		}
	})
	b := newBrowser(t, ctx)
	if _, err := chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"}); err != nil {
		t.Fatalf("set the viewer's zone: %v", err)
	}

	t.Log("set up through the API: a scheduled transport with windows and 30 days, a held job, two queued runs")
	var nightly, held, noLC, drifted jobs.Transport
	st.call(t, "POST", "/api/v1/transport", map[string]any{"name": hostileName, "tables": []string{"VBRK"},
		"schedule": map[string]string{"cron": "0 1 * * *", "timezone": "Asia/Seoul"}, "retention_days": 30}, &nightly)
	st.call(t, "PUT", "/api/v1/transport/"+nightly.ID+"/windows", map[string]any{"timezone": "Asia/Seoul", "on_close": "stop",
		"allow": []map[string]string{{"days": "mon-fri", "from": "22:00", "to": "06:00"}, {"days": "sat,sun", "from": "00:00", "to": "24:00"}}}, nil)
	st.call(t, "POST", "/api/v1/transport", map[string]any{"name": "held", "tables": []string{"LIKP"}, "target_bucket": gatedBucket}, &held)
	st.call(t, "POST", "/api/v1/transport", map[string]any{"name": "no lifecycle", "tables": []string{"LIKP"}, "target_bucket": noLifecycleBucket}, &noLC)
	st.call(t, "POST", "/api/v1/transport", map[string]any{"name": "drifted", "tables": []string{"LIKP"}, "target_bucket": driftedBucket}, &drifted)
	st.mgr.Tick(ctx, clk.now()) // the start-up check of every transport's retention
	var started struct {
		JobID string `json:"job_id"`
	}
	st.call(t, "POST", "/api/v1/transport/"+held.ID+"/execute", nil, &started)
	var queued struct {
		Status string         `json:"status"`
		Queued jobs.QueuedRun `json:"queued"`
	}
	// The nightly window is closed (09:00 on a Tuesday): it needs force.
	st.call(t, "POST", "/api/v1/transport/"+nightly.ID+"/execute", map[string]bool{"queue": true, "force": true}, &queued)
	nightlyQ := queued.Queued
	st.call(t, "POST", "/api/v1/transport/"+noLC.ID+"/execute", map[string]bool{"queue": true}, &queued)
	noLCQ := queued.Queued
	if nightlyQ.Position != 1 || noLCQ.Position != 2 {
		t.Fatalf("queue positions %d and %d, want 1 and 2", nightlyQ.Position, noLCQ.Position)
	}

	t.Log("the transports list: schedule, next run in the viewer's time, queue positions, the queue")
	b.do("open the dashboard", chromedp.Navigate(st.url+"/"))
	b.waitPage("signin")
	b.typeInto("#apikey", apiKey)
	b.click("#signin-submit")
	b.waitPage("transports")
	row := fmt.Sprintf(`[data-transport-id=%q]`, nightly.ID)
	b.wait("the nightly transport", `document.querySelector('`+row+`')`)
	checkText(b, row+" .tname", hostileName)
	checkNoMarkup(b)
	sched := b.text(row + " td.sched")
	for _, want := range []string{"0 1 * * *", "Asia/Seoul", "next Tue 2026-03-10 12:00 GMT-4", "queued 1st"} {
		if !strings.Contains(sched, want) {
			b.fail("the schedule cell says %q, want it to contain %q", sched, want)
		}
	}
	if s := b.text(fmt.Sprintf(`[data-transport-id=%q] td.sched`, noLC.ID)); !strings.Contains(s, "manual") || !strings.Contains(s, "queued 2nd") {
		b.fail("the unscheduled, queued transport's cell says %q", s)
	}
	checkQueueRows(b, nightlyQ.ID, noLCQ.ID)
	b.shoot("transports-scheduled")

	t.Log("the transport's page: schedule, next run in both zones, window, retention, queue position")
	b.click(row + " .tname")
	b.waitPage("transport")
	checkText(b, "#transport-name", hostileName)
	checkNoMarkup(b)
	checkText(b, "#sched-cron", "0 1 * * *")
	checkText(b, "#sched-tz", "Asia/Seoul")
	checkText(b, "#next-run-zone", "Wed 2026-03-11 01:00 GMT+9 (Asia/Seoul)")
	checkText(b, "#next-run-local", "Tue 2026-03-10 12:00 GMT-4 (America/New_York)")
	checkText(b, "#window-rules", "mon-fri 22:00–06:00sat,sun 00:00–24:00")
	checkText(b, "#window-tz", "Asia/Seoul")
	checkText(b, "#window-state", "closedopens Tue 2026-03-10 22:00 GMT+9 (Asia/Seoul)your time Tue 2026-03-10 09:00 GMT-4")
	if p := eval[string](b, `document.querySelector('#window-policy [data-policy]').dataset.policy`); p != "stop" {
		b.fail("window policy shown as %q, want stop", p)
	}
	checkText(b, "#retention-days", "30 days")
	checkText(b, "#retention-state", "enforced")
	checkText(b, "#queue-position", "1st in the queue")
	if eval[string](b, `document.getElementById('s-cron').value + '|' + document.getElementById('s-timezone').value`) != "0 1 * * *|Asia/Seoul" {
		b.fail("the form does not hold the current schedule")
	}
	for _, id := range []string{"s-cron", "s-timezone"} {
		if !eval[bool](b, fmt.Sprintf(`!!document.querySelector('label[for=%s]') && document.getElementById(%q).getAttribute('aria-describedby').includes(%q)`, id, id, id+"-error")) {
			b.fail("#%s has no label or is not described by its error line", id)
		}
	}
	b.shoot("transport-scheduled")

	t.Log("change the schedule in the form: the view and the API show it")
	b.typeInto("#s-cron", "30 22 * * 1-5")
	b.typeInto("#s-timezone", "Europe/Berlin")
	b.click("#schedule-save")
	b.wait("the saved schedule", `document.getElementById('schedule-saved')`)
	checkText(b, "#sched-cron", "30 22 * * 1-5")
	checkText(b, "#next-run-zone", "Tue 2026-03-10 22:30 GMT+1 (Europe/Berlin)")
	checkText(b, "#next-run-local", "Tue 2026-03-10 17:30 GMT-4 (America/New_York)")
	want := jobs.Schedule{Cron: "30 22 * * 1-5", Timezone: "Europe/Berlin", NextRun: ptr(time.Date(2026, 3, 10, 21, 30, 0, 0, time.UTC))}
	checkSchedule(t, b, st, nightly.ID, &want)

	t.Log("an invalid cron (holding HTML) is shown at its field and changes nothing")
	badCron := `<img src=x onerror=alert(1)> * *`
	b.typeInto("#s-cron", badCron)
	b.click("#schedule-save")
	b.wait("the cron field's error", `!document.getElementById('s-cron-error').hidden`)
	if msg := b.text("#s-cron-error"); !strings.Contains(msg, badCron) {
		b.fail("the cron error says %q, want the API's message quoting %q", msg, badCron)
	}
	if !eval[bool](b, `document.getElementById('s-cron').getAttribute('aria-invalid') === 'true' && document.activeElement.id === 's-cron' && document.getElementById('s-timezone-error').hidden`) {
		b.fail("the cron field is not marked invalid and focused, or the zone shows an error too")
	}
	checkNoMarkup(b)
	b.shoot("schedule-invalid-cron")
	checkText(b, "#sched-cron", "30 22 * * 1-5")
	checkSchedule(t, b, st, nightly.ID, &want)

	t.Log("an unknown zone goes to the zone's field")
	b.typeInto("#s-cron", "0 2 * * *")
	b.typeInto("#s-timezone", "Asia/Nowhere")
	b.click("#schedule-save")
	b.wait("the zone field's error", `!document.getElementById('s-timezone-error').hidden && document.getElementById('s-cron-error').hidden`)
	if msg := b.text("#s-timezone-error"); !strings.Contains(msg, "Asia/Nowhere") {
		b.fail("the zone error says %q", msg)
	}
	checkSchedule(t, b, st, nightly.ID, &want)

	t.Log("cancel the nightly transport's queued run from its page")
	checkQueueRows(b, nightlyQ.ID, noLCQ.ID)
	if !eval[bool](b, fmt.Sprintf(`document.querySelector('[data-queue-id=%q]').classList.contains('mine')`, nightlyQ.ID)) {
		b.fail("the transport's own queued run is not marked")
	}
	b.click(fmt.Sprintf(`[data-cancel-queued=%q]`, nightlyQ.ID))
	b.wait("the confirmation", fmt.Sprintf(`document.querySelector('[data-confirm-cancel=%q]')`, nightlyQ.ID))
	if q := listQueue(t, st); len(q) != 2 {
		b.fail("the first click cancelled already: queue %v", q)
	}
	b.click(fmt.Sprintf(`[data-confirm-cancel=%q]`, nightlyQ.ID))
	b.wait("the cancelled run to leave the queue", fmt.Sprintf(`document.getElementById('queue-note') && !document.querySelector('[data-queue-id=%q]')`, nightlyQ.ID))
	checkText(b, "#queue-position", "not queued")
	checkQueueRows(b, noLCQ.ID)
	if q := listQueue(t, st); len(q) != 1 || q[0].ID != noLCQ.ID || q[0].Position != 1 {
		b.fail("GET /queue after the cancel: %+v, want only %s at position 1", q, noLCQ.ID)
	}

	t.Log("Execute outside the window offers to run anyway; while a job runs, to queue")
	b.click(fmt.Sprintf(`[data-execute=%q]`, nightly.ID))
	b.wait("the outside-window message", `document.getElementById('outside-window')`)
	if msg := b.text("#outside-window"); !strings.Contains(msg, "opens next at 2026-03-10T13:00:00Z") {
		b.fail("outside-window message: %q", msg)
	}
	b.click("#execute-force")
	b.wait("the running-job message", `document.getElementById('conflict') && !document.getElementById('outside-window')`)
	if href := eval[string](b, `document.getElementById('conflict-link').getAttribute('href')`); href != "#/job/"+started.JobID {
		b.fail("the 409 links to %q, want #/job/%s", href, started.JobID)
	}
	b.click("#execute-queue")
	b.wait("the queued message", `document.getElementById('queued-msg')`)
	requeued := eval[string](b, `document.getElementById('queued-msg').dataset.queueId`)
	b.wait("the queue to show the new run", fmt.Sprintf(`document.querySelector('#queue-table [data-queue-id=%q]')`, requeued))
	checkText(b, "#queue-position", "2nd in the queue")
	if q := listQueue(t, st); len(q) != 2 || q[1].ID != requeued || q[1].TransportID != nightly.ID || !q[1].Force {
		b.fail("GET /queue after queueing from the page: %+v", q)
	}

	t.Log("remove the schedule")
	b.click("#schedule-remove")
	b.wait("the removed schedule", `document.getElementById('schedule-removed') && document.getElementById('schedule-none')`)
	checkSchedule(t, b, st, nightly.ID, nil)

	t.Log("retention not enforced (with the reason, HTML as text) and drift")
	b.do("open the no-lifecycle transport", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = '#/transport/%s'`, noLC.ID)))
	b.waitPage("transport")
	b.wait("its retention", `document.getElementById('retention-state')`)
	checkText(b, "#retention-state", "not enforced")
	if d := b.text("#retention-detail"); !strings.Contains(d, permissionMsg) {
		b.fail("the retention reason says %q, want it to contain %q", d, permissionMsg)
	}
	checkNoMarkup(b)
	checkText(b, "#window-none", "No window: runs may start at any time.")
	checkText(b, "#schedule-none", "No schedule: the transport runs only when executed.")
	checkText(b, "#queue-position", "1st in the queue")
	b.shoot("transport-not-enforced")
	b.do("open the drifted transport", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = '#/transport/%s'`, drifted.ID)))
	b.waitPage("transport")
	b.wait("its retention", fmt.Sprintf(`document.getElementById('transport-sub').textContent.includes(%q)`, drifted.ID))
	checkText(b, "#retention-state", "drift")
	checkText(b, "#retention-detail", driftMsg)
	checkText(b, "#retention-days", "90 days")

	if title := eval[string](b, `document.title`); title != "ora2gcs" {
		b.fail("a hostile string ran as script: the title is %q", title)
	}
	b.check()
}

func ptr[T any](v T) *T { return &v }

// checkText fails unless the element's text is exactly want.
func checkText(b *browser, sel, want string) {
	b.t.Helper()
	if got := b.text(sel); got != want {
		b.fail("%s shows %q, want %q", sel, got, want)
	}
}

// checkNoMarkup fails if a hostile string became elements.
func checkNoMarkup(b *browser) {
	b.t.Helper()
	if n := eval[int](b, `document.querySelectorAll('#view img, #view b, [onerror]').length`); n != 0 {
		b.fail("%d elements made from a name or message: HTML was not escaped", n)
	}
}

// checkQueueRows fails unless the page's queue lists exactly ids, in order.
func checkQueueRows(b *browser, ids ...string) {
	b.t.Helper()
	want := strings.Join(ids, ",")
	b.wait("the queue "+want, fmt.Sprintf(`[...document.querySelectorAll('#queue-table tbody tr')].map(r => r.dataset.queueId).join(',') === %q`, want))
}

func listQueue(t *testing.T, st *stack) []jobs.QueuedRun {
	t.Helper()
	var q struct {
		Items []jobs.QueuedRun `json:"items"`
	}
	st.call(t, "GET", "/api/v1/queue", nil, &q)
	return q.Items
}

// checkSchedule fails unless GET /transport/:id shows want (nil: none).
func checkSchedule(t *testing.T, b *browser, st *stack, id string, want *jobs.Schedule) {
	t.Helper()
	var tr jobs.Transport
	st.call(t, "GET", "/api/v1/transport/"+id, nil, &tr)
	got := tr.Schedule
	switch {
	case want == nil && got == nil:
	case want == nil || got == nil:
		b.fail("the API shows schedule %+v, want %+v", got, want)
	case got.Cron != want.Cron || got.Timezone != want.Timezone || got.NextRun == nil || !got.NextRun.Equal(*want.NextRun):
		b.fail("the API shows %s in %s next %v, want %s in %s next %v", got.Cron, got.Timezone, got.NextRun, want.Cron, want.Timezone, want.NextRun)
	}
}
