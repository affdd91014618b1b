package gcs

import (
	"errors"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
)

// TestVerify tests the comparison Commit makes after the upload, including
// the cases the emulator cannot produce (no attributes, same size but a
// different checksum of an empty object).
func TestVerify(t *testing.T) {
	tests := []struct {
		name  string
		size  int64
		crc   uint32
		attrs *storage.ObjectAttrs
		want  string // "" means no error
	}{
		{"match", 10, 0xdeadbeef, &storage.ObjectAttrs{Size: 10, CRC32C: 0xdeadbeef}, ""},
		{"empty-match", 0, 0, &storage.ObjectAttrs{}, ""},
		{"no-attrs", 10, 1, nil, "no object attributes"},
		{"short-object", 10, 1, &storage.ObjectAttrs{Size: 9, CRC32C: 1}, "wrote 10 bytes, storage holds 9"},
		{"long-object", 10, 1, &storage.ObjectAttrs{Size: 11, CRC32C: 1}, "wrote 10 bytes, storage holds 11"},
		{"crc", 10, 1, &storage.ObjectAttrs{Size: 10, CRC32C: 2}, "wrote CRC32C 00000001, storage holds 00000002"},
		{"crc-zero-is-a-value", 10, 0, &storage.ObjectAttrs{Size: 10, CRC32C: 5}, "CRC32C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verify(tt.size, tt.crc, tt.attrs)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("verify = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("verify = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{`Put "http://h/upload/storage/v1/b/x/o?alt=json&upload_id=ABCdef-123_x&uploadType=resumable": EOF`,
			`Put "http://h/upload/storage/v1/b/x/o?alt=json&upload_id=REDACTED&uploadType=resumable": EOF`},
		{"Authorization: Bearer ya29.secret-token", "Authorization: Bearer REDACTED"},
		{"https://x/?access_token=abc&key=AIzaSy123", "https://x/?access_token=REDACTED&key=REDACTED"},
		{"X-Goog-Signature=0123abc", "X-Goog-Signature=REDACTED"},
		{"googleapi: Error 503: backend error", "googleapi: Error 503: backend error"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestOpErrorMatches(t *testing.T) {
	inner := errors.New("boom")
	var err error = &opError{msg: "gcs: commit gs://b/x: boom", errs: []error{ErrMismatch, inner}}
	if !errors.Is(err, ErrMismatch) || !errors.Is(err, inner) {
		t.Fatal("opError does not unwrap to its errors")
	}
}
