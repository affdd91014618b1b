package file_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ora2gcs/ora2gcs/sinks/file"
)

// BenchmarkCommitSmall commits 4 KiB objects, one new name each, into a
// few folders (like range segments).
func BenchmarkCommitSmall(b *testing.B) {
	s, err := file.New(b.TempDir(), "bkt")
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 4096)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		obj, err := s.Create(context.Background(), fmt.Sprintf("TRP/v%03d/_ranges/T/%05d.deflate", i/1000+1, i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := obj.Write(data); err != nil {
			b.Fatal(err)
		}
		if _, err := obj.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
