package gcs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"go.uber.org/goleak"

	"github.com/ora2gcs/ora2gcs/internal/gcstest"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
	"github.com/ora2gcs/ora2gcs/sinks/sinktest"
)

const bucket = "oracle-etl-data"

func TestMain(m *testing.M) {
	// OpenCensus starts one global worker in its package init (a dependency
	// of the storage client). Everything else, including aborted uploads'
	// goroutines, must be gone when the tests end.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"))
}

// testConfig uses the smallest chunks so a few MB make many chunk requests,
// and a short backoff so retries do not slow the suite.
func testConfig() gcs.Config {
	return gcs.Config{Bucket: bucket, ChunkSize: gcs.MinChunkSize, Backoff: time.Millisecond}
}

func newSink(t testing.TB, c *storage.Client, cfg gcs.Config) *gcs.Sink {
	t.Helper()
	s, err := gcs.NewWithClient(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	var srv *gcstest.Server
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T) pipeline.Sink {
			srv = gcstest.Start(t, bucket)
			return newSink(t, srv.Client, testConfig())
		},
		Read: func(t *testing.T, name string) ([]byte, bool) { return srv.Read(t, bucket, name) },
		URI:  func(name string) string { return "gs://" + bucket + "/" + name },
	})
}

// write writes data through a fresh object in pieces of 100,003 bytes and
// commits it.
func write(t *testing.T, s *gcs.Sink, name string, data []byte) (pipeline.ObjectInfo, error) {
	t.Helper()
	obj, err := s.Create(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	for d := data; len(d) > 0; {
		n := min(len(d), 100003)
		if _, err := obj.Write(d[:n]); err != nil {
			_ = obj.Abort()
			return pipeline.ObjectInfo{}, err
		}
		d = d[n:]
	}
	return obj.Commit()
}

// TestFaults uploads 3 MiB + 5 bytes in 256 KiB chunks (13 chunk requests
// without faults) through the fault proxy. Each case says whether the object
// must arrive byte-identical or the upload must fail loudly, and why.
func TestFaults(t *testing.T) {
	data := sinktest.Random(3<<20+5, 42)
	cases := []struct {
		name    string
		plan    gcstest.Plan
		wantErr error  // nil: the object must be complete and byte-identical
		why     string // what the error must say
	}{
		{
			name: "503s-and-one-drop-are-retried",
			plan: gcstest.Plan{2: gcstest.Fail503, 4: gcstest.Fail503, 7: gcstest.DropMidBody},
		},
		{
			name: "final-chunk-503-retried",
			plan: gcstest.Plan{13: gcstest.Fail503, 14: gcstest.Fail503},
		},
		{
			// Three failures of the same chunk exhaust MaxAttempts (3).
			name:    "attempts-exhausted",
			plan:    gcstest.Plan{3: gcstest.Fail503, 4: gcstest.DropMidBody, 5: gcstest.Fail503},
			wantErr: errAny,
			why:     "gave up after 3 attempts",
		},
		{
			// The emulator stored chunk 5 but its answer was lost; the client
			// resends it and the emulator appends it twice (real GCS would
			// not). The object is 256 KiB too long: only the sink's size
			// check notices.
			name:    "lost-answer-duplicates-chunk",
			plan:    gcstest.Plan{5: gcstest.DropAfterForward},
			wantErr: gcs.ErrMismatch,
			why:     "wrote 3145733 bytes, storage holds 3407877",
		},
		{
			// A flipped byte reaches the emulator, which ignores the
			// client's X-Goog-Hash; the sink's CRC32C check notices.
			name:    "corrupted-chunk",
			plan:    gcstest.Plan{6: gcstest.CorruptByte},
			wantErr: gcs.ErrMismatch,
			why:     "CRC32C",
		},
		{
			name:    "corrupted-final-chunk",
			plan:    gcstest.Plan{13: gcstest.CorruptByte},
			wantErr: gcs.ErrMismatch,
			why:     "CRC32C",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := gcstest.Start(t, bucket)
			p := srv.Proxy(t, c.plan)
			s := newSink(t, p.Client, testConfig())
			info, err := write(t, s, sinktest.SpecName, data)
			if got := len(p.Injected()); got != len(c.plan) {
				t.Fatalf("proxy injected %d faults (%v), plan has %d: the test did not exercise what it claims", got, p.Injected(), len(c.plan))
			}
			got, visible := srv.Read(t, bucket, sinktest.SpecName)
			if c.wantErr == nil {
				if err != nil {
					t.Fatalf("Commit: %v (faults %v)", err, p.Injected())
				}
				if !visible || !bytes.Equal(got, data) {
					t.Fatalf("stored %d bytes (visible %v), want the %d bytes written", len(got), visible, len(data))
				}
				if info.Size != int64(len(data)) || info.CRC32C != crc32.Checksum(data, pipeline.Castagnoli) {
					t.Fatalf("ObjectInfo %+v does not describe the data", info)
				}
				return
			}
			if err == nil {
				t.Fatalf("upload succeeded with faults %v; want a loud failure (stored %d of %d bytes)", p.Injected(), len(got), len(data))
			}
			t.Logf("failed loudly, as wanted: %v", err)
			if c.wantErr != errAny && !errors.Is(err, c.wantErr) {
				t.Errorf("error %v does not match %v", err, c.wantErr)
			}
			if !strings.Contains(err.Error(), c.why) || !strings.Contains(err.Error(), "gs://"+bucket+"/"+sinktest.SpecName) {
				t.Errorf("error %q should name the object and contain %q", err, c.why)
			}
			if strings.Contains(err.Error(), "upload_id=") && !strings.Contains(err.Error(), "upload_id=REDACTED") {
				t.Errorf("error leaks the upload session id: %v", err)
			}
			if visible {
				t.Fatalf("a failed upload left a %d-byte object behind", len(got))
			}
			if objs := srv.Objects(t, bucket); len(objs) != 0 {
				t.Fatalf("bucket holds %v after a failed upload", objs)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestAbortMidUpload(t *testing.T) {
	srv := gcstest.Start(t, bucket)
	p := srv.Proxy(t, nil)
	s := newSink(t, p.Client, testConfig())
	obj, err := s.Create(context.Background(), sinktest.SpecName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Write(sinktest.Random(2<<20, 1)); err != nil {
		t.Fatal(err)
	}
	if n := len(p.Events()); n < 4 {
		t.Fatalf("only %d chunk requests before Abort; the test needs an upload in progress", n)
	}
	if err := obj.Abort(); err != nil {
		t.Fatal(err)
	}
	if objs := srv.Objects(t, bucket); len(objs) != 0 {
		t.Fatalf("bucket holds %v after Abort", objs)
	}
}

func TestNoOverwrite(t *testing.T) {
	srv := gcstest.Start(t, bucket)
	s := newSink(t, srv.Client, testConfig())
	if _, err := write(t, s, "a/b.jsonl.gz", []byte("first")); err != nil {
		t.Fatal(err)
	}
	_, err := write(t, s, "a/b.jsonl.gz", []byte("second"))
	if !errors.Is(err, gcs.ErrExists) {
		t.Fatalf("second upload of the same name: %v; want ErrExists", err)
	}
	if pipeline.IsTransient(err) {
		t.Errorf("ErrExists is marked transient: retrying cannot help")
	}
	if got, _ := srv.Read(t, bucket, "a/b.jsonl.gz"); string(got) != "first" {
		t.Fatalf("object = %q, want the first upload", got)
	}
}

func TestObjectAttributes(t *testing.T) {
	srv := gcstest.Start(t, bucket)
	s := newSink(t, srv.Client, gcs.Config{Bucket: bucket})
	if _, err := write(t, s, sinktest.SpecName, []byte{0x1f, 0x8b, 8, 0}); err != nil {
		t.Fatal(err)
	}
	attrs, err := srv.Client.Bucket(bucket).Object(sinktest.SpecName).Attrs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if attrs.ContentType != "application/x-ndjson" || attrs.ContentEncoding != "" {
		t.Fatalf("ContentType %q ContentEncoding %q; want application/x-ndjson and none", attrs.ContentType, attrs.ContentEncoding)
	}
	rc, err := s.Open(context.Background(), sinktest.SpecName)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); !bytes.Equal(b, []byte{0x1f, 0x8b, 8, 0}) {
		t.Fatalf("Open read %x", b)
	}
	if _, err := s.Open(context.Background(), "missing"); !errors.Is(err, storage.ErrObjectNotExist) {
		t.Fatalf("Open(missing) = %v; want ErrObjectNotExist", err)
	}
}

// TestEmulatorHost checks that New honours STORAGE_EMULATOR_HOST on its own.
func TestEmulatorHost(t *testing.T) {
	srv := gcstest.Start(t, bucket)
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL, "http://"))
	s, err := gcs.New(context.Background(), gcs.Config{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := write(t, s, "env/x.gz", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(context.Background(), "env/x.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "hello" {
		t.Fatalf("read %q", b)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  gcs.Config
		ok   bool
	}{
		{"defaults", gcs.Config{Bucket: "oracle-etl-data"}, true},
		{"all-set", gcs.Config{Bucket: "b_1.example.com", ChunkSize: 8 << 20, MaxAttempts: 5, Backoff: time.Second, ContentType: "application/gzip"}, true},
		{"no-bucket", gcs.Config{}, false},
		{"tiny-chunk", gcs.Config{Bucket: "abc", ChunkSize: 1000}, false},
		{"negative-chunk", gcs.Config{Bucket: "abc", ChunkSize: -1}, false},
		// the client would round these up to 512 KiB: not the size asked for
		{"chunk-not-a-multiple", gcs.Config{Bucket: "abc", ChunkSize: gcs.MinChunkSize + 1}, false},
		{"chunk-just-below-two", gcs.Config{Bucket: "abc", ChunkSize: 2*gcs.MinChunkSize - 1}, false},
		{"chunk-256KiB", gcs.Config{Bucket: "abc", ChunkSize: gcs.MinChunkSize}, true},
		{"chunk-768KiB", gcs.Config{Bucket: "abc", ChunkSize: 3 * gcs.MinChunkSize}, true},
		{"negative-attempts", gcs.Config{Bucket: "abc", MaxAttempts: -1}, false},
		{"negative-backoff", gcs.Config{Bucket: "abc", Backoff: -time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// BenchmarkUpload64MB uploads a 64 MB object in 16 MiB chunks to the
// in-process emulator. The emulator recomputes MD5 and CRC32C over the whole
// object on every chunk, so this measures the emulator as much as the sink.
func BenchmarkUpload64MB(b *testing.B) {
	const size = 64 << 20
	srv := gcstest.Start(b, bucket)
	s := newSink(b, srv.Client, gcs.Config{Bucket: bucket, ChunkSize: 16 << 20})
	chunk := sinktest.Random(1<<20, 1)
	b.SetBytes(size)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		name := fmt.Sprintf("bench/%d/VBRP.jsonl.gz", i)
		obj, err := s.Create(context.Background(), name)
		if err != nil {
			b.Fatal(err)
		}
		for w := 0; w < size; w += len(chunk) {
			if _, err := obj.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := obj.Commit(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = srv.Client.Bucket(bucket).Object(name).Delete(context.Background()) // the emulator keeps objects in memory
		b.StartTimer()
	}
}
