package oracle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
)

// scnSnapshot is one SCN every table of a job is read AS OF. Tables whose
// AS OF read was refused (no FLASHBACK privilege on them, ORA-01031, or AS
// OF not allowed on them, ORA-08187) are read in a READ ONLY transaction
// instead, listed in the Note and reported by TableConsistency.
type scnSnapshot struct {
	scn      string
	mu       sync.Mutex
	readOnly []string                             // in the order they fell back; guarded by mu
	tables   map[string]pipeline.TableConsistency // by OWNER.NAME, once opened; guarded by mu
	unsplit  [][2]string                          // table, why it was read as one range; guarded by mu
}

func newSCNSnapshot(scn string) *scnSnapshot {
	return &scnSnapshot{scn: scn, tables: map[string]pipeline.TableConsistency{}}
}

// Info is kind "scn" with the SCN; when some tables fell back to READ ONLY
// transactions, or could not be split into ranges, the Note names them and
// says why (read it at the end of the job).
func (s *scnSnapshot) Info() pipeline.SnapshotInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := SCNInfo(s.scn)
	var notes []string
	if len(s.readOnly) > 0 {
		named := make([]string, len(s.readOnly))
		var codes []string
		for i, t := range s.readOnly {
			c := s.tables[t].Code
			named[i] = t + " (" + c + ")"
			if !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
		}
		note := fmt.Sprintf("%s were read in READ ONLY transactions, not AS OF SCN %s: each is consistent in itself but from a moment of its own",
			strings.Join(named, ", "), s.scn)
		for _, c := range codes {
			switch c {
			case "ORA-01031":
				note += "; ORA-01031: the user lacks FLASHBACK on the table (GRANT FLASHBACK ON each table, or FLASHBACK ANY TABLE, for one consistent point in time)"
			case "ORA-08187":
				note += "; ORA-08187: Oracle allows no AS OF on the object"
			}
		}
		notes = append(notes, note)
	}
	for _, u := range s.unsplit {
		notes = append(notes, fmt.Sprintf("%s was read as one range, not in parallel: %s", u[0], u[1]))
	}
	info.Note = strings.Join(notes, "; ")
	return info
}

// TableConsistency is as_of_scn for a table opened AS OF the SCN, and
// read_only_transaction (with the reason and the ORA code) for one that
// fell back; false for a table not opened with this snapshot.
func (s *scnSnapshot) TableConsistency(t pipeline.TableInfo) (pipeline.TableConsistency, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.tables[t.Schema+"."+t.Name]
	return c, ok
}

// readAsOf records that table was opened AS OF the SCN, unless it fell
// back before: one read outside the SCN makes the table's output not of it.
func (s *scnSnapshot) readAsOf(table string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tables[table]; !ok {
		s.tables[table] = pipeline.TableConsistency{Mode: pipeline.ConsistencyAsOfSCN, ID: s.scn, AtSnapshot: true}
	}
}

// notSplit records that table is read as one range, and why.
func (s *scnSnapshot) notSplit(table, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.unsplit {
		if u[0] == table {
			return
		}
	}
	s.unsplit = append(s.unsplit, [2]string{table, why})
}

// fellBack records that table is read in a READ ONLY transaction because
// reading it AS OF the SCN failed with cause.
func (s *scnSnapshot) fellBack(table string, cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.tables[table]; !ok || c.AtSnapshot {
		s.tables[table] = readOnlyConsistency(fmt.Sprintf("not read AS OF SCN %s: %s", s.scn, asOfDeniedReason(cause)), cause)
	}
	for _, t := range s.readOnly {
		if t == table {
			return
		}
	}
	s.readOnly = append(s.readOnly, table)
}

func (s *scnSnapshot) Close() error { return nil }

// asOfDeniedReason says why Oracle refused an AS OF SCN read (see
// asOfDenied).
func asOfDeniedReason(err error) string {
	switch Code(err) {
	case 8187:
		return "Oracle does not allow AS OF on this object (ORA-08187: snapshot expression not allowed here)"
	}
	return "the user lacks FLASHBACK on the table (ORA-01031: GRANT FLASHBACK ON the table, or FLASHBACK ANY TABLE, " +
		"for one consistent point in time)"
}

// readOnlyConsistency is a table read in its own READ ONLY transaction.
func readOnlyConsistency(reason string, cause error) pipeline.TableConsistency {
	c := pipeline.TableConsistency{Mode: pipeline.ConsistencyReadOnlyTransaction, Reason: reason}
	if n := Code(cause); n != 0 {
		c.Code = fmt.Sprintf("ORA-%05d", n)
	}
	return c
}

// readOnlySnapshot: no SCN could be captured, every table is read in its
// own READ ONLY transaction.
type readOnlySnapshot struct {
	info  pipeline.SnapshotInfo
	cause error
}

func (s readOnlySnapshot) Info() pipeline.SnapshotInfo { return s.info }
func (s readOnlySnapshot) Close() error                { return nil }

// TableConsistency is read_only_transaction for every table: without an
// SCN each table is read at a moment of its own.
func (s readOnlySnapshot) TableConsistency(pipeline.TableInfo) (pipeline.TableConsistency, bool) {
	return readOnlyConsistency("the job has no SCN: the user may neither capture one (EXECUTE on DBMS_FLASHBACK, "+
		"or SELECT on V$DATABASE) nor, then, read AS OF it; each table is consistent in itself but tables may be from different moments", s.cause), true
}

var errNoSCN = errors.New("no SCN")

// SCNInfo is the SnapshotInfo of a job read AS OF scn.
func SCNInfo(scn string) pipeline.SnapshotInfo {
	return pipeline.SnapshotInfo{Kind: "scn", ID: scn}
}

// ReadOnlyInfo is the SnapshotInfo of a job that fell back to per-table
// READ ONLY transactions; cause (may be nil) is why.
func ReadOnlyInfo(cause error) pipeline.SnapshotInfo {
	note := ReadOnlyNote
	if c := Code(cause); c != 0 {
		note = fmt.Sprintf("%s (ORA-%05d)", note, c)
	}
	return pipeline.SnapshotInfo{Kind: "read_only", Note: note}
}

// captureSCN returns the current SCN from DBMS_FLASHBACK or V$DATABASE; an
// error wrapping errNoSCN when the user may use neither.
func captureSCN(ctx context.Context, db *sql.DB) (string, error) {
	var scn string
	err := db.QueryRowContext(ctx, SCNSQL).Scan(&scn)
	if err == nil {
		return scn, nil
	}
	if !flashbackDenied(err) {
		return "", err
	}
	err2 := db.QueryRowContext(ctx, SCNFallbackSQL).Scan(&scn)
	switch {
	case err2 == nil:
		return scn, nil
	case flashbackDenied(err2):
		return "", fmt.Errorf("%w: %w", errNoSCN, err2)
	}
	return "", err2
}

// Snapshot captures the job's SCN (DBMS_FLASHBACK.GET_SYSTEM_CHANGE_NUMBER,
// else V$DATABASE.CURRENT_SCN). When the user may read neither, the job
// falls back to one READ ONLY transaction per table and the snapshot's
// kind is "read_only" with a Note saying so.
func (dialect) Snapshot(ctx context.Context, db *sql.DB) (pipeline.Snapshot, error) {
	scn, err := captureSCN(ctx, db)
	if errors.Is(err, errNoSCN) {
		return readOnlySnapshot{info: ReadOnlyInfo(err), cause: err}, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := AsOfClause(scn); err != nil {
		return nil, fmt.Errorf("capture SCN: %w", err)
	}
	return newSCNSnapshot(scn), nil
}

// ReadSetup reads AS OF SCN for kind "scn" and in a READ ONLY transaction
// for kind "read_only"; nil reads the current state (one statement is
// consistent in itself).
func (dialect) ReadSetup(snap pipeline.Snapshot) (sqlsource.ReadSetup, error) {
	if snap == nil {
		return sqlsource.ReadSetup{}, nil
	}
	switch info := snap.Info(); info.Kind {
	case "scn":
		asOf, err := AsOfClause(info.ID)
		if err != nil {
			return sqlsource.ReadSetup{}, err
		}
		return sqlsource.ReadSetup{AsOf: asOf}, nil
	case "read_only":
		return sqlsource.ReadSetup{Tx: &sql.TxOptions{ReadOnly: true}}, nil
	default:
		return sqlsource.ReadSetup{}, fmt.Errorf("snapshot of kind %q is not an Oracle snapshot", info.Kind)
	}
}

// asOfDenied: the user may not read this table AS OF an SCN.
func asOfDenied(err error) bool {
	switch Code(err) {
	case 1031, 8187:
		return true
	}
	return false
}
