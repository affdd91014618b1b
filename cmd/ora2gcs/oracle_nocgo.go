//go:build !cgo

package main

import (
	"context"
	"errors"

	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// oracleSupport says whether this build can read Oracle.
const oracleSupport = false

// errNoOracle is what a build without cgo answers when asked for Oracle.
var errNoOracle = errors.New("this build has no Oracle support: build with cgo (CGO_ENABLED=1 and a C compiler; Oracle Instant Client at run time) or use the container image")

func openOracle(context.Context, config.Config) (pipeline.Connector, error) { return nil, errNoOracle }
