package jobs

import (
	"context"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// hookSink calls afterCommit (with the Create context) after an object
// whose name ends in suffix was committed, before Commit returns.
type hookSink struct {
	pipeline.Sink
	suffix      string
	afterCommit func(ctx context.Context)
}

func (s *hookSink) Create(ctx context.Context, name string) (pipeline.Object, error) {
	o, err := s.Sink.Create(ctx, name)
	if err != nil || !strings.HasSuffix(name, s.suffix) {
		return o, err
	}
	return &hookObject{Object: o, ctx: ctx, after: s.afterCommit}, nil
}

type hookObject struct {
	pipeline.Object
	ctx   context.Context
	after func(ctx context.Context)
}

func (o *hookObject) Commit() (pipeline.ObjectInfo, error) {
	info, err := o.Object.Commit()
	if err == nil {
		o.after(o.ctx)
	}
	return info, err
}

// TestInterruptAfterManifestKeepsJobCompleted: an interrupt that arrives
// after _manifest.json was committed with "status":"completed" (every table
// and schema stored) must not record the job as failed "interrupted": the
// job record and the stored manifest say the same.
func TestInterruptAfterManifestKeepsJobCompleted(t *testing.T) {
	var e *testEnv
	e = newEnv(t, newFakeConnector(&fakeTable{name: "VBRP", rows: 25}), func(c *ManagerConfig) {
		orig := c.Sinks
		c.Sinks = func(bucket string) (pipeline.Sink, error) {
			s, err := orig(bucket)
			if err != nil {
				return nil, err
			}
			return &hookSink{Sink: s, suffix: "/_manifest.json", afterCommit: func(ctx context.Context) {
				// interrupt the job (as a second SIGTERM does) and wait
				// until the job's context has seen it
				dead, cancel := context.WithCancel(context.Background())
				cancel()
				go func() { _ = e.m.Shutdown(dead) }()
				<-ctx.Done()
			}}, nil
		}
	})
	ctx := context.Background()
	tr, err := e.m.CreateTransport(ctx, NewTransport{Name: "late interrupt", Tables: []string{"VBRP"}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.m.Execute(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.m.Wait(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	man := readManifest(t, objectPath(e, "test-bucket", tr.ID+"/"+done.Version+"/_manifest.json"))
	if man.Status != done.Status {
		msg := ""
		if done.Error != nil {
			msg = *done.Error
		}
		t.Fatalf("stored manifest says %q, job record says %q (%s)", man.Status, done.Status, msg)
	}
	if done.Status != StatusCompleted || done.Tables[0].Status != StatusCompleted {
		t.Fatalf("job %s, table %s; want both completed", done.Status, done.Tables[0].Status)
	}
}
