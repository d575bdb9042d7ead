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
	"net/netip"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/numauth/numauth/internal/admin"
	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/console/consoleasset"
	"github.com/numauth/numauth/internal/groupcommit"
	"github.com/numauth/numauth/internal/h5"
	"github.com/numauth/numauth/internal/ipset"
	"github.com/numauth/numauth/internal/obs"
	"github.com/numauth/numauth/internal/openapi"
	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/redis"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type serveFlags struct {
	storeFlags
	sms           smsFlags
	addr          string
	carrier       string
	routes        multiFlag
	buildCarrier  func(ctx context.Context, name string, env carrier.Env) (carrier.Adapter, error)
	publicURLFlag string
	nvTokenTTL    time.Duration
	nvPerSource   int
	trustedProxy  multiFlag
	prices        multiFlag
	fusionFirst   multiFlag
	throttle      int
	logLevel      string
	logFlush      time.Duration
	accessTTL     time.Duration
	jwtTTL        time.Duration
	maskTries     int
	maskTriesAll  int
	maskLock      time.Duration
	sessPerToken  int
	sessPerSource int
	shutdownGrace time.Duration
	reqTimeout    time.Duration
	debugAddr     string
	opsAddr       string
	retention     string // --retention, parsed by parseRetention
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
	fs.StringVar(&f.carrier, "carrier", envOr("NUMAUTH_CARRIER", "sandbox"), "carrier adapter: "+strings.Join(carrier.Names(), ", ")+"; with --carrier-route, the adapter for what no rule matches [NUMAUTH_CARRIER]")
	fs.Var(&f.routes, "carrier-route", "route MATCH=ADAPTER (MATCH an operator code such as CM, an E.164 prefix such as +44, or *) to run several carrier adapters at once (repeatable, first match wins)")
	f.buildCarrier = carrier.Flags(fs)
	fs.StringVar(&f.publicURLFlag, "public-url", os.Getenv("NUMAUTH_PUBLIC_URL"), "the URL clients reach this server at, behind a proxy or TLS terminator; the CAMARA issuer is this URL + /camara (default http:// and --addr) [NUMAUTH_PUBLIC_URL]")
	fs.IntVar(&f.nvPerSource, "camara-authorize-per-source", 50, "CAMARA authorizations per second from one address, across all instances (each costs carrier calls; -1: unbounded)")
	fs.DurationVar(&f.nvTokenTTL, "camara-access-token-ttl", 300*time.Second, "lifetime of the access tokens numauth's CAMARA OpenID provider issues (at most 300s)")
	fs.Var(&f.prices, "price", "a unit price ITEM=AMOUNT in yuan per billable call, at most two decimals, for QueryGateVerifyBillingPublic; ITEM is verify, login, sms or fusion (repeatable; unpriced items bill 0)")
	fs.Var(&f.trustedProxy, "trusted-proxy", "CIDR of a proxy whose number header the sandbox trusts, and whose X-Forwarded-For the gateway's per-address session budget trusts (repeatable)")
	fs.IntVar(&f.throttle, "throttle", 0, "calls per second one AccessKey may make across all instances (0 = unlimited)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&f.logFlush, "log-flush", 100*time.Millisecond, "how long info and debug log lines may wait in memory to be written together; warnings and errors are written at once (0: write every line at once)")
	fs.DurationVar(&f.accessTTL, "access-token-ttl", 10*time.Minute, "AccessToken lifetime")
	fs.DurationVar(&f.jwtTTL, "jwt-token-ttl", time.Hour, "JwtToken lifetime")
	fs.IntVar(&f.maskTries, "mask-tries", 3, "wrong login masks before the number is locked")
	fs.IntVar(&f.maskTriesAll, "mask-tries-global", 10, "wrong login masks for one number across all accounts before it is locked for every account (-1: no global budget)")
	fs.DurationVar(&f.maskLock, "mask-lock", 24*time.Hour, "the wrong-mask budgets' window: a locked number is locked until it ends")
	fs.IntVar(&f.sessPerToken, "sessions-per-token", 50, "gateway sessions one token pair may open in its lifetime (-1: unbounded)")
	fs.IntVar(&f.sessPerSource, "sessions-per-source", 3000, "gateway sessions one source address may open per minute (-1: unbounded)")
	fs.StringVar(&f.retention, "retention", os.Getenv("NUMAUTH_RETENTION"), "delete verification and SMS send records older than this, e.g. 400d or 720h, at start and hourly (statistics and bills stay: they are kept in hourly rollups); empty keeps every record [NUMAUTH_RETENTION]")
	fs.Int64Var(&f.memoryLimit, "memory-limit", 512, "MiB the in-process ephemeral store may hold; when full, new nonces, tokens and sessions are refused (ServiceUnavailable), nothing is evicted")
	fs.StringVar(&f.opsAddr, "ops-addr", "", "if set, serve /metrics, /bench/noop and a detailed /readyz on this separate, private address instead of the API listener")
	fs.StringVar(&f.debugAddr, "debug-addr", "", "if set, serve Go's pprof profiles on this separate address (keep it private, e.g. 127.0.0.1:6060)")
	fs.DurationVar(&f.reqTimeout, "request-timeout", 5*time.Second, "bound on one server API call's work; a hung store answers ServiceUnavailable after it")
	fs.DurationVar(&f.shutdownGrace, "shutdown-grace", 20*time.Second, "time in-flight requests get to finish on SIGTERM")
	fs.Var(&f.fusionFirst, "fusion-strategy", "a platform's fusion strategy PLATFORM=carrier|sms (H5, Android, iOS; repeatable; default carrier: one-click login first, SMS when the carrier cannot answer)")
	f.sms.register(fs)
	return fs
}

// fusionStrategy reads the --fusion-strategy values.
func fusionStrategy(vals []string) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range vals {
		p, st, ok := strings.Cut(v, "=")
		platform, pok := auth.NormalizeOsType(p)
		if !ok || !pok || !auth.ValidFusionStrategy(st) {
			return nil, fmt.Errorf("--fusion-strategy %q: want PLATFORM=carrier or PLATFORM=sms (PLATFORM H5, Android or iOS)", v)
		}
		m[platform] = st
	}
	return m, nil
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
	// The OpenID provider library logs every client's OAuth error at Warn
	// through the default logger: at Debug here, so bad requests cannot
	// fill the log (numauth logs what matters about them itself).
	slog.SetDefault(slog.New(obs.Demote(log.Handler(), "github.com/zitadel/oidc/")))

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
		"store", srv.durableKind, "ephemeral", srv.ephemeralKind, "carrier", srv.carrier, "sms_provider", f.sms.provider)
	if srv.ops != nil {
		ops := &http.Server{Addr: f.opsAddr, Handler: srv.ops, ReadHeaderTimeout: 10 * time.Second}
		opsLn, err := net.Listen("tcp", f.opsAddr)
		if err != nil {
			return fmt.Errorf("--ops-addr: %w", err)
		}
		go func() {
			if err := ops.Serve(opsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("ops listener", "err", err)
			}
		}()
		defer ops.Close()
		log.Info("ops endpoints listening", "addr", opsLn.Addr().String())
	}
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
	ops           http.Handler // nil: the operations endpoints are on handler
	durableKind   string
	ephemeralKind string
	carrier       string // the adapter's name
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
	retention, err := parseRetention(f.retention)
	if err != nil {
		return nil, fmt.Errorf("--retention: %w", err)
	}
	durable, err := f.openDurable(ctx)
	if err != nil {
		return nil, fmt.Errorf("durable store: %w", err)
	}
	if box, err = pinRoot(ctx, durable, box); err != nil {
		durable.Close()
		return nil, err
	}
	log.Info("master key", "id", box.KeyID(), "previous", box.KeyIDs()[1:])
	redis.SetLogger(log) // the Redis client's own messages, in numauth's log
	eph, err := f.openEphemeral(ctx)
	if err != nil {
		durable.Close()
		return nil, fmt.Errorf("ephemeral store: %w", err)
	}
	// Partitions ahead and retention, at start and hourly; stopped before
	// the store closes.
	stopMaintenance := startMaintenance(durable, retention, log)
	closers := []func(){stopMaintenance, func() { eph.Close() }, func() { durable.Close() }}
	fail := func(err error) (*server, error) {
		for _, c := range closers {
			c()
		}
		return nil, err
	}

	var proxies []netip.Prefix
	for _, p := range f.trustedProxy {
		pfx, err := ipset.ParsePrefix(p)
		if err != nil {
			return fail(fmt.Errorf("--trusted-proxy %q: %w", p, err))
		}
		proxies = append(proxies, pfx)
	}
	prices := map[string]int64{}
	for _, p := range f.prices {
		item, fen, err := auth.ParsePrice(p)
		if err != nil {
			return fail(fmt.Errorf("--price %q: %w", p, err))
		}
		prices[item] = fen
	}
	public, err := f.publicURL()
	if err != nil {
		return fail(err)
	}
	// Every instance sharing the master key opens every other's tickets.
	adapter, built, err := f.carriers(ctx, carrier.Env{Logger: log, Secret: box.Derive, TrustedProxies: proxies, Shared: eph, PublicURL: public})
	if err != nil {
		return fail(err)
	}
	for _, a := range built {
		if pt, ok := a.(carrier.ProxyTrusting); ok {
			proxies = append(proxies, pt.TrustedProxies()...)
		}
	}

	if f.sms.build == nil {
		// serveFlags made by hand (tests) rather than parsed: the SMS
		// flags' defaults.
		f.sms.register(flag.NewFlagSet("sms", flag.ContinueOnError))
	}
	smsCfg, err := f.sms.config()
	if err != nil {
		return fail(err)
	}
	fusion, err := fusionStrategy(f.fusionFirst)
	if err != nil {
		return fail(err)
	}
	// Receipts reach the service once it exists; a provider cannot have
	// accepted anything before.
	var receipts atomic.Pointer[auth.Service]
	// One group-commit writer for every durable record: the service's and
	// the sandbox SMS outbox's writes share transactions.
	records := groupcommit.New("records", store.WriteBatches(durable), log)
	closers = append([]func(){records.Close}, closers...)
	smsCfg.Provider, err = f.sms.build(ctx, f.sms.provider, sms.Env{
		Logger: log.With("sms_provider", f.sms.provider), Outbox: queuedOutbox{records, durable},
		Receipts: func(ctx context.Context, r sms.Receipt) {
			if svc := receipts.Load(); svc != nil {
				svc.SmsReceipt(ctx, r)
			}
		},
	})
	if err != nil {
		return fail(err)
	}
	closers = append([]func(){func() { smsCfg.Provider.Close() }}, closers...)
	svc, err := auth.New(ctx, auth.Config{
		AccessTokenTTL: f.accessTTL, JwtTokenTTL: f.jwtTTL, MaskTries: f.maskTries, MaskLockTTL: f.maskLock,
		MaskTriesGlobal: f.maskTriesAll, SessionsPerToken: f.sessPerToken, SessionsPerSource: f.sessPerSource,
		Carrier: adapter, SMS: smsCfg, FusionStrategy: fusion, Records: records, Logger: log, Prices: prices,
	}, durable, eph, box)
	if err != nil {
		return fail(err)
	}
	receipts.Store(svc)
	closers = append([]func(){svc.Close}, closers...)
	if err := svc.SettleEpoch(ctx); err != nil {
		return fail(fmt.Errorf("ephemeral store epoch: %w", err))
	}
	if id, sec := getenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID"), getenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET"); id != "" || sec != "" {
		if id == "" || sec == "" {
			return fail(errors.New("set both NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID and NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET"))
		}
		if err := svc.EnsureAccessKey(ctx, id, sec); err != nil {
			return fail(fmt.Errorf("bootstrap access key: %w", err))
		}
		log.Info("bootstrap access key ready", "access_key_id", id)
	}
	if name, pw := getenv("NUMAUTH_BOOTSTRAP_CONSOLE_USER"), os.Getenv("NUMAUTH_BOOTSTRAP_CONSOLE_PASSWORD"); name != "" || pw != "" {
		if name == "" || pw == "" {
			return fail(errors.New("set both NUMAUTH_BOOTSTRAP_CONSOLE_USER and NUMAUTH_BOOTSTRAP_CONSOLE_PASSWORD"))
		}
		made, err := admin.EnsureUser(ctx, durable, name, pw, time.Now())
		if err != nil {
			return fail(fmt.Errorf("bootstrap console user: %w", err))
		}
		log.Info("bootstrap console user ready", "user", name, "created", made)
	}
	adminTok, err := adminToken(f.dataDir, true)
	if err != nil {
		return fail(err)
	}

	metrics := obs.NewMetrics()
	if m, ok := eph.(interface{ Usage() (int64, int64, int64) }); ok {
		metrics.EphemeralUsage(m.Usage)
	}
	mux := http.NewServeMux()
	// The operations endpoints: on their own listener with --ops-addr, else
	// on the API listener as before, where /readyz names the failing store
	// and its error only to a caller with the admin token.
	ops, opsHandler := mux, http.Handler(nil)
	ready := newReadiness(durable, eph)
	if f.opsAddr != "" {
		ops = http.NewServeMux()
		opsHandler = ops
		ops.HandleFunc("GET /readyz", ready.handler(func(*http.Request) bool { return true }))
		ops.HandleFunc("GET /healthz", healthz)
		mux.HandleFunc("GET /readyz", ready.handler(func(*http.Request) bool { return false }))
	} else {
		mux.HandleFunc("GET /readyz", ready.handler(func(r *http.Request) bool { return hasToken(r, adminTok) }))
	}
	rpcCfg := openapi.Config{ThrottlePerKey: f.throttle, RequestTimeout: f.reqTimeout, Logger: log, Metrics: metrics}
	rpc := openapi.New(rpcCfg, svc)
	mux.Handle("/", rpc)
	h5.New(svc, log, metrics).WithTrustedProxies(proxies).Register(mux)
	nv, err := newNorthbound(ctx, f, svc, durable, eph, box, proxies, log)
	if err != nil {
		return fail(err)
	}
	mux.Handle(nv.BasePath()+"/", nv.Handler())
	ops.Handle("GET /metrics", metrics.Handler())
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_ = svc.Keyring().Refresh(r.Context()) // learn of a rotation; on failure serve the keys known
		w.Write(svc.Keyring().JWKS())
	})
	// The no-op endpoint: the HTTP ceiling that benchmarks compare real work against.
	ops.HandleFunc("/bench/noop", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 64<<10))
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.Header().Set("X-Numauth-Carrier", adapter.Name())
		w.Header().Set("X-Numauth-Sms-Provider", f.sms.provider)
		io.WriteString(w, `{"Code":"OK"}`)
	})
	// An adapter that can be changed at run time (the sandbox's subscribers
	// and faults) answers under its name.
	// The admin API: console sessions or the admin token (internal/admin).
	adminAPI := admin.New(admin.Config{
		Service: svc, Durable: durable, Ephemeral: eph, AdminToken: adminTok,
		SecureCookies: strings.HasPrefix(public, "https://"), Logger: log,
		ClientAddr: func(r *http.Request) netip.Addr {
			peer, _ := netip.ParseAddrPort(r.RemoteAddr)
			return ipset.Visitor(peer.Addr().Unmap(), r.Header.Values("X-Forwarded-For"), proxies)
		},
	})
	for name, a := range built {
		if ad, ok := a.(carrier.Administered); ok {
			prefix := "/admin/v1/" + name
			adminAPI.Handle(prefix+"/", name+".change", http.StripPrefix(prefix, ad.AdminHandler()))
		}
	}
	adminAPI.Handle("GET /admin/v1/sms/outbox", "", outboxHandler(durable))
	mux.Handle("/admin/v1/", adminAPI)
	mux.Handle("/console/", consoleasset.Handler()) // the operator console, on the admin API
	// The sandbox plays the carrier side of native apps' one-click flows.
	if _, ok := built["sandbox"]; ok {
		mux.Handle("POST /sandbox/v1/app-token", h5.AppTokenHandler(svc, log))
	}

	return &server{
		handler:       mux,
		ops:           opsHandler,
		carrier:       adapter.Name(),
		durableKind:   kindOf(f.store, "sqlite", "postgres"),
		ephemeralKind: ephemeralKind(f.storeFlags),
		close: func() {
			for _, c := range closers {
				c()
			}
		},
	}, nil
}

// carriers builds the carrier adapter the flags name: --carrier's alone, or,
// with --carrier-route rules, a router over every adapter a rule names,
// with --carrier's for what no rule matches (unless a "*" rule is given).
// It returns the adapter the service holds and every adapter built, by
// name; each is built once, from its own flags, however many rules name it.
func (f *serveFlags) carriers(ctx context.Context, env carrier.Env) (carrier.Adapter, map[string]carrier.Adapter, error) {
	if f.buildCarrier == nil {
		// serveFlags made by hand (tests) rather than parsed: the carrier
		// flags' defaults.
		f.buildCarrier = carrier.Flags(flag.NewFlagSet("carrier", flag.ContinueOnError))
	}
	name := f.carrier
	if name == "" {
		name = "sandbox"
	}
	var routes []carrier.Route
	for i, s := range f.routes {
		r, err := carrier.ParseRoute(s)
		if err != nil {
			// Named by its place: the value may hold a phone number.
			return nil, nil, fmt.Errorf("--carrier-route #%d: %w", i+1, err)
		}
		routes = append(routes, r)
	}
	if len(routes) > 0 && !slices.ContainsFunc(routes, carrier.Route.Any) {
		routes = append(routes, carrier.Route{Adapter: name})
	}
	built := map[string]carrier.Adapter{}
	build := func(n string) error {
		if _, ok := built[n]; ok {
			return nil
		}
		e := env
		e.Logger = env.Logger.With("carrier", n)
		a, err := f.buildCarrier(ctx, n, e)
		if err != nil {
			return err
		}
		built[n] = a
		return nil
	}
	if len(routes) == 0 {
		if err := build(name); err != nil {
			return nil, nil, err
		}
		return built[name], built, nil
	}
	for _, r := range routes {
		if err := build(r.Adapter); err != nil {
			return nil, nil, err
		}
	}
	router, err := carrier.NewRouter(routes, built)
	if err != nil {
		return nil, nil, err
	}
	return router.Adapter(), built, nil
}

func kindOf(url, local, remote string) string {
	if url == "" {
		return local
	}
	return remote
}

// ephemeralKind names the ephemeral store the flags choose, for /readyz and
// the start-up log.
func ephemeralKind(f storeFlags) string {
	if f.redisCluster != "" {
		return "redis-cluster"
	}
	return kindOf(f.redis, "memory", "redis")
}

func getenv(k string) string { return strings.TrimSpace(os.Getenv(k)) }

func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// readiness answers /readyz: ready when the ephemeral store answers and a
// durable write succeeds (a store that reads but cannot write, such as one
// on a full disk, is not ready). While ready the check runs at most once a
// second (ten times while not), however often /readyz is asked, so the
// endpoint cannot be used to make the database write.
type readiness struct {
	d store.Durable
	e store.Ephemeral

	mu       sync.Mutex
	at       time.Time
	problems []string
}

func newReadiness(d store.Durable, e store.Ephemeral) *readiness { return &readiness{d: d, e: e} }

func (rd *readiness) check(ctx context.Context) []string {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	// A good answer is reused for a second; a bad one for a tenth, so a
	// store that came back is seen at once.
	if age := time.Since(rd.at); age < time.Second && (len(rd.problems) == 0 || age < 100*time.Millisecond) {
		return rd.problems
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var problems []string
	if err := rd.d.ProbeWrite(ctx); err != nil {
		problems = append(problems, "durable store: "+err.Error())
	}
	if err := rd.e.Ping(ctx); err != nil {
		problems = append(problems, "ephemeral store: "+err.Error())
	}
	rd.at, rd.problems = time.Now(), problems
	return problems
}

// handler serves /readyz; details decides whether the answer may name the
// failing store and its error (addresses of the stores are in it).
func (rd *readiness) handler(details func(*http.Request) bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		// Not the caller's context: one that hangs up must not make the
		// probe fail and the instance look unready to everyone.
		problems := rd.check(context.Background())
		if len(problems) == 0 {
			io.WriteString(w, "ready\n")
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		if details(r) {
			io.WriteString(w, "not ready\n"+strings.Join(problems, "\n")+"\n")
			return
		}
		io.WriteString(w, "not ready\n")
	}
}

func hasToken(r *http.Request, tok string) bool {
	return subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+tok)) == 1
}
