package testutil

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

// GunzipOne reads b as exactly one gzip member with nothing after it (some
// readers stop after the first member of a multi-member file) and returns
// its content. Read as a multi-member stream, b must give the same bytes.
func GunzipOne(t testing.TB, b []byte) []byte {
	t.Helper()
	br := bytes.NewReader(b)
	zr, err := gzip.NewReader(br)
	if err != nil {
		t.Fatalf("gzip header: %v", err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	if br.Len() != 0 { // bytes.Reader is an io.ByteReader: gzip reads no further than the member
		t.Fatalf("%d bytes follow the gzip member", br.Len())
	}
	all, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(all); err != nil || !bytes.Equal(rest, out) {
		t.Fatalf("multi-member read gives %d bytes (%v), single member %d", len(rest), err, len(out))
	}
	return out
}
