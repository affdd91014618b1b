package jobs

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// ReplayIDBase separates the two numberings of a job's events. The events
// of a job run by this process (live, and replayed after it ended while the
// process lives) are numbered 1, 2, 3… in publish order, progress included,
// and keep their ids; a job known only from the store (run by an earlier
// process) is replayed with ids ReplayIDBase+1, ReplayIDBase+2… The store
// state of an ended job does not change, so those ids are stable too. Ids of
// different numberings (or jobs) are not comparable: a client resuming with
// an id of the other numbering gets the whole replay.
const ReplayIDBase int64 = 1 << 40

// subscriberBuffer is the channel capacity of one subscription. Beyond it,
// events wait in the subscription's queue, where progress is coalesced.
const subscriberBuffer = 32

// hub fans the events of one job out to its subscribers. Publishing never
// blocks on a subscriber: each has its own queue and goroutine.
type hub struct {
	mu     sync.Mutex
	nextID int64
	log    []Event          // every event but progress, in order
	latest map[string]Event // latest progress per table
	subs   map[*subscription]struct{}
	done   bool // complete was published
}

func newHub() *hub {
	return &hub{latest: map[string]Event{}, subs: map[*subscription]struct{}{}}
}

// publish numbers e and hands it to every subscriber.
func (h *hub) publish(e Event) Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return e
	}
	h.nextID++
	e.ID = h.nextID
	if e.Type == EventProgress {
		h.latest[e.Table] = e
	} else {
		h.log = append(h.log, e)
	}
	for s := range h.subs {
		s.push(e)
	}
	if e.Type == EventComplete {
		h.done = true
		clear(h.subs) // each ends by itself after delivering complete
	}
	return e
}

// replay is the current state: the non-progress events so far and the latest
// progress of each table, in ID order.
func (h *hub) replayLocked() []Event {
	out := make([]Event, 0, len(h.log)+len(h.latest))
	out = append(out, h.log...)
	for _, e := range h.latest {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// attach registers s after queueing the replay, atomically with respect to
// publish, so s sees every event exactly once.
func (h *hub) attach(s *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.replayLocked() {
		s.push(e)
	}
	if h.done {
		s.finite = true
		return
	}
	h.subs[s] = struct{}{}
}

func (h *hub) detach(s *subscription) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// subscription delivers events to out from its queue on its own goroutine.
// The queue holds at most one progress event per table (a newer one replaces
// it), so it stays small however slow the reader is; other events are never
// dropped.
type subscription struct {
	out    chan Event
	mu     sync.Mutex
	queue  []Event
	finite bool // close out once the queue is empty (no more events will come)
	wake   chan struct{}
	stop   chan struct{}
	once   sync.Once
	done   chan struct{}
}

func newSubscription() *subscription {
	return &subscription{
		out:  make(chan Event, subscriberBuffer),
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
}

func (s *subscription) push(e Event) {
	s.mu.Lock()
	if e.Type == EventProgress {
		for i, q := range s.queue {
			if q.Type == EventProgress && q.Table == e.Table {
				s.queue = append(s.queue[:i], s.queue[i+1:]...)
				break
			}
		}
	}
	s.queue = append(s.queue, e)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pump runs until complete is delivered, the queue of a finite subscription
// is drained, ctx ends, cancel is called or force is closed.
func (s *subscription) pump(ctx context.Context, force <-chan struct{}, exit func()) {
	defer close(s.done)
	defer close(s.out)
	defer exit()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			finite := s.finite
			s.mu.Unlock()
			if finite {
				return
			}
			select {
			case <-s.wake:
				continue
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			case <-force:
				return
			}
		}
		e := s.queue[0]
		s.queue[0] = Event{}
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.out <- e:
			if e.Type == EventComplete {
				return
			}
		case <-s.stop:
			return
		case <-ctx.Done():
			return
		case <-force:
			return
		}
	}
}

// cancel ends the subscription and waits for its goroutine.
func (s *subscription) cancel() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

// replayFromStore gives the events of a finished (or foreign) job as its
// stored state tells them: table_start, table_complete or error per table,
// then complete if the job has ended.
func replayFromStore(j Job) []Event {
	base := Event{TransportID: j.TransportID, JobID: j.ID, JobVersion: j.Version}
	var out []Event
	for _, te := range j.Tables {
		if te.StartedAt.IsZero() {
			continue
		}
		e := base
		e.Type, e.Time, e.Table, e.CurrentTable = EventTableStart, te.StartedAt, te.TableName, te.TableName
		out = append(out, e)
		if te.CompletedAt == nil {
			continue
		}
		e = base
		e.Time, e.Table = *te.CompletedAt, te.TableName
		switch te.Status {
		case StatusCompleted:
			e.Type = EventTableComplete
			e.RowsProcessed, e.TotalRows, e.BytesTransferred = te.RowCount, te.RowCount, te.BytesTransferred
			e.DurationSeconds = te.CompletedAt.Sub(te.StartedAt).Seconds()
			e.GCSPath, e.CRC32C, e.ProgressPercent = te.GCSPath, te.CRC32C, 100
		case StatusFailed:
			e.Type, e.ErrorCode = EventError, "table_failed"
			if te.Error != nil {
				e.Error = *te.Error
			}
		default:
			continue
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, k int) bool { return out[i].Time.Before(out[k].Time) })
	if j.Status == StatusCompleted || j.Status == StatusFailed {
		e := base
		e.Type, e.Status = EventComplete, j.Status
		e.Time = j.StartedAt
		if j.CompletedAt != nil {
			e.Time = *j.CompletedAt
			e.TotalDurationSeconds = j.CompletedAt.Sub(j.StartedAt).Seconds()
		}
		e.TotalRows, e.RowsProcessed, e.BytesTransferred = j.TotalRows, j.TotalRows, j.BytesTransferred
		if j.Status == StatusCompleted {
			e.ProgressPercent = 100
		}
		if j.Error != nil {
			e.Error = *j.Error
		}
		out = append(out, e)
	}
	for i := range out {
		out[i].ID = ReplayIDBase + int64(i+1)
	}
	return out
}

// endedHub is the hub of the last job of a transport this process ran.
type endedHub struct {
	jobID string
	hub   *hub
}

// keepHub keeps r's hub after r ended, so a subscriber reconnecting after the
// end gets the events with the ids it saw live (one hub per transport: the
// last job's non-progress events and the latest progress of each table).
// Called with m.mu held.
func (m *Manager) keepHub(r *run) {
	if m.ended == nil {
		m.ended = map[string]endedHub{}
	}
	m.ended[r.job.TransportID] = endedHub{jobID: r.job.ID, hub: r.hub}
}

// attachEnded subscribes s to the kept hub of job jobID of the transport, if
// this process ran it. Its replay ends with complete (or, if complete is
// about to be published, s receives it live).
func (m *Manager) attachEnded(ctx context.Context, s *subscription, transportID, jobID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subsOff {
		return false, fmt.Errorf("jobs: subscribe %s: %w", transportID, ErrShutdown)
	}
	e, ok := m.ended[transportID]
	if !ok || e.jobID != jobID {
		return false, nil
	}
	e.hub.attach(s)
	m.subWG.Add(1)
	go s.pump(ctx, m.forceSubs, func() { e.hub.detach(s); m.subWG.Done() })
	return true, nil
}

// rateWindow computes a rate over a sliding window of samples.
type rateWindow struct {
	span    time.Duration
	samples []rateSample
}

type rateSample struct {
	t time.Time
	v int64
}

// add records v at t and returns the rate per second since the oldest
// sample not older than the window (keeping one just older as its base).
func (w *rateWindow) add(t time.Time, v int64) float64 {
	if n := len(w.samples); n > 0 && v < w.samples[n-1].v {
		w.samples = w.samples[:0] // the count restarted (a retried table)
	}
	w.samples = append(w.samples, rateSample{t, v})
	cut := 0
	for cut+1 < len(w.samples) && t.Sub(w.samples[cut+1].t) >= w.span {
		cut++
	}
	if cut > 0 {
		w.samples = append(w.samples[:0], w.samples[cut:]...)
	}
	first := w.samples[0]
	dt := t.Sub(first.t).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(v-first.v) / dt
}
