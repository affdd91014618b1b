//go:build !cgo

package main

import (
	"context"
	"errors"
)

// openOracleDB: without cgo there is no Oracle client in this program; the
// suite still runs through ora2gcs, without the database's CPU and COUNT(*).
func openOracleDB(context.Context, string) (database, error) {
	return nil, errors.New("benchmarks built without cgo: no Oracle client in this program")
}
