// Package benchkit holds the measuring and reporting parts of the
// end-to-end benchmarks (benchmarks/): one result row per suite, the
// median of N runs, the one comparable table they print, the CPU time and
// peak RSS of a child process, the CPU time of a process tree read from
// /proc (a local database server), DSN redaction and the fetch-size sweep
// plan. It has no database dependency.
package benchkit

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Run is one timed run of a suite.
type Run struct {
	Rows            int64
	Seconds         float64
	RawBytes        int64         // NDJSON bytes before compression (0 unknown)
	CompressedBytes int64         // bytes written (0 unknown)
	CPU             time.Duration // client CPU (user+system)
	PeakRSS         int64         // bytes, 0 unknown
	// DBCPU is the CPU the database spent during the run, when visible
	// (DBCPUKnown).
	DBCPU      time.Duration
	DBCPUKnown bool
}

// Result is one row of the comparable table: a suite's median run.
type Result struct {
	Suite      string  `json:"suite"`
	Runs       int     `json:"runs"`
	Rows       int64   `json:"rows"`
	RowsPerSec float64 `json:"rows_per_second"`          // median of the runs
	MBps       float64 `json:"mb_per_second"`            // NDJSON MB/s of the median run (0 unknown)
	BytesRow   float64 `json:"compressed_bytes_per_row"` // 0 unknown
	CPUSec     float64 `json:"cpu_seconds"`              // client CPU of the median run
	CPUusRow   float64 `json:"cpu_us_per_row"`           // client CPU µs per row of the median run
	// DBCPUSec is the database's CPU during the median run; -1 when not
	// visible.
	DBCPUSec   float64 `json:"db_cpu_seconds"`
	PeakRSSMiB float64 `json:"peak_rss_mib"` // highest of all runs
	Note       string  `json:"note,omitempty"`
}

// Summarize is the Result of runs: the run with the median rows/s (the
// upper median for an even count) gives rows/s, MB/s, bytes/row, CPU and
// database CPU; peak RSS is the highest of all runs.
func Summarize(suite string, runs []Run) Result {
	r := Result{Suite: suite, Runs: len(runs), DBCPUSec: -1}
	if len(runs) == 0 {
		return r
	}
	s := append([]Run(nil), runs...)
	rate := func(x Run) float64 {
		if x.Seconds <= 0 {
			return 0
		}
		return float64(x.Rows) / x.Seconds
	}
	sort.SliceStable(s, func(i, j int) bool { return rate(s[i]) < rate(s[j]) })
	m := s[len(s)/2]
	r.Rows, r.RowsPerSec, r.CPUSec = m.Rows, rate(m), m.CPU.Seconds()
	if m.DBCPUKnown {
		r.DBCPUSec = m.DBCPU.Seconds()
	}
	if m.Seconds > 0 {
		r.MBps = float64(m.RawBytes) / 1e6 / m.Seconds
	}
	if m.Rows > 0 {
		r.BytesRow = float64(m.CompressedBytes) / float64(m.Rows)
		r.CPUusRow = float64(m.CPU.Microseconds()) / float64(m.Rows)
	}
	for _, x := range runs {
		r.PeakRSSMiB = math.Max(r.PeakRSSMiB, float64(x.PeakRSS)/(1<<20))
	}
	return r
}

// Header is the table's header; Print writes one line per Result under it.
var Header = []string{"suite", "runs", "rows", "rows/s", "MB/s", "gz B/row", "CPU s", "CPU µs/row", "db CPU s", "peak RSS MiB", "note"}

// Print writes results as one aligned text table; unknown figures are "-".
// A result without runs shows only its suite and note (a suite skipped or
// failed, the note says why).
func Print(w io.Writer, results []Result) {
	rows := make([][]string, len(results))
	f := func(v float64, prec int) string {
		if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return "-"
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	for i, r := range results {
		if r.Runs == 0 {
			rows[i] = []string{r.Suite, "0", "-", "-", "-", "-", "-", "-", "-", "-", r.Note}
			continue
		}
		db := "-"
		if r.DBCPUSec >= 0 {
			db = strconv.FormatFloat(r.DBCPUSec, 'f', 2, 64)
		}
		rows[i] = []string{r.Suite, strconv.Itoa(r.Runs), strconv.FormatInt(r.Rows, 10), f(r.RowsPerSec, 0), f(r.MBps, 1),
			f(r.BytesRow, 0), f(r.CPUSec, 2), f(r.CPUusRow, 1), db, f(r.PeakRSSMiB, 0), r.Note}
	}
	Table(w, Header, rows)
}

// Table writes rows under header as an aligned text table (column widths
// in runes), with a dashed line under the header.
func Table(w io.Writer, header []string, rows [][]string) {
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = len([]rune(h))
	}
	for _, r := range rows {
		for i, c := range r {
			if i < len(width) {
				width[i] = max(width[i], len([]rune(c)))
			}
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c)
			if i < len(cells)-1 && i < len(width) {
				b.WriteString(strings.Repeat(" ", width[i]-len([]rune(c))))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
}

// ChildUsage is the CPU time (user+system) and peak RSS of a finished
// child process (0, 0 when unknown).
func ChildUsage(cmd *exec.Cmd) (time.Duration, int64) {
	if cmd.ProcessState == nil {
		return 0, 0
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss * 1024 // Linux: KiB
}

var (
	// user/password@… (godror's and SQL*Plus's form)
	slashPassRE = regexp.MustCompile(`^([^/@\s:]+)/([^@]*)@`)
	// password=… in a key=value DSN (godror, libpq), quoted or not
	kvPassRE = regexp.MustCompile(`(?i)(\bpass(?:word)?\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S+)`)
)

// Redacted is dsn with any password it holds replaced by "***": the
// password of a URL (scheme://user:password@host), of user/password@host,
// and password=… or pass=… in a key=value string or URL query. Other
// parts stay, so a report still says which database was measured.
func Redacted(dsn string) string {
	s := dsn
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "***")
		}
		q := u.Query()
		changed := false
		for k := range q {
			if kl := strings.ToLower(k); kl == "password" || kl == "pass" || kl == "pwd" {
				q.Set(k, "***")
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
		return strings.Replace(u.String(), "%2A%2A%2A", "***", -1)
	}
	if m := slashPassRE.FindStringSubmatchIndex(s); m != nil {
		s = s[:m[4]] + "***" + s[m[5]:]
	}
	return kvPassRE.ReplaceAllString(s, "${1}***")
}

// SweepPlan is the fetch array sizes to measure: each of sizes once, in
// increasing order, without values below 1 or above 100,000 (Oracle's
// limit is far higher, but a larger array only costs client memory), and
// always the given default so the sweep shows it for comparison. An empty
// list gives 100, 500, 1000, 2000, 5000, 10000.
func SweepPlan(sizes []int, def int) []int {
	if len(sizes) == 0 {
		sizes = []int{100, 500, 1000, 2000, 5000, 10000}
	}
	seen := map[int]bool{}
	var out []int
	for _, n := range append(sizes, def) {
		if n < 1 || n > 100_000 || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// ParseSizes reads a comma-separated list of positive integers ("100,1000").
func ParseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("benchkit: %q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// ClockTick is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100
// on every Linux architecture Go supports).
const ClockTick = 10 * time.Millisecond

// ProcCPU is the CPU time (utime+stime) of process pid so far, with
// children true also that of its exited and reaped children
// (cutime+cstime), read from /proc/PID/stat.
func ProcCPU(pid int, children bool) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0, fmt.Errorf("benchkit: /proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+2:]) // from field 3 (state) on
	if len(f) < 15 {
		return 0, fmt.Errorf("benchkit: /proc/%d/stat: unexpected format", pid)
	}
	n := 13 // fields 14, 15: utime, stime
	if children {
		n = 15 // and 16, 17: cutime, cstime
	}
	var ticks int64
	for _, x := range f[11:n] {
		v, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("benchkit: /proc/%d/stat: %w", pid, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * ClockTick, nil
}

// ParentPID is the parent of process pid (/proc/PID/status).
func ParentPID(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PPid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("benchkit: /proc/%d/status has no PPid", pid)
}

// TreeCPU is the CPU time so far of process root (a database server's
// main process) and all its children: root's own and that of its reaped
// children, plus each live child's. A child that exits between two
// readings is counted once it is reaped (the server reaps at once), so
// the difference of two readings a moment after the work ends is the
// server's CPU for that work. It fails when root is not visible (another
// machine or container, or /proc hidden).
func TreeCPU(root int) (time.Duration, error) {
	total, err := ProcCPU(root, true)
	if err != nil {
		return 0, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, err := ParentPID(pid); err != nil || pp != root {
			continue
		}
		if c, err := ProcCPU(pid, false); err == nil {
			total += c
		} else if !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
	}
	return total, nil
}
