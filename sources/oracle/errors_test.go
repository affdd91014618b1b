package oracle

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

func TestTranslate(t *testing.T) {
	dpi1047 := errors.New(`ORA-00000: DPI-1047: Cannot locate a 64-bit Oracle Client library: "libclntsh.so: cannot open shared object file: No such file or directory". See https://oracle.github.io/odpi/doc/installation.html#linux for help`)
	tests := []struct {
		name      string
		err       error
		kind      Kind
		code      int
		transient bool
		hint      []string
	}{
		{"instant client missing", dpi1047, KindClient, 0, false, []string{"Instant Client 19", "LD_LIBRARY_PATH", "ldconfig", "11.2", InstallDocs}},
		{"client too old", errors.New("DPI-1050: Oracle Client library is at version 11.2 but version 12.1 or higher is needed"), KindClient, 0, false, []string{"Instant Client 19"}},
		{"snapshot too old", oraErr(1555, "snapshot too old: rollback segment number 9 with name \"_SYSSMU9$\" too small"), KindSnapshot, 1555, false, []string{"UNDO_RETENTION", "raise table_parallelism", "parallel_tables", "sooner", "off-hours"}},
		{"no snapshot for scn", oraErr(8180, "no snapshot found based on specified time"), KindSnapshot, 8180, false, []string{"UNDO_RETENTION", "raise table_parallelism"}},
		{"definition changed", oraErr(1466, "unable to read data - table definition has changed"), KindSnapshot, 1466, false, []string{"DDL", "off-hours"}},
		{"eof on channel", oraErr(3113, "end-of-file on communication channel"), KindTransient, 3113, true, []string{"connection was lost"}},
		{"not connected", oraErr(3114, "not connected to ORACLE"), KindTransient, 3114, true, nil},
		{"closed", oraErr(3135, "connection lost contact"), KindTransient, 3135, true, nil},
		{"timeout", oraErr(12170, "TNS:Connect timeout occurred"), KindTransient, 12170, true, nil},
		{"no listener", oraErr(12541, "TNS:no listener"), KindTransient, 12541, true, nil},
		{"send fail", oraErr(12571, "TNS:packet writer failure"), KindTransient, 12571, true, nil},
		{"replay", oraErr(25408, "can not safely replay call"), KindTransient, 25408, true, nil},
		{"startup", oraErr(1033, "ORACLE initialization or shutdown in progress"), KindTransient, 1033, true, nil},
		{"shutdown", oraErr(1089, "immediate shutdown or close in progress"), KindTransient, 1089, true, nil},
		{"dpi closed by 3113", errors.New("DPI-1080: connection was closed by ORA-3113"), KindTransient, 0, true, nil},
		{"bad conn", fmt.Errorf("query: %w", driver.ErrBadConn), KindTransient, 0, true, nil},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), KindTransient, 0, true, nil},
		{"wrapped eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), KindTransient, 0, true, nil},
		{"no table", oraErr(942, "table or view does not exist"), KindPermission, 942, false, []string{"GRANT SELECT"}},
		{"no privilege", oraErr(1031, "insufficient privileges"), KindPermission, 1031, false, []string{"FLASHBACK"}},
		{"unknown column", oraErr(904, `"FOO": invalid identifier`), KindInvalid, 904, false, []string{"unknown column"}},
		{"tns unresolved", oraErr(12154, "TNS:could not resolve the connect identifier specified"), KindConfig, 12154, false, []string{EnvTNSName, EnvWalletPath}},
		{"tnsnames unreadable", oraErr(12263, "Failed to access tnsnames.ora"), KindConfig, 12263, false, []string{EnvWalletPath}},
		{"wallet unopenable", oraErr(28759, "failure to open file"), KindConfig, 28759, false, []string{"cwallet.sso", "WALLET_LOCATION"}},
		{"certificate", oraErr(29024, "Certificate validation failure"), KindConfig, 29024, false, []string{"fresh wallet"}},
		{"login", oraErr(1017, "invalid username/password; logon denied"), KindConfig, 1017, false, []string{EnvPassword}},
		{"protocol mismatch", oraErr(28040, "No matching authentication protocol"), KindConfig, 28040, false, []string{"Instant Client 19"}},
		{"unknown service", oraErr(12514, "TNS:listener does not currently know of service requested"), KindConfig, 12514, false, []string{"service name"}},
		{"lob snapshot too old", oraErr(22924, "snapshot too old"), KindSnapshot, 22924, false, []string{"RETENTION", "PCTVERSION", "raise table_parallelism"}},
		{"tz file mismatch", oraErr(1805, "possible error in date/time operation"), KindConfig, 1805, false, []string{"time-zone file", "V$TIMEZONE_FILE", "ORA_TZFILE", "as text"}},
		{"other", oraErr(1722, "invalid number"), KindOther, 1722, false, nil},
		{"dpi prefix then ora", errors.New("ORA-00000: DPI-1080: connection was closed by ORA-03113"), KindTransient, 3113, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Translate(tt.err, "read SCOTT.EMP")
			var e *Error
			if !errors.As(got, &e) {
				t.Fatalf("not translated: %T %v", got, got)
			}
			if e.Kind != tt.kind || e.Code != tt.code {
				t.Fatalf("kind %v code %d, want %v %d (%v)", e.Kind, e.Code, tt.kind, tt.code, got)
			}
			if pipeline.IsTransient(got) != tt.transient || IsTransient(tt.err) != tt.transient {
				t.Fatalf("transient = %v, want %v", pipeline.IsTransient(got), tt.transient)
			}
			if !errors.Is(got, tt.err) {
				t.Fatal("original error lost from the chain")
			}
			msg := got.Error()
			if !strings.HasPrefix(msg, "read SCOTT.EMP: ") {
				t.Fatalf("message %q lacks the operation", msg)
			}
			for _, h := range tt.hint {
				if !strings.Contains(msg, h) {
					t.Errorf("message %q lacks %q", msg, h)
				}
			}
			if e.Kind == KindSnapshot && strings.Contains(msg, "reduce") {
				// less parallelism lengthens the read and makes ORA-01555 likelier
				t.Errorf("message %q advises reducing something", msg)
			}
			if KindOf(tt.err) != tt.kind {
				t.Fatalf("KindOf = %v", KindOf(tt.err))
			}
			// Retried through the shared policy: transient ones are retried, others fail at once.
			attempts, _ := pipeline.Retry{Attempts: 3}.Do(context.Background(), func(int) error { return got })
			if want := map[bool]int{true: 3, false: 1}[tt.transient]; attempts != want {
				t.Fatalf("attempts %d, want %d", attempts, want)
			}
		})
	}
}

func TestTranslatePassesThrough(t *testing.T) {
	wrappedCancel := fmt.Errorf("fetch: %w", context.Canceled)
	already := Translate(oraErr(3113, "eof"), "x")
	for _, err := range []error{nil, io.EOF, context.Canceled, context.DeadlineExceeded, wrappedCancel, already} {
		if got := Translate(err, "y"); got != err {
			t.Errorf("Translate(%v) = %v, want it unchanged", err, got)
		}
	}
	if pipeline.IsTransient(Translate(wrappedCancel, "")) {
		t.Fatal("cancellation must never be transient")
	}
}

func TestCodes(t *testing.T) {
	tests := []struct {
		err  error
		code int
		dpi  int
	}{
		{nil, 0, 0},
		{errors.New("plain"), 0, 0},
		{oraErr(1555, "x"), 1555, 0},
		{errors.New("ORA-00000: DPI-1047: x"), 0, 1047},
		{fmt.Errorf("wrap: %w", oraErr(942, "x")), 942, 0},
		{errors.New("ORA-06550: line 1, column 7:\nPLS-00201: identifier 'DBMS_FLASHBACK' must be declared"), 6550, 0},
	}
	for _, tt := range tests {
		if c, d := Code(tt.err), DPICode(tt.err); c != tt.code || d != tt.dpi {
			t.Errorf("%v: code %d dpi %d, want %d %d", tt.err, c, d, tt.code, tt.dpi)
		}
	}
}

func TestFlashbackDenied(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{oraErr(1031, "insufficient privileges"), true},
		{oraErr(904, `"DBMS_FLASHBACK"."GET_SYSTEM_CHANGE_NUMBER": invalid identifier`), true},
		{errors.New("ORA-06550: line 1\nPLS-00201: identifier 'DBMS_FLASHBACK' must be declared"), true},
		{oraErr(942, "table or view does not exist"), true},
		{oraErr(8187, "snapshot expression not allowed here"), true},
		{oraErr(1555, "snapshot too old"), false},
		{oraErr(3113, "eof"), false},
		{nil, false},
	} {
		if got := FlashbackDenied(tt.err); got != tt.want {
			t.Errorf("FlashbackDenied(%v) = %v", tt.err, got)
		}
	}
}

func TestKindString(t *testing.T) {
	if KindSnapshot.String() != "snapshot" || Kind(99).String() != "Kind(99)" {
		t.Fatal(KindSnapshot.String(), Kind(99).String())
	}
}
