package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ora2gcs/ora2gcs/internal/sqlsource"
	"github.com/ora2gcs/ora2gcs/pipeline"
	"github.com/ora2gcs/ora2gcs/sources/postgres"
	"github.com/ora2gcs/ora2gcs/sources/postgres/pgtest"
)

// stallSchema creates a schema of its own with table t (1000 rows) and
// drops it at the end.
func stallSchema(t *testing.T) string {
	t.Helper()
	db := admin(t)
	schema := fmt.Sprintf("stall_%d", rand.Uint32())
	exec(t, db, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { exec(t, db, `DROP SCHEMA `+schema+` CASCADE`) })
	exec(t, db, `CREATE TABLE `+schema+`.t AS SELECT g AS id FROM generate_series(1, 1000) g`)
	return schema
}

// TestReaderStallUnderLock: a table another session holds ACCESS
// EXCLUSIVE makes every reader wait for the lock; with FetchTimeout the
// read fails with a transient error wrapping sqlsource.ErrStalled (instead
// of waiting as long as the lock is held), and the connection is usable
// again afterwards.
func TestReaderStallUnderLock(t *testing.T) {
	schema := stallSchema(t)
	for _, m := range readModes {
		t.Run(m.name, func(t *testing.T) {
			opts := m.opts
			opts.FetchTimeout = 300 * time.Millisecond
			c := open(t, opts)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // only a guard against a hang
			defer cancel()
			info, err := c.Describe(ctx, schema+".t")
			if err != nil {
				t.Fatal(err)
			}
			holder, err := admin(t).Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Close()
			if _, err := holder.ExecContext(ctx, `BEGIN; LOCK TABLE `+schema+`.t IN ACCESS EXCLUSIVE MODE`); err != nil {
				t.Fatal(err)
			}
			src, err := c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: 100, Raw: m.raw})
			if err == nil {
				_, err = src.Next(ctx)
				src.Close()
			}
			if err == nil || !errors.Is(err, sqlsource.ErrStalled) || !pipeline.IsTransient(err) {
				t.Fatalf("read under a held lock: %v, want a transient error wrapping ErrStalled", err)
			}
			t.Logf("error: %v", err)
			if ctx.Err() != nil {
				t.Fatal("the guard expired: the watchdog did not end the read")
			}
			if _, err := holder.ExecContext(ctx, `ROLLBACK`); err != nil {
				t.Fatal(err)
			}
			// with the lock gone the same connector reads the table whole
			_, rows, _ := readAll(t, c, schema+".t", nil, pipeline.ReadOptions{BatchRows: 100, Raw: m.raw})
			if len(rows) != 1000 {
				t.Fatalf("after the stall: %d rows, want 1000", len(rows))
			}
		})
	}
}

// TestReaderSlowConsumerIsNoStall: time the consumer spends between Next
// calls is not a stall of the source.
func TestReaderSlowConsumerIsNoStall(t *testing.T) {
	schema := stallSchema(t)
	for _, m := range readModes {
		t.Run(m.name, func(t *testing.T) {
			opts := m.opts
			opts.FetchTimeout = 200 * time.Millisecond
			c := open(t, opts)
			ctx := context.Background()
			info, err := c.Describe(ctx, schema+".t")
			if err != nil {
				t.Fatal(err)
			}
			src, err := c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: 400, Raw: m.raw})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if _, ok := src.(pipeline.RawSource); ok != m.raw {
				t.Fatalf("reader is a RawSource: %v, want %v", ok, m.raw)
			}
			n := 0
			for {
				b, err := src.Next(ctx)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n += b.Len()
				if b.Release != nil {
					b.Release()
				}
				time.Sleep(300 * time.Millisecond) // a slow sink
			}
			if n != 1000 {
				t.Fatalf("%d rows, want 1000", n)
			}
		})
	}
}

// stallProxy forwards TCP to target until stall is set; from then on it
// forwards nothing in either direction (the connections stay open), like a
// server that accepts but never answers.
type stallProxy struct {
	ln     net.Listener
	addr   string
	stall  atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
	once   sync.Once
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, addr: ln.Addr().String()}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.closed { // accepted while closing
				p.mu.Unlock()
				c.Close()
				u.Close()
				return
			}
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(c, u)
			go p.pipe(u, c)
		}
	}()
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if p.stall.Load() {
			continue // swallow: nothing reaches the other side
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *stallProxy) close() { p.once.Do(p.shut) }

func (p *stallProxy) shut() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// proxiedDSN points the test DSN at addr.
func proxiedDSN(t *testing.T, addr string) (dsn, target string) {
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil || u.Host == "" {
		t.Skipf("the test DSN is not a URL with a host: cannot put a proxy in front of it")
	}
	target = u.Host
	if u.Port() == "" {
		target += ":5432"
	}
	u.Host = addr
	return u.String(), target
}

// TestSnapshotTimeout: a server that stops answering after the connection
// is set up makes Snapshot fail with ErrSnapshotTimeout within
// SnapshotTimeout instead of hanging the job.
func TestSnapshotTimeout(t *testing.T) {
	_, target := proxiedDSN(t, "")
	p := newStallProxy(t, target)
	dsn, _ := proxiedDSN(t, p.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // guard
	defer cancel()
	c, err := postgres.Open(ctx, dsn, postgres.Options{MaxOpen: 2, MinIdle: 1, SnapshotTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p.stall.Store(true)
	snap, err := c.Snapshot(ctx)
	if err == nil {
		snap.Close()
		t.Fatal("snapshot through a stalled server succeeded")
	}
	if !errors.Is(err, sqlsource.ErrSnapshotTimeout) {
		t.Fatalf("snapshot: %v, want ErrSnapshotTimeout", err)
	}
	t.Logf("error: %v", err)
	if ctx.Err() != nil {
		t.Fatal("the guard expired: Snapshot did not give up")
	}
	p.close() // the server "comes back" as gone: the pool closes at once
}

// TestReaderStallThroughProxy: the connection goes silent after the
// reader is set up (the server or the network path hangs mid-read).
func TestReaderStallThroughProxy(t *testing.T) {
	schema := stallSchema(t)
	_, target := proxiedDSN(t, "")
	for _, m := range readModes {
		t.Run(m.name, func(t *testing.T) {
			p := newStallProxy(t, target)
			dsn, _ := proxiedDSN(t, p.addr)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // guard
			defer cancel()
			opts := m.opts
			opts.MaxOpen, opts.MinIdle, opts.FetchTimeout = 2, 1, 300*time.Millisecond
			c, err := postgres.Open(ctx, dsn, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			info, err := c.Describe(ctx, schema+".t")
			if err != nil {
				t.Fatal(err)
			}
			p.stall.Store(true)
			src, err := c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: 100, Raw: m.raw})
			if err == nil {
				_, err = src.Next(ctx)
				src.Close()
			}
			if !errors.Is(err, sqlsource.ErrStalled) || !pipeline.IsTransient(err) {
				t.Fatalf("read through a silent connection: %v, want a transient ErrStalled", err)
			}
			if ctx.Err() != nil {
				t.Fatal("the guard expired")
			}
			p.close()
		})
	}
}

// TestConnectTimeout: a server that accepts TCP but never answers fails
// Open after the connect timeout (the DSN has no connect_timeout: pgx's
// default would wait as long as the caller's context, here none).
func TestConnectTimeout(t *testing.T) {
	_, target := proxiedDSN(t, "")
	p := newStallProxy(t, target)
	p.stall.Store(true)
	dsn, _ := proxiedDSN(t, p.addr)
	if u, _ := url.Parse(dsn); u.Query().Has("connect_timeout") {
		t.Skip("the test DSN sets connect_timeout itself")
	}
	done := make(chan error, 1)
	go func() {
		c, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxOpen: 1, MinIdle: 1, ConnectTimeout: 300 * time.Millisecond})
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("connected through a server that never answers")
		}
		t.Logf("error: %v", err)
	case <-time.After(30 * time.Second): // only a guard against a hang
		p.close() // unblocks Open so the goroutine ends
		<-done
		t.Fatal("Open waited for a silent server without bound")
	}
	p.close()
}

// TestDescribeStallUnderLock: describing a table another session holds
// ACCESS EXCLUSIVE (its probe waits for the lock) gives up after
// FetchTimeout with a transient ErrStalled naming what it waited for,
// instead of holding a job (which describes each table) as long as the
// lock is held.
func TestDescribeStallUnderLock(t *testing.T) {
	schema := stallSchema(t)
	c := open(t, postgres.Options{FetchTimeout: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // only a guard against a hang
	defer cancel()
	holder, err := admin(t).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, `BEGIN; LOCK TABLE `+schema+`.t IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	_, err = c.Describe(ctx, schema+".t")
	if !errors.Is(err, sqlsource.ErrStalled) || !pipeline.IsTransient(err) || ctx.Err() != nil {
		t.Fatalf("describe under a held lock: %v, want a transient ErrStalled", err)
	}
	t.Logf("error: %v", err)
	if _, err := holder.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Describe(ctx, schema+".t"); err != nil {
		t.Fatalf("describe after the lock is gone: %v", err)
	}
}

// TestReaderStallMidStream: the connection goes silent after the reader
// has delivered rows (a server or network path that hangs mid-table):
// the next Next fails with a transient ErrStalled within FetchTimeout.
func TestReaderStallMidStream(t *testing.T) {
	schema := stallSchema(t)
	exec(t, admin(t), `CREATE TABLE `+schema+`.big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 200000) g`)
	_, target := proxiedDSN(t, "")
	for _, m := range readModes {
		t.Run(m.name, func(t *testing.T) {
			p := newStallProxy(t, target)
			dsn, _ := proxiedDSN(t, p.addr)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // guard
			defer cancel()
			opts := m.opts
			opts.MaxOpen, opts.MinIdle, opts.FetchTimeout = 2, 1, 300*time.Millisecond
			c, err := postgres.Open(ctx, dsn, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			info, err := c.Describe(ctx, schema+".big")
			if err != nil {
				t.Fatal(err)
			}
			src, err := c.Open(ctx, info, nil, pipeline.ReadOptions{BatchRows: 1000, Raw: m.raw})
			if err != nil {
				t.Fatal(err)
			}
			b, err := src.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if b.Release != nil {
				b.Release()
			}
			p.stall.Store(true)
			n := 0
			for err == nil {
				if b, err = src.Next(ctx); err == nil {
					n += b.Len()
					if b.Release != nil {
						b.Release()
					}
				}
			}
			src.Close()
			if !errors.Is(err, sqlsource.ErrStalled) || !pipeline.IsTransient(err) || ctx.Err() != nil {
				t.Fatalf("read through a connection silent after the first batch: %v (after %d more rows), want a transient ErrStalled", err, n)
			}
			if n >= 199000 {
				t.Fatalf("the whole table arrived before the stall (%d rows): the test stalled nothing", n)
			}
			t.Logf("%d rows buffered before the stall showed; error: %v", n, err)
			p.close()
		})
	}
}
