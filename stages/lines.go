package stages

import (
	"fmt"

	"github.com/ora2gcs/ora2gcs/compression/lines"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// LineDeflate returns a BlockCompressorFactory for Pipeline.Blocks with the
// line compressor of package compression/lines (see its doc for the
// format). It is a gzip level 1 compressor: a cfg whose GzipLevel (after
// defaults) is not 1 is an error, never a silent change of level (package
// compression rejects the combination at configuration time already).
func LineDeflate() pipeline.BlockCompressorFactory {
	return func(cfg pipeline.Config) (pipeline.BlockCompressor, error) {
		if l := cfg.WithDefaults().GzipLevel; l != 1 {
			return nil, fmt.Errorf("stages: the line compressor is the gzip level 1 compressor, not level %d", l)
		}
		return lines.New(), nil
	}
}

// LineSegments returns a CompressorFactory writing a raw DEFLATE segment
// for pipeline.RangeRun with the line compressor: BlockSegments of
// LineDeflate.
func LineSegments() pipeline.CompressorFactory {
	return BlockSegments(LineDeflate())
}
