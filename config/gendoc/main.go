// Command gendoc rewrites the generated settings reference of
// docs/CONFIG.md from config.Knobs (run by go generate ./config).
package main

import (
	"fmt"
	"os"

	"github.com/ora2gcs/ora2gcs/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendoc docs/CONFIG.md")
		os.Exit(2)
	}
	if err := config.UpdateReference(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}
