package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/numauth/numauth/internal/store"
)

// cutProxy forwards TCP connections to a Redis server. While armed, the
// next reply the server sends on a connection whose last request named a
// key holding cutMarker is not passed on: the proxy closes that connection
// instead, so the client sees its command sent and its reply lost, the case
// in which a command may have run. (Replies to other commands, such as a
// new connection's handshake, pass.)
const cutMarker = "cut-me"

type cutProxy struct {
	ln     net.Listener
	target string
	armed  atomic.Bool
	cuts   atomic.Int32
	mu     sync.Mutex
	conns  []net.Conn
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(p.close)
	go p.serve()
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

func (p *cutProxy) serve() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			down.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, down, up)
		p.mu.Unlock()
		var marked atomic.Bool
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := down.Read(buf)
				if n > 0 {
					marked.Store(bytes.Contains(buf[:n], []byte(cutMarker)))
					if _, werr := up.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			up.Close()
		}()
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := up.Read(buf)
				if n > 0 {
					if marked.Load() && p.armed.CompareAndSwap(true, false) {
						p.cuts.Add(1)
						down.Close()
						up.Close()
						return
					}
					if _, werr := down.Write(buf[:n]); werr != nil {
						up.Close()
						return
					}
				}
				if err != nil {
					down.Close()
					return
				}
			}
		}()
	}
}

// TestLostReplyNotResent: when the reply to a write is lost, the store
// answers ErrUnavailable and does not send the command again (a second
// INCR would count twice, a second SET NX would report a false replay),
// whether the command went alone or batched with others'.
func TestLostReplyNotResent(t *testing.T) {
	skipUnlessReachable(t)
	opt, err := goredis.ParseURL(testURL())
	if err != nil {
		t.Fatal(err)
	}
	direct := goredis.NewClient(opt)
	defer direct.Close()
	p := startCutProxy(t, opt.Addr)
	prefix := uniquePrefix()
	t.Cleanup(func() { deletePrefix(t, prefix) })
	ctx := context.Background()
	s, err := Open(ctx, "redis://"+p.addr()+"/"+strconv.Itoa(opt.DB), prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Load the scripts, so that the commands below are one EVALSHA each.
	if _, err := s.Incr(ctx, "warm", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decr(ctx, "warm"); err != nil {
		t.Fatal(err)
	}

	p.armed.Store(true)
	if _, err := s.Incr(ctx, "cut-me:c", time.Minute); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Incr whose reply was lost: %v, want ErrUnavailable", err)
	}
	if n, err := direct.Get(ctx, prefix+"cut-me:c").Int64(); err != nil || n != 1 {
		t.Fatalf("counter after a lost INCR reply = %d, %v; want 1 (sent once)", n, err)
	}
	p.armed.Store(true)
	if ok, err := s.PutIfAbsent(ctx, "cut-me:n", []byte("v"), time.Minute); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("PutIfAbsent whose reply was lost = %v, %v; want ErrUnavailable", ok, err)
	}

	// Many callers at once, so that commands share batches: every caller
	// either gets its answer or ErrUnavailable, and each counter moved by
	// exactly one, whatever its caller saw.
	const callers = 16
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		errs := make([]error, callers)
		vals := make([]int64, callers)
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				vals[i], errs[i] = s.Incr(ctx, "cut-me:r"+strconv.Itoa(round)+":"+strconv.Itoa(i), time.Minute)
			})
		}
		p.armed.Store(true)
		close(start)
		wg.Wait()
		p.armed.Store(false)
		for i := range callers {
			switch {
			case errs[i] == nil && vals[i] != 1:
				t.Errorf("round %d caller %d: Incr = %d, want 1", round, i, vals[i])
			case errs[i] != nil && !errors.Is(errs[i], store.ErrUnavailable):
				t.Errorf("round %d caller %d: %v, want nil or ErrUnavailable", round, i, errs[i])
			}
			n, err := direct.Get(ctx, prefix+"cut-me:r"+strconv.Itoa(round)+":"+strconv.Itoa(i)).Int64()
			if errs[i] == nil && (err != nil || n != 1) {
				t.Errorf("round %d caller %d: counter %d, %v; want 1", round, i, n, err)
			}
			if errs[i] != nil && err == nil && n != 1 {
				t.Errorf("round %d caller %d: counter %d after a lost reply; want 1 (sent once) or absent", round, i, n)
			}
		}
	}
	if p.cuts.Load() == 0 {
		t.Fatal("the proxy cut no reply")
	}
	// The store works again by itself.
	if n, err := s.Incr(ctx, "cut-me:c", time.Minute); err != nil || n != 2 {
		t.Fatalf("Incr after the cuts = %d, %v; want 2", n, err)
	}
}

// TestHungRedis freezes a private Redis under a live store: callers queued
// behind a batch that gets no answer are not held for it, each gets
// ErrUnavailable, and the store works again once Redis does.
func TestHungRedis(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not in PATH; it is needed to freeze a private Redis")
	}
	port := freePort(t)
	srv := startRedis(t, port)
	ctx := context.Background()
	s, err := Open(ctx, fmt.Sprintf("redis://127.0.0.1:%d/0", port), "h:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Incr(ctx, "warm", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := srv.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			_ = srv.Process.Signal(syscall.SIGCONT)
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Incr(ctx, "c"+strconv.Itoa(i), time.Minute) })
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("caller %d while Redis is frozen: %v, want ErrUnavailable", i, err)
		}
	}
	_ = srv.Process.Signal(syscall.SIGCONT)
	resumed = true
	for giveUp := time.Now().Add(10 * time.Second); ; {
		_, err := s.Incr(ctx, "after", time.Minute)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrUnavailable) || time.Now().After(giveUp) {
			t.Fatalf("Incr after Redis resumed: %v", err)
		}
	}
}
