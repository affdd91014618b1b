package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// TestDashboardStreamBackoff: the job page's stream backs off when
// connections end without new events (the delay grows with each such
// reconnect instead of starting over at 0.5 s on every connect), and after
// "complete" it never reconnects.
func TestDashboardStreamBackoff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := startStack(t)
	b := newBrowser(t, ctx)

	b.do("open the dashboard", chromedp.Navigate(st.url+"/"))
	b.waitPage("signin")
	b.typeInto("#apikey", apiKey)
	b.click("#signin-submit")
	b.waitPage("transports")

	var held jobs.Transport
	st.call(t, "POST", "/api/v1/transport", map[string]any{"name": "held", "tables": []string{"VBRK"}, "target_bucket": gatedBucket}, &held)
	var started struct {
		JobID string `json:"job_id"`
	}
	st.call(t, "POST", "/api/v1/transport/"+held.ID+"/execute", nil, &started)
	b.do("open the job", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = '#/job/%s'`, started.JobID)))
	b.waitPage("job")
	b.wait("the live stream", `document.getElementById('stream-state').dataset.state === 'live' && document.querySelector('#job-tables [data-table=VBRK]')`)
	// All rows read: the job now waits in the gated commit and publishes
	// nothing new, so every reconnect below delivers no new event.
	deadline := time.Now().Add(jobTimeout)
	for {
		var j jobs.Job
		st.call(t, "GET", "/api/v1/jobs/"+started.JobID, nil, &j)
		if len(j.Tables) == 1 && j.Tables[0].RowCount == synthRows {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("VBRK not read within %v: %+v", jobTimeout, j.Tables)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // events published with the last batch reach the page

	const drops = 4
	for i := 1; i <= drops; i++ {
		n := eval[int](b, `+(document.getElementById('stream-state').dataset.reconnects || 0)`)
		if st.ln.dropAll() == 0 {
			t.Fatal("no connection to drop")
		}
		b.wait(fmt.Sprintf("reconnect %d", i), fmt.Sprintf(
			`+(document.getElementById('stream-state').dataset.reconnects || 0) > %d && document.getElementById('stream-state').dataset.state === 'live'`, n))
	}
	raw := eval[string](b, `document.getElementById('stream-state').dataset.delays || ''`)
	var delays []int
	for _, f := range strings.Split(raw, ",") {
		d, err := strconv.Atoi(f)
		if err != nil {
			b.fail("data-delays %q", raw)
		}
		delays = append(delays, d)
	}
	if len(delays) < drops {
		b.fail("%d reconnects recorded, want %d: %q", len(delays), drops, raw)
	}
	last := delays[len(delays)-drops:]
	// 0.5 s doubling with ±20 % jitter: each delay is at least 2×0.8/1.2 ≈
	// 1.33 times the one before; starting over at 0.5 s would keep them
	// all near 0.5 s.
	for i := 1; i < len(last); i++ {
		if float64(last[i]) < 1.3*float64(last[i-1]) {
			b.fail("reconnect delays %v do not back off (%d ms after %d ms)", last, last[i], last[i-1])
		}
	}
	if last[len(last)-1] < 2000 {
		b.fail("the %dth reconnect without new events waited %d ms (delays %v)", drops, last[len(last)-1], last)
	}

	t.Log("after complete the page never reconnects")
	st.open()
	b.waitFor("the job to complete", `document.getElementById('stream-state').dataset.state === 'ended' && document.getElementById('job-sub').dataset.status === 'completed'`, jobTimeout)
	statusRequests := func() int {
		b.mu.Lock()
		defer b.mu.Unlock()
		n := 0
		for _, u := range b.urls {
			if strings.HasSuffix(u, "/transport/"+held.ID+"/status") {
				n++
			}
		}
		return n
	}
	before := statusRequests()
	st.ln.dropAll()
	time.Sleep(2 * time.Second) // longer than the first backoff step: a reconnect would show
	if n := statusRequests(); n != before || eval[string](b, `document.getElementById('stream-state').dataset.state`) != "ended" {
		b.fail("the page reconnected after complete: %d stream requests, had %d", n, before)
	}
	b.check()
}
