package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ora2gcs/ora2gcs/internal/gcstest"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
)

// distPostgres creates a synthetic VBRP table of rows rows in the tests'
// PostgreSQL and returns the source URL (password in PGPASSWORD, which
// subprocesses inherit) and the table's name.
func distPostgres(t *testing.T, rows int) (string, string) {
	t.Helper()
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	pg, err := pgconn.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	table := fmt.Sprintf("dist_vbrp_%d", time.Now().UnixNano()%1e9)
	if err := pgtest.CreateSynthVBRP(ctx, pg, table, rows); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = pg.Exec(context.Background(), `DROP TABLE IF EXISTS "`+table+`"`).ReadAll()
		_ = pg.Close(context.Background())
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal("the DSN is not a URL")
	}
	if pw, ok := u.User.Password(); ok {
		t.Setenv("PGPASSWORD", pw)
		u.User = url.User(u.User.Username())
	}
	return u.String(), "public." + table
}

// cliProcess starts this test binary as the CLI.
func cliProcess(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "ORA2GCS_TEST_CLI=1"), env...)
	return cmd
}

func gunzipAll(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zr.Read(make([]byte, 1)); err != io.EOF {
		t.Fatal("more than one gzip member")
	}
	return out
}

// TestDistributedPlatformPlay plays Cloud Run: `plan --hold` stores the
// plan and holds the PostgreSQL snapshot, four `shard` processes get their
// index from CLOUD_RUN_TASK_INDEX, one is killed (SIGKILL) mid-shard and
// started again as the platform would, one runs twice, then `finalize`.
// The object is byte for byte (compressed) the one a single-machine run
// with 4 parallel ranges writes, and its NDJSON that of a run without
// ranges; the schema is identical; nothing is left below _shards/; the
// plan process exits once the manifest is written.
func TestDistributedPlatformPlay(t *testing.T) {
	src, table := distPostgres(t, 24000)
	const bucket = "dist-bucket"
	emu := gcstest.Start(t, bucket)
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(emu.URL, "http://"))
	dir := t.TempDir()
	common := []string{"--source", src, "--tables", table, "--target", "gcs", "--bucket", bucket, "--data-dir", dir}

	for _, one := range [][]string{{"--transport-id", "TRP-RANGES", "--table-parallelism", "4", "--range-min-rows", "1"},
		{"--transport-id", "TRP-ONE", "--table-parallelism", "1"}} {
		if code, out, errs := cli(t, append(append([]string{"run", "--quiet"}, common...), one...)...); code != 0 {
			t.Fatalf("single-machine run: exit %d\n%s\n%s", code, out, errs)
		}
	}

	plan := startPlanHold(t, append([]string{"--transport-id", "TRP-DIST", "--shards", "4"}, common...)...)
	if plan.Shards != 4 || plan.URI != "gs://"+bucket+"/TRP-DIST/v001/_plan.json" {
		t.Fatalf("plan printed %s with %d shards", plan.URI, plan.Shards)
	}

	shard := func(i int) *exec.Cmd {
		c := cliProcess(t, []string{fmt.Sprintf("CLOUD_RUN_TASK_INDEX=%d", i)}, "shard", "--plan", plan.URI, "--source", src, "--data-dir", dir)
		return c
	}
	var outs [4]bytes.Buffer
	procs := make([]*exec.Cmd, 4)
	for i := range procs {
		procs[i] = shard(i)
		procs[i].Stdout, procs[i].Stderr = &outs[i], &outs[i]
		if err := procs[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	// shard 1 dies mid-read, as a preempted task does
	time.Sleep(1500 * time.Millisecond)
	if err := procs[1].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = procs[1].Wait()
	if _, done := emu.Read(t, bucket, "TRP-DIST/v001/_shards/00001/done.json"); done {
		t.Fatal("shard 1 finished before it was killed: make the table larger")
	}
	for i, p := range procs {
		if i == 1 {
			continue
		}
		if err := p.Wait(); err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, outs[i].String())
		}
	}
	// the platform starts the killed task again, and one task twice
	for _, i := range []int{1, 2} {
		out, err := shard(i).CombinedOutput()
		if err != nil {
			t.Fatalf("shard %d again: %v\n%s", i, err, out)
		}
		if i == 2 && !strings.Contains(string(out), "done already") {
			t.Fatalf("shard 2 ran twice: %s", out)
		}
	}
	code, out, errs := cli(t, "finalize", "--plan", plan.URI, "--json")
	if code != 0 {
		t.Fatalf("finalize: exit %d\n%s\n%s", code, out, errs)
	}
	select {
	case err := <-plan.Exited:
		if err != nil {
			t.Fatalf("plan --hold: %v\n%s", err, plan.Stderr())
		}
	case <-time.After(30 * time.Second):
		plan.Stop()
		t.Fatal("plan --hold did not exit after finalize")
	}

	obj := table
	read := func(trp, name string) []byte {
		b, ok := emu.Read(t, bucket, trp+"/v001/"+name)
		if !ok {
			t.Fatalf("%s/v001/%s missing", trp, name)
		}
		return b
	}
	dist, ranged, whole := read("TRP-DIST", obj+".jsonl.gz"), read("TRP-RANGES", obj+".jsonl.gz"), read("TRP-ONE", obj+".jsonl.gz")
	if !bytes.Equal(dist, ranged) {
		t.Errorf("distributed object (%d bytes) differs from the single-machine run with 4 ranges (%d bytes)", len(dist), len(ranged))
	}
	if !bytes.Equal(gunzipAll(t, dist), gunzipAll(t, whole)) {
		t.Error("distributed NDJSON differs from the single-machine run without ranges")
	}
	if !bytes.Equal(read("TRP-DIST", obj+".schema.json"), read("TRP-ONE", obj+".schema.json")) {
		t.Error("schemas differ")
	}
	var man jobs.Manifest
	if err := json.Unmarshal(read("TRP-DIST", "_manifest.json"), &man); err != nil {
		t.Fatal(err)
	}
	if man.Status != jobs.StatusCompleted || man.TotalRows != 24000 || man.Snapshot.Kind != "pg_snapshot" ||
		len(man.Tables) != 1 || len(man.Tables[0].Ranges) != 4 {
		t.Fatalf("manifest %+v", man)
	}
	for _, n := range emu.Objects(t, bucket) {
		if strings.Contains(n, "/_shards/") {
			t.Errorf("left behind: %s", n)
		}
	}
}

// TestPlanRefusesPartBytesFromAnyOrigin: a distributed job writes each
// table as one composed object, so plan refuses etl.part_bytes whether the
// flag, the environment or the config file sets it (exit 2, naming where it
// came from), before it touches the source or the target.
func TestPlanRefusesPartBytesFromAnyOrigin(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte("etl:\n  part_bytes: 3500000000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, []byte("etl:\n  chunk_size: 1000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := "file://" + filepath.Join(dir, "out")
	common := []string{"--tables", "VBRP", "--rows", "100", "--data-dir", dir, "--target", target}
	for _, tt := range []struct {
		name   string
		env    string
		args   []string
		origin string
	}{
		{"flag", "", []string{"--config", empty, "--part-bytes", "3500000000"}, "--part-bytes: "},
		{"env", "3500000000", []string{"--config", empty}, "ORA2GCS_PART_BYTES: "},
		{"file", "", []string{"--config", file}, file + ":2: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("ORA2GCS_PART_BYTES", tt.env)
			}
			code, out, errs := cli(t, append(append([]string{"plan"}, tt.args...), common...)...)
			want := tt.origin + "etl.part_bytes: 3500000000 cannot be combined with a distributed job"
			if code != 2 || !strings.Contains(errs, want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errs, want)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
				t.Errorf("the target was touched: %v", err)
			}
		})
	}
	// the same command without parts plans
	code, out, errs := cli(t, append([]string{"plan", "--config", empty}, common...)...)
	if code != 0 || !strings.HasPrefix(out, "plan ") {
		t.Fatalf("without part_bytes: exit %d\n%s\n%s", code, out, errs)
	}
}
