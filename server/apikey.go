package server

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// APIKeyFile is the name of the generated key's file in the data directory.
const APIKeyFile = "api_key"

// EnsureAPIKey returns configured when it holds a key. Otherwise it returns
// the key stored in {dataDir}/api_key, generating one (32 random bytes,
// URL-safe base64) at first start and writing it with mode 0600. It logs the
// file's path, never the key. A key file readable by group or others is
// refused.
func EnsureAPIKey(dataDir string, configured []string, log *slog.Logger) ([]string, error) {
	var keys []string
	for _, k := range configured {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		return keys, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := filepath.Join(dataDir, APIKeyFile)
	if fi, err := os.Stat(path); err == nil {
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("server: api key file %s has mode %v, want 0600", path, fi.Mode().Perm())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("server: read api key: %w", err)
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return nil, fmt.Errorf("server: api key file %s is empty", path)
		}
		log.Info("using the API key stored in the data directory", "api_key_file", path)
		return []string{key}, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("server: api key file: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: create data dir: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("server: generate api key: %w", err)
	}
	key := base64.RawURLEncoding.EncodeToString(b[:])
	// O_EXCL: two processes starting at once do not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server: write api key: %w", err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("server: write api key: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("server: write api key: %w", err)
	}
	log.Warn("no API key configured: generated one; read it from the file", "api_key_file", path)
	return []string{key}, nil
}
