package pipeline

import (
	"strings"
	"testing"
)

func TestObjectBaseName(t *testing.T) {
	for _, tc := range []struct {
		schema, name string
		qualified    bool
		want         string
	}{
		{"SAPSR3", "VBRP", false, "VBRP"},
		{"public", "vbrp", true, "public.vbrp"},
		{"s", "Mixed", true, "s.Mixed"},
		{"s", `Q"uote`, true, "s.Q%22uote"},
		{"s", "t.part-00001", true, "s.t%2Epart-00001"},
		{"s", "...", true, "s.%2E%2E%2E"},
		{"s.a", "b", true, "s%2Ea.b"},
		{"s", "a.b", true, "s.a%2Eb"},
		{"s", "a/b\\c%d", true, "s.a%2Fb%5Cc%25d"},
		{"s", "x.schema", false, "x%2Eschema"},
		{"s", "한글 표", false, "한글%20표"},
		{"s", "tab\tnl\n", false, "tab%09nl%0A"},
	} {
		if got := ObjectBaseName(tc.schema, tc.name, tc.qualified); got != tc.want {
			t.Errorf("ObjectBaseName(%q, %q, %v) = %q, want %q", tc.schema, tc.name, tc.qualified, got, tc.want)
		}
	}
	// Different tables never share an object name: the encoding is injective.
	seen := map[string]string{}
	for _, n := range [][2]string{{"s.a", "b"}, {"s", "a.b"}, {"s", "a%2Eb"}, {"s", "a"}, {"s", "A"}, {"", "s.a.b"}} {
		o := ObjectBaseName(n[0], n[1], n[0] != "")
		if prev, dup := seen[o]; dup {
			t.Fatalf("%v and %s share object name %q", n, prev, o)
		}
		seen[o] = n[0] + "|" + n[1]
		if strings.Count(o, ".") > 1 {
			t.Fatalf("%q has a raw dot inside a part", o)
		}
	}
}

func TestDisplayIdentParsesBack(t *testing.T) {
	lower := strings.ToLower
	for _, tc := range []struct {
		in   string
		fold func(string) string
		want string
	}{
		{"vbrp", lower, "vbrp"},
		{"Mixed", lower, `"Mixed"`},
		{"VBRP", nil, "VBRP"},
		{"vbrp", nil, `"vbrp"`},
		{`Q"uote`, lower, `"Q""uote"`},
		{"...", lower, `"..."`},
		{"t.part-00001", lower, `"t.part-00001"`},
		{"1abc", lower, `"1abc"`},
		{"a b", lower, `"a b"`},
	} {
		got := DisplayIdent(tc.in, tc.fold)
		if got != tc.want {
			t.Errorf("DisplayIdent(%q) = %q, want %q", tc.in, got, tc.want)
		}
		n, err := ParseTableName("s." + got)
		if err != nil || n.Name != tc.in {
			t.Errorf("%q parses back as %+v, %v", got, n, err)
		}
	}
}
