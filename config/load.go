package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load returns Default overlaid with the YAML file at path (none when path
// is empty) and then with the environment (ApplyEnv with os.LookupEnv).
// ${VAR} and ${VAR:-default} in scalar values are expanded from the
// environment before decoding; an unset VAR without default is empty. An
// unknown key is an error naming it. Load does not Validate: the CLI applies
// its flags first and validates then.
func Load(path string) (Config, error) {
	return load(path, os.LookupEnv)
}

func load(path string, lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if err := decode(data, &c, lookup); err != nil {
			return Config{}, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	c.ApplyEnv(lookup)
	return c, nil
}

// Parse overlays the YAML document data on Default, like Load without the
// file and without the environment overrides (the ${VAR} expansion uses
// lookup).
func Parse(data []byte, lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	if err := decode(data, &c, lookup); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

func decode(data []byte, c *Config, lookup func(string) (string, bool)) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if doc.Kind == 0 { // empty document
		return nil
	}
	if err := expandNode(&doc, lookup); err != nil {
		return err
	}
	if err := checkKeys(&doc, reflect.TypeOf(*c), ""); err != nil {
		return err
	}
	return doc.Decode(c)
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

// Environment variables ApplyEnv reads (spec: ORACLE_*, GCP_*, API_KEY).
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

// ApplyEnv overrides fields with the environment variables that are set and
// not empty. API_KEY replaces auth.api_key (commas separate several keys).
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) {
	set := func(name string, dst *string) {
		if v, ok := lookup(name); ok && v != "" {
			*dst = v
		}
	}
	set(EnvOracleUser, &c.Oracle.Username)
	set(EnvOraclePassword, &c.Oracle.Password)
	set(EnvOracleTNSName, &c.Oracle.TNSName)
	set(EnvOracleWalletPath, &c.Oracle.WalletPath)
	set(EnvGCPProjectID, &c.GCS.ProjectID)
	set(EnvGCPCredentials, &c.GCS.CredentialsFile)
	set(EnvAPIKey, &c.Auth.APIKey)
	set(EnvSource, &c.Source)
	set(EnvTarget, &c.Target)
	set(EnvBucket, &c.GCS.DefaultBucket)
	set(EnvListen, &c.Server.Listen)
	set(EnvDataDir, &c.DataDir)
}
