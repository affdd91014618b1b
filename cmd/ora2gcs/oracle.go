package main

import (
	"context"
	"errors"

	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// openOracle is replaced when the Oracle source lands.
func openOracle(ctx context.Context, cfg config.Config) (pipeline.Connector, error) {
	return nil, errors.New("oracle source: not built into this binary yet")
}
