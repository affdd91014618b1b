package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/testutil"
)

// TestJobLogsCarryRequestID: every log line about a job carries
// transport_id, job_id and the request_id of the request that started it;
// a job started without one gets a generated id.
func TestJobLogsCarryRequestID(t *testing.T) {
	logs := &testutil.LogBuffer{}
	e := newEnv(t, newFakeConnector(&fakeTable{name: "A", rows: 25}, &fakeTable{name: "B", rows: 10}), func(c *ManagerConfig) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	tr := mustCreate(t, e.m, "rid", "A", "B")
	j, err := e.m.Execute(WithRequestID(context.Background(), "req-4711"), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Wait(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	j2 := runJob(t, e.m, tr.ID) // no request id in its context
	lines := 0
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		switch m["job_id"] {
		case j.ID:
			lines++
			if m["request_id"] != "req-4711" || m["transport_id"] != tr.ID {
				t.Errorf("job line without its request or transport: %s", l)
			}
		case j2.ID:
			if rid, _ := m["request_id"].(string); !strings.HasPrefix(rid, "api-") || m["transport_id"] != tr.ID {
				t.Errorf("job line without a generated request id: %s", l)
			}
		}
	}
	if lines < 4 { // started, snapshot/table lines, completed
		t.Fatalf("only %d lines about the job:\n%s", lines, logs.String())
	}
}
