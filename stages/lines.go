package stages

import (
	"github.com/ora2gcs/ora2gcs/compression/lines"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// LineDeflate returns a BlockCompressorFactory for Pipeline.Blocks with the
// line compressor of package compression/lines (see its doc for the
// format). It is what gzip level 1 means with the CLI's default compressor
// "auto"; the level in cfg is not used.
func LineDeflate() pipeline.BlockCompressorFactory {
	return func(pipeline.Config) (pipeline.BlockCompressor, error) {
		return lines.New(), nil
	}
}

// LineSegments returns a CompressorFactory writing a raw DEFLATE segment
// for pipeline.RangeRun with the line compressor: BlockSegments of
// LineDeflate.
func LineSegments() pipeline.CompressorFactory {
	return BlockSegments(LineDeflate())
}
