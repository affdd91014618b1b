package pipeline

import (
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// countingWriter counts and checksums what passes to w.
type countingWriter struct {
	w   io.Writer
	crc hash.Hash32
	n   atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc.Write(p[:n])
	c.n.Add(int64(n))
	return n, err
}

// notifier hands Progress to an observer on its own goroutine, summing
// whatever arrives while the observer is busy, so the writer never waits.
type notifier struct {
	fn      func(Progress)
	mu      sync.Mutex
	pending Progress
	has     bool
	wake    chan struct{}
	done    chan struct{}
}

func newNotifier(fn func(Progress)) *notifier {
	n := &notifier{fn: fn}
	if fn == nil {
		return n
	}
	n.wake = make(chan struct{}, 1)
	n.done = make(chan struct{})
	go n.loop()
	return n
}

func (n *notifier) add(p Progress) {
	if n.fn == nil {
		return
	}
	n.mu.Lock()
	n.pending.add(p)
	n.has = true
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) loop() {
	defer close(n.done)
	for range n.wake {
		n.flush()
	}
	n.flush()
}

func (n *notifier) flush() {
	n.mu.Lock()
	p, has := n.pending, n.has
	n.pending, n.has = Progress{}, false
	n.mu.Unlock()
	if has {
		n.fn(p)
	}
}

// stop delivers what is pending and waits for the observer goroutine.
func (n *notifier) stop() {
	if n.fn == nil {
		return
	}
	close(n.wake)
	<-n.done
}
