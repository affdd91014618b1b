package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/ora2gcs/ora2gcs/server"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	o := addCommonFlags(fs)
	listen := fs.String("listen", "", "listen address (default :8080, or server.listen / server.port of the config)")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "serve", "unexpected argument %q", fs.Arg(0))
	}
	e, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	log := server.NewLogger(stderr, slog.LevelInfo)
	keys, err := server.EnsureAPIKey(e.cfg.DataDir, e.cfg.Auth.Keys(), log)
	if err != nil {
		return err
	}
	// The job context is the server's base context, not a request's, and not
	// the signal context: SIGTERM lets the running job finish within the grace.
	m, err := e.manager(context.WithoutCancel(ctx), log)
	if err != nil {
		return err
	}
	defer m.Close()
	srv, err := server.New(m, server.Options{
		APIKeys:       keys,
		DisableBearer: !e.cfg.Auth.EnableBearer,
		Logger:        log,
		Version:       version,
		ReadTimeout:   e.cfg.Server.ReadTimeout,
		WriteTimeout:  e.cfg.Server.WriteTimeout,
		DataDir:       e.cfg.DataDir,
		Metrics: func(w io.Writer) {
			m.Metrics().WritePrometheus(w)
			metrics.WriteProcessMetrics(w)
		},
	})
	if err != nil {
		return err
	}
	addr := e.cfg.ListenAddr()
	if *listen != "" {
		addr = *listen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	log.Info("ora2gcs serving", "addr", ln.Addr().String(), "source", e.conn.Kind(), "target", e.cfg.Redacted().Target, "data_dir", e.cfg.DataDir, "version", version)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	grace := e.cfg.Server.ShutdownGrace
	log.Info("shutting down: no new jobs; waiting for the running job", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	jerr := m.Shutdown(sctx) // after the grace the job is cancelled and marked failed: interrupted
	hctx, hcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer hcancel()
	herr := srv.Shutdown(hctx)
	if jerr != nil && !errors.Is(jerr, context.DeadlineExceeded) {
		log.Error("job shutdown", "error", jerr.Error())
	}
	log.Info("stopped")
	_ = os.Stderr
	return herr
}
