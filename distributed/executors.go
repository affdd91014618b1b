package distributed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	run "cloud.google.com/go/run/apiv2"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Processes runs each shard as a process of this machine,
// `COMMAND… shard --plan URI --index I --attempt A ARGS…`, as a platform
// would: at most Parallel at once, a process that fails started again up
// to Retries times.
type Processes struct {
	// Command is the program and its first arguments (default: this
	// process's own executable).
	Command []string
	// Args follow the shard arguments (e.g. --config FILE); never secrets.
	Args []string
	// Env is added to this process's environment for every shard (the
	// source and target settings; secrets come from the inherited
	// environment, never from arguments).
	Env      []string
	Parallel int // default 4
	Retries  int // starts after a failed one (default 0)
	// Started, if set, is told every process started (tests kill one).
	Started func(index, try int, p *os.Process)
}

// Run runs every shard's process to its end.
func (x Processes) Run(ctx context.Context, l Launch) error {
	cmdline := x.Command
	if len(cmdline) == 0 {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("distributed: local executor: %w", err)
		}
		cmdline = []string{self}
	}
	par := x.Parallel
	if par <= 0 {
		par = 4
	}
	sem := make(chan struct{}, par)
	errs := make([]error, len(l.Plan.Shards))
	var wg sync.WaitGroup
	for i := range l.Plan.Shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			for try := 1; try <= x.Retries+1; try++ {
				err := x.one(ctx, cmdline, l, i, try)
				if err == nil {
					errs[i] = nil
					return
				}
				errs[i] = fmt.Errorf("%s: process %d of %d: %w", l.Plan.Describe(i), try, x.Retries+1, err)
				if ctx.Err() != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// one runs one process of shard i.
func (x Processes) one(ctx context.Context, cmdline []string, l Launch, i, try int) error {
	args := append(append([]string(nil), cmdline[1:]...), "shard", "--plan", l.PlanURI, "--index", fmt.Sprint(i),
		"--attempt", fmt.Sprintf("p%d-%x", try, time.Now().UnixNano()&0xffffffffff))
	args = append(args, x.Args...)
	cmd := exec.CommandContext(ctx, cmdline[0], args...)
	cmd.Env = append(os.Environ(), x.Env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	if x.Started != nil {
		x.Started(i, try, cmd.Process)
	}
	if l.Log != nil {
		l.Log.Info("shard process started", "shard", i, "try", try, "pid", cmd.Process.Pid)
	}
	err := cmd.Wait()
	if err != nil {
		if last := out.last(); last != "" {
			return fmt.Errorf("%w: %s", err, last)
		}
	}
	return err
}

// tail keeps the last few KiB a process wrote.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 8192 {
		t.b = append([]byte(nil), t.b[len(t.b)-4096:]...)
	}
	return len(p), nil
}

// last is the last non-empty line written.
func (t *tail) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(t.b), []byte("\n"))
	return strings.TrimSpace(string(lines[len(lines)-1]))
}

// Command runs one configured program for the whole plan,
// `COMMAND… --plan URI` (the Beam pipeline, cmd/ora2gcs-beam), and waits
// for it: the program runs every shard (and may finalize; Finalize of a
// finalized plan only reads its manifest).
type Command struct {
	Command []string
	Env     []string
}

// Run runs the program to its end.
func (x Command) Run(ctx context.Context, l Launch) error {
	if len(x.Command) == 0 {
		return errors.New("distributed: command executor: no command configured")
	}
	args := append(append([]string(nil), x.Command[1:]...), "--plan", l.PlanURI)
	cmd := exec.CommandContext(ctx, x.Command[0], args...)
	cmd.Env = append(os.Environ(), x.Env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if last := out.last(); last != "" {
			return fmt.Errorf("%s: %w: %s", x.Command[0], err, last)
		}
		return fmt.Errorf("%s: %w", x.Command[0], err)
	}
	return nil
}

// CloudRun starts an existing Cloud Run Job for the plan (Cloud Run Admin
// API v2, RunJob): task count = the plan's shards, ORA2GCS_PLAN (and Env)
// set on its container, and waits for the execution to end; cancelling
// the wait cancels the execution. The job's container runs
// `ora2gcs shard` (deploy/cloudrun/); its retries per task are the job's
// maxRetries.
type CloudRun struct {
	// Job is projects/PROJECT/locations/REGION/jobs/NAME.
	Job string
	// Container names the container to override ("" the job's only one).
	Container string
	Env       map[string]string
	// Timeout, if set, overrides the job's task timeout.
	Timeout time.Duration
	// Options for the clients (default Application Default Credentials).
	Options []option.ClientOption
}

var cloudRunJobRE = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/jobs/[^/]+$`)

// Request is the RunJob request Run sends for a plan.
func (x CloudRun) Request(l Launch) (*runpb.RunJobRequest, error) {
	if !cloudRunJobRE.MatchString(x.Job) {
		return nil, fmt.Errorf("distributed: cloudrun executor: job %q is not projects/PROJECT/locations/REGION/jobs/NAME", x.Job)
	}
	n := len(l.Plan.Shards)
	if n < 1 || n > 10000 { // Cloud Run's task count limit
		return nil, fmt.Errorf("distributed: cloudrun executor: %d shards: a Cloud Run execution runs 1..10000 tasks", n)
	}
	env := []*runpb.EnvVar{{Name: "ORA2GCS_PLAN", Values: &runpb.EnvVar_Value{Value: l.PlanURI}}}
	for _, k := range sortedKeys(x.Env) {
		if k == "ORA2GCS_PLAN" {
			continue
		}
		env = append(env, &runpb.EnvVar{Name: k, Values: &runpb.EnvVar_Value{Value: x.Env[k]}})
	}
	ov := &runpb.RunJobRequest_Overrides{
		TaskCount:          int32(n),
		ContainerOverrides: []*runpb.RunJobRequest_Overrides_ContainerOverride{{Name: x.Container, Env: env}},
	}
	if x.Timeout > 0 {
		ov.Timeout = durationpb.New(x.Timeout)
	}
	return &runpb.RunJobRequest{Name: x.Job, Overrides: ov}, nil
}

// Run starts the execution and waits for it.
func (x CloudRun) Run(ctx context.Context, l Launch) error {
	req, err := x.Request(l)
	if err != nil {
		return err
	}
	c, err := run.NewJobsClient(ctx, x.Options...)
	if err != nil {
		return fmt.Errorf("distributed: cloudrun: %w", err)
	}
	defer c.Close()
	op, err := c.RunJob(ctx, req)
	if err != nil {
		return fmt.Errorf("distributed: cloudrun: run %s: %w", x.Job, err)
	}
	exName := ""
	if md, err := op.Metadata(); err == nil && md != nil {
		exName = md.GetName()
	}
	if l.Log != nil {
		l.Log.Info("cloud run execution started", "job", x.Job, "execution", exName, "operation", op.Name(), "tasks", req.Overrides.TaskCount)
	}
	ex, err := op.Wait(ctx)
	if err != nil {
		if ctx.Err() != nil && exName != "" {
			x.cancel(exName, l)
		}
		return fmt.Errorf("distributed: cloudrun: execution of %s: %w", x.Job, err)
	}
	if ex.GetFailedCount() > 0 || ex.GetCancelledCount() > 0 {
		return fmt.Errorf("distributed: cloudrun: execution %s: %d of %d tasks failed, %d cancelled",
			ex.GetName(), ex.GetFailedCount(), ex.GetTaskCount(), ex.GetCancelledCount())
	}
	return nil
}

// cancel asks Cloud Run to stop an execution whose wait was given up.
func (x CloudRun) cancel(name string, l Launch) {
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	c, err := run.NewExecutionsClient(ctx, x.Options...)
	if err == nil {
		defer c.Close()
		_, err = c.CancelExecution(ctx, &runpb.CancelExecutionRequest{Name: name})
	}
	if err != nil && l.Log != nil {
		l.Log.Warn("could not cancel the cloud run execution: its tasks may still run", "execution", name, "error", err)
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
