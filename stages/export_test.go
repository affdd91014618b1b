package stages

import "github.com/ora2gcs/ora2gcs/pipeline"

// VBRPNDJSON gives the external tests the VBRP rows of vbrp_test.go.
var VBRPNDJSON = vbrpNDJSON

// LineDeflateOnly is LineDeflate without the flate probes: the line
// compressor's own segments for every piece.
func LineDeflateOnly() pipeline.BlockCompressorFactory {
	return func(cfg pipeline.Config) (pipeline.BlockCompressor, error) {
		bc, err := LineDeflate()(cfg)
		if err == nil {
			bc.(*lineCompressor).noProbe = true
		}
		return bc, err
	}
}
