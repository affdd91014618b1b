package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
)

// TestDashboardIncrementalWindow (real PostgreSQL): the job view shows,
// per table, how it was read — a full first read with the reason and the
// high it recorded, then the incremental window (low exclusive, high
// inclusive), the overlap and the rows with a NULL watermark — exactly as
// the API's job record says; a full table of the same job shows none. The
// watermark column's name is markup, shown as text.
func TestDashboardIncrementalWindow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dsn := pgtest.DSN(t)
	pg, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(context.Background())
	schema := fmt.Sprintf("e2e_inc_%d", rand.Uint32())
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := pg.Exec(ctx, strings.ReplaceAll(q, "$S.", schema+".")); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec("CREATE SCHEMA "+schema,
		`CREATE TABLE $S.orders (id int PRIMARY KEY, "<b>wm</b>" timestamptz)`,
		"CREATE TABLE $S.plain (id int PRIMARY KEY)", "INSERT INTO $S.plain VALUES (1)",
		`INSERT INTO $S.orders VALUES (1, '2026-01-01 10:00:00+00'), (2, '2026-01-01 11:00:00+00'), (3, NULL)`)
	defer func() { _, _ = pg.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") }()
	conn, err := postgres.Open(ctx, dsn, postgres.Options{MaxOpen: 4})
	if err != nil {
		t.Fatal(err)
	}
	st := startStack(t, func(c *jobs.ManagerConfig) { c.Connector = conn })
	t.Cleanup(func() { conn.Close() }) // after the stack's clean-up (LIFO)

	orders, plain := schema+".orders", schema+".plain"
	var tr jobs.Transport
	st.call(t, "POST", "/api/v1/transport", map[string]any{"name": "incremental", "tables": []string{orders, plain},
		"incremental": map[string]any{"tables": []map[string]any{{"table": orders, "mode": "incremental",
			"watermark_column": "<b>wm</b>", "overlap": "30m"}}}}, &tr)
	run := func() jobs.Job {
		t.Helper()
		var started struct {
			JobID string `json:"job_id"`
		}
		st.call(t, "POST", "/api/v1/transport/"+tr.ID+"/execute", nil, &started)
		j := st.waitJob(t, started.JobID)
		if j.Status != jobs.StatusCompleted {
			t.Fatalf("job %s: %s", j.ID, j.Status)
		}
		return j
	}
	j1 := run()
	exec(`INSERT INTO $S.orders VALUES (4, '2026-01-01 12:00:00+00'), (5, NULL)`)
	j2 := run()

	b := newBrowser(t, ctx)
	b.do("open the dashboard", chromedp.Navigate(st.url+"/"))
	b.waitPage("signin")
	b.typeInto("#apikey", apiKey)
	b.click("#signin-submit")
	b.waitPage("transports")
	for _, tc := range []struct {
		job  jobs.Job
		mode string
		text string
	}{
		{j1, "full", "full read (no previous watermark), <b>wm</b> up to 2026-01-01T11:00:00Z · 1 NULL"},
		{j2, "incremental", "incremental: <b>wm</b> in (2026-01-01T10:30:00Z, 2026-01-01T12:00:00Z], overlap 30m0s · 2 NULL"},
	} {
		var api jobs.Job
		st.call(t, "GET", "/api/v1/jobs/"+tc.job.ID, nil, &api)
		var te jobs.TableExtraction
		for _, x := range api.Tables {
			if x.TableName == orders {
				te = x
			}
		}
		if te.Mode != tc.mode || te.Window == nil {
			t.Fatalf("the API's record of %s: mode %q window %+v", orders, te.Mode, te.Window)
		}
		b.do("open job "+tc.job.ID, chromedp.Navigate(st.url+"/#/job/"+tc.job.ID))
		b.waitPage("job")
		sel := fmt.Sprintf(`#job-tables [data-table=%q] .read-mode`, orders)
		b.wait("the read mode of "+orders, fmt.Sprintf(`document.querySelector(%q)`, sel))
		checkText(b, sel, tc.text)
		if m := eval[string](b, fmt.Sprintf(`document.querySelector(%q).dataset.mode`, sel)); m != tc.mode {
			b.fail("job %s: data-mode %q, want %q", tc.job.ID, m, tc.mode)
		}
		if n := eval[int](b, fmt.Sprintf(`document.querySelectorAll('#job-tables [data-table=%q] .read-mode').length`, plain)); n != 0 {
			b.fail("job %s: the full table %s shows a read mode", tc.job.ID, plain)
		}
		checkNoMarkup(b)
		b.shoot("job-incremental-" + tc.mode)
	}
}
