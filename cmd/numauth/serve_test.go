package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/openapi/sign"
)

const (
	benchKeyID  = "LTAI5tBenchServe0001"
	benchSecret = "bench-serve-secret-0123456789"
)

// startServer runs the whole handler (SQLite, in-process stores, sandbox)
// behind a loopback HTTP server.
func startServer(tb testing.TB) *httptest.Server {
	tb.Helper()
	hs, _ := startServerAndStores(tb)
	return hs
}

// startServerAndStores is startServer that also returns the server, whose
// close ends its stores while the HTTP server still answers (an outage).
func startServerAndStores(tb testing.TB) (*httptest.Server, *server) {
	tb.Helper()
	tb.Setenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID", benchKeyID)
	tb.Setenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET", benchSecret)
	var f serveFlags
	if err := newServeFlagSet(&f).Parse([]string{"--data-dir", tb.TempDir(), "--mask-lock", "1h", "--sandbox-subscriber", "127.0.0.1=13800138000"}); err != nil {
		tb.Fatal(err)
	}
	srv, err := newServer(context.Background(), f, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(srv.handler)
	var once sync.Once
	closeStores := srv.close
	srv.close = func() { once.Do(closeStores) }
	tb.Cleanup(func() { hs.Close(); srv.close() })
	return hs, srv
}

func post(tb testing.TB, c *http.Client, target string, v url.Values) (int, string) {
	res, err := c.Post(target, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, string(b)
}

var nonce atomic.Int64

func signed(action string, kv ...string) url.Values {
	return signedBy(benchKeyID, benchSecret, action, kv...)
}

// signedBy is a signed call by another AccessKey.
func signedBy(id, secret, action string, kv ...string) url.Values {
	v := url.Values{"Action": {action}, "Version": {"2017-05-25"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return sign.SignV1("POST", v, id, secret, time.Now().UTC(), "n"+time.Now().Format("150405.000000")+"-"+itoa(nonce.Add(1)))
}

func itoa(n int64) string { return strings.TrimLeft(time.Duration(n).String(), "") }

func TestServeEndpoints(t *testing.T) {
	hs := startServer(t)
	c := hs.Client()
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "numauth_rpc_requests_total", "/.well-known/jwks.json": `"kty":"OKP"`} {
		if path == "/metrics" { // the counter appears once a call was made
			post(t, c, hs.URL+"/", signed("DescribeVerifyScheme", "SchemeCode", "FC1"))
		}
		res, err := c.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d %.200s, want %q", path, res.StatusCode, b, want)
		}
	}
	st, body := post(t, c, hs.URL+"/any/path", signed("CreateVerifyScheme", "SchemeName", "s", "AppName", "a", "OsType", "H5", "Origin", "https://a.example", "Url", "https://a.example/"))
	if st != 200 || !strings.Contains(body, `"SchemeCode":"FC`) {
		t.Fatalf("CreateVerifyScheme on any path = %d %s", st, body)
	}
	res, _ := c.Get(hs.URL + "/bench/noop")
	if res.Header.Get("X-Numauth-Carrier") != "sandbox" {
		t.Fatalf("no-op endpoint does not name the carrier: %v", res.Header)
	}
	res.Body.Close()
}

// BenchmarkHTTP compares GetAuthToken with the no-op endpoint on the same
// server over loopback HTTP, with keep-alive and parallel clients. The ratio
// of their ns/op is the share of the HTTP ceiling GetAuthToken reaches.
func BenchmarkHTTP(b *testing.B) {
	hs := startServer(b)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	c := &http.Client{Transport: tr}
	st, body := post(b, c, hs.URL+"/", signed("CreateVerifyScheme", "SchemeName", "bench", "AppName", "a", "OsType", "H5", "Origin", "https://bench.example", "Url", "https://bench.example/"))
	if st != 200 {
		b.Fatal(body)
	}
	b.Run("noop", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v := signed("Noop") // same client work: sign and encode
				res, err := c.Post(hs.URL+"/bench/noop", "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	})
	b.Run("GetAuthToken", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v := signed("GetAuthToken", "Url", "https://bench.example/login", "Origin", "https://bench.example")
				res, err := c.Post(hs.URL+"/", "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
				if err != nil {
					b.Fatal(err)
				}
				if res.StatusCode != 200 {
					bb, _ := io.ReadAll(res.Body)
					b.Fatalf("%d %s", res.StatusCode, bb)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	})
}

// TestGracefulShutdown: on SIGTERM (the serve context ending) a request in
// flight finishes with its answer, and the server then exits cleanly.
func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--addr", addr, "--data-dir", t.TempDir(), "--log-level", "error"}, io.Discard)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A request whose body arrives slowly is in flight when shutdown begins.
	pr, pw := io.Pipe()
	answer := make(chan int, 1)
	go func() {
		res, err := http.Post("http://"+addr+"/bench/noop", "text/plain", pr)
		if err != nil {
			answer <- -1
			return
		}
		res.Body.Close()
		answer <- res.StatusCode
	}()
	pw.Write([]byte("part one "))
	time.Sleep(100 * time.Millisecond)
	stop() // what SIGTERM does
	time.Sleep(200 * time.Millisecond)
	pw.Write([]byte("part two"))
	pw.Close()
	if st := <-answer; st != http.StatusOK {
		t.Fatalf("in-flight request answered %d during shutdown, want 200", st)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}
