package distributed

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
)

// fakeRun plays the Cloud Run Admin API v2 (Jobs, Executions and the
// long-running Operations the client polls) over real gRPC.
type fakeRun struct {
	runpb.UnimplementedJobsServer
	runpb.UnimplementedExecutionsServer
	longrunningpb.UnimplementedOperationsServer

	mu        sync.Mutex
	runs      []*runpb.RunJobRequest
	cancelled []string
	done      bool // RunJob's operation is done at once
	failed    int32
}

const fakeExecution = "projects/p/locations/asia-northeast3/jobs/shards/executions/shards-abc"

func (f *fakeRun) op(done bool) (*longrunningpb.Operation, error) {
	md, err := anypb.New(&runpb.Execution{Name: fakeExecution})
	if err != nil {
		return nil, err
	}
	op := &longrunningpb.Operation{Name: "operations/1", Metadata: md, Done: done}
	if done {
		f.mu.Lock()
		ex := &runpb.Execution{Name: fakeExecution, TaskCount: f.runs[0].GetOverrides().GetTaskCount(), FailedCount: f.failed}
		f.mu.Unlock()
		res, err := anypb.New(ex)
		if err != nil {
			return nil, err
		}
		op.Result = &longrunningpb.Operation_Response{Response: res}
	}
	return op, nil
}

func (f *fakeRun) RunJob(_ context.Context, req *runpb.RunJobRequest) (*longrunningpb.Operation, error) {
	f.mu.Lock()
	f.runs = append(f.runs, proto.Clone(req).(*runpb.RunJobRequest))
	done := f.done
	f.mu.Unlock()
	return f.op(done)
}

func (f *fakeRun) GetOperation(context.Context, *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	return f.op(false) // an execution that runs on
}

func (f *fakeRun) CancelExecution(_ context.Context, req *runpb.CancelExecutionRequest) (*longrunningpb.Operation, error) {
	f.mu.Lock()
	f.cancelled = append(f.cancelled, req.GetName())
	f.mu.Unlock()
	return &longrunningpb.Operation{Name: "operations/2", Done: true, Result: &longrunningpb.Operation_Response{Response: mustAny(&emptypb.Empty{})}}, nil
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}

func startFakeRun(t *testing.T, f *fakeRun) []option.ClientOption {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	runpb.RegisterJobsServer(s, f)
	runpb.RegisterExecutionsServer(s, f)
	longrunningpb.RegisterOperationsServer(s, f)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return []option.ClientOption{option.WithEndpoint(ln.Addr().String()), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials()))}
}

// TestCloudRunExecutor sends the RunJob request through the real Cloud Run
// client to a gRPC server playing the API: the job's name, task count =
// the plan's shards, ORA2GCS_PLAN and the configured environment on the
// container, the task timeout; a finished execution with failed tasks is
// an error naming them; giving up the wait (the job cancelled) cancels
// the execution. Bad job names and shard counts are refused before any
// call.
func TestCloudRunExecutor(t *testing.T) {
	e := newSynthEnv(t, 4000)
	p := e.plan(t, "v001", 4, "VBRP")
	l := Launch{Plan: p, PlanURI: "gs://bkt/TRP-D/v001/_plan.json", Store: e.store}
	const job = "projects/p/locations/asia-northeast3/jobs/shards"

	f := &fakeRun{done: true}
	x := CloudRun{Job: job, Container: "shard", Env: map[string]string{"ORA2GCS_SOURCE": "oracle", "ORA2GCS_PLAN": "gs://elsewhere"},
		Timeout: 2 * time.Hour, Options: startFakeRun(t, f)}
	if err := x.Run(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	if len(f.runs) != 1 {
		t.Fatalf("%d RunJob calls", len(f.runs))
	}
	req := f.runs[0]
	ov := req.GetOverrides()
	if req.GetName() != job || ov.GetTaskCount() != int32(len(p.Shards)) || len(p.Shards) != 4 || ov.GetTimeout().AsDuration() != 2*time.Hour {
		t.Fatalf("request %v", req)
	}
	co := ov.GetContainerOverrides()
	if len(co) != 1 || co[0].GetName() != "shard" {
		t.Fatalf("container overrides %v", co)
	}
	var env []string
	for _, v := range co[0].GetEnv() {
		env = append(env, v.GetName()+"="+v.GetValue())
	}
	if strings.Join(env, " ") != "ORA2GCS_PLAN="+l.PlanURI+" ORA2GCS_SOURCE=oracle" {
		t.Fatalf("env %v", env)
	}

	f.failed = 1
	f.runs = nil
	if err := x.Run(context.Background(), l); err == nil || !strings.Contains(err.Error(), "1 of 4 tasks failed") {
		t.Fatalf("failed tasks: %v", err)
	}

	// the wait is given up: the execution is cancelled
	g := &fakeRun{}
	y := CloudRun{Job: job, Options: startFakeRun(t, g)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := y.Run(ctx, l); err == nil {
		t.Fatal("a wait given up reported success")
	}
	g.mu.Lock()
	cancelled := append([]string(nil), g.cancelled...)
	g.mu.Unlock()
	if len(cancelled) != 1 || cancelled[0] != fakeExecution {
		t.Fatalf("cancelled %v", cancelled)
	}

	for _, bad := range []string{"", "shards", "projects/p/jobs/shards", "projects/p/locations/r/jobs/"} {
		if _, err := (CloudRun{Job: bad}).Request(l); err == nil {
			t.Fatalf("job %q accepted", bad)
		}
	}
}
