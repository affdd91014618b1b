package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by the linker (-X main.version=… -X main.commit=… -X main.date=…,
// see the Makefile); a `go install` build falls back to the module version
// and the VCS stamp Go records in the binary.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// versionLine is what `ora2gcs --version` prints: version, commit, build
// date, Go version, platform and whether Oracle is compiled in.
func versionLine() string {
	v, c, d := version, commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			case s.Key == "vcs.modified" && s.Value == "true" && c != "" && commit == "":
				c += "-dirty"
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	oracle := "oracle: yes"
	if !oracleSupport {
		oracle = "oracle: no (built without cgo)"
	}
	return fmt.Sprintf("ora2gcs %s (commit %s, built %s, %s, %s/%s, %s)", v, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH, oracle)
}
