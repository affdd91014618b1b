//go:build tools

// Package tools pins the modules the project depends on before every package
// that uses them exists, so `go mod tidy` keeps them.
package tools

import (
	_ "cloud.google.com/go/storage"
	_ "github.com/VictoriaMetrics/metrics"
	_ "github.com/chromedp/chromedp"
	_ "github.com/fsouza/fake-gcs-server/fakestorage"
	_ "github.com/godror/godror"
	_ "github.com/gofiber/fiber/v2"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/klauspost/compress/gzip"
	_ "github.com/klauspost/pgzip"
	_ "go.uber.org/goleak"
	_ "golang.org/x/sync/errgroup"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
