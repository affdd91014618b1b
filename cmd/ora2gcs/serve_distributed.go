package main

import (
	"fmt"
	"sort"

	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/distributed"
)

// planSettings are the engine settings of this env as a plan carries them,
// so the shards write what this process's single-machine run would.
func (e *env) planSettings() distributed.Settings {
	pcfg := e.pcfg.WithDefaults()
	return distributed.Settings{Compressor: e.codec.Name(), GzipLevel: e.codec.Level(), VerifyCompression: e.codec.Verify(),
		DecimalsAsStrings: e.ndjson.DecimalAsString, OmitNulls: e.ndjson.OmitNulls, FetchArraySize: pcfg.FetchArraySize,
		PieceBytes: pcfg.PieceBytes, EncodeWorkers: e.pcfg.EncodeWorkers}
}

// distributor runs the server's distributed jobs with the executors of
// the config's distributed section.
func (e *env) distributor() (*distributed.Runner, error) {
	d := e.cfg.Distributed
	pcfg := e.pcfg.WithDefaults()
	r := &distributed.Runner{Connector: e.conn, Settings: e.planSettings(), ChunkRows: pcfg.ChunkRows,
		Attempts:      distributed.AttemptPolicy{Attempts: pcfg.Retry.Attempts, BackoffSeconds: pcfg.Retry.Backoff.Seconds()},
		Executors:     map[string]distributed.Executor{},
		Default:       d.DefaultExecutor,
		DefaultShards: d.DefaultShards, MaxShards: d.MaxShards, Poll: d.Poll, Timeout: d.Timeout}
	if r.Default == "" {
		r.Default = "local"
	}
	switch d.Local.Mode {
	case "", "goroutines":
		r.Executors["local"] = distributed.InProcess{Connector: e.conn, Parallel: d.Local.Parallel}
	case "processes":
		// `ora2gcs shard` processes read the server's config file; the
		// source, target and bucket (which may come from serve's flags)
		// go in their environment, never on their command line
		p := distributed.Processes{Parallel: d.Local.Parallel, Retries: d.Local.Retries,
			Env: []string{config.EnvSource + "=" + e.cfg.Source, config.EnvTarget + "=" + e.cfg.Target, config.EnvBucket + "=" + e.bucket}}
		if e.configPath != "" {
			p.Args = []string{"--config", e.configPath}
		}
		r.Executors["local"] = p
	default:
		return nil, fmt.Errorf("config: distributed.local.mode: %q is not goroutines or processes", d.Local.Mode)
	}
	if c := d.CloudRun; c != nil {
		r.Executors["cloudrun"] = distributed.CloudRun{Job: c.Job, Container: c.Container, Env: c.Env, Timeout: c.Timeout}
	}
	if b := d.Beam; b != nil {
		r.Executors["beam"] = distributed.Command{Command: b.Command, Env: envList(b.Env)}
	}
	if _, ok := r.Executors[r.Default]; !ok {
		return nil, fmt.Errorf("config: distributed.default_executor: %q is not configured", r.Default)
	}
	return r, nil
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
