// Package config loads the ora2gcs configuration: the spec's config.yaml
// layout (server, oracle, postgres, gcs, etl, auth, schedule) plus the
// connector choice (source, target, data_dir).
//
// Every scalar setting is one Knob of Knobs: its config.yaml key, its
// environment variable, its command-line flag, its default, its rule and
// its documentation are declared there once. The file, the environment and
// the CLI's flags all set a knob through Knob.Set (one parser), Validate
// checks it with its one rule, and docs/CONFIG.md's reference table is
// generated from the table (go generate ./config; TestReferenceIsCurrent
// fails when it is stale). Lists and nested records (auth.api_keys,
// schedule.windows, incremental) are set in the file only.
//
// A knob whose setting a library owns checks with that library's own rule
// (pipeline.CheckChunkRows, jobs.CheckRetentionDays, gcs.CheckChunkSize,
// sqlsource.CheckPool, distributed.ShardLimit, …), never a restated
// range, so a value the knob accepts is used as it is. The one difference
// is 0 where a library takes 0 as its default: a knob has its own default,
// so there 0 is out of range rather than silently replaced, unless the
// knob documents 0 as that default (etl.encode_workers, gcs.chunk_size)
// (TestKnobRulesAgreeWithLibraries).
//
// Precedence, lowest first: Default, the YAML file (with ${VAR} and
// ${VAR:-default} expanded in scalar values), the environment, the flags
// (Resolve). Every error names its origin: "--gzip-level: …",
// "ORA2GCS_GZIP_LEVEL: …", "config.yaml:7: …". Unknown YAML keys are an
// error naming the key and line. Redacted, String, Show and the reference
// never show passwords or API keys.
package config

//go:generate go run ./gendoc ../docs/CONFIG.md
