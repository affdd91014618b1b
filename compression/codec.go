package compression

import (
	"fmt"
	"io"

	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/stages"
)

// Compressor names.
const (
	Auto   = "auto"
	Lines  = "lines"
	Blocks = "blocks"
	Pgzip  = "pgzip"
)

// Spec is the compression the configuration asks for.
type Spec struct {
	// Name is auto (or empty), lines, blocks or pgzip.
	Name string
	// Level is the gzip level: 1 (fastest) to 9, or -2 (Huffman only).
	// There is no default here: zero is an error, as is any level the
	// compressor does not support.
	Level int
	// Verify inflates every compressed segment again and compares it with
	// its input (lines and blocks only).
	Verify bool
}

// Codec is a validated Spec with the compressors it stands for. The zero
// Codec is not usable (IsZero); make one with New.
type Codec struct {
	name   string
	level  int
	verify bool
	blocks pipeline.BlockCompressorFactory
	stream pipeline.CompressorFactory
	segs   pipeline.CompressorFactory
}

// SpecError is why New refused a Spec: Field is the Spec field at fault
// (name, level or verify), so a configuration can name its own key.
type SpecError struct {
	Field string
	Msg   string
}

func (e *SpecError) Error() string { return "compression: " + e.Field + ": " + e.Msg }

// CheckLevel is the rule for a gzip level alone: 1..9 or -2.
func CheckLevel(level int) error {
	if level != -2 && (level < 1 || level > 9) {
		return &SpecError{Field: "level", Msg: fmt.Sprintf("%d is out of range 1..9 (or -2 for Huffman only)", level)}
	}
	return nil
}

// CheckName is the rule for a compressor name alone.
func CheckName(name string) error {
	switch name {
	case "", Auto, Lines, Blocks, Pgzip:
		return nil
	}
	return &SpecError{Field: "name", Msg: fmt.Sprintf("%q is not auto, lines, blocks or pgzip", name)}
}

// Check validates s as New does.
func Check(s Spec) error {
	_, err := New(s)
	return err
}

// New validates s and returns its Codec: the name is known, the level is
// one flate accepts, lines is asked for at level 1 only and Verify not
// with pgzip. "auto" resolves here, once.
func New(s Spec) (Codec, error) {
	level := s.Level
	if err := CheckLevel(level); err != nil {
		return Codec{}, err
	}
	if err := CheckName(s.Name); err != nil {
		return Codec{}, err
	}
	name := s.Name
	if name == "" || name == Auto {
		name = Blocks
		if level == 1 {
			name = Lines
		}
	}
	c := Codec{name: name, level: level, verify: s.Verify}
	switch name {
	case Lines:
		if level != 1 {
			return Codec{}, &SpecError{Field: "name", Msg: fmt.Sprintf("lines is the gzip level 1 compressor; for gzip level %d use blocks or pgzip", level)}
		}
		c.blocks = stages.LineDeflate()
	case Blocks:
		c.blocks = stages.GzipBlocks()
	case Pgzip:
		if s.Verify {
			return Codec{}, &SpecError{Field: "verify", Msg: "verification checks the lines and blocks compressors, not pgzip"}
		}
		c.stream = stages.Gzip()
		c.segs = stages.Deflate() // flate at the same level
	}
	if c.blocks != nil {
		if s.Verify {
			c.blocks = stages.Verified(c.blocks)
		}
		c.blocks = atLevelBlocks(c.blocks, level)
		if name == Lines || s.Verify {
			// the same compressor (and check) for the ranges of a split table
			c.segs = stages.BlockSegments(c.blocks)
		} else {
			c.segs = stages.Deflate() // flate at the same level, streaming
		}
	}
	c.segs = atLevelStream(c.segs, level)
	if c.stream != nil {
		c.stream = atLevelStream(c.stream, level)
	}
	return c, nil
}

// Must returns c or panics with err (for tests and fixed Specs).
func Must(c Codec, err error) Codec {
	if err != nil {
		panic(err)
	}
	return c
}

// IsZero reports whether c was not made by New.
func (c Codec) IsZero() bool { return c.segs == nil }

// Name is the compressor: lines, blocks or pgzip ("auto" resolved).
func (c Codec) Name() string { return c.name }

// Level is the gzip level.
func (c Codec) Level() int { return c.level }

// Verify reports whether segments are inflated again and compared.
func (c Codec) Verify() bool { return c.verify }

// Blocks is the encode workers' compressor for pipeline.Pipeline.Blocks,
// or nil when the codec compresses after the encoders (Stream).
func (c Codec) Blocks() pipeline.BlockCompressorFactory { return c.blocks }

// Stream is the compressor after the encoders for
// pipeline.Pipeline.Compressor, or nil when the encode workers compress
// (Blocks).
func (c Codec) Stream() pipeline.CompressorFactory { return c.stream }

// Segments writes the raw DEFLATE segments of pipeline.RangeRun and
// pipeline.SegmentWrite: the line compressor's segments for lines (and the
// verified compressor's with Verify), else streaming flate at the codec's
// level.
func (c Codec) Segments() pipeline.CompressorFactory { return c.segs }

// Apply sets p's Blocks and Compressor to the codec's.
func (c Codec) Apply(p *pipeline.Pipeline) {
	p.Blocks, p.Compressor = c.blocks, c.stream
}

// SameLevel returns an error if cfg names a gzip level other than the
// codec's (zero in cfg means the codec's).
func (c Codec) SameLevel(cfg pipeline.Config) error {
	if cfg.GzipLevel != 0 && cfg.GzipLevel != c.level {
		return fmt.Errorf("compression: the pipeline's gzip level %d is not the compressor's %d", cfg.GzipLevel, c.level)
	}
	return nil
}

func atLevelBlocks(f pipeline.BlockCompressorFactory, level int) pipeline.BlockCompressorFactory {
	return func(cfg pipeline.Config) (pipeline.BlockCompressor, error) {
		cfg.GzipLevel = level
		return f(cfg)
	}
}

func atLevelStream(f pipeline.CompressorFactory, level int) pipeline.CompressorFactory {
	return func(w io.Writer, cfg pipeline.Config) (io.WriteCloser, error) {
		cfg.GzipLevel = level
		return f(w, cfg)
	}
}
