package stages

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// TestTypesDoc: every row of docs/TYPES.md whose table has the columns
// Column, BigQuery and DuckDB agrees with BigQueryType and DuckDBType for
// the column it names, so the document cannot drift from the code.
func TestTypesDoc(t *testing.T) {
	b, err := os.ReadFile("../docs/TYPES.md")
	if err != nil {
		t.Fatal(err)
	}
	first := regexp.MustCompile("`([^`]*)`")
	var header []string
	rows := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "|") {
			header = nil
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if header == nil {
			header = cells
			continue
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		col, bq, duck := -1, -1, -1
		for i, h := range header {
			switch h {
			case "Column":
				col = i
			case "BigQuery":
				bq = i
			case "DuckDB":
				duck = i
			}
		}
		if col < 0 || bq < 0 || duck < 0 {
			continue
		}
		if len(cells) != len(header) {
			t.Fatalf("row %q has %d cells, its table %d", line, len(cells), len(header))
		}
		spec, bqWant, duckWant := first.FindStringSubmatch(cells[col]), first.FindStringSubmatch(cells[bq]), first.FindStringSubmatch(cells[duck])
		if spec == nil || bqWant == nil || duckWant == nil {
			t.Fatalf("row %q: Column, BigQuery and DuckDB must each start with a `code` value", line)
		}
		c := parseColumnSpec(t, spec[1])
		if got := BigQueryType(c); got != bqWant[1] {
			t.Errorf("docs/TYPES.md: %s is BigQuery %s, the code says %s (row %q)", spec[1], bqWant[1], got, line)
		}
		if got := DuckDBType(c); got != duckWant[1] {
			t.Errorf("docs/TYPES.md: %s is DuckDB %s, the code says %s (row %q)", spec[1], duckWant[1], got, line)
		}
		rows++
	}
	if rows < 40 {
		t.Fatalf("checked %d rows of docs/TYPES.md, expected the three type tables", rows)
	}
}

// parseColumnSpec reads the notation of docs/TYPES.md: TYPE, TYPE(n) or
// DECIMAL(p,s); the one number of TIMESTAMP/TIMESTAMPTZ is the scale,
// of DECIMAL and INT the precision.
func parseColumnSpec(t *testing.T, s string) pipeline.Column {
	t.Helper()
	name, args, _ := strings.Cut(s, "(")
	var c pipeline.Column
	if err := c.Type.UnmarshalText([]byte(name)); err != nil {
		t.Fatalf("column spec %q: %v", s, err)
	}
	if args == "" {
		return c
	}
	var nums []int
	for _, a := range strings.Split(strings.TrimSuffix(args, ")"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(a))
		if err != nil {
			t.Fatalf("column spec %q: %v", s, err)
		}
		nums = append(nums, n)
	}
	switch {
	case (c.Type == pipeline.TypeTimestamp || c.Type == pipeline.TypeTimestampTZ) && len(nums) == 1:
		c.Scale = nums[0]
	case (c.Type == pipeline.TypeDecimal || c.Type == pipeline.TypeInt) && len(nums) == 1:
		c.Precision = nums[0]
	case c.Type == pipeline.TypeDecimal && len(nums) == 2:
		c.Precision, c.Scale = nums[0], nums[1]
	default:
		t.Fatalf("column spec %q", s)
	}
	return c
}
