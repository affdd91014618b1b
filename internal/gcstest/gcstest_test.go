package gcstest_test

import (
	"bytes"
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/ora2gcs/ora2gcs/internal/gcstest"
)

func TestMain(m *testing.M) {
	// OpenCensus starts one global worker in its package init (a dependency of the storage client).
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"))
}

func upload(t *testing.T, url string, name string, data []byte) error {
	t.Helper()
	c := gcstest.NewClient(t, url)
	w := c.Bucket("bkt").Object(name).NewWriter(context.Background())
	w.ChunkSize = 256 << 10
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Close()
}

func TestStartAndRead(t *testing.T) {
	srv := gcstest.Start(t, "bkt", "other")
	data := bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB: 4 chunks
	if err := upload(t, srv.URL, "a/b.gz", data); err != nil {
		t.Fatal(err)
	}
	got, ok := srv.Read(t, "bkt", "a/b.gz")
	if !ok || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (ok %v), want %d", len(got), ok, len(data))
	}
	if _, ok := srv.Read(t, "bkt", "missing"); ok {
		t.Fatal("missing object reported visible")
	}
	if objs := srv.Objects(t, "bkt"); len(objs) != 1 || objs[0] != "a/b.gz" {
		t.Fatalf("Objects = %v", objs)
	}
	if objs := srv.Objects(t, "other"); len(objs) != 0 {
		t.Fatalf("Objects(other) = %v", objs)
	}
}

func TestProxyFaults(t *testing.T) {
	srv := gcstest.Start(t, "bkt")
	p := srv.Proxy(t, gcstest.Plan{2: gcstest.Fail503, 4: gcstest.DropMidBody})
	data := bytes.Repeat([]byte("abcdefgh"), 128<<10) // 1 MiB: 4 chunks + final
	if err := upload(t, p.URL, "x", data); err != nil {
		t.Fatalf("upload through proxy: %v", err)
	}
	got, _ := srv.Read(t, "bkt", "x")
	if !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes, want %d identical", len(got), len(data))
	}
	ev := p.Events()
	inj := p.Injected()
	if len(inj) != 2 || inj[0].N != 2 || inj[0].Fault != gcstest.Fail503 || inj[1].N != 4 || inj[1].Fault != gcstest.DropMidBody {
		t.Fatalf("injected %+v", inj)
	}
	// The request after each fault resends the same range.
	for _, f := range inj {
		if f.N >= len(ev) || ev[f.N].ContentRange != ev[f.N-1].ContentRange {
			t.Errorf("fault %d (%s): next request %+v is not a resend", f.N, f.ContentRange, ev[min(f.N, len(ev)-1)])
		}
	}
}

func TestProxyCorrupts(t *testing.T) {
	srv := gcstest.Start(t, "bkt")
	p := srv.Proxy(t, gcstest.Plan{1: gcstest.CorruptByte})
	data := bytes.Repeat([]byte{7}, 300<<10)
	if err := upload(t, p.URL, "x", data); err != nil {
		t.Fatalf("upload: %v", err)
	}
	got, _ := srv.Read(t, "bkt", "x")
	if len(got) != len(data) || bytes.Equal(got, data) {
		t.Fatalf("want a same-size corrupted object, got %d bytes equal=%v", len(got), bytes.Equal(got, data))
	}
}
