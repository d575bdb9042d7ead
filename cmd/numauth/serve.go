package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/h5"
	"github.com/numauth/numauth/internal/obs"
	"github.com/numauth/numauth/internal/openapi"
	"github.com/numauth/numauth/internal/store"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type serveFlags struct {
	storeFlags
	addr          string
	subscribers   multiFlag
	sandboxFile   string
	trustedProxy  multiFlag
	throttle      int
	logLevel      string
	logFlush      time.Duration
	accessTTL     time.Duration
	jwtTTL        time.Duration
	maskTries     int
	maskLock      time.Duration
	shutdownGrace time.Duration
	reqTimeout    time.Duration
	debugAddr     string
}

// serveGCPercent is the garbage collector's target for serve when GOGC is not set.
const serveGCPercent = 400

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	var f serveFlags
	fs := newServeFlagSet(&f)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	return runServe(ctx, f, stderr)
}

// newServeFlagSet is every flag of numauth serve, bound to f. serve parses
// it; readme_test.go builds it to hold the README's flag table to the code,
// so a flag registered here is a flag the README must document.
func newServeFlagSet(f *serveFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("numauth serve", flag.ContinueOnError)
	f.register(fs)
	fs.StringVar(&f.addr, "addr", envOr("NUMAUTH_ADDR", "127.0.0.1:8080"), "listen address [NUMAUTH_ADDR]")
	fs.Var(&f.subscribers, "sandbox-subscriber", "sandbox carrier subscriber ADDR_OR_CIDR=PHONE (repeatable)")
	fs.StringVar(&f.sandboxFile, "sandbox-config", "", "sandbox carrier JSON file (subscribers, trusted proxies, faults)")
	fs.Var(&f.trustedProxy, "trusted-proxy", "CIDR of a proxy whose number header the sandbox trusts (repeatable)")
	fs.IntVar(&f.throttle, "throttle", 0, "calls per second one AccessKey may make across all instances (0 = unlimited)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&f.logFlush, "log-flush", 100*time.Millisecond, "how long info and debug log lines may wait in memory to be written together; warnings and errors are written at once (0: write every line at once)")
	fs.DurationVar(&f.accessTTL, "access-token-ttl", 10*time.Minute, "AccessToken lifetime")
	fs.DurationVar(&f.jwtTTL, "jwt-token-ttl", time.Hour, "JwtToken lifetime")
	fs.IntVar(&f.maskTries, "mask-tries", 3, "wrong login masks before the number is locked")
	fs.DurationVar(&f.maskLock, "mask-lock", 24*time.Hour, "how long a number stays locked for login")
	fs.StringVar(&f.debugAddr, "debug-addr", "", "if set, serve Go's pprof profiles on this separate address (keep it private, e.g. 127.0.0.1:6060)")
	fs.DurationVar(&f.reqTimeout, "request-timeout", 5*time.Second, "bound on one server API call's work; a hung store answers ServiceUnavailable after it")
	fs.DurationVar(&f.shutdownGrace, "shutdown-grace", 20*time.Second, "time in-flight requests get to finish on SIGTERM")
	return fs
}

// runServe runs the server configured by f until ctx ends.
func runServe(ctx context.Context, f serveFlags, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if os.Getenv("GOGC") == "" {
		// The live heap is a few MiB and nearly every allocation dies with
		// its request: collecting at 5x the live heap instead of 2x costs
		// little memory and gave ~5% more whole flows per second
		// (docs/performance.md). GOGC in the environment overrides this.
		debug.SetGCPercent(serveGCPercent)
	}
	lw := obs.NewLogWriter(stderr, f.logFlush)
	defer lw.Close()
	log := slog.New(obs.FlushAbove(obs.WithRequestIDs(slog.NewJSONHandler(lw, &slog.HandlerOptions{Level: level})), lw, slog.LevelWarn))
	slog.SetDefault(log)

	srv, err := newServer(ctx, f, log)
	if err != nil {
		return err
	}
	defer srv.close()

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           srv.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("numauth listening", "addr", ln.Addr().String(), "version", buildVersion(),
		"store", srv.durableKind, "ephemeral", srv.ephemeralKind, "carrier", "sandbox")
	if f.debugAddr != "" {
		dmux := http.NewServeMux()
		dmux.HandleFunc("/debug/pprof/", pprof.Index)
		dmux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dmux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		dbg := &http.Server{Addr: f.debugAddr, Handler: dmux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := dbg.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("debug listener", "err", err)
			}
		}()
		defer dbg.Close()
		log.Info("pprof listening", "addr", f.debugAddr)
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "grace", f.shutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownGrace)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

type server struct {
	handler       http.Handler
	durableKind   string
	ephemeralKind string
	close         func()
}

// newServer opens the stores, builds the service and its front ends, and
// returns the whole HTTP handler.
func newServer(ctx context.Context, f serveFlags, log *slog.Logger) (*server, error) {
	box, created, err := f.masterBox()
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("created a new master key file; back it up, and give every instance the same key (NUMAUTH_MASTER_KEY)", "dir", f.dataDir)
	}
	durable, err := f.openDurable(ctx)
	if err != nil {
		return nil, fmt.Errorf("durable store: %w", err)
	}
	eph, err := f.openEphemeral(ctx)
	if err != nil {
		durable.Close()
		return nil, fmt.Errorf("ephemeral store: %w", err)
	}
	closers := []func(){func() { eph.Close() }, func() { durable.Close() }}
	fail := func(err error) (*server, error) {
		for _, c := range closers {
			c()
		}
		return nil, err
	}

	var sbCfg sandbox.Config
	if f.sandboxFile != "" {
		if sbCfg, err = sandbox.LoadFile(f.sandboxFile); err != nil {
			return fail(err)
		}
	}
	// Every instance sharing the master key opens every other's tickets.
	sbCfg.Key, sbCfg.Logger = box.Derive("numauth sandbox ticket v1", 32), log
	// A --sandbox-subscriber flag overrides the file's entry for the same prefix.
	for _, s := range f.subscribers {
		sub, err := sandbox.ParseSubscriber(s)
		if err != nil {
			return fail(fmt.Errorf("--sandbox-subscriber %q: %w", s, err))
		}
		sbCfg.Subscribers = slices.DeleteFunc(sbCfg.Subscribers, func(o sandbox.Subscriber) bool { return o.Prefix == sub.Prefix })
		sbCfg.Subscribers = append(sbCfg.Subscribers, sub)
	}
	for _, p := range f.trustedProxy {
		pfx, err := sandbox.ParsePrefix(p)
		if err != nil {
			return fail(fmt.Errorf("--trusted-proxy %q: %w", p, err))
		}
		sbCfg.TrustedProxies = append(sbCfg.TrustedProxies, pfx)
	}
	sb, err := sandbox.New(sbCfg)
	if err != nil {
		return fail(fmt.Errorf("sandbox carrier: %w", err))
	}

	svc, err := auth.New(ctx, auth.Config{
		AccessTokenTTL: f.accessTTL, JwtTokenTTL: f.jwtTTL, MaskTries: f.maskTries, MaskLockTTL: f.maskLock,
		Carrier: sb, Logger: log,
	}, durable, eph, box)
	if err != nil {
		return fail(err)
	}
	closers = append([]func(){svc.Close}, closers...)
	if id, sec := getenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID"), getenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET"); id != "" || sec != "" {
		if id == "" || sec == "" {
			return fail(errors.New("set both NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID and NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET"))
		}
		if err := svc.EnsureAccessKey(ctx, id, sec); err != nil {
			return fail(fmt.Errorf("bootstrap access key: %w", err))
		}
		log.Info("bootstrap access key ready", "access_key_id", id)
	}
	adminTok, err := adminToken(f.dataDir, true)
	if err != nil {
		return fail(err)
	}

	metrics := obs.NewMetrics()
	mux := http.NewServeMux()
	rpcCfg := openapi.Config{ThrottlePerKey: f.throttle, RequestTimeout: f.reqTimeout, Logger: log, Metrics: metrics}
	rpc := openapi.New(rpcCfg, svc, eph)
	mux.Handle("/", rpc)
	h5.New(svc, log, metrics).Register(mux)
	mux.Handle("GET /metrics", metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", readyz(durable, eph))
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(svc.Keyring().JWKS())
	})
	// The no-op endpoint: the HTTP ceiling that benchmarks compare real work against.
	mux.HandleFunc("/bench/noop", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 64<<10))
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.Header().Set("X-Numauth-Carrier", sb.Name())
		io.WriteString(w, `{"Code":"OK"}`)
	})
	mux.Handle("/admin/v1/sandbox/", requireToken(adminTok, http.StripPrefix("/admin/v1/sandbox", sb.AdminHandler())))

	return &server{
		handler:       mux,
		durableKind:   kindOf(f.store, "sqlite", "postgres"),
		ephemeralKind: kindOf(f.redis, "memory", "redis"),
		close: func() {
			for _, c := range closers {
				c()
			}
		},
	}, nil
}

func kindOf(url, local, remote string) string {
	if url == "" {
		return local
	}
	return remote
}

func getenv(k string) string { return strings.TrimSpace(os.Getenv(k)) }

// readyz reports whether both stores answer; a load balancer stops sending
// traffic to an instance that is not ready, and it recovers by itself.
func readyz(d store.Durable, e store.Ephemeral) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		var problems []string
		if err := d.Ping(ctx); err != nil {
			problems = append(problems, "durable store: "+err.Error())
		}
		if err := e.Ping(ctx); err != nil {
			problems = append(problems, "ephemeral store: "+err.Error())
		}
		if len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready\n"+strings.Join(problems, "\n")+"\n")
			return
		}
		io.WriteString(w, "ready\n")
	}
}

func requireToken(tok string, next http.Handler) http.Handler {
	want := []byte("Bearer " + tok)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"admin token required (Authorization: Bearer …, from admin.token in the data directory)"}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}
