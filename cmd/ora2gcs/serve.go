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
	"os/signal"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/ora2gcs/ora2gcs/server"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	o := addCommonFlags(fs)
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "serve", "unexpected argument %q", fs.Arg(0))
	}
	o.lazySource = true // serve starts, and keeps serving, while the source is down
	e, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	log := server.NewLogger(stderr, slog.LevelInfo)
	if e.sourceErr != nil {
		log.Warn("source unavailable at start: serving without it; it is connected on the next request once it answers",
			"source", e.conn.Kind(), "error", e.sourceErr.Error())
	}
	keys, err := server.EnsureAPIKey(e.cfg.DataDir, e.cfg.Auth.Keys(), log)
	if err != nil {
		return err
	}
	// The job context is the server's base context, not a request's, and not
	// the signal context: SIGTERM lets the running job finish within the grace.
	e.server = true
	m, err := e.manager(context.WithoutCancel(ctx), log)
	if err != nil {
		return err
	}
	defer m.Close()
	// schedules, queued runs, windows closing and the daily retention sweep
	m.StartScheduler()
	srv, err := server.New(m, server.Options{
		APIKeys:       keys,
		DisableBearer: !e.cfg.Auth.EnableBearer,
		Logger:        log,
		Version:       version,
		ReadTimeout:   e.cfg.Server.ReadTimeout,
		WriteTimeout:  e.cfg.Server.WriteTimeout,
		SourceTimeout: e.cfg.Server.SourceTimeout,
		PublicBaseURL: e.cfg.Server.PublicBaseURL,
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
	// Spec NFR-02.4: finish the work in progress, then clean up and exit.
	// New jobs (and other changes) get 503 shutting_down meanwhile; reads,
	// streams and health keep answering (ready says 503). The wait is
	// unbounded unless server.shutdown_grace sets a maximum (the platform's
	// grace period); a second SIGTERM/SIGINT interrupts the job at once.
	srv.Drain()
	sigs, stopSigs := notifySignals()
	defer stopSigs()
	grace := e.cfg.Server.ShutdownGrace
	sctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if grace > 0 {
		sctx, cancel = context.WithTimeout(sctx, grace)
		defer cancel()
	}
	if job, ok := m.Running(); ok {
		log.Info("shutting down: no new jobs; finishing the running job (a second signal interrupts it)",
			"transport_id", job.TransportID, "job_id", job.ID, "max_wait", maxWait(grace))
	} else {
		log.Info("shutting down: no job running")
	}
	go func() {
		select {
		case <-sigs:
			log.Warn("second signal: interrupting the running job")
			cancel()
		case <-sctx.Done():
		}
	}()
	jerr := m.Shutdown(sctx) // once sctx ends the job is cancelled and marked failed: interrupted
	hctx, hcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer hcancel()
	herr := srv.Shutdown(hctx)
	if jerr != nil && !errors.Is(jerr, context.DeadlineExceeded) {
		log.Error("job shutdown", "error", jerr.Error())
	}
	log.Info("stopped")
	return herr
}

// notifySignals delivers the SIGINT/SIGTERM that arrive from now on (the
// first one ended ctx); tests replace it.
var notifySignals = func() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

func maxWait(grace time.Duration) string {
	if grace <= 0 {
		return "until the job ends"
	}
	return grace.String()
}
