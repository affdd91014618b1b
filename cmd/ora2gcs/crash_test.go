package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/sinks/file"
)

// TestMain lets a test start this binary as the CLI (ORA2GCS_TEST_CLI=1),
// so that it can be killed like a real process.
func TestMain(m *testing.M) {
	if os.Getenv("ORA2GCS_TEST_CLI") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// files reads every file below dir (path → bytes).
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, rerr := os.ReadFile(p); rerr == nil {
				out[p] = b
			}
		}
		return nil
	})
	return out
}

func runJSON(t *testing.T, args ...string) jobs.Job {
	t.Helper()
	code, out, errs := cli(t, append([]string{"run", "--json", "--quiet"}, args...)...)
	var job jobs.Job
	if err := json.Unmarshal([]byte(out), &job); err != nil {
		t.Fatalf("exit %d, --json output: %v\n%s\n%s", code, err, out, errs)
	}
	return job
}

// TestRunTwoDataDirsOneTarget: two runs with different --data-dir (two
// state databases, both naming their transport TRP-LOCAL) into one file
// target: the second gets v002 and nothing of v001 changes.
func TestRunTwoDataDirsOneTarget(t *testing.T) {
	target := t.TempDir()
	first := runJSON(t, "--rows", "300", "--data-dir", t.TempDir(), "--target", "file://"+target)
	if first.Version != "v001" || first.Status != jobs.StatusCompleted {
		t.Fatalf("first run %s %s %v", first.Version, first.Status, first.Error)
	}
	v1 := filepath.Join(target, "oracle-etl-data", "TRP-LOCAL", "v001")
	before := files(t, v1)
	second := runJSON(t, "--rows", "200", "--data-dir", t.TempDir(), "--target", "file://"+target)
	if second.Version != "v002" || second.Status != jobs.StatusCompleted {
		t.Fatalf("second run %s %s %v; want v002 completed", second.Version, second.Status, second.Error)
	}
	after := files(t, v1)
	if len(after) != len(before) {
		t.Fatalf("v001 holds %d files, had %d", len(after), len(before))
	}
	for p, b := range before {
		if !bytes.Equal(after[p], b) {
			t.Errorf("%s of the first run changed", p)
		}
	}
}

// TestRunKilledLeavesNothingBehind kills `ora2gcs run` with SIGKILL while
// it writes (tables split into ranges, so segments too), then runs again
// with the same data directory: the second run gets v002, and no temporary
// file, range segment or empty version folder of the killed run remains;
// what it had committed stays as it was.
func TestRunKilledLeavesNothingBehind(t *testing.T) {
	target, data := t.TempDir(), t.TempDir()
	cmd := exec.Command(os.Args[0], "run", "--rows", "2000000", "--table-parallelism", "2", "--data-dir", data, "--target", "file://"+target, "--quiet")
	cmd.Env = append(os.Environ(), "ORA2GCS_TEST_CLI=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	v1 := filepath.Join(target, "oracle-etl-data", "TRP-LOCAL", "v001")
	deadline := time.Now().Add(2 * time.Minute) // a safety net, not an assertion on speed
	for !writing(v1) {
		select {
		case err := <-exited:
			t.Fatalf("the run ended before it was killed: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no temporary file with data appeared in %s", v1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	left := files(t, v1)
	temps := 0
	committed := map[string][]byte{}
	for p, b := range left {
		switch {
		case strings.HasSuffix(p, file.TempSuffix):
			temps++
		case !strings.Contains(p, string(filepath.Separator)+"_ranges"+string(filepath.Separator)):
			committed[p] = b
		}
	}
	if temps == 0 {
		t.Fatalf("the killed run left no temporary file; nothing to test: %v", left)
	}

	job := runJSON(t, "--rows", "100", "--data-dir", data, "--target", "file://"+target)
	if job.Version != "v002" || job.Status != jobs.StatusCompleted {
		t.Fatalf("run after the kill: %s %s %v", job.Version, job.Status, job.Error)
	}
	for p, b := range files(t, v1) {
		if strings.HasSuffix(p, file.TempSuffix) || strings.Contains(p, string(filepath.Separator)+"_ranges"+string(filepath.Separator)) {
			t.Errorf("left behind by the killed run: %s", p)
			continue
		}
		if want, ok := committed[p]; !ok || !bytes.Equal(b, want) {
			t.Errorf("%s is not what the killed run had committed", p)
		}
	}
	if len(committed) == 0 {
		if _, err := os.Stat(v1); err == nil {
			t.Errorf("the killed run committed nothing, but its version folder %s is still there", v1)
		}
	}
	var temps2 []string
	_ = filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, file.TempSuffix) {
			temps2 = append(temps2, p)
		}
		return nil
	})
	if len(temps2) != 0 {
		t.Errorf("temporary files below the target: %q", temps2)
	}
}

// writing reports whether a temporary file below dir holds data.
func writing(dir string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, file.TempSuffix) {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Size() > 0 {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}
