package gcstest

import (
	"context"
	"errors"
	"io"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"
)

// Server is a running emulator.
type Server struct {
	// URL is the emulator's base URL, "http://127.0.0.1:PORT".
	URL string
	// Client is a storage client for URL (JSON reads, no authentication).
	// It is closed by t.Cleanup.
	Client *storage.Client
	// Fake is the emulator itself, for direct inspection.
	Fake *fakestorage.Server
}

// Start runs an emulator on 127.0.0.1 with a free port and creates the
// given buckets. It is stopped when the test ends.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	fake, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme:     "http",
		Host:       "127.0.0.1",
		Port:       0, // httptest picks a free port on 127.0.0.1
		PublicHost: "127.0.0.1",
	})
	if err != nil {
		t.Fatalf("gcstest: start emulator: %v", err)
	}
	t.Cleanup(fake.Stop)
	for _, b := range buckets {
		fake.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	return &Server{URL: fake.URL(), Client: NewClient(t, fake.URL()), Fake: fake}
}

// NewClient returns a storage client for an emulator (or proxy) at baseURL
// ("http://host:port"), closed by t.Cleanup. It is what the production code
// gets from STORAGE_EMULATOR_HOST, plus storage.WithJSONReads().
func NewClient(t testing.TB, baseURL string, opts ...option.ClientOption) *storage.Client {
	t.Helper()
	opts = append([]option.ClientOption{
		option.WithEndpoint(baseURL + "/storage/v1/"),
		option.WithoutAuthentication(),
		storage.WithJSONReads(),
	}, opts...)
	c, err := storage.NewClient(context.Background(), opts...)
	if err != nil {
		t.Fatalf("gcstest: client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Read returns the bytes of bucket/name and true, or false if no such object
// exists. Other errors fail the test.
func (s *Server) Read(t testing.TB, bucket, name string) ([]byte, bool) {
	t.Helper()
	r, err := s.Client.Bucket(bucket).Object(name).NewReader(context.Background())
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("gcstest: read %s/%s: %v", bucket, name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("gcstest: read %s/%s: %v", bucket, name, err)
	}
	return b, true
}

// Objects lists the names of every object in bucket, including those a
// failed upload might have left.
func (s *Server) Objects(t testing.TB, bucket string) []string {
	t.Helper()
	objs, _, err := s.Fake.ListObjectsWithOptions(bucket, fakestorage.ListOptions{})
	if err != nil {
		t.Fatalf("gcstest: list %s: %v", bucket, err)
	}
	names := make([]string, 0, len(objs))
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return names
}
