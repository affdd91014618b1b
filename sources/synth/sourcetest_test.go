package synth

import (
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/sourcetest"
)

// TestConformance runs the source conformance suite on synth's VBRK with
// the row counts the suite asks for (synth's tables are fixed, so the
// cases that need given columns or changing data do not apply).
func TestConformance(t *testing.T) {
	sourcetest.Run(t, sourcetest.Harness{
		Rows: func(t *testing.T, n int) (pipeline.Connector, string) {
			return newConnector(t, Config{Rows: map[string]int64{"VBRK": int64(n)}}), "VBRK"
		},
	})
}
