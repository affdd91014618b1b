// Package deploy holds the deployment recipes of ora2gcs (the container
// entrypoint, Compute Engine, Cloud Run and Kubernetes) and no Go code; its
// tests check the recipes against the program: every configuration they
// carry loads and validates, every probe and health check path is served
// without an API key, every secret file they name is one the entrypoint
// reads and is mounted where they say, and the shutdown budgets agree.
package deploy
