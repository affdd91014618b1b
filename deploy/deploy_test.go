package deploy

import (
	"bytes"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ora2gcs/ora2gcs/config"
	"github.com/ora2gcs/ora2gcs/jobs"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/server"
	"github.com/ora2gcs/ora2gcs/sources/synth"
)

// httpDrain is how long `ora2gcs serve` gives the HTTP server to drain after
// the job's shutdown grace (cmd/ora2gcs/serve.go).
const httpDrain = 10 * time.Second

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// docs decodes every YAML document of a file.
func docs(t *testing.T, name string) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, name)))
	var out []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, d)
	}
}

// at walks a decoded YAML value along keys (string) and indexes (int).
func at(t *testing.T, v any, p ...any) any {
	t.Helper()
	for _, k := range p {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a mapping at %q", p, k)
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				t.Fatalf("%v: no element %d", p, k)
			}
			v = s[k]
		}
	}
	return v
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// loadConfig parses a config.yaml as `ora2gcs --config` does, with the
// environment vars, and validates it.
func loadConfig(t *testing.T, name string, data []byte, vars map[string]string) config.Config {
	t.Helper()
	c, err := config.Parse(data, env(vars))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	c.ApplyEnv(env(vars))
	if err := c.Validate(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

func TestConfigExample(t *testing.T) {
	data := readFile(t, "config.example.yaml")
	c := loadConfig(t, "config.example.yaml", data, nil)
	if got := c.ListenAddr(); got != ":8080" {
		t.Errorf("listen = %q, want :8080 without PORT", got)
	}
	if c.Server.ShutdownGrace != 60*time.Second {
		t.Errorf("shutdown_grace = %s, want 60s by default", c.Server.ShutdownGrace)
	}
	if c.Oracle.Password != "" || c.Auth.APIKey != "" || len(c.Auth.APIKeys) > 0 {
		t.Error("the example holds a secret")
	}
	// Cloud Run: PORT and the shutdown grace come from the environment.
	c = loadConfig(t, "config.example.yaml", data, map[string]string{"PORT": "9090", "ORA2GCS_SHUTDOWN_GRACE": "0s"})
	if got := c.ListenAddr(); got != ":9090" {
		t.Errorf("listen with PORT=9090 = %q", got)
	}
	if c.Server.ShutdownGrace != 0 {
		t.Errorf("shutdown_grace with ORA2GCS_SHUTDOWN_GRACE=0s = %s", c.Server.ShutdownGrace)
	}
}

// entrypointSecrets are the NAME of every NAME_FILE the entrypoint reads.
func entrypointSecrets(t *testing.T) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^for name in ([A-Z_ ]+); do$`).FindSubmatch(readFile(t, "bin/ora2gcs-entrypoint"))
	if m == nil {
		t.Fatal("bin/ora2gcs-entrypoint: no 'for name in …' line")
	}
	return strings.Fields(string(m[1]))
}

// checkSecretEnv checks that every *_FILE variable of a container is read by
// the entrypoint, that no secret is given as a value, and returns the files.
func checkSecretEnv(t *testing.T, where string, container any) map[string]string {
	t.Helper()
	known := entrypointSecrets(t)
	files := map[string]string{}
	for _, e := range at(t, container, "env").([]any) {
		name, _ := at(t, e, "name").(string)
		value, _ := at(t, e, "value").(string)
		if base, ok := strings.CutSuffix(name, "_FILE"); ok {
			if !slices.Contains(known, base) {
				t.Errorf("%s: %s is not read by bin/ora2gcs-entrypoint (it reads %v)", where, name, known)
			}
			files[name] = value
		}
		if slices.Contains(known, name) {
			t.Errorf("%s: secret %s given as a plain value", where, name)
		}
	}
	if files["API_KEY_FILE"] == "" {
		t.Errorf("%s: no API_KEY_FILE", where)
	}
	return files
}

func TestKubernetes(t *testing.T) {
	cm := docs(t, "kubernetes/configmap.yaml")[0]
	c := loadConfig(t, "kubernetes/configmap.yaml", []byte(at(t, cm, "data", "config.yaml").(string)), nil)
	dep := docs(t, "kubernetes/deployment.yaml")[0]
	pod := at(t, dep, "spec", "template", "spec")
	grace := time.Duration(at(t, pod, "terminationGracePeriodSeconds").(int)) * time.Second
	if c.Server.ShutdownGrace+httpDrain >= grace {
		t.Errorf("terminationGracePeriodSeconds %s does not cover shutdown_grace %s + %s HTTP drain", grace, c.Server.ShutdownGrace, httpDrain)
	}
	ctr := at(t, pod, "containers", 0)
	args := at(t, ctr, "args").([]any)
	if i := slices.Index(args, any("--config")); i < 0 || i+1 >= len(args) {
		t.Fatalf("container args %v: no --config", args)
	}
	mounts := map[string]string{} // mountPath → volume
	for _, m := range at(t, ctr, "volumeMounts").([]any) {
		mounts[at(t, m, "mountPath").(string)] = at(t, m, "name").(string)
	}
	if mounts[args[slices.Index(args, any("--config"))+1].(string)] != "config" {
		t.Errorf("--config %v is not the mounted ConfigMap", args)
	}
	if !strings.HasPrefix(c.DataDir, "/var/lib/ora2gcs") || mounts["/var/lib/ora2gcs"] != "state" {
		t.Errorf("data_dir %s is not on the state volume", c.DataDir)
	}
	// Secret files: in the mounted Secret, with keys the generator makes.
	var keys []string
	for _, f := range at(t, docs(t, "kubernetes/kustomization.yaml")[0], "secretGenerator", 0, "files").([]any) {
		k, _, _ := strings.Cut(f.(string), "=")
		keys = append(keys, k)
	}
	for name, file := range checkSecretEnv(t, "kubernetes/deployment.yaml", ctr) {
		if mounts[path.Dir(file)] != "secrets" || !slices.Contains(keys, path.Base(file)) {
			t.Errorf("%s=%s: not a key %v of the Secret mounted at its directory", name, file, keys)
		}
	}
	for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
		checkServed(t, "kubernetes "+probe, at(t, ctr, probe, "httpGet", "path").(string))
	}
}

func TestCloudRun(t *testing.T) {
	svc := docs(t, "cloudrun/service.yaml")[0]
	spec := at(t, svc, "spec", "template", "spec")
	ctr := at(t, spec, "containers", 0)
	vars := map[string]string{"PORT": "8080"} // set by Cloud Run
	for _, e := range at(t, ctr, "env").([]any) {
		vars[at(t, e, "name").(string)], _ = at(t, e, "value").(string)
	}
	c := loadConfig(t, "config.example.yaml with the service's environment", readFile(t, "config.example.yaml"), vars)
	// Cloud Run kills 10 s after SIGTERM.
	if c.Server.ShutdownGrace+httpDrain > 10*time.Second {
		t.Errorf("shutdown_grace %s + %s HTTP drain exceeds Cloud Run's 10 s", c.Server.ShutdownGrace, httpDrain)
	}
	if port := at(t, ctr, "ports", 0, "containerPort").(int); c.ListenAddr() != ":8080" || port != 8080 {
		t.Errorf("listen %s, containerPort %d", c.ListenAddr(), port)
	}
	mounts := map[string]string{}
	for _, m := range at(t, ctr, "volumeMounts").([]any) {
		mounts[at(t, m, "mountPath").(string)] = at(t, m, "name").(string)
	}
	items := map[string][]string{} // volume → file names
	for _, v := range at(t, spec, "volumes").([]any) {
		for _, it := range at(t, v, "secret", "items").([]any) {
			items[at(t, v, "name").(string)] = append(items[at(t, v, "name").(string)], at(t, it, "path").(string))
		}
	}
	files := checkSecretEnv(t, "cloudrun/service.yaml", ctr)
	files["--config"] = at(t, ctr, "args", 2).(string)
	for name, file := range files {
		if vol := mounts[path.Dir(file)]; !slices.Contains(items[vol], path.Base(file)) {
			t.Errorf("%s=%s: not a file of a mounted secret volume", name, file)
		}
	}
	for _, probe := range []string{"startupProbe", "livenessProbe"} {
		checkServed(t, "cloudrun "+probe, at(t, ctr, probe, "httpGet", "path").(string))
	}
}

func TestComputeEngine(t *testing.T) {
	unit := string(readFile(t, "compute-engine/ora2gcs.service"))
	var stop, grace time.Duration
	known := entrypointSecrets(t)
	for _, line := range strings.Split(unit, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "TimeoutStopSec":
			var err error
			if stop, err = time.ParseDuration(v); err != nil {
				t.Fatal(err)
			}
		case "Environment":
			name, _, _ := strings.Cut(v, "=")
			base, ok := strings.CutSuffix(name, "_FILE")
			if !ok || !slices.Contains(known, base) {
				t.Errorf("Environment=%s: only *_FILE secrets the entrypoint reads (%v) belong in the unit", v, known)
			}
		case "ExecStart":
			if !strings.HasPrefix(v, "/usr/local/bin/ora2gcs-entrypoint serve --config /etc/ora2gcs/config.yaml") {
				t.Errorf("ExecStart=%s", v)
			}
		}
	}
	grace = loadConfig(t, "config.example.yaml", readFile(t, "config.example.yaml"), nil).Server.ShutdownGrace
	if grace+httpDrain >= stop {
		t.Errorf("TimeoutStopSec %s does not cover shutdown_grace %s + %s HTTP drain", stop, grace, httpDrain)
	}
}

func TestDockerfileHealthcheck(t *testing.T) {
	m := regexp.MustCompile(`CMD \["/usr/local/bin/ora2gcs-healthcheck", "([^"]+)"\]`).FindSubmatch(readFile(t, "../Dockerfile"))
	if m == nil {
		t.Fatal("Dockerfile: no HEALTHCHECK with ora2gcs-healthcheck")
	}
	checkServed(t, "Dockerfile HEALTHCHECK", string(m[1]))
}

// service is the part of a jobs.Service the health endpoints use.
type service struct {
	jobs.Service
	conn pipeline.Connector
}

func (s service) Connector() pipeline.Connector { return s.conn }

// checkServed asserts that the server answers GET p with 200 without an API
// key (probes send none) while the source is reachable.
func checkServed(t *testing.T, what, p string) {
	t.Helper()
	conn, err := synth.New(synth.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	srv, err := server.New(service{conn: conn}, server.Options{APIKeys: []string{"deploy-test-key-0123456789"}, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.App().Test(httptest.NewRequest("GET", p, nil), 5000)
	if err != nil {
		t.Fatalf("%s: GET %s: %v", what, p, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("%s: GET %s = %d, want 200", what, p, resp.StatusCode)
	}
}

// TestEntrypoint runs bin/ora2gcs-entrypoint with env(1) in place of ora2gcs.
func TestEntrypoint(t *testing.T) {
	dir := t.TempDir()
	secret := "s3cret-value-0123456789"
	file := filepath.Join(dir, "api_key")
	if err := os.WriteFile(file, []byte(secret+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(env ...string) (string, string, int) {
		cmd := exec.Command("sh", "bin/ora2gcs-entrypoint")
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "ORA2GCS_BIN=env"}, env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}
	out, _, code := run("API_KEY_FILE=" + file)
	lines := strings.Split(out, "\n")
	if code != 0 || !slices.Contains(lines, "API_KEY="+secret) || strings.Contains(out, "API_KEY_FILE") {
		// the environment is not printed: it holds the (test) secret
		t.Errorf("API_KEY_FILE: exit %d; API_KEY exported without trailing newlines: %v; API_KEY_FILE unset: %v",
			code, slices.Contains(lines, "API_KEY="+secret), !strings.Contains(out, "API_KEY_FILE"))
	}
	for _, tc := range []struct {
		env  []string
		code int
	}{
		{[]string{"API_KEY=" + secret, "API_KEY_FILE=" + file}, 2},
		{[]string{"ORACLE_PASSWORD_FILE=" + filepath.Join(dir, "missing")}, 1},
		{[]string{"PGPASSWORD_FILE=" + dir}, 1},
	} {
		out, errOut, code := run(tc.env...)
		if code != tc.code || out != "" || errOut == "" || strings.Contains(errOut, secret) {
			t.Errorf("%v: exit %d (want %d), stdout %q, stderr %q", tc.env, code, tc.code, out, errOut)
		}
	}
}
