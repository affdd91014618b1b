package oracle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/godror/godror"
)

// The Oracle client reads its configuration directory (TNS_ADMIN) once per
// process: the first Open's wallet wins, so a second wallet is refused
// instead of silently ignored.
var (
	configDirMu sync.Mutex
	configDir   *string
)

func claimConfigDir(dir string) error {
	configDirMu.Lock()
	defer configDirMu.Unlock()
	if configDir == nil {
		configDir = &dir
		return nil
	}
	if *configDir != dir {
		return fmt.Errorf("oracle: this process already uses the wallet folder %q; the Oracle client reads one per process, so %q cannot be used too (run a separate process)", *configDir, dir)
	}
	return nil
}

// openDB validates cfg and opens a pool of sessions to the database, then
// pings it. Errors are translated (see Translate): a missing Instant Client
// names what to install, a bad wallet or TNS alias what to fix; none
// contains the password.
func openDB(ctx context.Context, cfg Config) (*sql.DB, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := claimConfigDir(cfg.WalletPath); err != nil {
		return nil, err
	}
	db := sql.OpenDB(godror.NewConnector(cfg.Params()))
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("oracle: %w", redact(Translate(err, "connect to "+cfg.Database()+" as "+cfg.User), cfg.Password))
	}
	return db, nil
}

// redact returns err with every occurrence of secret in its message
// replaced by [redacted]. Secrets under 4 bytes are left alone: replacing
// them would mangle ordinary words, and Oracle's messages do not echo
// passwords anyway; this is a second line of defence. A translated *Error keeps its Kind and codes; the
// driver error under it is replaced by its redacted text, so no chain
// printed later can show the secret.
func redact(err error, secret string) error {
	if err == nil || len(secret) < 4 || !strings.Contains(err.Error(), secret) {
		return err
	}
	clean := func(s string) string { return strings.ReplaceAll(s, secret, "[redacted]") }
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Hint = clean(c.Hint)
		if c.Err != nil {
			c.Err = errors.New(clean(c.Err.Error()))
		}
		return &c
	}
	return errors.New(clean(err.Error()))
}
