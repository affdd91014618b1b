package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// fallbackConnector is the synthetic source with a snapshot that reports
// one table read outside it, as the Oracle connector reports a table it
// had to read in a READ ONLY transaction (no FLASHBACK on it).
type fallbackConnector struct {
	pipeline.Connector
	table string
}

func (c fallbackConnector) Snapshot(ctx context.Context) (pipeline.Snapshot, error) {
	s, err := c.Connector.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return fallbackSnap{Snapshot: s, table: c.table}, nil
}

type fallbackSnap struct {
	pipeline.Snapshot
	table string
}

func (s fallbackSnap) Info() pipeline.SnapshotInfo {
	return pipeline.SnapshotInfo{Kind: "scn", ID: "123456789"}
}

func (s fallbackSnap) TableConsistency(t pipeline.TableInfo) (pipeline.TableConsistency, bool) {
	if t.Name == s.table {
		return pipeline.TableConsistency{Mode: pipeline.ConsistencyReadOnlyTransaction, Code: "ORA-01031",
			Reason: "not read AS OF SCN 123456789: the user lacks FLASHBACK on the table"}, true
	}
	return pipeline.TableConsistency{Mode: pipeline.ConsistencyAsOfSCN, ID: "123456789", AtSnapshot: true}, true
}

// TestDashboardConsistency: the job page marks the table that was not read
// at the job's snapshot (with its code and reason) and says above the
// tables that the job is not one point in time, naming it; the tables read
// at the snapshot carry no mark. Watched live, and again after a reload.
func TestDashboardConsistency(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := startStackWith(t, func(c pipeline.Connector) pipeline.Connector { return fallbackConnector{Connector: c, table: "VBRK"} })
	b := newBrowser(t, ctx)

	b.do("open the dashboard", chromedp.Navigate(st.url+"/"))
	b.waitPage("signin")
	b.typeInto("#apikey", apiKey)
	b.click("#signin-submit")
	b.waitPage("transports")

	var trp jobs.Transport
	st.call(t, "POST", "/api/v1/transport", map[string]any{"name": "mixed", "tables": []string{"VBRP", "VBRK"}, "target_bucket": gatedBucket}, &trp)
	var started struct {
		JobID string `json:"job_id"`
	}
	st.call(t, "POST", "/api/v1/transport/"+trp.ID+"/execute", nil, &started)
	b.do("open the job", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = '#/job/%s'`, started.JobID)))
	b.waitPage("job")
	b.wait("the live stream", `document.getElementById('stream-state').dataset.state === 'live'`)
	st.open()
	b.waitFor("the job to complete", `document.getElementById('job-sub').dataset.status === 'completed'`, jobTimeout)
	job := st.waitJob(t, started.JobID)
	checkJobView(t, b, job, 2)

	check := func(when string) {
		t.Helper()
		b.wait("VBRK's mark "+when, `document.querySelector('#job-tables [data-table=VBRK] [data-consistency]')`)
		if mode := eval[string](b, `document.querySelector('#job-tables [data-table=VBRK] [data-consistency]').dataset.consistency`); mode != "read_only_transaction" {
			b.fail("%s: VBRK is marked %q, want read_only_transaction", when, mode)
		}
		row := b.text(`#job-tables [data-table=VBRK]`)
		for _, want := range []string{"own point in time", "ORA-01031", "FLASHBACK"} {
			if !strings.Contains(row, want) {
				b.fail("%s: VBRK's row %q lacks %q", when, row, want)
			}
		}
		if eval[bool](b, `!!document.querySelector('#job-tables [data-table=VBRP] [data-consistency]')`) {
			b.fail("%s: VBRP, read at the snapshot, is marked", when)
		}
		b.wait("the job's consistency warning "+when, `document.getElementById('job-consistency')`)
		if tables := eval[string](b, `document.getElementById('job-consistency').dataset.tables`); tables != "VBRK" {
			b.fail("%s: the warning names %q, want VBRK", when, tables)
		}
		if msg := b.text("#job-consistency"); !strings.Contains(msg, "Not one point in time") || !strings.Contains(msg, "VBRK") || !strings.Contains(msg, "SCN 123456789") {
			b.fail("%s: the warning says %q", when, msg)
		}
	}
	check("after the live job")
	b.shoot("job-consistency")
	b.do("reload", chromedp.Reload())
	b.waitPage("job")
	b.wait("the job after the reload", `document.getElementById('job-sub').dataset.status === 'completed'`)
	check("after a reload")
	if job.Consistency == nil || job.Consistency.OnePointInTime || strings.Join(job.Consistency.NotAtSnapshot, ",") != "VBRK" {
		t.Errorf("the API's job consistency %+v", job.Consistency)
	}
	b.check()
}
