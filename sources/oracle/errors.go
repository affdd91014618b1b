package oracle

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/godror/godror"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// InstallDocs is where the README explains installing Oracle Instant Client.
const InstallDocs = "README.md#installing-oracle-instant-client"

// Kind classifies a translated Oracle error by what the user (or the retry
// loop) should do about it.
type Kind int

const (
	// KindOther is an error without a specific translation; it is permanent.
	KindOther Kind = iota
	// KindClient: the Oracle Instant Client is missing or unusable (DPI-1047…).
	KindClient
	// KindConfig: wallet, TNS alias, service name or credentials are wrong.
	KindConfig
	// KindSnapshot: the job's SCN can no longer be read (ORA-01555, ORA-08180,
	// ORA-01466). Retrying the same SCN does not help; the hint says what does.
	KindSnapshot
	// KindTransient: the connection was lost or the database is briefly
	// unavailable; the table is retried from the start.
	KindTransient
	// KindPermission: the user lacks a privilege (ORA-01031, ORA-00942…).
	KindPermission
	// KindInvalid: the statement does not fit the table (ORA-00904…).
	KindInvalid
)

var kindNames = [...]string{"other", "client", "config", "snapshot", "transient", "permission", "invalid"}

func (k Kind) String() string {
	if int(k) >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is an Oracle error translated for the user: what went wrong, what to
// do, and the driver's error underneath (for errors.Is/As). Transient reports
// KindTransient, so pipeline.IsTransient retries exactly those.
type Error struct {
	Kind Kind
	Code int    // ORA-NNNNN code, 0 when there is none (DPI errors, resets)
	DPI  int    // DPI-NNNN code of ODPI-C, 0 when there is none
	Hint string // what went wrong and what to do, in one sentence
	Err  error
}

// Error is the hint and the driver's message. It has no package prefix:
// the boundary that returns it adds "oracle: " (sqlsource does for reads).
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Hint
	}
	return e.Hint + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether retrying the table from the start may succeed.
func (e *Error) Transient() bool { return e.Kind == KindTransient }

var (
	oraRE = regexp.MustCompile(`ORA-(\d{5})`)
	dpiRE = regexp.MustCompile(`DPI-(\d{4})`)
)

// Code returns the ORA-NNNNN code of err: from godror's *OraErr when there
// is one, else the first non-zero "ORA-NNNNN" in the message; 0 if none.
func Code(err error) int {
	if err == nil {
		return 0
	}
	if oe, ok := godror.AsOraErr(err); ok && oe.Code() != 0 {
		return oe.Code()
	}
	for _, m := range oraRE.FindAllStringSubmatch(err.Error(), -1) {
		if n, _ := strconv.Atoi(m[1]); n != 0 {
			return n
		}
	}
	return 0
}

// DPICode returns the DPI-NNNN code of ODPI-C in err's message, or 0.
func DPICode(err error) int {
	if err == nil {
		return 0
	}
	if m := dpiRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// transientCodes are lost connections and briefly unavailable databases.
var transientCodes = map[int]string{
	28:    "the session was killed",
	1012:  "the session is not logged on",
	1033:  "the database is starting up or shutting down",
	1034:  "the database is not available",
	1089:  "the database is shutting down",
	1092:  "the instance terminated",
	3113:  "the connection was lost (end-of-file on communication channel)",
	3114:  "the connection was lost (not connected)",
	3135:  "the connection was lost",
	12170: "the connection timed out",
	12516: "the listener had no free handler",
	12519: "the listener had no free handler",
	12520: "the listener had no free handler",
	12528: "the listener is blocking new connections",
	12537: "the connection was closed",
	12541: "no listener answered",
	12547: "contact with the database was lost",
	12571: "the connection failed while sending",
	25408: "the call could not be safely replayed after a lost connection",
}

// transientDPI are ODPI-C errors meaning the session is gone.
var transientDPI = map[int]string{
	1010: "the connection is closed",
	1067: "the call timed out",
	1080: "the connection was closed by the database",
}

// Translate turns a driver error into an *Error that says what to do, or
// returns err unchanged when it is nil, a context error, io.EOF itself (the
// end-of-input sentinel) or already translated. Transient errors (lost
// connections, ORA-03113/03114/03135/12170…) report Transient() == true;
// everything else is permanent. what names the operation for the hint
// ("read SCOTT.EMP"); it may be empty.
func Translate(err error, what string) error {
	if err == nil || err == io.EOF || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	code, dpi := Code(err), DPICode(err)
	mk := func(k Kind, hint string) error {
		if what != "" {
			hint = what + ": " + hint
		}
		return &Error{Kind: k, Code: code, DPI: dpi, Hint: hint, Err: err}
	}
	switch dpi {
	case 1047:
		return mk(KindClient, "the Oracle Instant Client library (libclntsh.so) was not found: install Oracle Instant Client 19 "+
			"(basic or basiclite; it reaches Oracle 11.2 to 23, while clients 21 and 23 cannot connect to an 11.2 source), "+
			"then register its folder with ldconfig or set LD_LIBRARY_PATH to it; see "+InstallDocs)
	case 1050, 1072:
		return mk(KindClient, "the installed Oracle Client is too old for this program: install Oracle Instant Client 19; see "+InstallDocs)
	}
	if h, ok := transientDPI[dpi]; ok {
		return mk(KindTransient, h)
	}
	switch code {
	case 1555:
		return mk(KindSnapshot, "snapshot too old (ORA-01555): the undo data for the job's SCN was overwritten before the read ended; "+
			"every table is read as of the job's start, so the job's whole duration counts: ask the DBA to raise UNDO_RETENTION "+
			"(and size the undo tablespace for it, or set RETENTION GUARANTEE) above the job's duration, and make the job finish sooner: "+
			"raise table_parallelism (more, smaller ranges read at once) and parallel_tables, or run it off-hours when less undo is written")
	case 8180, 8181:
		return mk(KindSnapshot, fmt.Sprintf("no snapshot found for the job's SCN (ORA-%05d): the SCN is older than the undo kept; "+
			"raise UNDO_RETENTION above the job's duration, and make the job finish sooner: raise table_parallelism and parallel_tables, "+
			"or run it off-hours", code))
	case 1466:
		return mk(KindSnapshot, "the table's definition changed after the job's SCN (ORA-01466: DDL, TRUNCATE or a move ran during the job); "+
			"run the job again when no DDL runs on the table, e.g. off-hours")
	case 22924:
		return mk(KindSnapshot, "LOB snapshot too old (ORA-22924): the undo of a LOB column (its PCTVERSION or RETENTION) no longer holds "+
			"the LOB versions of the job's SCN; ask the DBA to raise the LOB's RETENTION (ALTER TABLE … MODIFY LOB (col) (RETENTION)) "+
			"or PCTVERSION, and UNDO_RETENTION, above the job's duration, and make the job finish sooner: raise table_parallelism "+
			"and parallel_tables, or run it off-hours")
	case 1805:
		return mk(KindConfig, "a TIMESTAMP WITH TIME ZONE value names a time-zone region that the Oracle Client's time-zone file "+
			"does not know as the database does (ORA-01805: the client's and the database's time-zone files differ): "+
			"use an Instant Client whose time-zone file version is the database's (SELECT VERSION FROM V$TIMEZONE_FILE; "+
			"the client's shows in genezi -v), or copy the database's timezlrg_<version>.dat into the client's "+
			"oracore/zoneinfo folder and set ORA_TZFILE to it; meanwhile ora2gcs reads such a table's time-zone columns "+
			"as text formatted by the database (TO_CHAR … TZH:TZM), which needs no client file")
	case 942:
		return mk(KindPermission, "table or view does not exist, or the user may not read it (ORA-00942): "+
			"check the name and GRANT SELECT ON owner.table TO the user")
	case 1031:
		return mk(KindPermission, "insufficient privileges (ORA-01031): the user needs SELECT on the table, "+
			"and FLASHBACK on it (or FLASHBACK ANY TABLE) for consistent AS OF SCN reads")
	case 1039:
		return mk(KindPermission, "insufficient privileges on the objects under a view (ORA-01039): GRANT SELECT on them")
	case 904:
		return mk(KindInvalid, "unknown column (ORA-00904): the table changed after it was described; describe it again")
	case 1017:
		return mk(KindConfig, "invalid user name or password (ORA-01017): check ORACLE_USER / the URL's user and "+EnvPassword)
	case 28000:
		return mk(KindConfig, "the account is locked (ORA-28000): ask the DBA to unlock it")
	case 28001:
		return mk(KindConfig, "the password has expired (ORA-28001): change it, then update "+EnvPassword)
	case 12154:
		return mk(KindConfig, "the TNS name could not be resolved (ORA-12154): use an alias of the wallet's tnsnames.ora (e.g. db_high) in "+
			EnvTNSName+" and point "+EnvWalletPath+" at the unzipped wallet folder")
	case 12263:
		return mk(KindConfig, "tnsnames.ora could not be read in the configured folder (ORA-12263): point "+EnvWalletPath+" at the unzipped wallet folder")
	case 12514, 12505:
		return mk(KindConfig, fmt.Sprintf("the listener does not know this service (ORA-%05d): check the service name in the source URL", code))
	case 28759:
		return mk(KindConfig, "the wallet could not be opened (ORA-28759): check that "+EnvWalletPath+
			" holds cwallet.sso and that sqlnet.ora's WALLET_LOCATION DIRECTORY names that folder")
	case 29024, 29002, 29003, 28860, 29039, 29040:
		return mk(KindConfig, fmt.Sprintf("the TLS handshake with the database failed (ORA-%05d): download a fresh wallet for this database "+
			"(a wallet belongs to one database), unzip it into "+EnvWalletPath+" and check the machine's clock", code))
	case 28040, 3134:
		return mk(KindConfig, fmt.Sprintf("the Oracle Client and the database share no protocol version (ORA-%05d): "+
			"for an 11.2 database install Oracle Instant Client 19 (clients 21 and 23 cannot connect to it); see "+InstallDocs, code))
	}
	if h, ok := transientCodes[code]; ok {
		return mk(KindTransient, fmt.Sprintf("%s (ORA-%05d)", h, code))
	}
	if code == 0 && isConnLoss(err) {
		return mk(KindTransient, "the connection was lost")
	}
	return mk(KindOther, "database error")
}

// isConnLoss reports lost connections below the Oracle protocol.
func isConnLoss(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	s := strings.ToLower(err.Error())
	for _, frag := range []string{"connection reset", "broken pipe", "bad connection", "unexpected eof"} {
		if strings.Contains(s, frag) {
			return true
		}
	}
	return false
}

// IsTransient reports whether err, translated, is worth a retry.
func IsTransient(err error) bool { return pipeline.IsTransient(Translate(err, "")) }

// KindOf returns the Kind of err after translation (KindOther for nil).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(Translate(err, ""), &e) {
		return e.Kind
	}
	return KindOther
}

// FlashbackDenied reports errors that mean the job cannot capture an SCN
// or read AS OF one, so it falls back to per-table READ ONLY transactions
// (see ReadOnlyNote).
func FlashbackDenied(err error) bool { return err != nil && flashbackDenied(err) }

// flashbackDenied reports errors meaning the user may not read AS OF SCN or
// capture an SCN, so the job falls back to read-only transactions:
// ORA-01031 (no FLASHBACK privilege on the table), ORA-00904 / ORA-06550 /
// PLS-00201 (no EXECUTE on DBMS_FLASHBACK), ORA-00942 (no SELECT on
// V$DATABASE), ORA-08187 (AS OF not allowed on this object).
func flashbackDenied(err error) bool {
	switch Code(err) {
	case 1031, 904, 6550, 942, 8187:
		return true
	}
	return strings.Contains(err.Error(), "PLS-00201")
}
