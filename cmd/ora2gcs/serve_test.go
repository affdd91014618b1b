package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/testutil"

	"github.com/ora2gcs/ora2gcs/internal/gcstest"
)

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeGeneratesKeyAndStopsGracefully runs `ora2gcs serve` on the
// embedded defaults: it generates an API key into the data dir (logging its
// path, never the key), answers /health without and the API only with the
// key, and on SIGTERM (here: its context) stops and returns without error.
func TestServeGeneratesKeyAndStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testutil.LogBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, []string{"--listen", addr, "--data-dir", dir, "--target", "file://" + dir, "--rows", "500"}, io.Discard, logs)
	}()
	base := "http://" + addr
	var health *http.Response
	for i := 0; i < 100; i++ {
		r, err := http.Get(base + "/api/health")
		if err == nil {
			health = r
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if health == nil || health.StatusCode != 200 {
		cancel()
		t.Fatalf("health: %v (logs: %s)", health, logs.String())
	}
	health.Body.Close()
	key, err := os.ReadFile(filepath.Join(dir, "api_key"))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "api_key")); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	k := strings.TrimSpace(string(key))
	if r, _ := http.Get(base + "/api/v1/transports"); r.StatusCode != 401 {
		t.Fatalf("no key: %d", r.StatusCode)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/tables", nil)
	req.Header.Set("X-API-Key", k)
	r, err := http.DefaultClient.Do(req)
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("tables with key: %v %v", r, err)
	}
	var page struct{ Items []map[string]any }
	json.NewDecoder(r.Body).Decode(&page)
	r.Body.Close()
	if len(page.Items) != 3 {
		t.Fatalf("tables %+v", page)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	out := logs.String()
	if strings.Contains(out, k) || !strings.Contains(out, "api_key") {
		t.Fatalf("the log must name the key file and never the key:\n%s", out)
	}
}

// TestRunToGCSEmulator: `run --target gcs` reaches any emulator through
// STORAGE_EMULATOR_HOST, as the storage client does for real GCS.
func TestRunToGCSEmulator(t *testing.T) {
	emu := gcstest.Start(t, "etl-test-bucket")
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(emu.URL, "http://"))
	dir := t.TempDir()
	code, out, errs := cli(t, "run", "--target", "gcs", "--bucket", "etl-test-bucket", "--tables", "VBRK", "--rows", "1500",
		"--data-dir", dir, "--transport-id", "TRP-EMU", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	if !strings.Contains(out, "gs://etl-test-bucket/TRP-EMU/v001/VBRK.jsonl.gz") {
		t.Fatalf("summary does not name the object:\n%s", out)
	}
	b, ok := emu.Read(t, "etl-test-bucket", "TRP-EMU/v001/VBRK.jsonl.gz")
	if !ok || len(b) == 0 {
		t.Fatal("object not in the emulator")
	}
	if _, ok := emu.Read(t, "etl-test-bucket", "TRP-EMU/v001/_manifest.json"); !ok {
		t.Fatal("manifest not in the emulator")
	}
}
