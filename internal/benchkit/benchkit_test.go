package benchkit

import (
	"bytes"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSummarizeMedian(t *testing.T) {
	runs := []Run{
		{Rows: 1000, Seconds: 1, RawBytes: 4e6, CompressedBytes: 700_000, CPU: 2 * time.Millisecond * 1000, PeakRSS: 100 << 20},
		{Rows: 1000, Seconds: 4, RawBytes: 4e6, CompressedBytes: 700_000, CPU: time.Second, PeakRSS: 300 << 20},
		{Rows: 1000, Seconds: 2, RawBytes: 4e6, CompressedBytes: 600_000, CPU: 1500 * time.Millisecond, PeakRSS: 200 << 20},
	}
	r := Summarize("synth-null", runs)
	want := Result{Suite: "synth-null", Runs: 3, Rows: 1000, RowsPerSec: 500, MBps: 2, BytesRow: 600, CPUSec: 1.5, CPUusRow: 1500, DBCPUSec: -1, PeakRSSMiB: 300}
	if r != want {
		t.Fatalf("%+v\nwant %+v", r, want)
	}
	// the database CPU of the median run, when visible
	runs[2].DBCPU, runs[2].DBCPUKnown = 250*time.Millisecond, true
	if r := Summarize("pg", runs); r.DBCPUSec != 0.25 {
		t.Fatalf("db cpu %v", r.DBCPUSec)
	}
	if r := Summarize("x", nil); r.Runs != 0 || r.RowsPerSec != 0 {
		t.Fatalf("%+v", r)
	}
	// an even count takes the upper median; a zero-second run is 0 rows/s, not +Inf
	r = Summarize("x", []Run{{Rows: 10, Seconds: 0}, {Rows: 10, Seconds: 1}})
	if r.RowsPerSec != 10 {
		t.Fatalf("%+v", r)
	}
}

func TestPrint(t *testing.T) {
	var b bytes.Buffer
	Print(&b, []Result{
		{Suite: "synth→null", Runs: 5, Rows: 200000, RowsPerSec: 131234.4, MBps: 590.12, BytesRow: 690.4, CPUSec: 2.808, CPUusRow: 14.04, DBCPUSec: -1, PeakRSSMiB: 241},
		{Suite: "pg COPY (baseline)", Runs: 5, Rows: 250000, RowsPerSec: 69600, DBCPUSec: 3.5, Note: "server COPY … TO STDOUT"},
		{Suite: "pg many tables", Note: "skipped: no PostgreSQL"},
	})
	got := b.String()
	want := "suite               runs  rows    rows/s  MB/s   gz B/row  CPU s  CPU µs/row  db CPU s  peak RSS MiB  note\n" +
		"------------------  ----  ------  ------  -----  --------  -----  ----------  --------  ------------  -----------------------\n" +
		"synth→null          5     200000  131234  590.1  690       2.81   14.0        -         241\n" +
		"pg COPY (baseline)  5     250000  69600   -      -         -      -           3.50      -             server COPY … TO STDOUT\n" +
		"pg many tables      0     -       -       -      -         -      -           -         -             skipped: no PostgreSQL\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRedacted(t *testing.T) {
	for _, c := range []struct{ in, want, secret string }{
		{"oracle://scott:tiger@db:1521/ORCLPDB1", "oracle://scott:***@db:1521/ORCLPDB1", "tiger"},
		{"oracle://scott@db:1521/ORCLPDB1?fetch_array_size=500", "oracle://scott@db:1521/ORCLPDB1?fetch_array_size=500", ""},
		{"postgres://u:p%40ss@h:5432/db?sslmode=disable", "postgres://u:***@h:5432/db?sslmode=disable", "p%40ss"},
		{"postgres://u@h/db?password=s3cr3t&sslmode=disable", "postgres://u@h/db?password=***&sslmode=disable", "s3cr3t"},
		{"scott/tiger@db:1521/ORCLPDB1", "scott/***@db:1521/ORCLPDB1", "tiger"},
		{"scott/ti/g@r@db:1521/X", "scott/***@r@db:1521/X", "ti/g"},
		{`user=scott password="ti ger" connectString=db:1521/X`, `user=scott password=*** connectString=db:1521/X`, "ti ger"},
		{"host=h user=u password=pw dbname=d", "host=h user=u password=*** dbname=d", "pw"},
		{"user=u PASSWORD = 'a b' x=1", "user=u PASSWORD = *** x=1", "a b"},
	} {
		got := Redacted(c.in)
		if got != c.want {
			t.Errorf("Redacted(%q) = %q, want %q", c.in, got, c.want)
		}
		if c.secret != "" && strings.Contains(got, c.secret) {
			t.Errorf("Redacted(%q) = %q still holds the password", c.in, got)
		}
	}
}

func TestSweepPlan(t *testing.T) {
	for _, c := range []struct {
		in   []int
		def  int
		want []int
	}{
		{nil, 1000, []int{100, 500, 1000, 2000, 5000, 10000}},
		{[]int{5000, 10, 10, 0, -3, 200000}, 1000, []int{10, 1000, 5000}},
		{[]int{250}, 0, []int{250}},
	} {
		if got := SweepPlan(c.in, c.def); !reflect.DeepEqual(got, c.want) {
			t.Errorf("SweepPlan(%v, %d) = %v, want %v", c.in, c.def, got, c.want)
		}
	}
	if _, err := ParseSizes("100, x"); err == nil {
		t.Fatal("ParseSizes accepted x")
	}
	if got, err := ParseSizes("100, 2000,"); err != nil || !reflect.DeepEqual(got, []int{100, 2000}) {
		t.Fatalf("%v %v", got, err)
	}
}

func TestTreeCPU(t *testing.T) {
	before, err := TreeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// a child that burns CPU, then is reaped: its CPU moves into ours (cutime)
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done")
	if err := cmd.Run(); err != nil {
		t.Skip("no sh: ", err)
	}
	child, _ := ChildUsage(cmd)
	after, err := TreeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d < child-2*ClockTick {
		t.Fatalf("tree CPU grew by %v, the child used %v", d, child)
	}
	if _, err := TreeCPU(1 << 30); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
	if pp, err := ParentPID(os.Getpid()); err != nil || pp != os.Getppid() {
		t.Fatalf("ParentPID = %d, %v; want %d", pp, err, os.Getppid())
	}
}

func TestChildUsage(t *testing.T) {
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done")
	if err := cmd.Run(); err != nil {
		t.Skip("no sh: ", err)
	}
	cpu, rss := ChildUsage(cmd)
	if cpu <= 0 || rss <= 0 {
		t.Fatalf("cpu %v rss %d", cpu, rss)
	}
}
