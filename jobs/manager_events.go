package jobs

import (
	"context"
	"errors"
	"fmt"
)

// A job's events for subscribers (the server's SSE stream).

// Subscribe streams the events of the transport's current or last job; see
// Service. A transport without a job gives an error wrapping ErrNotFound.
func (m *Manager) Subscribe(ctx context.Context, transportID string) (<-chan Event, func(), error) {
	s := newSubscription()
	if ok, err := m.attachRunning(ctx, s, transportID, ""); err != nil {
		return nil, nil, err
	} else if ok {
		return s.out, s.cancel, nil
	}
	// Not running here: the store has the final state (FinishJob happens
	// before the run is cleared).
	j, err := m.store.LastJob(ctx, transportID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			if _, terr := m.store.GetTransport(ctx, transportID); terr != nil {
				return nil, nil, terr
			}
		}
		return nil, nil, err
	}
	if j.Status == StatusRunning {
		// It started since we looked; or another process runs it, then the
		// stream ends after the state stored so far.
		if ok, err := m.attachRunning(ctx, s, transportID, j.ID); err != nil {
			return nil, nil, err
		} else if ok {
			return s.out, s.cancel, nil
		}
	}
	if ok, err := m.attachEnded(ctx, s, transportID, j.ID); err != nil {
		return nil, nil, err
	} else if ok {
		return s.out, s.cancel, nil
	}
	for _, e := range replayFromStore(j) {
		s.push(e)
	}
	s.finite = true
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subsOff {
		return nil, nil, fmt.Errorf("jobs: subscribe %s: %w", transportID, ErrShutdown)
	}
	m.subWG.Add(1)
	go s.pump(ctx, m.forceSubs, m.subWG.Done)
	return s.out, s.cancel, nil
}

// attachRunning subscribes s to the running job if it belongs to the
// transport (and is job jobID, when given).
func (m *Manager) attachRunning(ctx context.Context, s *subscription, transportID, jobID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subsOff {
		return false, fmt.Errorf("jobs: subscribe %s: %w", transportID, ErrShutdown)
	}
	r := m.running
	if r == nil || r.job.TransportID != transportID || (jobID != "" && r.job.ID != jobID) {
		return false, nil
	}
	r.hub.attach(s)
	m.subWG.Add(1)
	go s.pump(ctx, m.forceSubs, func() { r.hub.detach(s); m.subWG.Done() })
	return true, nil
}
