package jobs

import (
	"os"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/compression"
	"github.com/ora2gcs/ora2gcs/internal/testutil"
)

// TestBlocksCompressor: a manager with Blocks and no Compressor runs tables
// as pipelines whose workers compress; each object is one gzip member with
// every row.
func TestBlocksCompressor(t *testing.T) {
	e := newEnv(t, newFakeConnector(&fakeTable{name: "A", rows: 95}, &fakeTable{name: "B", rows: 0, estimate: -1}),
		func(c *ManagerConfig) {
			c.Codec = compression.Must(compression.New(compression.Spec{Name: compression.Blocks, Level: 1}))
		})
	tr := mustCreate(t, e.m, "blocks", "A", "B")
	j := runJob(t, e.m, tr.ID)
	if j.Status != StatusCompleted || j.TotalRows != 95 {
		t.Fatalf("job %+v", j)
	}
	for _, tab := range []struct {
		name string
		rows int
	}{{"A", 95}, {"B", 0}} {
		path := objectPath(e, "test-bucket", tr.ID+"/v001/"+tab.name+".jsonl.gz")
		checkRows(t, path, tab.name, tab.rows)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		testutil.GunzipOne(t, b)
	}
}

func TestManagerConfigNeedsACompressor(t *testing.T) {
	cfg := ManagerConfig{Connector: newFakeConnector(), Encoder: newJSONEncoder}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "a compression codec is required") {
		t.Fatalf("err = %v", err)
	}
	cfg.Codec = compression.Must(compression.New(compression.Spec{Name: compression.Blocks, Level: 1}))
	if err := cfg.Validate(); err != nil && strings.Contains(err.Error(), "compression") {
		t.Fatalf("a codec is refused: %v", err)
	}
}
