package main

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/benchkit"
)

// serveAddrRE finds the listen address in serve's start log line.
var serveAddrRE = regexp.MustCompile(`"message":"ora2gcs serving".*?"addr":"([^"]+)"`)

// apiLatency starts `ora2gcs serve` (synth → null) and, while one job of
// rows VBRP rows runs, sends GET /api/v1/transport/:id and GET
// /api/v1/jobs one after the other. The run is the job's (rows, time,
// bytes; CPU and peak RSS of the server process); the note gives the GET
// latencies.
func apiLatency(ctx context.Context, t *tool, rows int64, work string, progress io.Writer) (benchkit.Run, string, error) {
	dir, err := os.MkdirTemp(work, "api-")
	if err != nil {
		return benchkit.Run{}, "", err
	}
	defer os.RemoveAll(dir)
	var k [16]byte
	_, _ = crand.Read(k[:])
	key := hex.EncodeToString(k[:])
	cmd := exec.Command(t.bin, "serve", "--source", "synth", "--rows", strconv.FormatInt(rows, 10), "--target", "null",
		"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "state"))
	cmd.Env = append(append(os.Environ(), t.env...), "API_KEY="+key)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return benchkit.Run{}, "", err
	}
	if err := cmd.Start(); err != nil {
		return benchkit.Run{}, "", err
	}
	exited := make(chan error, 1)
	addr := make(chan string, 1)
	var tail bytes.Buffer // the last lines, for an error
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			if m := serveAddrRE.FindSubmatch(sc.Bytes()); m != nil && !sent {
				addr <- string(m[1])
				sent = true
			}
			if tail.Len() < 4096 {
				tail.Write(sc.Bytes())
				tail.WriteByte('\n')
			}
		}
		exited <- cmd.Wait()
	}()
	stop := func() (child, error) {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			var c child
			c.cpu, c.rss = benchkit.ChildUsage(cmd)
			return c, err
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return child{}, errors.New("serve did not stop within 30 s of SIGTERM")
		}
	}
	var base string
	select {
	case a := <-addr:
		base = "http://" + a + "/api/v1"
	case err := <-exited:
		return benchkit.Run{}, "", fmt.Errorf("serve ended at start (%v): %s", err, lastLine(tail.String()))
	case <-time.After(60 * time.Second):
		_, _ = stop()
		return benchkit.Run{}, "", errors.New("serve did not start listening within 60 s")
	case <-ctx.Done():
		_, _ = stop()
		return benchkit.Run{}, "", ctx.Err()
	}
	r, note, err := apiMeasure(ctx, base, key, progress)
	c, serr := stop()
	if err != nil {
		return r, note, err
	}
	if serr != nil {
		return r, note, fmt.Errorf("serve: %v", serr)
	}
	r.CPU, r.PeakRSS = c.cpu, c.rss
	return r, note, nil
}

func lastLine(s string) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	return string(lines[len(lines)-1])
}

// apiMeasure creates a transport of VBRP, executes it and sends GETs until
// the job has ended.
func apiMeasure(ctx context.Context, base, key string, progress io.Writer) (benchkit.Run, string, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	call := func(method, path string, body any, want int, into any) (time.Duration, error) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			return 0, err
		}
		req.Header.Set("X-API-Key", key)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		el := time.Since(start)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != want {
			return 0, fmt.Errorf("%s %s: %d %.200s", method, path, resp.StatusCode, b)
		}
		if into != nil {
			if err := json.Unmarshal(b, into); err != nil {
				return 0, fmt.Errorf("%s %s: %w", method, path, err)
			}
		}
		return el, nil
	}
	var tr struct {
		ID string `json:"id"`
	}
	if _, err := call("POST", "/transport", map[string]any{"name": "benchmarks api latency", "tables": []string{"VBRP"}}, 201, &tr); err != nil {
		return benchkit.Run{}, "", err
	}
	var ex struct {
		JobID string `json:"job_id"`
	}
	if _, err := call("POST", "/transport/"+tr.ID+"/execute", nil, 202, &ex); err != nil {
		return benchkit.Run{}, "", err
	}
	paths := []string{"/transport/" + tr.ID, "/jobs?page_size=20"}
	var lat []time.Duration
	deadline := time.Now().Add(30 * time.Minute)
	var job jobJSON
	for i := 0; ; i++ {
		if i%20 == 0 {
			if _, err := call("GET", "/jobs/"+ex.JobID, nil, 200, &job); err != nil {
				return benchkit.Run{}, "", err
			}
			if job.Status != "running" {
				break
			}
			if time.Now().After(deadline) {
				return benchkit.Run{}, "", errors.New("the job did not end within 30 minutes")
			}
		}
		d, err := call("GET", paths[i%2], nil, 200, nil)
		if err != nil {
			return benchkit.Run{}, "", err
		}
		lat = append(lat, d)
	}
	r, err := job.asRun(child{})
	if err != nil {
		return r, "", err
	}
	fmt.Fprintf(progress, "API: %d GETs during the job\n", len(lat))
	return r, latencyNote(lat), nil
}

// latencyNote is "GET p50 … p99 … max … ms (n=…)" of lat.
func latencyNote(lat []time.Duration) string {
	if len(lat) == 0 {
		return "no GET finished during the job (too few rows)"
	}
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) float64 { return float64(s[int(p*float64(len(s)-1))]) / 1e6 }
	return fmt.Sprintf("GET p50 %.2f ms, p99 %.2f ms, max %.2f ms (n=%d)", q(0.50), q(0.99), q(1), len(s))
}
