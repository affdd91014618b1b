package compression

import (
	"fmt"
	"io"

	"github.com/ora2gcs/ora2gcs/pipeline"
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

// Codec is a validated Spec: the pipeline.Codec of ora2gcs. The zero Codec
// is not usable (IsZero); make one with New. A Codec is a small value,
// safe to copy and to use from many goroutines.
type Codec struct {
	gzipFraming
	name   string
	level  int
	verify bool
	// blocks is the encode workers' compressor (nil: pgzip after them)
	blocks blockFactory
	// segBlocks: range segments are written by the block compressor (the
	// line compressor's format, or the verified compressor); otherwise by
	// streaming flate at the level
	segBlocks bool
}

var _ pipeline.Codec = Codec{}

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
// with pgzip. "auto" resolves here, once. It is the only place these rules
// are checked.
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
		c.blocks = lineBlocks()
	case Blocks:
		c.blocks = flateBlocks(level)
	case Pgzip:
		if s.Verify {
			return Codec{}, &SpecError{Field: "verify", Msg: "verification checks the lines and blocks compressors, not pgzip"}
		}
	}
	if c.blocks != nil && s.Verify {
		c.blocks = verified(c.blocks)
	}
	// the ranges of a split table use the same compressor (and check) as
	// whole objects, except plain flate, which streams its segments
	c.segBlocks = name == Lines || s.Verify
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
func (c Codec) IsZero() bool { return c.name == "" }

// Name is the compressor: lines, blocks or pgzip ("auto" resolved).
func (c Codec) Name() string { return c.name }

// Level is the gzip level.
func (c Codec) Level() int { return c.level }

// Verify reports whether segments are inflated again and compared.
func (c Codec) Verify() bool { return c.verify }

// BlockMode reports whether the encode workers compress (lines, blocks)
// rather than the writer (pgzip).
func (c Codec) BlockMode() bool { return c.blocks != nil }

// NewBlockCompressor makes one encode worker's compressor (lines or flate
// at the codec's level, verified with Verify). It is an error for pgzip.
func (c Codec) NewBlockCompressor(pipeline.Config) (pipeline.BlockCompressor, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if c.blocks == nil {
		return nil, fmt.Errorf("compression: %s compresses after the encoders, not in blocks", c.name)
	}
	return c.blocks()
}

// NewWriter wraps w in a compressor writing one whole gzip member: pgzip
// (cfg's GzipBlockSize and GzipBlocks) for pgzip, else the codec's
// segments between GzipHeader and GzipTrailer.
func (c Codec) NewWriter(w io.Writer, cfg pipeline.Config) (io.WriteCloser, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if c.blocks == nil {
		return pgzipWriter(w, c.level, cfg)
	}
	return newMemberWriter(w, func(w io.Writer) (io.WriteCloser, error) { return c.NewSegmentWriter(w, cfg) })
}

// NewSegmentWriter writes one raw DEFLATE segment ending in a sync flush
// (pipeline.RangeRun, pipeline.SegmentWrite): the line compressor's
// segments for lines (and the verified compressor's with Verify), else
// streaming flate at the codec's level.
func (c Codec) NewSegmentWriter(w io.Writer, _ pipeline.Config) (io.WriteCloser, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if c.segBlocks {
		return blockSegment(w, c.blocks)
	}
	return flateSegment(w, c.level)
}

func (c Codec) usable() error {
	if c.IsZero() {
		return fmt.Errorf("compression: the zero Codec is not usable (use compression.New)")
	}
	return nil
}

// Default is the CLI's default codec: the line compressor at gzip level 1
// ("auto" at level 1).
func Default() Codec { return Must(New(Spec{Name: Auto, Level: 1})) }
