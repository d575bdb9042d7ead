package scaleout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// wireCounter is a TCP proxy in front of Redis or PostgreSQL that counts
// what the numauth instances ask of it: round trips (a burst of bytes from
// a client after the server last spoke on that connection: a client that
// pipelines sends several commands in one burst), waits (round trips
// that began while no other was under way on any connection: what a caller
// waits for one after the other; round trips sent together on several
// connections are one wait) and, for Redis, commands by name. It is how TestRoundTripsPerFlow sees per-flow costs without
// hooks in the stores, on a server other tests use at the same time.
// NUMAUTH_TEST_WIRE_TRACE=1 prints every Redis command counted.
type wireCounter struct {
	ln    net.Listener
	redis bool
	to    string

	mu       sync.Mutex
	trips    int64
	waits    int64
	busy     int              // connections with a counted burst the server has not answered yet
	commands map[string]int64 // Redis only: by command name, upper case
	ignore   func(cmd []string) bool
	conns    map[net.Conn]bool
	wg       sync.WaitGroup
}

// startWireCounter listens on a free loopback port and forwards every
// connection to the server at to (host:port). ignore, when set, names Redis
// commands that are not part of the flows (background polls): they and the
// burst they came in are not counted.
func startWireCounter(t testing.TB, to string, redis bool, ignore func(cmd []string) bool) *wireCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &wireCounter{ln: ln, redis: redis, to: to, commands: map[string]int64{}, ignore: ignore, conns: map[net.Conn]bool{}}
	w.wg.Go(w.accept)
	t.Cleanup(w.close)
	return w
}

func (w *wireCounter) addr() string { return w.ln.Addr().String() }

func (w *wireCounter) accept() {
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		w.wg.Go(func() { w.serve(c) })
	}
}

func (w *wireCounter) track(c net.Conn, on bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if on && w.conns == nil {
		return false // closing
	}
	if on {
		w.conns[c] = true
	} else {
		delete(w.conns, c)
	}
	return true
}

func (w *wireCounter) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", w.to)
	if err != nil {
		return
	}
	defer server.Close()
	if !w.track(client, true) || !w.track(server, true) {
		return
	}
	defer w.track(client, false)
	defer w.track(server, false)
	var (
		mu      sync.Mutex
		spoke   = true // the server spoke since the client's last burst
		pending []byte // Redis: the start of a command not complete yet
		waiting bool   // a counted burst is not answered yet (under w.mu)
	)
	defer func() {
		w.mu.Lock()
		if waiting {
			w.busy--
		}
		w.mu.Unlock()
	}()
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				mu.Lock()
				spoke = true
				mu.Unlock()
				w.mu.Lock()
				if waiting {
					waiting = false
					w.busy--
				}
				w.mu.Unlock()
				if _, werr := client.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		client.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			mu.Lock()
			burst := spoke
			spoke = false
			var cmds [][]string
			if w.redis {
				pending = append(pending, buf[:n]...)
				cmds, pending = splitRESP(pending)
			}
			mu.Unlock()
			w.count(burst, cmds, &waiting)
			if _, werr := server.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (w *wireCounter) count(burst bool, cmds [][]string, waiting *bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	counted := false
	for _, c := range cmds {
		if w.ignore != nil && w.ignore(c) {
			continue
		}
		counted = true
		w.commands[strings.ToUpper(c[0])]++
		if os.Getenv("NUMAUTH_TEST_WIRE_TRACE") != "" {
			fmt.Fprintf(os.Stderr, "redis command %q\n", c)
		}
	}
	if burst && (counted || !w.redis) {
		w.trips++
		if w.busy == 0 {
			w.waits++
		}
		if !*waiting {
			*waiting = true
			w.busy++
		}
	}
}

// snapshot returns the round trips, waits and commands counted so far.
func (w *wireCounter) snapshot() (trips, waits int64, cmds map[string]int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cmds = make(map[string]int64, len(w.commands))
	for k, v := range w.commands {
		cmds[k] = v
	}
	return w.trips, w.waits, cmds
}

func (w *wireCounter) close() {
	w.ln.Close()
	w.mu.Lock()
	for c := range w.conns {
		c.Close()
	}
	w.conns = nil
	w.mu.Unlock()
	w.wg.Wait()
}

// splitRESP parses the complete RESP commands (arrays of bulk strings, as
// every client library sends them) at the start of b and returns them and
// the incomplete rest.
func splitRESP(b []byte) ([][]string, []byte) {
	var out [][]string
	for len(b) > 0 {
		cmd, n, err := parseRESPCommand(b)
		if errors.Is(err, errShort) {
			return out, b
		}
		if err != nil {
			return out, nil // not RESP: nothing more to count in this burst
		}
		out = append(out, cmd)
		b = b[n:]
	}
	return out, b
}

var errShort = errors.New("incomplete command")

// parseRESPCommand parses one command at the start of b: an array of bulk
// strings, or an inline command (one line of words).
func parseRESPCommand(b []byte) ([]string, int, error) {
	line, rest, ok := bytes.Cut(b, []byte("\r\n"))
	if !ok {
		return nil, 0, errShort
	}
	if len(line) == 0 || line[0] != '*' {
		return strings.Fields(string(line)), len(line) + 2, nil
	}
	n, err := strconv.Atoi(string(line[1:]))
	if err != nil || n < 0 {
		return nil, 0, io.ErrUnexpectedEOF
	}
	used := len(line) + 2
	args := make([]string, 0, n)
	for range n {
		hdr, after, ok := bytes.Cut(rest, []byte("\r\n"))
		if !ok {
			return nil, 0, errShort
		}
		if len(hdr) == 0 || hdr[0] != '$' {
			return nil, 0, io.ErrUnexpectedEOF
		}
		l, err := strconv.Atoi(string(hdr[1:]))
		if err != nil || l < 0 {
			return nil, 0, io.ErrUnexpectedEOF
		}
		if len(after) < l+2 {
			return nil, 0, errShort
		}
		args = append(args, string(after[:l]))
		used += len(hdr) + 2 + l + 2
		rest = after[l+2:]
	}
	if len(args) == 0 {
		return nil, 0, io.ErrUnexpectedEOF
	}
	return args, used, nil
}

// viaCounter rewrites the host of a redis:// or postgres:// URL to the
// counter's address.
func viaCounter(t testing.TB, rawURL string, w *wireCounter) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = w.addr()
	return u.String()
}

// hostOf returns the host:port of a redis:// or postgres:// URL.
func hostOf(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
