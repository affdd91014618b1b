package integration

import (
	"context"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/discard"
	"github.com/ora2gcs/ora2gcs/sources/synth"
)

// BenchmarkAPILatencyDuringJob measures GET /api/v1/transport/:id and
// GET /api/v1/jobs on the real stack (Manager, SQLite history of 50 jobs)
// while a job is running and using both cores, and reports p50/p99 in ms.
//
//	go test -run '^$' -bench APILatency -benchtime 2000x ./integration
func BenchmarkAPILatencyDuringJob(b *testing.B) {
	conn, err := synth.New(synth.Config{DefaultRows: 2000, Rows: map[string]int64{"VBRP": 5_000_000}})
	if err != nil {
		b.Fatal(err)
	}
	s := startBenchStack(b, conn)
	ctx := context.Background()
	small, err := s.m.CreateTransport(ctx, jobs.NewTransport{Name: "small", Tables: []string{"VBRK"}})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 50; i++ { // some history to list
		j, err := s.m.Execute(ctx, small.ID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.m.Wait(ctx, j.ID); err != nil {
			b.Fatal(err)
		}
	}
	big, err := s.m.CreateTransport(ctx, jobs.NewTransport{Name: "big", Tables: []string{"VBRP"}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.m.Execute(ctx, big.ID); err != nil {
		b.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the job is encoding and compressing on every core
	for _, path := range []string{"/transport/" + small.ID, "/jobs?page_size=20"} {
		b.Run(path, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				req, _ := http.NewRequest("GET", s.base+path, nil)
				req.Header.Set("X-API-Key", testKey)
				start := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				lat = append(lat, time.Since(start))
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", path, resp.StatusCode)
				}
			}
			if _, running := s.m.Running(); !running {
				b.Log("note: the job ended during the measurement")
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
		})
	}
}

func startBenchStack(b *testing.B, conn pipeline.Connector) *stack {
	b.Helper()
	return startStack(b, b.TempDir(), conn, func(string) (pipeline.Sink, error) { return discard.New(), nil }, nil)
}
