// Package integration holds end-to-end tests across packages: the HTTP
// server on the real jobs.Manager with the synthetic and PostgreSQL sources,
// the GCS emulator and the file sink. It has no non-test code.
package integration
