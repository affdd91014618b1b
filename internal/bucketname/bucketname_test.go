package bucketname

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	p63 := strings.Repeat("a", 63)
	tests := []struct {
		name string
		want string // "" = valid, else a fragment of the error
	}{
		{"oracle-etl-data", ""},
		{"abc", ""},
		{"a_b-c.d", ""},
		{"0ab", ""},
		{p63, ""},
		{p63 + "." + p63 + "." + p63, ""}, // 191 characters with dots
		{p63 + "." + p63 + "." + p63 + "." + p63[:30], ""}, // 222
		{p63 + "." + p63 + "." + p63 + "." + p63[:31], "3 to 63"},
		{"", "empty"},
		{"ab", "3 to 63"},
		{p63 + "a", "3 to 63"},
		{p63 + "a.b", "dot-separated part"},
		{"Upper", "lowercase"},
		{"ab c", "lowercase"},
		{"ab/c", "lowercase"},
		{"bücket", "lowercase"},
		{"-abc", "start and end"},
		{"abc-", "start and end"},
		{"abc.", "start and end"},
		{"_abc", "start and end"},
		{"a..b", "dot-separated part"},
		{"192.168.5.4", "IP address"},
		{"999.1.1.1", "IP address"}, // dotted-decimal form, even if not a routable address
		{"192.168.5", ""},
		{"192.168.5.4.5", ""},
		{"goog-data", `"goog"`},
		{"my-google-data", "google"},
		{"my-g00gle-data", "google"},
		{"googl", `"goog"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.name)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate(%q) = %v, want valid", tt.name, err)
			case tt.want != "" && err == nil:
				t.Fatalf("Validate(%q) accepted, want an error with %q", tt.name, tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("Validate(%q) = %v, want it to mention %q", tt.name, err, tt.want)
			}
		})
	}
}
