package gcs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ora2gcs/ora2gcs/internal/gcstest"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
	"github.com/ora2gcs/ora2gcs/sinks/sinktest"
)

// forgeCRC0 returns the 4 bytes x for which CRC32C(prefix || x) is 0. For a
// fixed length the CRC is affine over GF(2) in the message bits, so
// x ↦ CRC32C(prefix||x) ⊕ CRC32C(prefix||0000) is linear; the 32×32 system
// is solved by Gaussian elimination (it is invertible: four more bytes of
// CRC input permute the register).
func forgeCRC0(t *testing.T, prefix []byte) []byte {
	t.Helper()
	crcWith := func(x uint32) uint32 {
		b := append(append([]byte(nil), prefix...), byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
		return pipeline.CRC32C(b)
	}
	base := crcWith(0)
	type row struct{ v, mask uint32 }
	var basis [32]*row // by highest set bit of v
	for i := range 32 {
		v, m := crcWith(1<<i)^base, uint32(1)<<i
		for bit := 31; bit >= 0 && v != 0; bit-- {
			if v>>bit&1 == 0 {
				continue
			}
			if basis[bit] == nil {
				basis[bit] = &row{v, m}
				break
			}
			v, m = v^basis[bit].v, m^basis[bit].mask
		}
	}
	v, x := base, uint32(0)
	for bit := 31; bit >= 0; bit-- {
		if v>>bit&1 == 0 {
			continue
		}
		if basis[bit] == nil {
			t.Fatal("forgeCRC0: singular system")
		}
		v, x = v^basis[bit].v, x^basis[bit].mask
	}
	out := []byte{byte(x), byte(x >> 8), byte(x >> 16), byte(x >> 24)}
	if c := pipeline.CRC32C(append(append([]byte(nil), prefix...), out...)); c != 0 {
		t.Fatalf("forgeCRC0: CRC32C is %08x, not 0", c)
	}
	return out
}

// TestCRC32CZeroIsAValue stores objects whose real CRC32C is 0, by upload
// and by compose, also when the answers carry no checksum at all: the sink
// reports CRC32C 0 as a checksum (CRC32CReported), never as "none".
func TestCRC32CZeroIsAValue(t *testing.T) {
	prefix := sinktest.Random(5000, 11)
	tail := forgeCRC0(t, prefix)
	data := append(append([]byte(nil), prefix...), tail...)
	const dst = "T/v001/Z.jsonl.gz"
	strip := []gcstest.Rule{
		{Kind: gcstest.Compose, Fault: gcstest.StripCRC32C},
		{Kind: gcstest.Upload, Fault: gcstest.StripCRC32C},
		{Kind: gcstest.Metadata, Fault: gcstest.StripCRC32C},
	}
	for _, c := range []struct {
		name  string
		rules []gcstest.Rule
	}{{"answers-with-crc32c", nil}, {"answers-without-crc32c", strip}} {
		t.Run(c.name, func(t *testing.T) {
			t.Run("commit", func(t *testing.T) {
				srv := gcstest.Start(t, bucket)
				p := srv.Proxy(t, nil, c.rules...)
				info, err := write(t, newSink(t, p.Client, testConfig()), dst, data)
				if err != nil {
					t.Fatal(err)
				}
				checkCommitted(t, srv, dst, data, info)
			})
			t.Run("compose", func(t *testing.T) {
				srv := gcstest.Start(t, bucket)
				srcs := writeSources(t, newSink(t, srv.Client, testConfig()), [][]byte{prefix, tail})
				p := srv.Proxy(t, nil, c.rules...)
				info, err := newSink(t, p.Client, testConfig()).Compose(context.Background(), dst, srcs)
				if err != nil {
					t.Fatal(err)
				}
				checkCommitted(t, srv, dst, data, info)
				if c.rules != nil && len(p.Injected()) == 0 {
					t.Fatal("no answer was stripped")
				}
			})
		})
	}
}

// TestAnswerWithoutCRC32C strips the crc32c from the answer that creates
// the object. Reading the attributes back recovers it; if storage never
// reports one, the object cannot be verified: the call fails with
// ErrNoChecksum and nothing stays at the name.
func TestAnswerWithoutCRC32C(t *testing.T) {
	const dst = "T/v001/X.jsonl.gz"
	pieces := [][]byte{sinktest.Random(3000, 1), sinktest.Random(5000, 2)}
	data := append(append([]byte(nil), pieces[0]...), pieces[1]...)
	large := sinktest.Random(1<<20+7, 3)
	type op func(t *testing.T, srv *gcstest.Server, s *gcs.Sink) ([]byte, pipeline.ObjectInfo, error)
	compose := func(t *testing.T, srv *gcstest.Server, s *gcs.Sink) ([]byte, pipeline.ObjectInfo, error) {
		srcs := writeSources(t, newSink(t, srv.Client, testConfig()), pieces)
		info, err := s.Compose(context.Background(), dst, srcs)
		return data, info, err
	}
	upload := func(b []byte) op {
		return func(t *testing.T, _ *gcstest.Server, s *gcs.Sink) ([]byte, pipeline.ObjectInfo, error) {
			info, err := write(t, s, dst, b)
			return b, info, err
		}
	}
	cases := []struct {
		name string
		kind gcstest.Kind
		op   op
	}{
		{"compose", gcstest.Compose, compose},
		{"single-request-upload", gcstest.Upload, upload(data)},
		{"final-chunk", gcstest.FinalChunk, upload(large)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Run("read-back-recovers", func(t *testing.T) {
				srv := gcstest.Start(t, bucket)
				p := srv.Proxy(t, nil, gcstest.Rule{Kind: c.kind, N: 1, Fault: gcstest.StripCRC32C})
				want, info, err := c.op(t, srv, newSink(t, p.Client, testConfig()))
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Injected()) != 1 {
					t.Fatalf("injected %v, want one stripped answer", p.Injected())
				}
				checkCommitted(t, srv, dst, want, info)
				read := false
				for _, r := range p.Requests() {
					read = read || r.Kind == gcstest.Metadata && r.Name == dst
				}
				if !read {
					t.Fatalf("the missing CRC32C was accepted without reading the attributes back: %+v", p.Requests())
				}
			})
			t.Run("never-reported-fails", func(t *testing.T) {
				srv := gcstest.Start(t, bucket)
				p := srv.Proxy(t, nil,
					gcstest.Rule{Kind: c.kind, Fault: gcstest.StripCRC32C},
					gcstest.Rule{Kind: gcstest.Metadata, Name: dst, Fault: gcstest.StripCRC32C})
				_, info, err := c.op(t, srv, newSink(t, p.Client, testConfig()))
				if !errors.Is(err, gcs.ErrNoChecksum) {
					t.Fatalf("err = %v (info %+v); want ErrNoChecksum", err, info)
				}
				if _, ok := srv.Read(t, bucket, dst); ok {
					t.Fatal("an unverifiable object stays at the final name")
				}
			})
		})
	}
}

// TestEmptyObjectNeedsNoReadBack: the CRC32C of no bytes is 0 by
// definition, so committing an empty object asks storage nothing more.
func TestEmptyObjectNeedsNoReadBack(t *testing.T) {
	srv := gcstest.Start(t, bucket)
	p := srv.Proxy(t, nil)
	info, err := write(t, newSink(t, p.Client, testConfig()), sinktest.SpecName, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkCommitted(t, srv, sinktest.SpecName, nil, info)
	for _, r := range p.Requests() {
		if r.Kind != gcstest.Upload {
			t.Fatalf("request beyond the upload: %+v", r)
		}
	}
}
