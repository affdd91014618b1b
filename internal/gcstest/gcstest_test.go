package gcstest_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"go.uber.org/goleak"
	"google.golang.org/api/googleapi"

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

// TestProxyRules checks the request kinds and faults beyond chunks with a
// plain storage client: a lost answer to a single-request upload makes the
// client's retry meet the object (412); compose preconditions are enforced
// as GCS enforces them; crc32c can be stripped from answers; EachName
// counts per object.
func TestProxyRules(t *testing.T) {
	ctx := context.Background()
	srv := gcstest.Start(t, "bkt")
	p := srv.Proxy(t, nil,
		gcstest.Rule{Kind: gcstest.Upload, Name: "lost", N: 1, Fault: gcstest.DropAfterForward},
		gcstest.Rule{Kind: gcstest.Metadata, Name: "a", N: 2, Fault: gcstest.StripCRC32C},
		gcstest.Rule{Kind: gcstest.Upload, N: 2, EachName: true, Fault: gcstest.Fail503},
	)
	put := func(name, data string) error {
		h := p.Client.Bucket("bkt").Object(name).If(storage.Conditions{DoesNotExist: true}).
			Retryer(storage.WithPolicy(storage.RetryIdempotent), storage.WithErrorFunc(storage.ShouldRetry), storage.WithBackoff(gax.Backoff{Initial: time.Millisecond}))
		w := h.NewWriter(ctx)
		_, _ = w.Write([]byte(data))
		return w.Close()
	}
	var gerr *googleapi.Error
	if err := put("lost", "x"); !errors.As(err, &gerr) || gerr.Code != http.StatusPreconditionFailed {
		t.Fatalf("upload after a lost answer: %v; want 412 from the retry", err)
	}
	if got, _ := srv.Read(t, "bkt", "lost"); string(got) != "x" {
		t.Fatalf("lost-answer upload stored %q", got)
	}
	for _, n := range []string{"a", "b"} {
		if err := put(n, n+n); err != nil {
			t.Fatal(err)
		}
	}
	// the second upload of each name fails once with 503 and is retried
	if err := put("b", "again"); !errors.As(err, &gerr) || gerr.Code != http.StatusPreconditionFailed {
		t.Fatalf("second upload of b: %v; want 412", err)
	}
	h := p.Client.Bucket("bkt").Object("a")
	first, err := h.Attrs(ctx)
	if err != nil || first.CRC32C == 0 {
		t.Fatalf("first attrs %+v, %v; want a crc32c", first, err)
	}
	if second, err := h.Attrs(ctx); err != nil || second.CRC32C != 0 || second.Size != 2 {
		t.Fatalf("second attrs %+v, %v; want the crc32c stripped", second, err)
	}
	c := p.Client.Bucket("bkt").Object("a").If(storage.Conditions{DoesNotExist: true}).ComposerFrom(p.Client.Bucket("bkt").Object("b"))
	if _, err := c.Run(ctx); !errors.As(err, &gerr) || gerr.Code != http.StatusPreconditionFailed {
		t.Fatalf("compose onto an existing object with DoesNotExist: %v; want 412", err)
	}
	if got, _ := srv.Read(t, "bkt", "a"); string(got) != "aa" {
		t.Fatalf("compose replaced a: %q", got)
	}
	c = p.Client.Bucket("bkt").Object("ab").If(storage.Conditions{DoesNotExist: true}).ComposerFrom(p.Client.Bucket("bkt").Object("a"), p.Client.Bucket("bkt").Object("b"))
	if _, err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Read(t, "bkt", "ab"); string(got) != "aabb" {
		t.Fatalf("composed %q", got)
	}
	var kinds []string
	for _, e := range p.Injected() {
		kinds = append(kinds, e.Kind.String()+":"+e.Name+":"+e.Fault.String())
	}
	want := "upload:lost:drop-after-forward upload:lost:503 upload:b:503 metadata:a:strip-crc32c" // the retry of "lost" is its second upload
	if strings.Join(kinds, " ") != want {
		t.Fatalf("injected %v, want %s", kinds, want)
	}
}
