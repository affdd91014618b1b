package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ora2gcs/ora2gcs/jobs"
)

// progressView renders a job's events as one live status line on stderr
// (redrawn in place on a terminal, a line every few seconds otherwise).
type progressView struct {
	w        io.Writer
	tty      bool
	mu       sync.Mutex
	tables   map[string]*tableProgress
	order    []string
	overall  jobs.Overall
	last     time.Time
	interval time.Duration
	width    int
}

type tableProgress struct {
	rows, bytes int64
	pct         float64
	done        bool
	failed      bool
}

func newProgressView(w io.Writer) *progressView {
	v := &progressView{w: w, tables: map[string]*tableProgress{}, interval: 5 * time.Second}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			v.tty, v.interval = true, 200*time.Millisecond
		}
	}
	return v
}

func (v *progressView) table(name string) *tableProgress {
	t, ok := v.tables[name]
	if !ok {
		t = &tableProgress{}
		v.tables[name] = t
		v.order = append(v.order, name)
	}
	return t
}

// Handle takes one event; it never blocks on the terminal for long.
func (v *progressView) Handle(e jobs.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch e.Type {
	case jobs.EventTableStart:
		v.table(e.Table)
	case jobs.EventProgress:
		t := v.table(e.Table)
		t.rows, t.bytes, t.pct = e.RowsProcessed, e.BytesTransferred, e.ProgressPercent
		if e.Overall != nil {
			v.overall = *e.Overall
		}
	case jobs.EventTableComplete:
		t := v.table(e.Table)
		t.rows, t.bytes, t.pct, t.done = e.TotalRows, e.BytesTransferred, 100, true
	case jobs.EventError:
		if e.Table != "" && !e.Retrying {
			v.table(e.Table).failed = true
		}
		v.clear()
		retry := ""
		if e.Retrying {
			retry = fmt.Sprintf(" (attempt %d failed, retrying)", e.Attempt)
		}
		fmt.Fprintf(v.w, "error: %s%s: %s\n", e.Table, retry, e.Error)
	case jobs.EventComplete:
		v.clear()
		return
	}
	if v.overall.TablesTotal > 0 && time.Since(v.last) >= v.interval {
		v.draw()
	}
}

func (v *progressView) clear() {
	if v.tty && v.width > 0 {
		fmt.Fprintf(v.w, "\r%s\r", strings.Repeat(" ", v.width))
		v.width = 0
	}
}

func (v *progressView) draw() {
	v.last = time.Now()
	names := append([]string(nil), v.order...)
	sort.SliceStable(names, func(i, j int) bool { return !v.tables[names[i]].done && v.tables[names[j]].done })
	var b strings.Builder
	fmt.Fprintf(&b, "%s rows  %s rows/s  %s  %3.0f%%  [%d/%d tables]",
		human(v.overall.RowsProcessed), human(int64(v.overall.RowsPerSecond)), mb(v.overall.BytesTransferred),
		v.overall.ProgressPercent, v.overall.TablesDone, v.overall.TablesTotal)
	for _, n := range names {
		t := v.tables[n]
		if t.done {
			continue
		}
		fmt.Fprintf(&b, " | %s %s %3.0f%%", n, human(t.rows), t.pct)
	}
	line := b.String()
	if v.tty {
		pad := ""
		if len(line) < v.width {
			pad = strings.Repeat(" ", v.width-len(line))
		}
		fmt.Fprintf(v.w, "\r%s%s", line, pad)
		v.width = len(line)
	} else {
		fmt.Fprintln(v.w, line)
	}
}

// human prints 1234567 as 1.23M.
func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fG", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// printTable writes rows as an aligned text table.
func printTable(w io.Writer, header []string, rows [][]string) {
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			if n := len([]rune(c)); n > width[i] {
				width[i] = n
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
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-len([]rune(c))))
			}
		}
		fmt.Fprintln(w, b.String())
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
