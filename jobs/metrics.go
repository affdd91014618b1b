package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Metrics of a Manager (all in its own Set):
//
//	ora2gcs_rows_total{table}, ora2gcs_bytes_total{table}   rows and compressed bytes written, live (retried attempts count too)
//	ora2gcs_job_rows_total{transport_id,job_id}, ora2gcs_job_bytes_total{…}  committed rows/bytes of the running job
//	                                       (= the job record); dropped when the job ends, so /metrics does not grow with the history
//	ora2gcs_transport_rows_total{transport_id}, ora2gcs_transport_bytes_total{…}  committed rows/bytes of the transport's ended jobs
//	ora2gcs_job_duration_seconds{status}   histogram of job durations
//	ora2gcs_jobs_total{status}             finished jobs
//	ora2gcs_failed_tables_total, ora2gcs_table_failures_total{table}
//	ora2gcs_jobs_running                   1 while a job runs
//	ora2gcs_source_up, ora2gcs_source_pool_{max_open,open,in_use,idle}, ora2gcs_source_latency_seconds
//	                                       from Connector.Status, sampled at most every 2 s at scrape time

// statusTTL is how long a sampled Connector.Status serves the pool gauges.
const statusTTL = 2 * time.Second

// registerGauges adds the gauges sampled at scrape time: running jobs and
// the source's pool, from one Connector.Status call per statusTTL.
func (m *Manager) registerGauges() {
	m.metrics.GetOrCreateGauge(`ora2gcs_jobs_running`, func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.running != nil {
			return 1
		}
		return 0
	})
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	gauges := map[string]func(pipeline.Status) float64{
		`ora2gcs_source_up`:              func(s pipeline.Status) float64 { return b2f(s.Reachable) },
		`ora2gcs_source_pool_max_open`:   func(s pipeline.Status) float64 { return float64(s.Pool.MaxOpen) },
		`ora2gcs_source_pool_open`:       func(s pipeline.Status) float64 { return float64(s.Pool.Open) },
		`ora2gcs_source_pool_in_use`:     func(s pipeline.Status) float64 { return float64(s.Pool.InUse) },
		`ora2gcs_source_pool_idle`:       func(s pipeline.Status) float64 { return float64(s.Pool.Idle) },
		`ora2gcs_source_latency_seconds`: func(s pipeline.Status) float64 { return s.Latency.Seconds() },
	}
	for name, f := range gauges {
		m.metrics.GetOrCreateGauge(name, func() float64 { return f(m.sourceStatus()) })
	}
}

// sourceStatus returns the connector's status, sampled at most every statusTTL.
func (m *Manager) sourceStatus() pipeline.Status {
	m.statusMu.Lock()
	defer m.statusMu.Unlock()
	if !m.statusTime.IsZero() && time.Since(m.statusTime) < statusTTL {
		return m.status
	}
	ctx, cancel := context.WithTimeout(m.base, 2*time.Second)
	defer cancel()
	m.status = m.cfg.Connector.Status(ctx)
	m.statusTime = time.Now()
	return m.status
}

// retireJobSeries is called when job r ends: its figures are added to the
// per-transport totals and its per-job series are dropped (the job history
// keeps them), so a long-running server's /metrics stays bounded by its
// transports and tables, not its jobs.
func (m *Manager) retireJobSeries(r *run) {
	tl := fmt.Sprintf(`{transport_id=%s}`, quoteLabel(r.job.TransportID))
	m.metrics.GetOrCreateCounter(`ora2gcs_transport_rows_total` + tl).AddInt64(int64(r.jobRows.Get()))
	m.metrics.GetOrCreateCounter(`ora2gcs_transport_bytes_total` + tl).AddInt64(int64(r.jobBytes.Get()))
	jl := fmt.Sprintf(`{transport_id=%s,job_id=%s}`, quoteLabel(r.job.TransportID), quoteLabel(r.job.ID))
	m.metrics.UnregisterMetric(`ora2gcs_job_rows_total` + jl)
	m.metrics.UnregisterMetric(`ora2gcs_job_bytes_total` + jl)
}
