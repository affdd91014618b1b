package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// ErrTransportClaimed is wrapped by the error of a job whose transport's
// folder {trpid}/ in the target belongs to a different transport: another
// state database gave the same id (TRP-YYYYMMDD-NNN is a per-database
// sequence) to a transport of other tables and writes to the same bucket.
// Writing there would mix two transports' versions under one prefix and let
// one's retention delete the other's data, so the job is refused. 409.
var ErrTransportClaimed = errors.New("transport id used by another transport in the target")

// claimMarker is the prefix of the object that claims {trpid}/ in a target
// for one transport: {trpid}/_transport-{identity}.json.
const claimMarker = "_transport-"

// claimIdentity names what a transport exports, independently of the state
// database that holds it: the exact identities of its tables, in order.
// Two state databases with a transport of the same id and the same tables
// (the CLI's TRP-LOCAL ids from several data directories) share the folder,
// as they always could; the same id over other tables is another transport.
func claimIdentity(t Transport) string {
	h := sha256.New()
	for i, name := range t.Tables {
		key := name
		if len(t.TableRefs) == len(t.Tables) && t.TableRefs[i].Name != "" {
			key = t.TableRefs[i].Exact()
		}
		h.Write([]byte(key))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func claimName(t Transport) string { return t.ID + "/" + claimMarker + claimIdentity(t) + ".json" }

// claimRecord is the content of a claim marker: for people reading the
// bucket; only the object's name is compared.
type claimRecord struct {
	Format      string    `json:"format"`
	TransportID string    `json:"transport_id"`
	Name        string    `json:"name"`
	Tables      []string  `json:"tables"`
	ClaimedAt   time.Time `json:"claimed_at"`
}

// claimTransport makes sure {trpid}/ of the target is t's: it fails with
// ErrTransportClaimed when a marker of another identity is there, else it
// commits t's marker if missing (never replacing one) and lists again, so
// two state databases racing to claim the same id both see each other and
// both fail loudly instead of writing side by side. A target that cannot
// list is not claimed. A marker removed by the bucket's lifecycle rules (it
// ages like every object below the prefix) is written again by the next job.
func (m *Manager) claimTransport(ctx context.Context, sink pipeline.Sink, t Transport) error {
	l, ok := sink.(pipeline.Lister)
	if !ok {
		return nil
	}
	mine := claimName(t)
	present, err := claimCheck(ctx, l, t, mine)
	if err != nil || present {
		return err
	}
	rec := claimRecord{Format: "ora2gcs-transport-claim/1", TransportID: t.ID, Name: t.Name, Tables: t.Tables, ClaimedAt: m.now()}
	if _, err := writeJSON(ctx, sink, mine, rec); err != nil && !errors.Is(err, pipeline.ErrObjectExists) {
		return fmt.Errorf("jobs: target %s: claim %s/: %v: %w", t.TargetBucket, t.ID, err, ErrTargetUnavailable)
	}
	_, err = claimCheck(ctx, l, t, mine)
	return err
}

// claimCheck lists the markers below {trpid}/: an error wrapping
// ErrTransportClaimed if another identity's is there, else whether mine is.
func claimCheck(ctx context.Context, l pipeline.Lister, t Transport, mine string) (bool, error) {
	names, err := l.List(ctx, t.ID+"/")
	if err != nil {
		return false, fmt.Errorf("jobs: target %s: list %s/: %v: %w", t.TargetBucket, t.ID, err, ErrTargetUnavailable)
	}
	present := false
	var foreign []string
	for _, n := range names {
		base := strings.TrimPrefix(n, t.ID+"/")
		switch {
		case n == mine:
			present = true
		case strings.HasPrefix(base, claimMarker) && strings.HasSuffix(base, ".json"):
			foreign = append(foreign, n)
		}
	}
	if len(foreign) > 0 {
		slices.Sort(foreign)
		return present, fmt.Errorf("jobs: transport %s: the folder %s/ of target %s belongs to another transport with other tables (%s): "+
			"another state database gave its transport the same id; create this transport again (it gets a new id) or use another bucket: %w",
			t.ID, t.ID, t.TargetBucket, strings.Join(foreign, ", "), ErrTransportClaimed)
	}
	return present, nil
}

// usedTransportIDs returns the top-level names of the target that are
// transport folders, so a generated id avoids the ids other state databases
// use there. Best effort: a target that cannot be listed now yields none
// (the claim at the first job still refuses a shared folder).
func (m *Manager) usedTransportIDs(ctx context.Context, bucket string) map[string]bool {
	sink, err := m.cfg.Sinks(bucket)
	if err != nil {
		return nil
	}
	l, ok := sink.(pipeline.Lister)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	names, err := l.List(ctx, "")
	if err != nil {
		m.log.Warn("transport ids in the target not listed; a clash with another state database is caught at the first job",
			"bucket", bucket, "error", err)
		return nil
	}
	used := make(map[string]bool)
	for _, n := range names {
		if id, ok := strings.CutSuffix(n, "/"); ok && strings.HasPrefix(id, "TRP-") {
			used[id] = true
		}
	}
	return used
}
