package e2e

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// jobTimeout bounds the wait for a job of the synthetic tables to finish.
const jobTimeout = 90 * time.Second

// TestDashboard walks the dashboard as a user would, against the real stack:
// sign-in (a bad key first), a transport of the synthetic tables made with the
// picker, its job watched to 100 %, the history, a 274-column sample, the
// source status, a 409 while another job runs, a stream dropped and resumed,
// a reload that keeps the session, and a stale key sent back to sign-in.
func TestDashboard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := startStack(t)
	b := newBrowser(t, ctx)

	t.Log("sign-in: a bad key is refused with the API's message")
	b.do("open the dashboard", chromedp.Navigate(st.url+"/"))
	b.waitPage("signin")
	b.typeInto("#apikey", "not-the-key")
	b.click("#signin-submit")
	b.wait("the sign-in error", `!document.getElementById('signin-error').hidden`)
	if msg := b.text("#signin-error"); !strings.Contains(msg, "invalid API key") {
		b.fail("sign-in error says %q, want the API's \"invalid API key\"", msg)
	}
	if eval[bool](b, `!document.getElementById('top').hidden`) {
		b.fail("the navigation shows before sign-in")
	}
	b.shoot("signin-error")

	b.typeInto("#apikey", apiKey)
	b.click("#signin-submit")
	b.waitPage("transports")
	if eval[string](b, `sessionStorage.getItem('ora2gcs.key')`) != apiKey {
		b.fail("the key is not kept in sessionStorage")
	}
	if eval[string](b, `JSON.stringify(localStorage)`) != "{}" || strings.Contains(eval[string](b, `location.href`), apiKey) {
		b.fail("the key leaked into localStorage or the URL")
	}
	b.wait("the empty state", `document.getElementById('transports-empty')`)
	b.shoot("transports-empty")

	t.Log("create a transport of VBRP, VBRK and LIKP with the picker")
	b.click("#new-transport")
	b.waitPage("transport-new")
	b.wait("the table list", `document.getElementById('pick-LIKP')`)
	for _, name := range []string{"VBRP", "VBRK", "LIKP"} {
		rows := eval[string](b, fmt.Sprintf(`document.querySelector('[data-table=%s] .meta').textContent`, name))
		if !strings.Contains(rows, commas(synthRows)+" rows") {
			b.fail("picker shows %q for %s, want %s rows", rows, name, commas(synthRows))
		}
	}
	b.typeInto("#t-name", "SAP Sales Data Export")
	b.typeInto("#table-search", "vbr")
	b.wait("the search to narrow the list", `!document.getElementById('pick-LIKP') && document.getElementById('pick-VBRP')`)
	b.click("#pick-VBRP")
	b.click("#pick-VBRK")
	b.typeInto("#table-search", "LIKP")
	b.wait("the search for LIKP", `document.getElementById('pick-LIKP') && !document.getElementById('pick-VBRP')`)
	b.click("#pick-LIKP")
	b.wait("three chips", `document.querySelectorAll('#picked [data-picked]').length === 3`)
	b.shoot("transport-new")
	b.click("#create-submit")
	b.waitPage("transports")
	b.wait("the new transport", `document.querySelector('[data-transport-id]')`)
	trpID := eval[string](b, `document.querySelector('[data-transport-id]').dataset.transportId`)
	var trp jobs.Transport
	st.call(t, "GET", "/api/v1/transport/"+trpID, nil, &trp)
	got := append([]string(nil), trp.Tables...)
	sort.Strings(got)
	if strings.Join(got, ",") != "LIKP,VBRK,VBRP" || trp.TargetBucket != defaultBucket {
		b.fail("transport %s has tables %v in %q, want LIKP, VBRK, VBRP in %q", trpID, trp.Tables, trp.TargetBucket, defaultBucket)
	}
	if !strings.Contains(b.text("#flash"), trpID) {
		b.fail("no confirmation naming %s", trpID)
	}
	b.shoot("transports")

	t.Log("execute it and watch the job reach 100 %")
	b.click(fmt.Sprintf(`[data-execute=%q]`, trpID))
	b.wait("the job page", `location.hash.startsWith('#/job/')`)
	jobID := strings.TrimPrefix(eval[string](b, `decodeURIComponent(location.hash)`), "#/job/")
	b.waitPage("job")
	b.waitFor("100 %", `document.getElementById('overall-percent').textContent === '100 %' && document.getElementById('job-sub').dataset.status === 'completed'`, jobTimeout)
	job := st.waitJob(t, jobID)
	checkJobView(t, b, job, 3)
	b.shoot("job-completed")

	t.Log("the history lists the job; filters narrow it")
	b.click("#nav-jobs")
	b.waitPage("jobs")
	b.wait("the job in the history", fmt.Sprintf(`document.querySelector('[data-job-id=%q]')`, jobID))
	if s := b.text(fmt.Sprintf(`[data-job-id=%q] .badge`, jobID)); s != "completed" {
		b.fail("history shows %s as %q", jobID, s)
	}
	if info := b.text("#page-info"); !strings.Contains(info, "Page 1 of 1") {
		b.fail("pager says %q", info)
	}
	b.shoot("jobs")
	b.do("filter failed jobs", chromedp.SetValue(chromedp.CSS("#f-status"), "failed"))
	b.click("#f-apply")
	b.wait("the filtered empty state", `location.hash.includes('status=failed') && document.getElementById('jobs-empty')`)
	b.shoot("jobs-filtered-empty")
	b.click("#f-reset")
	b.wait("the unfiltered history", fmt.Sprintf(`document.querySelector('[data-job-id=%q]')`, jobID))

	t.Log("a sample of VBRP: 100 rows, 274 columns, scrolling sideways in its own box")
	b.click("#nav-tables")
	b.waitPage("tables")
	b.click(`[data-sample=VBRP]`)
	b.waitPage("sample")
	b.wait("the sample table", `document.getElementById('sample-table')`)
	cols := eval[int](b, `document.querySelectorAll('#sample-table thead th[data-col]').length`)
	rows := eval[int](b, `document.querySelectorAll('#sample-table tbody tr').length`)
	if cols != 274 || rows != 100 {
		b.fail("sample shows %d columns and %d rows, want 274 and 100", cols, rows)
	}
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		b.do("resize", chromedp.EmulateViewport(vp.width, vp.height, opts...))
		ok := eval[string](b, `new Promise(r => requestAnimationFrame(() => {
			const s = document.getElementById('sample-scroll');
			if (s.scrollWidth <= s.clientWidth) return r('the sample box does not scroll sideways');
			s.scrollLeft = s.scrollWidth;
			requestAnimationFrame(() => {
				const last = [...document.querySelectorAll('#sample-table thead th[data-col]')].pop();
				const a = s.getBoundingClientRect(), c = last.getBoundingClientRect();
				const visible = c.right <= a.right + 1 && c.left >= a.left - 1;
				const msg = visible ? 'ok' : 'column ' + last.dataset.col + ' is not visible after scrolling (' + c.left + '..' + c.right + ' in ' + a.left + '..' + a.right + ')';
				s.scrollLeft = 0;
				r(msg);
			});
		}))`)
		if ok != "ok" {
			b.fail("at %s: %s", vp.name, ok)
		}
	}
	b.shoot("sample-VBRP")

	t.Log("health and source status")
	b.click("#nav-status")
	b.waitPage("status")
	b.wait("the source status", `document.querySelector('#source-reachable .badge') && document.querySelector('#health-status .badge')`)
	if s := b.text("#source-reachable .badge"); s != "reachable" {
		b.fail("source shows %q", s)
	}
	if s := b.text("#health-status .badge"); s != "ok" {
		b.fail("health shows %q", s)
	}
	b.shoot("status")

	t.Log("409: executing while another job runs links to the running job")
	var gated jobs.Transport
	st.call(t, "POST", "/api/v1/transport", map[string]any{"name": "held", "tables": []string{"VBRK"}, "target_bucket": gatedBucket}, &gated)
	var started struct {
		JobID string `json:"job_id"`
	}
	st.call(t, "POST", "/api/v1/transport/"+gated.ID+"/execute", nil, &started)
	b.click("#nav-transports")
	b.waitPage("transports")
	b.click(fmt.Sprintf(`[data-execute=%q]`, trpID))
	b.wait("the 409 message", `document.getElementById('conflict-link')`)
	if href := eval[string](b, `document.getElementById('conflict-link').getAttribute('href')`); href != "#/job/"+started.JobID {
		b.fail("the 409 links to %q, want #/job/%s", href, started.JobID)
	}
	b.shoot("execute-conflict")

	t.Log("the running job streams live; a dropped stream reconnects without losing state")
	b.click("#conflict-link")
	b.waitPage("job")
	b.wait("the live stream of the running job", `document.getElementById('stream-state').dataset.state === 'live' && document.querySelector('#job-tables [data-table=VBRK]')`)
	b.wait("VBRK's rows to stream in", `+document.querySelector('#job-tables [data-table=VBRK]').dataset.rows > 0`)
	b.shoot("job-running")
	before := eval[int](b, `+document.querySelector('#job-tables [data-table=VBRK]').dataset.rows`)
	if n := st.ln.dropAll(); n == 0 {
		t.Fatal("no connection to drop")
	}
	b.wait("the stream to reconnect", `+(document.getElementById('stream-state').dataset.reconnects || 0) >= 1 && document.getElementById('stream-state').dataset.state === 'live'`)
	if after := eval[int](b, `+document.querySelector('#job-tables [data-table=VBRK]').dataset.rows`); after < before {
		b.fail("after the reconnect VBRK shows %d rows, had %d before: state lost", after, before)
	}
	st.open()
	b.waitFor("the held job to complete", `document.getElementById('overall-percent').textContent === '100 %' && document.getElementById('job-sub').dataset.status === 'completed'`, jobTimeout)
	checkJobView(t, b, st.waitJob(t, started.JobID), 1)

	t.Log("a failing job shows its errors as they arrive")
	var broken jobs.Transport
	st.call(t, "POST", "/api/v1/transport", map[string]any{"name": "broken", "tables": []string{"LIKP"}, "target_bucket": brokenBucket}, &broken)
	st.call(t, "POST", "/api/v1/transport/"+broken.ID+"/execute", nil, &started)
	b.do("open the failing job", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = '#/job/%s'`, started.JobID)))
	b.waitPage("job")
	b.wait("the live stream of the failing job", `document.getElementById('stream-state').dataset.state === 'live'`)
	st.breakSink()
	b.waitFor("the error to arrive and the job to fail", fmt.Sprintf(`document.getElementById('job-errors').textContent.includes(%q) && document.getElementById('job-sub').dataset.status === 'failed'`, brokenMsg), jobTimeout)
	b.wait("the failure banner", fmt.Sprintf(`(document.getElementById('job-error') || {textContent: ''}).textContent.includes(%q)`, brokenMsg))
	b.shoot("job-failed")
	b.do("filter failed jobs", chromedp.Evaluate[chromedp.Void](`location.hash = '#/jobs?status=failed'`))
	b.waitPage("jobs")
	b.wait("the failed job in the history", fmt.Sprintf(`document.querySelector('[data-job-id=%q]') && document.querySelectorAll('#jobs-table tbody tr').length === 1`, started.JobID))
	b.do("open the failed job again", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = '#/job/%s'`, started.JobID)))
	b.waitPage("job")
	b.wait("the failed job", `document.getElementById('job-sub').dataset.status === 'failed'`)

	t.Log("a reload keeps the session")
	b.do("reload", chromedp.Reload())
	b.waitPage("job")
	b.wait("the job after the reload", `document.getElementById('job-sub').dataset.status === 'failed'`)

	t.Log("a key the server no longer accepts goes back to sign-in with a message")
	eval[chromedp.Void](b, `sessionStorage.setItem('ora2gcs.key', 'revoked-key')`)
	b.click("#nav-jobs")
	b.waitPage("signin")
	if msg := b.text("#signin-flash"); !strings.Contains(msg, "invalid API key") {
		b.fail("sign-in after a 401 says %q", msg)
	}
	b.shoot("signed-out")
	b.typeInto("#apikey", apiKey)
	b.click("#signin-submit")
	b.waitPage("jobs") // back where the 401 happened
	b.check()
}

// checkJobView compares the job page with GET /jobs/:id: every table's rows
// and status, and the totals.
func checkJobView(t *testing.T, b *browser, job jobs.Job, tables int) {
	t.Helper()
	if job.Status != jobs.StatusCompleted || len(job.Tables) != tables {
		b.fail("job %s: status %s with %d tables, want completed with %d", job.ID, job.Status, len(job.Tables), tables)
	}
	var total int64
	for _, x := range job.Tables {
		total += x.RowCount
		if x.RowCount != synthRows {
			b.fail("job %s: %s has %d rows, want %d", job.ID, x.TableName, x.RowCount, synthRows)
		}
		sel := fmt.Sprintf(`#job-tables [data-table=%q]`, x.TableName)
		b.wait(x.TableName+"'s row", fmt.Sprintf(`document.querySelector(%q)`, sel))
		rows := eval[string](b, fmt.Sprintf(`document.querySelector(%q).dataset.rows`, sel))
		status := eval[string](b, fmt.Sprintf(`document.querySelector(%q).dataset.status`, sel))
		if rows != strconv.FormatInt(x.RowCount, 10) || status != x.Status {
			b.fail("job view shows %s with %s rows, %s; the API says %d, %s", x.TableName, rows, status, x.RowCount, x.Status)
		}
	}
	if total != job.TotalRows {
		b.fail("job %s: tables sum to %d rows, total_rows is %d", job.ID, total, job.TotalRows)
	}
	if s := b.text("#stat-rows"); s != commas(job.TotalRows) {
		b.fail("job view shows %q rows in all, the API %s", s, commas(job.TotalRows))
	}
}
