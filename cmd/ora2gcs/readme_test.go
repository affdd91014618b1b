package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmeMarker is the line that marks the next ```sh block of README.md as
// one a new user runs as it is: no outside service, no credentials.
const readmeMarker = "<!-- readme-test: runs as written -->"

// readmeBlocks returns the marked shell blocks of the README, in order.
func readmeBlocks(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []string
	var cur *strings.Builder
	marked := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur != nil && strings.HasPrefix(line, "```"):
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		case strings.TrimSpace(line) == readmeMarker:
			marked = true
		case marked && (line == "```sh" || line == "```bash"):
			cur, marked = &strings.Builder{}, false
		case marked && strings.TrimSpace(line) != "":
			t.Fatalf("README: %q must be followed by a ```sh block, got %q", readmeMarker, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

var rowsFlag = regexp.MustCompile(`--rows[ =]([0-9]+)`)

// TestReadmeExamples runs the README's marked shell examples in order, as
// a new user would after cloning, in a fresh directory, with `ora2gcs` on
// PATH (this test binary acting as the CLI). To stay quick under -race the
// synthetic tables are cut to 2,000 rows: ORA2GCS_ROWS for commands without
// --rows, and --rows N above 2,000 rewritten to 2,000. Nothing else is
// changed, and every command must exit 0.
func TestReadmeExamples(t *testing.T) {
	blocks := readmeBlocks(t, filepath.Join("..", "..", "README.md"))
	if len(blocks) < 2 {
		t.Fatalf("README has %d marked examples; the quick start and command-line examples must be marked %q", len(blocks), readmeMarker)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	shim := fmt.Sprintf("#!/bin/sh\nORA2GCS_TEST_CLI=1 exec %q \"$@\"\n", exe)
	if err := os.WriteFile(filepath.Join(bin, "ora2gcs"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for i, b := range blocks {
		script := rowsFlag.ReplaceAllStringFunc(b, func(m string) string {
			n, _ := strconv.Atoi(rowsFlag.FindStringSubmatch(m)[1])
			return "--rows " + strconv.Itoa(min(n, 2000))
		})
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "ORA2GCS_ROWS=2000", "HOME="+work, "XDG_CONFIG_HOME="+filepath.Join(work, ".config"))
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("README example %d failed (%v):\n%s\noutput:\n%s", i+1, err, script, out)
		}
		t.Logf("README example %d ok in %s", i+1, time.Since(start).Round(time.Millisecond))
	}
}
