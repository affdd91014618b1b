package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// cmdConfig is `ora2gcs config show`: every setting's effective value
// (secrets redacted) and where it came from, with the same file,
// environment and flags every other command reads. An invalid setting is
// shown and then reported (exit 1).
func cmdConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "show" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			args = []string{"show", "--help"}
		} else {
			return usageError(stderr, "config", "use: ora2gcs config show [flags]")
		}
	}
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	o := addFlags(fs, flagsAll|flagsServer)
	if err := parseFlags(fs, args[1:], stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "config", "unexpected argument %q", fs.Arg(0))
	}
	cfg, origins, err := o.resolveConfig()
	if origins == nil { // the file or a value could not be read at all
		return err
	}
	if o.configPath != "" {
		fmt.Fprintf(stdout, "config file: %s\n", o.configPath)
	} else {
		fmt.Fprintln(stdout, "config file: none")
	}
	fmt.Fprint(stdout, cfg.Show(origins))
	return err
}
