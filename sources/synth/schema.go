package synth

import (
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

//go:embed vbrp_schema.json vbrk_schema.json likp_schema.json
var schemaFS embed.FS

// schemaFiles lists the embedded schemas in catalog order.
var schemaFiles = []string{"vbrp_schema.json", "vbrk_schema.json", "likp_schema.json"}

// schemaFile is the shape of the embedded JSON schema files.
type schemaFile struct {
	Table       string `json:"table"`
	Description string `json:"description"`
	Columns     []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Nullable bool   `json:"nullable"`
	} `json:"columns"`
}

// loadSchema reads one embedded schema file and maps its Oracle types.
// lengths[i] is the declared length of string column i (0 for others).
func loadSchema(file string) (name, comment string, cols []pipeline.Column, lengths []int, err error) {
	b, err := schemaFS.ReadFile(file)
	if err != nil {
		return "", "", nil, nil, fmt.Errorf("synth: read schema %s: %w", file, err)
	}
	var s schemaFile
	if err := json.Unmarshal(b, &s); err != nil {
		return "", "", nil, nil, fmt.Errorf("synth: parse schema %s: %w", file, err)
	}
	cols = make([]pipeline.Column, len(s.Columns))
	lengths = make([]int, len(s.Columns))
	for i, c := range s.Columns {
		col, n, err := oracleColumn(c.Name, c.Type, c.Nullable)
		if err != nil {
			return "", "", nil, nil, fmt.Errorf("synth: schema %s: %w", file, err)
		}
		cols[i], lengths[i] = col, n
	}
	return strings.ToUpper(s.Table), s.Description, cols, lengths, nil
}

// oracleColumn maps an Oracle type text ("NUMBER(13,3)", "VARCHAR2(10)",
// "DATE", "BINARY_DOUBLE") to a pipeline.Column the way the Oracle source
// does; length is the declared length of a character type, else 0.
func oracleColumn(name, typ string, nullable bool) (col pipeline.Column, length int, err error) {
	col = pipeline.Column{Name: name, SourceType: typ, Nullable: nullable}
	base, args := typ, ""
	if i := strings.IndexByte(typ, '('); i >= 0 && strings.HasSuffix(typ, ")") {
		base, args = typ[:i], typ[i+1:len(typ)-1]
	}
	var nums []int
	if args != "" {
		for _, a := range strings.Split(args, ",") {
			a = strings.TrimSpace(a)
			a = strings.TrimSuffix(strings.TrimSuffix(a, " CHAR"), " BYTE")
			n, err := strconv.Atoi(a)
			if err != nil {
				return col, 0, fmt.Errorf("column %s: bad type %q", name, typ)
			}
			nums = append(nums, n)
		}
	}
	switch base {
	case "VARCHAR2", "CHAR", "NVARCHAR2", "NCHAR":
		if len(nums) != 1 || nums[0] < 1 {
			return col, 0, fmt.Errorf("column %s: bad type %q", name, typ)
		}
		col.Type = pipeline.TypeString
		length = nums[0]
	case "NUMBER":
		if len(nums) > 2 || len(nums) > 0 && (nums[0] < 1 || nums[0] > 38) {
			return col, 0, fmt.Errorf("column %s: bad type %q", name, typ)
		}
		col.Type = pipeline.TypeDecimal
		if len(nums) > 0 { // plain NUMBER has neither precision nor scale
			col.Precision = nums[0]
		}
		if len(nums) == 2 {
			if nums[1] < 0 || nums[1] > nums[0] {
				return col, 0, fmt.Errorf("column %s: bad type %q", name, typ)
			}
			col.Scale = nums[1]
		}
	case "DATE":
		col.Type = pipeline.TypeDateTime
	case "BINARY_DOUBLE", "BINARY_FLOAT":
		col.Type = pipeline.TypeFloat
	default:
		return col, 0, fmt.Errorf("column %s: unsupported type %q", name, typ)
	}
	return col, length, nil
}
