// Package config loads the ora2gcs configuration: the spec's config.yaml
// layout (server, oracle, gcs, etl, auth) plus the connector choice (source,
// target, data_dir).
//
// Precedence, lowest first: Default, the YAML file (with ${VAR} and
// ${VAR:-default} expanded in scalar values), environment variables
// (ApplyEnv), then command-line flags, which the CLI applies to the returned
// Config before it calls Validate. Unknown YAML keys are an error naming the
// key. Redacted and String never show passwords or API keys.
package config
