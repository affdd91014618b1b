package oracle

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestOpenWithoutDatabase opens a connection on this machine, which has no
// Oracle Instant Client: the error must say what to install. Where a client
// is installed, nothing listens on port 1, and the error must name the
// database it tried. Either way: an error, no panic, no password.
func TestOpenWithoutDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := Config{User: "scott", Password: testSecret, ConnectString: "127.0.0.1:1/NOSUCHSERVICE", PoolMin: 1, PoolMax: 2}
	c, err := Open(ctx, cfg)
	if err == nil {
		c.Close()
		t.Fatal("Open succeeded against 127.0.0.1:1")
	}
	msg := err.Error()
	if strings.Contains(msg, testSecret) {
		t.Fatalf("error shows the password: %s", msg)
	}
	if !strings.HasPrefix(msg, "oracle: connect to 127.0.0.1:1/NOSUCHSERVICE as scott: ") {
		t.Fatalf("error does not say what it connected to: %s", msg)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("untranslated error %T: %s", err, msg)
	}
	switch e.Kind {
	case KindClient: // this machine: no Instant Client
		for _, w := range []string{"DPI-1047", "Instant Client 19", "LD_LIBRARY_PATH", "ldconfig", "11.2", InstallDocs} {
			if !strings.Contains(msg, w) {
				t.Errorf("missing-client error lacks %q: %s", w, msg)
			}
		}
	default: // a client is installed: the connection itself failed
		t.Logf("Instant Client present; connection error: %s", msg)
		if e.Code == 0 && e.DPI == 0 {
			t.Fatalf("no ORA/DPI code in %s", msg)
		}
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	_, err := Open(context.Background(), Config{User: "scott", ConnectString: "h:1521/S"})
	if err == nil || !strings.Contains(err.Error(), "password: missing (set ORACLE_PASSWORD)") {
		t.Fatalf("err = %v", err)
	}
}

func TestClaimConfigDir(t *testing.T) {
	configDirMu.Lock()
	saved := configDir
	configDir = nil
	configDirMu.Unlock()
	t.Cleanup(func() { configDirMu.Lock(); configDir = saved; configDirMu.Unlock() })

	if err := claimConfigDir("/wallet/a"); err != nil {
		t.Fatal(err)
	}
	if err := claimConfigDir("/wallet/a"); err != nil {
		t.Fatalf("same wallet twice: %v", err)
	}
	err := claimConfigDir("/wallet/b")
	if err == nil || !strings.Contains(err.Error(), "one per process") {
		t.Fatalf("second wallet: %v", err)
	}
}

func TestRedact(t *testing.T) {
	inner := errors.New("ORA-01017: invalid username/password for " + testSecret)
	got := redact(Translate(inner, "connect"), testSecret)
	if strings.Contains(got.Error(), testSecret) {
		t.Fatalf("secret kept: %s", got)
	}
	var e *Error
	if !errors.As(got, &e) || e.Kind != KindConfig || e.Code != 1017 || errors.Unwrap(got) == nil || strings.Contains(errors.Unwrap(got).Error(), testSecret) {
		t.Fatalf("redacted error lost its kind or kept the secret below: %#v", got)
	}
	plain := errors.New("no secret here")
	if redact(plain, testSecret) != plain || redact(nil, testSecret) != nil {
		t.Fatal("redact changed an error without the secret")
	}
}
