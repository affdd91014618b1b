package discard_test

import (
	"context"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/discard"
	"github.com/ora2gcs/ora2gcs/sinks/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New:           func(t *testing.T) pipeline.Sink { return discard.New() },
		Read:          func(t *testing.T, name string) ([]byte, bool) { return nil, false },
		URI:           func(name string) string { return "null:///" + name },
		StoresNothing: true,
	})
}

func TestCommitted(t *testing.T) {
	s := discard.New()
	for _, commit := range []bool{true, false, true} {
		obj, err := s.Create(context.Background(), "a/b.gz")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := obj.Write(make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
		if commit {
			_, err = obj.Commit()
		} else {
			err = obj.Abort()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, b := s.Committed(); n != 2 || b != 20 {
		t.Fatalf("Committed() = %d, %d; want 2, 20", n, b)
	}
}
