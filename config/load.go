package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load returns Default overlaid with the YAML file at path (none when path
// is empty) and then with the environment (ApplyEnv with os.LookupEnv).
// ${VAR} and ${VAR:-default} in scalar values are expanded from the
// environment before decoding; an unset VAR without default is empty. An
// unknown key is an error naming it. Load does not Validate: the CLI applies
// its flags first and validates then (Resolve does all of it).
func Load(path string) (Config, error) {
	c, _, err := resolve(Sources{File: path, Lookup: os.LookupEnv})
	return c, err
}

// Sources are the layers of a configuration above Default, lowest first:
// the YAML file, the environment, the command line.
type Sources struct {
	// File is the config.yaml path; "" reads none.
	File string
	// Lookup reads the environment (os.LookupEnv); nil reads none.
	Lookup func(string) (string, bool)
	// Flags are the knob flags given on the command line: flag name
	// (without dashes) to value.
	Flags map[string]string
}

// Resolve returns Default overlaid with the file, the environment and the
// flags of s (precedence flag > environment > file > default), validated.
// Every error names where the value came from: "--gzip-level: …",
// "ORA2GCS_GZIP_LEVEL: …", "config.yaml:7: …" or "config: …" (a default).
// Origins says, per knob key, which layer set it.
func Resolve(s Sources) (Config, Origins, error) {
	c, o, err := resolve(s)
	if err != nil {
		return c, o, err
	}
	return c, o, c.validate(o)
}

// Layer is Resolve without the validation, for a caller that changes the
// result first and then calls ValidateFrom.
func Layer(s Sources) (Config, Origins, error) { return resolve(s) }

func resolve(s Sources) (Config, Origins, error) {
	c := Default()
	origins := Origins{}
	lookup := s.Lookup
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	if s.File != "" {
		data, err := os.ReadFile(s.File)
		if err != nil {
			return Config{}, nil, fmt.Errorf("config: %w", err)
		}
		if err := decode(data, &c, lookup, s.File, origins); err != nil {
			return Config{}, nil, err
		}
	}
	if err := c.applyEnv(lookup, origins); err != nil {
		return Config{}, nil, err
	}
	names := make([]string, 0, len(s.Flags))
	for name := range s.Flags {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		k, ok := KnobByFlag(name)
		if !ok {
			return Config{}, nil, fmt.Errorf("config: --%s is not a setting", name)
		}
		o := Origin{Kind: FromFlag, Name: "--" + name}
		if err := k.Set(&c, s.Flags[name]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o, err))
			continue
		}
		origins[k.Key] = o
	}
	return c, origins, errors.Join(errs...)
}

// Parse overlays the YAML document data on Default, like Load without the
// file and without the environment overrides (the ${VAR} expansion uses
// lookup).
func Parse(data []byte, lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	if err := decode(data, &c, lookup, "", Origins{}); err != nil {
		return Config{}, err
	}
	return c, nil
}

// decode sets c from the YAML document data: every scalar knob through its
// Set (the same parser as the environment and the flags), the structured
// settings through yaml. An unknown key is an error naming it and its
// line. origins gets the line of every key set.
func decode(data []byte, c *Config, lookup func(string) (string, bool), file string, origins Origins) error {
	prefix := "config: "
	if file != "" {
		prefix = "config: " + file + ": "
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s%w", prefix, err)
	}
	if doc.Kind == 0 { // empty document
		return nil
	}
	if err := expandNode(&doc, lookup); err != nil {
		return fmt.Errorf("%s%w", prefix, err)
	}
	if err := checkKeys(&doc, reflect.TypeOf(*c), ""); err != nil {
		return fmt.Errorf("%s%w", prefix, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%sline %d: the document is not a mapping of settings", prefix, root.Line)
	}
	var errs []error
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, v := n.Content[i], n.Content[i+1]
			key := path + kn.Value
			o := Origin{Kind: FromFile, Name: file, Line: kn.Line}
			if k, ok := KnobByKey(key); ok {
				if v.Kind != yaml.ScalarNode {
					errs = append(errs, fmt.Errorf("%s: %s: want a single value", o, key))
					continue
				}
				val := v.Value
				if v.ShortTag() == "!!null" {
					// "key:" or "key: ${UNSET}": the zero value, as yaml decodes it
					val = k.Get(Config{})
				}
				if err := k.Set(c, val); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", o, err))
					continue
				}
				origins[key] = o
				continue
			}
			if v.Kind == yaml.MappingNode && isSection(key) {
				walk(v, key+".")
				continue
			}
			// a structured setting (checkKeys knows every key): yaml decodes it
			if err := decodeStructured(c, key, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", o, key, err))
				continue
			}
			origins[key] = o
		}
	}
	walk(root, "")
	return errors.Join(errs...)
}

// isSection says whether key is a section holding knobs (server, etl, …).
func isSection(key string) bool {
	for _, k := range knobs {
		if strings.HasPrefix(k.Key, key+".") {
			return true
		}
	}
	return false
}

// decodeStructured decodes the YAML-only settings.
func decodeStructured(c *Config, key string, v *yaml.Node) error {
	var dst any
	switch key {
	case "auth.api_keys":
		dst = &c.Auth.APIKeys
	case "schedule.windows":
		dst = &c.Schedule.Windows
	case "incremental":
		dst = &c.Incremental
	case "distributed":
		dst = &c.Distributed
	default:
		return errors.New("unknown setting")
	}
	if err := v.Decode(dst); err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), "yaml: unmarshal errors:\n  ", ""))
	}
	return nil
}

// expandNode replaces ${VAR} and ${VAR:-default} in every scalar. A plain
// (unquoted) scalar is re-resolved after expansion, so "port: ${PORT}"
// becomes an integer.
func expandNode(n *yaml.Node, lookup func(string) (string, bool)) error {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		v, err := expand(n.Value, lookup)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		n.Value = v
		if n.Style == 0 {
			n.Tag = ""
		}
	}
	for _, ch := range n.Content {
		if err := expandNode(ch, lookup); err != nil {
			return err
		}
	}
	return nil
}

// expand substitutes ${NAME} and ${NAME:-default}; "$$" is a literal "$".
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if i+1 >= len(s) || s[i+1] != '{' {
			b.WriteByte('$')
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s)
		}
		expr := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("bad variable name %q", name)
		}
		v, ok := lookup(name)
		if (!ok || v == "") && hasDef {
			v = def
		}
		b.WriteString(v)
		i += end
	}
	return b.String(), nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch == '_' || ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || i > 0 && ch >= '0' && ch <= '9') {
			return false
		}
	}
	return true
}

// checkKeys reports every mapping key that has no field of t (by yaml tag),
// with its dotted path and line, like yaml's KnownFields but naming the key.
func checkKeys(n *yaml.Node, t reflect.Type, prefix string) error {
	if n.Kind == yaml.DocumentNode {
		for _, ch := range n.Content {
			if err := checkKeys(ch, t, prefix); err != nil {
				return err
			}
		}
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ft, ok := fields[k.Value]
		if !ok {
			errs = append(errs, fmt.Errorf("line %d: unknown key %q", k.Line, prefix+k.Value))
			continue
		}
		if err := checkKeys(v, ft, prefix+k.Value+"."); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Environment variables of some knobs (spec: ORACLE_*, GCP_*, API_KEY);
// every knob's variable is its Knob.Env.
const (
	EnvOracleUser       = "ORACLE_USER"
	EnvOraclePassword   = "ORACLE_PASSWORD"
	EnvOracleTNSName    = "ORACLE_TNS_NAME"
	EnvOracleWalletPath = "ORACLE_WALLET_PATH"
	EnvGCPProjectID     = "GCP_PROJECT_ID"
	EnvGCPCredentials   = "GOOGLE_APPLICATION_CREDENTIALS"
	EnvAPIKey           = "API_KEY" // several keys separated by commas
	EnvSource           = "ORA2GCS_SOURCE"
	EnvTarget           = "ORA2GCS_TARGET"
	EnvBucket           = "ORA2GCS_BUCKET"
	EnvListen           = "ORA2GCS_LISTEN"
	EnvDataDir          = "ORA2GCS_DATA_DIR"
)

// ApplyEnv overrides every knob whose variable (Knob.Env) is set and not
// empty. API_KEY replaces auth.api_key (commas separate several keys). A
// value that does not parse is an error naming the variable.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	return c.applyEnv(lookup, Origins{})
}

func (c *Config) applyEnv(lookup func(string) (string, bool), origins Origins) error {
	var errs []error
	for _, k := range knobs {
		v, ok := lookup(k.Env)
		if !ok || v == "" {
			continue
		}
		o := Origin{Kind: FromEnv, Name: k.Env}
		if err := k.Set(c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o, err))
			continue
		}
		origins[k.Key] = o
	}
	return errors.Join(errs...)
}

// OriginKind is the layer a setting came from.
type OriginKind int

// Layers, lowest first.
const (
	FromDefault OriginKind = iota
	FromFile
	FromEnv
	FromFlag
)

// Origin is where one setting came from: a line of a file, an environment
// variable or a flag.
type Origin struct {
	Kind OriginKind
	Name string // the file, the variable or "--flag"
	Line int    // in the file
}

// String is how errors name the origin: "config.yaml:7", "ORA2GCS_X",
// "--x", or "config" for a default or a value set in code.
func (o Origin) String() string {
	switch o.Kind {
	case FromFile:
		if o.Name == "" {
			return fmt.Sprintf("config: line %d", o.Line)
		}
		return fmt.Sprintf("%s:%d", o.Name, o.Line)
	case FromEnv, FromFlag:
		return o.Name
	}
	return "config"
}

// Label is the origin for `config show`: "default", "file config.yaml:7",
// "env ORA2GCS_X" or "flag --x".
func (o Origin) Label() string {
	switch o.Kind {
	case FromFile:
		return "file " + o.String()
	case FromEnv:
		return "env " + o.Name
	case FromFlag:
		return "flag " + o.Name
	}
	return "default"
}

// Origins maps knob keys to where their values came from; a key not in it
// has its default.
type Origins map[string]Origin

// of is key's origin (the default when unknown).
func (o Origins) of(key string) Origin { return o[key] }
