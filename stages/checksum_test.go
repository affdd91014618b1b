package stages

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCRC32C(t *testing.T) {
	cases := []struct {
		in      string
		b64, hx string
	}{
		{"", "AAAAAA==", "00000000"},
		{"123456789", "4waSgw==", "e3069283"}, // the CRC-32C check value
		{"hello world\n", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			c := CRC32C([]byte(tc.in))
			if tc.hx != "" && (CRC32CHex(c) != tc.hx || CRC32CBase64(c) != tc.b64) {
				t.Fatalf("crc %08x: hex %s base64 %s, want %s %s", c, CRC32CHex(c), CRC32CBase64(c), tc.hx, tc.b64)
			}
			if len(CRC32CBase64(c)) != 8 || len(CRC32CHex(c)) != 8 {
				t.Fatalf("lengths %q %q", CRC32CBase64(c), CRC32CHex(c))
			}
		})
	}
}
