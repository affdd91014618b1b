package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// TestRunIncremental (real PostgreSQL): `run --incremental TABLE:COLUMN`
// reads the table in full first, then only what changed; --overlap and
// --keys are stored with the transport; `--full` reads it in full again;
// without flags the config file's incremental section applies; `watermarks
// list` and `watermarks rebuild` (from the manifests) show the same state;
// malformed flags are exit 2.
func TestRunIncremental(t *testing.T) {
	dsn := os.Getenv("ORA2GCS_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("ORA2GCS_TEST_POSTGRES_DSN not set")
	}
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	schema := fmt.Sprintf("inc_cli_%d", rand.Uint32())
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := pg.Exec(ctx, strings.ReplaceAll(q, "$S.", schema+".")); err != nil {
				t.Fatal(err)
			}
		}
	}
	exec("CREATE SCHEMA "+schema, "CREATE TABLE $S.t (a int, b int, seq bigint, PRIMARY KEY (a, b))",
		"INSERT INTO $S.t VALUES (1, 1, 10), (1, 2, 20)")
	defer exec("DROP SCHEMA " + schema + " CASCADE")
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if pw, ok := u.User.Password(); ok {
		t.Setenv("PGPASSWORD", pw)
		u.User = url.User(u.User.Username())
	}
	dir := t.TempDir()
	tab := schema + ".t"
	common := []string{"--source", u.String(), "--tables", tab, "--data-dir", dir, "--target", "file://" + dir, "--quiet", "--json"}
	run := func(extra ...string) jobs.Job {
		t.Helper()
		code, out, errs := cli(t, append(append([]string{"run"}, common...), extra...)...)
		if code != 0 {
			t.Fatalf("run %v: exit %d: %s", extra, code, errs)
		}
		var j jobs.Job
		if err := json.Unmarshal([]byte(out), &j); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return j
	}
	for _, bad := range [][]string{{"--incremental", tab}, {"--overlap", "5"}, {"--incremental", tab + ":seq", "--keys", "other:a"}} {
		if code, _, errs := cli(t, append(append([]string{"run"}, common...), bad...)...); code != 2 {
			t.Fatalf("%v: exit %d, want 2: %s", bad, code, errs)
		}
	}
	if code, _, errs := cli(t, append(append([]string{"run"}, common...), "--incremental", tab+":nope")...); code != 1 || !strings.Contains(errs, "watermark_column") {
		t.Fatalf("unknown column: exit %d: %s", code, errs)
	}
	j1 := run("--incremental", tab+":seq", "--overlap", "5")
	if te := j1.Tables[0]; te.Mode != jobs.ModeFull || te.RowCount != 2 || te.Window.High != "20" || strings.Join(te.Window.KeyColumns, ",") != "a,b" {
		t.Fatalf("first run: %+v %+v", te, te.Window)
	}
	exec("INSERT INTO $S.t VALUES (2, 1, 30)", "UPDATE $S.t SET seq = 40 WHERE b = 1 AND a = 1")
	j2 := run("--incremental", tab+":seq", "--overlap", "5", "--keys", tab+":b,a")
	if te := j2.Tables[0]; te.Mode != jobs.ModeIncremental || te.RowCount != 3 || te.Window.Low != "15" || te.Window.High != "40" ||
		strings.Join(te.Window.KeyColumns, ",") != "b,a" {
		t.Fatalf("second run: %+v %+v", te, te.Window)
	}
	j3 := run("--full")
	if te := j3.Tables[0]; te.Mode != jobs.ModeFull || te.RowCount != 3 || te.Window.FullReason != "full run requested" {
		t.Fatalf("--full run: %+v %+v", te, te.Window)
	}
	// the config file's section (no flags): overlap 0 now
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := "incremental:\n  tables:\n    - table: " + tab + "\n      watermark_column: SEQ\n      overlap: \"0\"\n    - table: elsewhere\n      watermark_column: x\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	exec("INSERT INTO $S.t VALUES (3, 1, 50)")
	j4 := run("--config", cfgPath)
	if te := j4.Tables[0]; te.Mode != jobs.ModeIncremental || te.RowCount != 1 || te.Window.Low != "40" || te.Window.Overlap != "0" {
		t.Fatalf("run with the config's section: %+v %+v", te, te.Window)
	}
	// --full-cron/--full-timezone store the full schedule with the modes
	// already stored (no --incremental), and override the config file's
	stored := func() jobs.Transport {
		t.Helper()
		code, out, errs := cli(t, "transports", "show", j4.TransportID, "--data-dir", dir, "--target", "file://"+dir, "--json")
		if code != 0 {
			t.Fatalf("transports show: exit %d %s", code, errs)
		}
		var tr jobs.Transport
		if err := json.Unmarshal([]byte(out), &tr); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return tr
	}
	if code, _, errs := cli(t, append(append([]string{"run"}, common...), "--full-cron", "0 0 * * 0")...); code != 1 ||
		!strings.Contains(errs, "incremental.full_schedule.timezone (--full-timezone): required") {
		t.Fatalf("--full-cron without --full-timezone: exit %d: %s", code, errs)
	}
	if fs := stored().Incremental.FullSchedule; fs != nil {
		t.Fatalf("a refused full schedule was stored: %+v", fs)
	}
	exec("INSERT INTO $S.t VALUES (4, 1, 60)")
	j5 := run("--full-cron", "0 0 * * 0", "--full-timezone", "Europe/Berlin")
	if te := j5.Tables[0]; te.Mode != jobs.ModeIncremental || te.RowCount != 1 || te.Window.Low != "50" {
		t.Fatalf("run setting the full schedule: %+v %+v", te, te.Window)
	}
	inc := stored().Incremental
	if inc == nil || inc.FullSchedule == nil || inc.FullSchedule.Cron != "0 0 * * 0" || inc.FullSchedule.Timezone != "Europe/Berlin" ||
		len(inc.Tables) != 1 || inc.Tables[0].WatermarkColumn != "seq" || inc.Tables[0].Overlap != "0" {
		t.Fatalf("stored modes after --full-cron: %+v", inc)
	}
	if err := os.WriteFile(cfgPath, []byte(cfg+"  full_schedule: {cron: \"0 1 * * *\", timezone: UTC}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run("--config", cfgPath, "--full-cron", "0 2 * * 6", "--full-timezone", "Asia/Seoul")
	if fs := stored().Incremental.FullSchedule; fs == nil || fs.Cron != "0 2 * * 6" || fs.Timezone != "Asia/Seoul" {
		t.Fatalf("the flags did not win over the config file's full_schedule: %+v", fs)
	}
	run("--config", cfgPath)
	if fs := stored().Incremental.FullSchedule; fs == nil || fs.Cron != "0 1 * * *" || fs.Timezone != "UTC" {
		t.Fatalf("the config file's full_schedule: %+v", fs)
	}

	code, list, errs := cli(t, "watermarks", "list", "--data-dir", dir, "--target", "file://"+dir, "--source", u.String(), "--json")
	if code != 0 || !strings.Contains(list, `"high": "60"`) {
		t.Fatalf("watermarks list: exit %d %s %s", code, list, errs)
	}
	code, rebuilt, errs := cli(t, "watermarks", "rebuild", "--data-dir", dir, "--target", "file://"+dir, "--source", u.String(), "--json")
	if code != 0 || rebuilt != list {
		t.Fatalf("watermarks rebuild: exit %d %s\nwant %s\n%s", code, rebuilt, list, errs)
	}
	if code, _, _ := cli(t, "watermarks", "drop"); code != 2 {
		t.Fatalf("watermarks drop: exit %d, want 2", code)
	}
}
