package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/numauth/numauth/internal/bench"
)

const benchUsage = `numauth bench drives whole flows against a running numauth with the sandbox carrier,
playing both the integrator server (signed RPC) and the H5 page (gateway calls), and
prints flows/s, calls/s, latency quantiles per step and per flow, and errors by code.

The page calls must come from an address the sandbox maps: run the bench on the
server's machine and start the server with --sandbox-subscriber 127.0.0.1=PHONE.
The bench learns PHONE from the sandbox admin API (admin token from --admin-token,
NUMAUTH_ADMIN_TOKEN, or the server's --data-dir) unless --phone gives it.

Usage: numauth bench --target URL --access-key-id ID --access-key-secret SECRET [flags]
`

// benchCmd runs the load generator (docs/bench.md).
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("numauth bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	var cfg bench.Config
	fs.StringVar(&cfg.Target, "target", envOr("NUMAUTH_TARGET", "http://"+envOr("NUMAUTH_ADDR", "127.0.0.1:8080")), "numauth base URL [NUMAUTH_TARGET]")
	fs.StringVar(&cfg.AccessKeyID, "access-key-id", os.Getenv("NUMAUTH_ACCESS_KEY_ID"), "AccessKeyId that signs the server calls [NUMAUTH_ACCESS_KEY_ID]")
	fs.StringVar(&cfg.AccessKeySecret, "access-key-secret", os.Getenv("NUMAUTH_ACCESS_KEY_SECRET"), "its secret [NUMAUTH_ACCESS_KEY_SECRET]")
	kind := fs.String("kind", string(bench.KindVerify), "flow to drive: verify, login, mixed (alternating), fusion (H5 fusion: the carrier path and the SMS path alternating; fusion-carrier and fusion-sms: one path; the SMS path reads codes from the sandbox outbox with the admin token, and the server needs --sms-account-per-day -1 for long runs), sms (send + check a code to a fresh number; the server needs --sms-account-per-day -1 for long runs) or camara (authorize + token + NV verify as a CAMARA client; needs --client-id, --client-secret, --redirect-uri)")
	fs.StringVar(&cfg.ClientID, "client-id", "", "camara kind: the CAMARA client (numauth camara clients create --secret)")
	fs.StringVar(&cfg.ClientSecret, "client-secret", os.Getenv("NUMAUTH_CLIENT_SECRET"), "camara kind: its secret [NUMAUTH_CLIENT_SECRET]")
	fs.StringVar(&cfg.RedirectURI, "redirect-uri", "", "camara kind: a redirect URI the client is registered with (never called)")
	fs.IntVar(&cfg.Flows, "flows", 1000, "stop after this many flows (0: no count bound)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Minute, "stop after this long, whichever bound comes first (0: no time bound)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 1, "flows under way at once")
	fs.StringVar(&cfg.Phone, "phone", "", "the number the sandbox maps to this machine (default: read the sandbox table)")
	fs.StringVar(&cfg.AdminToken, "admin-token", os.Getenv("NUMAUTH_ADMIN_TOKEN"), "admin token for the sandbox table [NUMAUTH_ADMIN_TOKEN]")
	dataDir := fs.String("data-dir", envOr("NUMAUTH_DATA_DIR", "./data"), "the server's data directory, for its admin token when none is given [NUMAUTH_DATA_DIR]")
	fs.StringVar(&cfg.SourceHeader, "source-header", "", "send --phone in this header on page calls (a sandbox that trusts this machine as a proxy, e.g. X-MSISDN)")
	fs.StringVar(&cfg.Origin, "origin", bench.DefaultOrigin, "page origin the bench registers its scheme for")
	fs.BoolVar(&cfg.Baseline, "baseline", false, "first drive GET /bench/noop with the same client and concurrency, and report the ratios")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "bound on each call")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file (- for standard output; the table then goes to standard error)")
	fs.BoolVar(&cfg.AllowRealCarriers, "i-know-this-bills-real-carriers", false, "run even when the target's carrier is not the sandbox")
	cpuProfile := fs.String("cpuprofile", "", "write the load generator's own CPU profile to this file (its share of a machine it shares with the server)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	cfg.Kind = bench.Kind(*kind)
	// One bound given alone stands alone: --duration 30s runs 30 s whatever
	// the default flow count, --flows 10000 runs to the count (within the
	// default 10-minute cap).
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["duration"] && !set["flows"] {
		cfg.Flows = 0
	}
	if cfg.Phone == "" && cfg.AdminToken == "" && cfg.SourceHeader == "" {
		// Best effort: the server's own token file, when it runs here.
		if tok, err := adminToken(*dataDir, false); err == nil {
			cfg.AdminToken = tok
		}
	}

	table := stdout
	if *jsonOut == "-" {
		table = stderr
	}
	if isTerminal(stderr) {
		cfg.Progress = stderr
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("bench: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, bench.ErrNotSandbox) {
			return fmt.Errorf("bench: %w (pass --i-know-this-bills-real-carriers to run anyway)", err)
		}
		return fmt.Errorf("bench: %w", err)
	}
	if err := rep.WriteTable(table); err != nil {
		return err
	}
	if err := writeJSONReport(*jsonOut, stdout, rep); err != nil {
		return fmt.Errorf("bench: write the JSON report: %w", err)
	}
	if rep.FlowsFailed > 0 && !rep.Interrupted {
		return fmt.Errorf("bench: %d of %d flows failed", rep.FlowsFailed, rep.Flows+rep.FlowsFailed)
	}
	return nil
}

// writeJSONReport writes rep as JSON to path ("-": stdout; "": nowhere).
func writeJSONReport(path string, stdout io.Writer, rep *bench.Report) error {
	switch path {
	case "":
		return nil
	case "-":
		return rep.WriteJSON(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
