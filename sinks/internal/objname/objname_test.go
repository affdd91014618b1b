package objname

import "testing"

func TestValidate(t *testing.T) {
	long := make([]byte, MaxLen+1)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"TRP-20260118-001/v001/VBRP.jsonl.gz", true},
		{"VBRP.jsonl.gz", true},
		{"TRP/v001/VBRP.part-00001.jsonl.gz", true},
		{"a/한글/b", true},
		{"", false},
		{"/abs/x", false},
		{"a/../b", false},
		{"..", false},
		{"a/./b", false},
		{`a\b`, false},
		{"a//b", false},
		{"a/", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"\xff", false},
		{string(long), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.name)
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
}
