package jobs

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// benchStore is a store holding 50 transports with 20 jobs each.
func benchStore(b *testing.B) (*Store, Transport) {
	b.Helper()
	ctx := context.Background()
	s, err := OpenStore(ctx, filepath.Join(b.TempDir(), "b.db"), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	var tr Transport
	for i := range 50 {
		tr, err = s.CreateTransport(ctx, NewTransport{Name: "t", Tables: []string{"VBRP", "VBRK", "LIKP"}, TargetBucket: "b"}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		for range 20 {
			j, err := s.CreateJob(ctx, tr, "synth", "", time.Now())
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			j.Status, j.CompletedAt = StatusCompleted, &now
			if i%2 == 0 {
				j.Status = StatusFailed
			}
			if err := s.FinishJob(ctx, j); err != nil {
				b.Fatal(err)
			}
		}
	}
	tr, err = s.GetTransport(ctx, tr.ID)
	if err != nil {
		b.Fatal(err)
	}
	return s, tr
}

func BenchmarkStoreGetTransport(b *testing.B) {
	s, tr := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.GetTransport(ctx, tr.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoreListJobs(b *testing.B) {
	s, tr := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.ListJobs(ctx, JobFilter{TransportID: tr.ID, PageSize: 20}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.ListJobs(ctx, JobFilter{Status: StatusFailed, Page: 3}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoreGetJob(b *testing.B) {
	s, tr := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.GetJob(ctx, tr.LastJobID); err != nil {
			b.Fatal(err)
		}
	}
}
