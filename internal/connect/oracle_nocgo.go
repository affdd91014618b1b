//go:build !cgo

package connect

import (
	"context"
	"errors"

	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// OracleSupport says whether this build can read Oracle.
const OracleSupport = false

// ErrNoOracle is what a build without cgo answers when asked for Oracle.
var ErrNoOracle = errors.New("this build has no Oracle support: build with cgo (CGO_ENABLED=1 and a C compiler; Oracle Instant Client at run time) or use the container image")

func openOracle(context.Context, config.Config) (pipeline.Connector, error) { return nil, ErrNoOracle }
