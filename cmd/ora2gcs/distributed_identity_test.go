package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/gcstest"
	"github.com/ora2gcs/ora2gcs/jobs"
)

// planHold is a running `ora2gcs plan --json --hold` process: the plan
// URI and shard count it printed, its exit (Exited receives plan.Wait's
// result once), and Stop, which kills it and waits; the process (holding a
// PostgreSQL snapshot) is also stopped when the test ends.
type planHold struct {
	URI    string
	Shards int
	Exited <-chan error
	Stop   func()
	stderr *bytes.Buffer
}

// Stderr is what the plan process wrote on stderr (read it once the
// process has exited or been stopped).
func (p *planHold) Stderr() string { return p.stderr.String() }

// startPlanHold starts `ora2gcs plan --json --hold ARGS…` as a process
// and waits (at most 2 minutes) for the line it prints.
func startPlanHold(t *testing.T, args ...string) *planHold {
	t.Helper()
	plan := cliProcess(t, nil, append([]string{"plan", "--json", "--hold"}, args...)...)
	stdout, err := plan.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &planHold{stderr: &bytes.Buffer{}}
	plan.Stderr = h.stderr
	if err := plan.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	exited := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		r := bufio.NewReader(stdout)
		l, _ := r.ReadString('\n')
		lines <- l
		_, _ = io.Copy(io.Discard, r)
		exited <- plan.Wait()
		close(done)
	}()
	h.Exited = exited
	h.Stop = func() {
		_ = plan.Process.Kill()
		<-done
	}
	t.Cleanup(h.Stop)
	var line string
	select {
	case line = <-lines:
	case <-time.After(120 * time.Second):
		h.Stop()
		t.Fatalf("plan printed nothing\n%s", h.Stderr())
	}
	var printed struct {
		Plan   string `json:"plan"`
		Shards int    `json:"shards"`
	}
	if err := json.Unmarshal([]byte(line), &printed); err != nil || printed.Plan == "" {
		h.Stop()
		t.Fatalf("plan printed %q (%v)\n%s", line, err, h.Stderr())
	}
	h.URI, h.Shards = printed.Plan, printed.Shards
	return h
}

// TestDistributedCompressedIdentity: with the same ranges and the same
// codec, plan + shards + finalize writes a split table's .jsonl.gz byte for
// byte (compressed, not only after gunzip) as the single-machine run with
// parallel ranges does, for every compressor and on both targets (file://
// and the GCS emulator), from the tests' PostgreSQL, with several batches
// per range. The single-machine run reads the big table as 4 parallel
// ranges (--table-parallelism 4) and the plan gives it 4 shards
// (--shard-rows): the same ctid ranges at one snapshot, each compressed by
// the same segment compressor. A table the plan leaves whole (one shard,
// three batches) and the single-machine run reads as one pipeline is byte
// for byte the same too with lines and blocks (its shard compresses as the
// pipeline does); with pgzip it has the same NDJSON and schema only
// (docs/DISTRIBUTED.md says why).
func TestDistributedCompressedIdentity(t *testing.T) {
	src, big := distPostgres(t, 3000)
	_, small := distPostgres(t, 600)
	const bucket = "ident-bucket"
	emu := gcstest.Start(t, bucket)
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(emu.URL, "http://"))
	dir := t.TempDir()
	for _, c := range []struct{ codec, level, target string }{
		{"lines", "1", "file"}, {"lines", "1", "gcs"}, {"blocks", "6", "file"}, {"pgzip", "1", "gcs"}} {
		codec := struct{ name, level string }{c.codec, c.level}
		target := c.target
		t.Run(codec.name+codec.level+"-"+target, func(t *testing.T) {
			tgt := "gcs"
			if target == "file" {
				tgt = "file://" + filepath.Join(dir, "out")
			}
			common := []string{"--source", src, "--tables", big + "," + small, "--target", tgt, "--bucket", bucket,
				"--data-dir", dir, "--compressor", codec.name, "--gzip-level", codec.level, "--chunk-size", "250"}
			id := strings.ToUpper(fmt.Sprintf("TRP-%s%s-%s", codec.name, codec.level, target))
			code, out, errs := cli(t, append([]string{"run", "--json", "--quiet", "--transport-id", id + "-S",
				"--table-parallelism", "4", "--range-min-rows", "2000"}, common...)...)
			if code != 0 {
				t.Fatalf("single-machine run: exit %d\n%s\n%s", code, out, errs)
			}
			var single jobs.Job
			if err := json.Unmarshal([]byte(out), &single); err != nil || len(single.Tables) != 2 {
				t.Fatalf("run --json: %v\n%s", err, out)
			}
			for _, te := range single.Tables {
				if want := map[bool]int{true: 4, false: 0}[te.TableName == big]; len(te.Ranges) != want {
					t.Fatalf("the single-machine run read %s in %d ranges, want %d", te.TableName, len(te.Ranges), want)
				}
			}
			plan := startPlanHold(t, append([]string{"--transport-id", id + "-D", "--shard-rows", "750"}, common...)...)
			uri, n := plan.URI, plan.Shards
			if n != 5 {
				t.Fatalf("the plan has %d shards, want 4 for %s and 1 for %s", n, big, small)
			}
			for i := range n {
				if code, out, errs := cli(t, "shard", "--plan", uri, "--index", fmt.Sprint(i), "--source", src, "--data-dir", dir); code != 0 {
					t.Fatalf("shard %d: exit %d\n%s\n%s", i, code, out, errs)
				}
			}
			if code, out, errs := cli(t, "finalize", "--plan", uri); code != 0 {
				t.Fatalf("finalize: exit %d\n%s\n%s", code, out, errs)
			}
			plan.Stop()
			read := func(trp, name string) []byte {
				t.Helper()
				key := trp + "/v001/" + name
				if target == "gcs" {
					b, ok := emu.Read(t, bucket, key)
					if !ok {
						t.Fatalf("%s missing", key)
					}
					return b
				}
				b, err := os.ReadFile(filepath.Join(dir, "out", bucket, filepath.FromSlash(key)))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			for _, tb := range []string{big, small} {
				s, d := read(id+"-S", tb+".jsonl.gz"), read(id+"-D", tb+".jsonl.gz")
				if !bytes.Equal(gunzipAll(t, s), gunzipAll(t, d)) {
					t.Errorf("%s: the NDJSON differs", tb)
				}
				// a split table always; a whole one unless pgzip writes
				// its own framing in the single-machine run
				if (tb == big || codec.name != "pgzip") && !bytes.Equal(s, d) {
					t.Errorf("%s: compressed objects differ: single-machine %d bytes, distributed %d bytes; first difference at byte %d",
						tb, len(s), len(d), firstDiff(s, d))
				}
				if !bytes.Equal(read(id+"-S", tb+".schema.json"), read(id+"-D", tb+".schema.json")) {
					t.Errorf("%s: schemas differ", tb)
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
