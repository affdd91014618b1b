package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/benchkit"
)

// tool runs the ora2gcs binary: every suite measures the commands a user
// runs (bench, run, serve, tables, sample), not a copy of their code.
type tool struct {
	bin string
	env []string // added to every child's environment (PGPASSWORD, …)
}

// child is one finished ora2gcs command.
type child struct {
	stdout []byte
	wall   time.Duration
	cpu    time.Duration // user+system of the whole process
	rss    int64         // peak RSS, bytes
}

// toolError is an ora2gcs command that failed: its exit code (cmd/ora2gcs:
// 1 failure, 2 usage or configuration, 3 temporary) and its error line.
type toolError struct {
	command string
	code    int
	msg     string
}

func (e *toolError) Error() string { return fmt.Sprintf("ora2gcs %s: %s", e.command, e.msg) }

// run runs `ora2gcs args…` with env added to the environment.
func (t *tool) run(ctx context.Context, env []string, args ...string) (child, error) {
	cmd := exec.CommandContext(ctx, t.bin, args...)
	cmd.Env = append(append(os.Environ(), t.env...), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err := cmd.Run()
	c := child{stdout: out.Bytes(), wall: time.Since(start)}
	c.cpu, c.rss = benchkit.ChildUsage(cmd)
	if err != nil {
		return c, commandError(args, err, errb.String())
	}
	return c, nil
}

// commandError is the toolError of a failed command: its last
// "ora2gcs: error" line (cmd/ora2gcs prints its error as one line, without
// secrets), else its last line of output.
func commandError(args []string, err error, stderr string) error {
	name := "?"
	if len(args) > 0 {
		name = args[0]
	}
	code := 1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		return &toolError{command: name, code: 1, msg: err.Error()}
	}
	var msg, last string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		last = l
		if m, ok := strings.CutPrefix(l, "ora2gcs: error"); ok {
			msg = strings.TrimLeft(m, " :")
			if t, ok := strings.CutPrefix(msg, "(temporary, retry later):"); ok {
				msg = strings.TrimSpace(t) + " (temporary)"
			}
		}
	}
	if msg == "" {
		msg = last
	}
	if msg == "" {
		msg = err.Error()
	}
	return &toolError{command: name, code: code, msg: msg}
}

// exitCode is the exit code a failed suite gives benchmarks: the command's
// own code (2 configuration, 3 temporary), else 1.
func exitCode(err error) int {
	var te *toolError
	if errors.As(err, &te) && te.code >= 1 && te.code <= 3 {
		return te.code
	}
	return 1
}

// benchJSON is what `ora2gcs bench --json` writes (cmd/ora2gcs/bench.go).
type benchJSON struct {
	Compressor string `json:"compressor"`
	Runs       []struct {
		Rows       int64   `json:"rows"`
		Seconds    float64 `json:"seconds"`
		RawBytes   int64   `json:"raw_bytes"`
		GzBytes    int64   `json:"compressed_bytes"`
		CPUSeconds float64 `json:"cpu_seconds"`
		PeakRSSMiB float64 `json:"peak_rss_mib"`
	} `json:"runs"`
}

// meter reads the database's CPU time so far; an error means it is not
// visible.
type meter interface {
	CPU(ctx context.Context) (time.Duration, error)
}

// measured runs f between two readings of m (when m is not nil), and sets
// the run's database CPU when both readings succeed. settle is waited
// before the second reading, so that server processes that ended with the
// command are counted.
func measured(ctx context.Context, m meter, settle time.Duration, f func() (benchkit.Run, error)) (benchkit.Run, error) {
	var before time.Duration
	var berr error = errors.New("no meter")
	if m != nil {
		before, berr = m.CPU(ctx)
	}
	r, err := f()
	if err != nil || berr != nil {
		return r, err
	}
	if settle > 0 {
		time.Sleep(settle)
	}
	if after, aerr := m.CPU(ctx); aerr == nil {
		r.DBCPU, r.DBCPUKnown = after-before, true
	}
	return r, nil
}

// benchOnce runs `ora2gcs bench --runs 1` on one table: the engine's own
// timing (rows, seconds, bytes, CPU of the timed part, peak RSS).
func (t *tool) benchOnce(ctx context.Context, env []string, args ...string) (benchkit.Run, error) {
	c, err := t.run(ctx, env, append([]string{"bench", "--runs", "1", "--json", "--quiet"}, args...)...)
	if err != nil {
		return benchkit.Run{}, err
	}
	var b benchJSON
	if err := json.Unmarshal(c.stdout, &b); err != nil || len(b.Runs) != 1 {
		return benchkit.Run{}, fmt.Errorf("ora2gcs bench: unexpected output (%v): %.200q", err, c.stdout)
	}
	r := b.Runs[0]
	return benchkit.Run{Rows: r.Rows, Seconds: r.Seconds, RawBytes: r.RawBytes, CompressedBytes: r.GzBytes,
		CPU: time.Duration(r.CPUSeconds * float64(time.Second)), PeakRSS: int64(r.PeakRSSMiB * (1 << 20))}, nil
}

// jobJSON is the part of `ora2gcs run --json` (a jobs.Job) a suite reads.
type jobJSON struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	StartedAt   time.Time  `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	TotalRows   int64      `json:"total_rows"`
	Bytes       int64      `json:"bytes_transferred"`
	Error       *string    `json:"error"`
	Tables      []struct {
		Name     string `json:"table_name"`
		Rows     int64  `json:"row_count"`
		RawBytes int64  `json:"raw_bytes"`
		Ranges   []any  `json:"ranges"`
	} `json:"tables"`
}

// asRun is the job's figures as a Run: its rows and bytes, the time from
// its start to its end as the job records them; CPU and peak RSS are the
// whole process's (c).
func (j jobJSON) asRun(c child) (benchkit.Run, error) {
	if j.Status != "completed" || j.CompletedAt == nil {
		msg := j.Status
		if j.Error != nil {
			msg += ": " + *j.Error
		}
		return benchkit.Run{}, fmt.Errorf("job %s %s", j.ID, msg)
	}
	r := benchkit.Run{Rows: j.TotalRows, Seconds: j.CompletedAt.Sub(j.StartedAt).Seconds(), CompressedBytes: j.Bytes,
		CPU: c.cpu, PeakRSS: c.rss}
	for _, t := range j.Tables {
		r.RawBytes += t.RawBytes
	}
	return r, nil
}

// runJob runs `ora2gcs run --json --quiet args…` in a fresh state
// directory (a new transport and job each time) and returns the job.
func (t *tool) runJob(ctx context.Context, env []string, dataDir string, args ...string) (jobJSON, child, error) {
	c, err := t.run(ctx, env, append([]string{"run", "--json", "--quiet", "--data-dir", dataDir}, args...)...)
	var j jobJSON
	if jerr := json.Unmarshal(c.stdout, &j); jerr != nil {
		if err != nil {
			return j, c, err
		}
		return j, c, fmt.Errorf("ora2gcs run: unexpected output (%v): %.200q", jerr, c.stdout)
	}
	if _, rerr := j.asRun(c); rerr != nil {
		return j, c, rerr
	}
	return j, c, err
}
