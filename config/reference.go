package config

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
)

// Markers around the generated reference in docs/CONFIG.md.
const (
	ReferenceBegin = "<!-- BEGIN GENERATED: config reference (go generate ./config) -->"
	ReferenceEnd   = "<!-- END GENERATED: config reference -->"
)

// Reference is the Markdown table of every setting: config.yaml key,
// environment variable, flag, type, default and documentation, generated
// from Knobs (docs/CONFIG.md holds it; go generate ./config rewrites it).
// Secrets show no default and no flag.
func Reference() string {
	var b strings.Builder
	b.WriteString("| config.yaml key | environment | flag | type | default | meaning |\n|---|---|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, k := range knobs {
		flag := "—"
		if k.Flag != "" {
			flag = "`--" + k.Flag + "`"
		}
		def := k.DefaultValue()
		switch {
		case k.Secret:
			def = "—"
		case def == "":
			def = `""`
		}
		doc := k.Doc
		if k.NoFlag != "" {
			doc += " (no flag: " + k.NoFlag + ")"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | `%s` | %s |\n", k.Key, k.Env, flag, k.Type(), cell(def), cell(doc))
	}
	for _, s := range StructuredKeys {
		fmt.Fprintf(&b, "| `%s` | — | — | YAML | none | %s (config file only) |\n", s[0], cell(s[1]))
	}
	return b.String()
}

// UpdateReference rewrites the generated part of the Markdown file at path
// (between ReferenceBegin and ReferenceEnd) with Reference.
func UpdateReference(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := replaceReference(string(data))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

func replaceReference(doc string) (string, error) {
	i, j := strings.Index(doc, ReferenceBegin), strings.Index(doc, ReferenceEnd)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %q … %q markers", ReferenceBegin, ReferenceEnd)
	}
	return doc[:i+len(ReferenceBegin)] + "\n" + Reference() + doc[j:], nil
}

// Show lists every setting's effective value (secrets redacted) and where
// it came from (origins from Resolve), one per line, for `ora2gcs config
// show`.
func (c Config) Show(origins Origins) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "KEY\tVALUE\tFROM")
	for _, k := range knobs {
		v := k.Show(c)
		if v == "" {
			v = `""`
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", k.Key, v, origins[k.Key].Label())
	}
	for _, s := range StructuredKeys {
		o, ok := origins[s[0]]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "%s\t(see the file)\t%s\n", s[0], o.Label())
	}
	w.Flush()
	return b.String()
}
