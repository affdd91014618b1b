package config_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/distributed"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sinks/gcs"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
)

// TestKnobRulesAgreeWithLibraries: every knob whose setting a library
// owns gives the verdict of that library's Validate at the boundaries of
// its rule (min-1, min, max, max+1, and more where the rule is not a
// range), because the knob checks with the library's own rule. The one
// documented difference is 0 where the library takes 0 as "my default":
// a knob has an explicit default (Default), so there 0 is out of range.
// (oracle.* agrees with sources/oracle in its TestConfigRulesAgreeWithKnobs:
// that package needs cgo.)
func TestKnobRulesAgreeWithLibraries(t *testing.T) {
	type row struct {
		key string
		set func(c *config.Config, v int64)
		// lib validates a library configuration holding v; libKey is how
		// its error names the field
		lib         func(v int64) error
		libKey      string
		vals        []int64
		zeroDefault bool // the library takes 0 as its default
	}
	edges := func(lo, hi int64) []int64 { return []int64{lo - 1, lo, hi, hi + 1} }
	pipe := func(mk func(v int64) pipeline.Config) func(int64) error {
		return func(v int64) error { return mk(v).Validate() }
	}
	mgr := func(mk func(v int64) jobs.ManagerConfig) func(int64) error {
		return func(v int64) error { return mk(v).Validate() }
	}
	const mib = 1 << 20
	rows := []row{
		{key: "etl.chunk_size", set: func(c *config.Config, v int64) { c.ETL.ChunkSize = int(v) },
			lib:    pipe(func(v int64) pipeline.Config { return pipeline.Config{ChunkRows: int(v)} }),
			libKey: "chunk_size:", vals: edges(1, pipeline.MaxChunkRows), zeroDefault: true},
		{key: "etl.encode_workers", set: func(c *config.Config, v int64) { c.ETL.EncodeWorkers = int(v) },
			lib:    pipe(func(v int64) pipeline.Config { return pipeline.Config{EncodeWorkers: int(v)} }),
			libKey: "encode_workers:", vals: edges(0, pipeline.MaxEncodeWorkers)},
		{key: "etl.part_bytes", set: func(c *config.Config, v int64) { c.ETL.PartBytes = v },
			lib:    pipe(func(v int64) pipeline.Config { return pipeline.Config{PartBytes: v} }),
			libKey: "part_bytes:", vals: append(edges(pipeline.MinPartBytes, pipeline.MaxPartBytes), -1, 0, 1)},
		{key: "etl.retry_attempts", set: func(c *config.Config, v int64) { c.ETL.RetryAttempts = int(v) },
			lib:    pipe(func(v int64) pipeline.Config { return pipeline.Config{Retry: pipeline.Retry{Attempts: int(v)}} }),
			libKey: "retry_attempts:", vals: edges(1, pipeline.MaxRetryAttempts), zeroDefault: true},
		{key: "etl.retry_backoff", set: func(c *config.Config, v int64) { c.ETL.RetryBackoff = time.Duration(v) },
			lib: pipe(func(v int64) pipeline.Config {
				return pipeline.Config{Retry: pipeline.Retry{Backoff: time.Duration(v)}}
			}),
			libKey: "retry_backoff:", vals: edges(1, int64(pipeline.MaxRetryBackoff)), zeroDefault: true},
		{key: "oracle.fetch_array_size", set: func(c *config.Config, v int64) { c.Oracle.FetchArraySize = int(v) },
			lib:    pipe(func(v int64) pipeline.Config { return pipeline.Config{FetchArraySize: int(v)} }),
			libKey: "fetch_array_size:", vals: edges(1, pipeline.MaxFetchArraySize), zeroDefault: true},
		{key: "etl.parallel_tables", set: func(c *config.Config, v int64) { c.ETL.ParallelTables = int(v) },
			lib:    mgr(func(v int64) jobs.ManagerConfig { return jobs.ManagerConfig{ParallelTables: int(v)} }),
			libKey: "parallel_tables:", vals: edges(1, jobs.MaxParallelTables), zeroDefault: true},
		{key: "etl.table_parallelism", set: func(c *config.Config, v int64) { c.ETL.TableParallelism = int(v) },
			lib:    mgr(func(v int64) jobs.ManagerConfig { return jobs.ManagerConfig{TableParallelism: int(v)} }),
			libKey: "table_parallelism:", vals: edges(1, jobs.MaxTableParallelism), zeroDefault: true},
		{key: "schedule.retention_days", set: func(c *config.Config, v int64) { c.Schedule.RetentionDays = int(v) },
			lib:    mgr(func(v int64) jobs.ManagerConfig { return jobs.ManagerConfig{RetentionDays: int(v)} }),
			libKey: "retention_days:", vals: edges(1, jobs.MaxRetentionDays), zeroDefault: true},
		{key: "gcs.chunk_size", set: func(c *config.Config, v int64) { c.GCS.ChunkSize = int(v) },
			lib:    func(v int64) error { return gcs.Config{Bucket: "b-1", ChunkSize: int(v)}.Validate() },
			libKey: "chunk size", vals: []int64{-1, 0, 1, 1000, gcs.MinChunkSize - 1, gcs.MinChunkSize, gcs.MinChunkSize + 1, 2*gcs.MinChunkSize - 1, 2 * gcs.MinChunkSize, 64 * mib, 64*mib + 1}},
		// the pool: max against min 1, min against max 20 and 3
		{key: "postgres.pool_max", set: func(c *config.Config, v int64) { c.Postgres.PoolMin, c.Postgres.PoolMax = 1, int(v) },
			lib:    func(v int64) error { return postgres.Options{MinIdle: 1, MaxOpen: int(v)}.Validate() },
			libKey: "max open connections:", vals: edges(1, 1000), zeroDefault: true},
		{key: "postgres.pool_min", set: func(c *config.Config, v int64) { c.Postgres.PoolMin, c.Postgres.PoolMax = int(v), 20 },
			lib:    func(v int64) error { return postgres.Options{MinIdle: int(v), MaxOpen: 20}.Validate() },
			libKey: "min idle connections:", vals: edges(1, 20), zeroDefault: true},
		{key: "postgres.pool_min", set: func(c *config.Config, v int64) { c.Postgres.PoolMin, c.Postgres.PoolMax = int(v), 3 },
			lib:    func(v int64) error { return postgres.Options{MinIdle: int(v), MaxOpen: 3}.Validate() },
			libKey: "min idle connections:", vals: edges(1, 3), zeroDefault: true},
	}
	for _, r := range rows {
		if _, ok := config.KnobByKey(r.key); !ok {
			t.Fatalf("%s is not a knob", r.key)
		}
		for _, v := range r.vals {
			t.Run(fmt.Sprintf("%s=%d", r.key, v), func(t *testing.T) {
				c := config.Default()
				r.set(&c, v)
				cerr := c.Validate()
				knobBad := cerr != nil && strings.Contains(cerr.Error(), "config: "+r.key+": ")
				lerr := r.lib(v)
				libBad := lerr != nil && strings.Contains(lerr.Error(), r.libKey)
				if cerr != nil && !knobBad {
					t.Fatalf("config.Validate: another knob failed: %v", cerr)
				}
				if lerr != nil && !libBad && !strings.Contains(lerr.Error(), "is required") {
					t.Fatalf("library: another field failed: %v", lerr)
				}
				if v == 0 && r.zeroDefault {
					if !knobBad || libBad {
						t.Fatalf("0: knob rejects %v (want true), library rejects %v (want false: its default)", knobBad, libBad)
					}
					return
				}
				if knobBad != libBad {
					t.Fatalf("knob: %v\nlibrary: %v\nverdicts differ", cerr, lerr)
				}
				// the same rule gives the same words
				if knobBad {
					msg := strings.SplitN(cerr.Error(), "config: "+r.key+": ", 2)[1]
					if !strings.Contains(lerr.Error(), msg) {
						t.Errorf("knob says %q, library %q", msg, lerr)
					}
				}
			})
		}
	}
}

// TestDistributedShardsFollowTheRunner: distributed.default_shards is
// checked against the runner's own limit (distributed.ShardLimit), so a
// default the runner would cut to max_shards is an error here instead.
func TestDistributedShardsFollowTheRunner(t *testing.T) {
	for _, tt := range []struct {
		def, max int
		want     string
	}{
		{4, 0, ""},
		{distributed.DefaultShardLimit, 0, ""},
		{distributed.DefaultShardLimit + 1, 0, "distributed.default_shards: 1001 is out of range 1..1000"},
		{10, 10, ""},
		{500, 10, "distributed.default_shards: 500 is out of range 1..10"},
		{5000, 20000, ""},
		{0, distributed.MaxShards, ""},
		{0, distributed.MaxShards + 1, "distributed.max_shards: 100001 is out of range 1..100000"},
	} {
		c := config.Default()
		c.Distributed = &config.DistributedConfig{DefaultShards: tt.def, MaxShards: tt.max}
		err := c.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("default %d max %d: %v, want %q", tt.def, tt.max, err, tt.want)
		}
		if tt.want != "" && tt.def != 0 && tt.max <= distributed.MaxShards {
			// the runner would have cut it
			if got := distributed.ShardLimit(tt.max); got >= tt.def {
				t.Errorf("runner limit %d admits %d", got, tt.def)
			}
		}
	}
}
