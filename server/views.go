package server

import (
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// The API renders jobs through these views so an absent time is JSON null,
// never Go's zero time ("0001-01-01T00:00:00Z"): a table that has not
// started has "started_at": null, a job or table that has not ended has
// "completed_at": null. The outer fields shadow the embedded ones of the
// same JSON name.
type jobView struct {
	jobs.Job
	StartedAt   *time.Time  `json:"started_at"`
	CompletedAt *time.Time  `json:"completed_at"`
	Tables      []tableView `json:"tables,omitempty"`
}

type tableView struct {
	jobs.TableExtraction
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
}

// optTime is t, or nil when t is the zero time.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// optTimePtr is t, or nil when t is nil or the zero time.
func optTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return optTime(*t)
}

func viewJob(j jobs.Job) jobView {
	v := jobView{Job: j, StartedAt: optTime(j.StartedAt), CompletedAt: optTimePtr(j.CompletedAt)}
	if len(j.Tables) > 0 {
		v.Tables = make([]tableView, len(j.Tables))
		for i, t := range j.Tables {
			v.Tables[i] = tableView{TableExtraction: t, StartedAt: optTime(t.StartedAt), CompletedAt: optTimePtr(t.CompletedAt)}
		}
	}
	return v
}

func viewJobs(p jobs.Page[jobs.Job]) jobs.Page[jobView] {
	out := jobs.Page[jobView]{Items: make([]jobView, len(p.Items)), Page: p.Page, PageSize: p.PageSize, Total: p.Total}
	for i, j := range p.Items {
		out.Items[i] = viewJob(j)
	}
	return out
}
