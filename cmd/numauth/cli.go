package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/numauth/numauth/internal/admin"
	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/token"
)

// withService opens the stores and the service for an operator command.
func withService(ctx context.Context, sf storeFlags, fn func(*auth.Service) error) error {
	box, _, err := sf.masterBox()
	if err != nil {
		return err
	}
	d, err := sf.openDurable(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	if box, err = pinRoot(ctx, d, box); err != nil {
		return err
	}
	e, err := sf.openEphemeral(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	sb, err := sandbox.New(sandbox.Config{Key: box.Derive("numauth sandbox ticket v1", 32)})
	if err != nil {
		return err
	}
	svc, err := auth.New(ctx, auth.Config{Carrier: sb, Logger: slog.New(slog.DiscardHandler), CacheTTL: -1}, d, e, box)
	if err != nil {
		return err
	}
	defer svc.Close()
	return fn(svc)
}

func keysCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("keys: want create, list, disable, enable or rotate-master")
	}
	var sf storeFlags
	fs := flag.NewFlagSet("numauth keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf.register(fs)
	account := fs.String("account", auth.DefaultAccount, "account that owns the key")
	id := fs.String("id", "", "AccessKeyId (default: generated)")
	sec := fs.String("secret", "", "AccessKeySecret (default: generated)")
	desc := fs.String("description", "", "free text")
	server := fs.String("server", "", "create, list, disable, enable: act through a running server's admin API (its URL) with the admin token [NUMAUTH_ADMIN_TOKEN or admin.token in --data-dir]")
	if err := parseInterspersed(fs, args[1:]); err != nil {
		return err
	}
	if *server != "" {
		if *id != "" || *sec != "" {
			return errors.New("keys create --server: the server generates the AccessKeyId and secret; --id and --secret are for the stores directly")
		}
		c, err := newAdminClient(*server, sf.dataDir)
		if err != nil {
			return err
		}
		return keysRemote(ctx, c, args[0], fs.Args(), *account, *desc, stdout, stderr)
	}
	return withService(ctx, sf, func(svc *auth.Service) error {
		switch args[0] {
		case "create":
			c, err := svc.CreateAccessKey(ctx, *account, *id, *sec, *desc)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "AccessKeyId:     %s\nAccessKeySecret: %s\nAccount:         %s\n", c.AccessKeyID, c.Secret, c.AccountID)
			fmt.Fprintln(stderr, "Keep the secret now: numauth stores it encrypted and will not show it again.")
			return nil
		case "list":
			ks, err := svc.ListAccessKeys(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCESS KEY ID\tACCOUNT\tSTATUS\tCREATED\tDESCRIPTION")
			for _, k := range ks {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", termSafeAll(k.ID, k.AccountID, string(k.Status), k.CreatedAt.Format(time.RFC3339), k.Description)...)
			}
			return tw.Flush()
		case "rotate-master":
			if fs.NArg() != 0 {
				return errors.New("keys rotate-master: takes no arguments")
			}
			n, err := svc.ResealSecrets(ctx)
			if err != nil {
				return err
			}
			ids := svc.MasterKeyIDs()
			fmt.Fprintf(stdout, "re-sealed %d secrets under master key %s\n", n, ids[0])
			if len(ids) > 1 {
				fmt.Fprintf(stderr, "Every secret now opens under %s alone; once every instance runs with it as NUMAUTH_MASTER_KEY, drop the previous keys (%s).\n", ids[0], strings.Join(ids[1:], ", "))
			}
			return nil
		case "disable", "enable":
			if fs.NArg() != 1 {
				return fmt.Errorf("keys %s: want one AccessKeyId", args[0])
			}
			if err := svc.SetAccessKeyActive(ctx, fs.Arg(0), args[0] == "enable"); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s %sd (running servers notice within 5 s)\n", fs.Arg(0), args[0])
			return nil
		}
		return fmt.Errorf("keys: unknown subcommand %q", args[0])
	})
}

// keysRemote is keysCmd through the admin API.
func keysRemote(ctx context.Context, c *adminClient, sub string, rest []string, account, desc string, stdout, stderr io.Writer) error {
	switch sub {
	case "create":
		var k admin.KeyJSON
		if err := c.call(ctx, "POST", "/admin/v1/keys", map[string]string{"account": account, "description": desc}, &k); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "AccessKeyId:     %s\nAccessKeySecret: %s\nAccount:         %s\n", k.AccessKeyID, k.AccessKeySecret, k.AccountID)
		fmt.Fprintln(stderr, "Keep the secret now: numauth stores it encrypted and will not show it again.")
		return nil
	case "list":
		var out struct{ Keys []admin.KeyJSON }
		if err := c.call(ctx, "GET", "/admin/v1/keys", nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACCESS KEY ID\tACCOUNT\tSTATUS\tCREATED\tDESCRIPTION")
		for _, k := range out.Keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", termSafeAll(k.AccessKeyID, k.AccountID, k.Status, k.CreatedAt.Format(time.RFC3339), k.Description)...)
		}
		return tw.Flush()
	case "disable", "enable":
		if len(rest) != 1 {
			return fmt.Errorf("keys %s: want one AccessKeyId", sub)
		}
		if err := c.call(ctx, "POST", "/admin/v1/keys/"+url.PathEscape(rest[0])+"/"+sub, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %sd (running servers notice within 5 s)\n", rest[0], sub)
		return nil
	case "rotate-master":
		return errors.New("keys rotate-master works on the stores (--data-dir or --store), not through --server")
	}
	return fmt.Errorf("keys: unknown subcommand %q", sub)
}

func schemesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return errors.New("schemes: want list")
	}
	var sf storeFlags
	fs := flag.NewFlagSet("numauth schemes list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf.register(fs)
	account := fs.String("account", "", "only this account's schemes")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	return withService(ctx, sf, func(svc *auth.Service) error {
		scs, err := svc.ListSchemes(ctx, *account)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SCHEME CODE\tACCOUNT\tNAME\tOS\tORIGIN\tURL")
		for _, s := range scs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", termSafeAll(s.Code, s.AccountID, s.Name, s.OsType, s.Origin, s.URL)...)
		}
		return tw.Flush()
	})
}

// sandboxCmd drives a running server's sandbox carrier through its admin API.
func sandboxCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || (args[0] != "subscribers" && args[0] != "faults") {
		return errors.New("sandbox: want 'subscribers list|add|remove' or 'faults list|set'")
	}
	fs := flag.NewFlagSet("numauth sandbox "+args[0]+" "+args[1], flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("NUMAUTH_ADDR", "127.0.0.1:8080"), "the running server's address")
	dataDir := fs.String("data-dir", envOr("NUMAUTH_DATA_DIR", "./data"), "the server's data directory (for its admin token)")
	latency := fs.Duration("latency", 0, "faults set: added latency per call")
	errRate := fs.Float64("error-rate", 0, "faults set: probability 0..1 that a call fails")
	maint := fs.Bool("maintenance", false, "faults set: carrier under maintenance")
	quota := fs.Bool("quota-exhausted", false, "faults set: carrier call limit reached")
	if err := parseInterspersed(fs, args[2:]); err != nil {
		return err
	}
	tok, err := adminToken(*dataDir, false)
	if err != nil {
		return err
	}
	base := "http://" + *addr + "/admin/v1/sandbox"
	call := func(method, path string, body any) error {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		if res.StatusCode >= 300 {
			return fmt.Errorf("server answered %s: %s", res.Status, strings.TrimSpace(string(out)))
		}
		stdout.Write(out)
		return nil
	}
	switch args[0] + " " + args[1] {
	case "subscribers list":
		return call("GET", "/subscribers", nil)
	case "subscribers add":
		if fs.NArg() != 1 {
			return errors.New("sandbox subscribers add: want ADDR_OR_CIDR=PHONE")
		}
		sub, err := sandbox.ParseSubscriber(fs.Arg(0))
		if err != nil {
			return err
		}
		body := map[string]string{"prefix": sub.Prefix.String(), "phone": sub.Phone}
		if sub.Operator != "" {
			body["operator"] = string(sub.Operator)
		}
		return call("POST", "/subscribers", body)
	case "subscribers remove":
		if fs.NArg() != 1 {
			return errors.New("sandbox subscribers remove: want ADDR_OR_CIDR")
		}
		if err := call("DELETE", "/subscribers?prefix="+url.QueryEscape(fs.Arg(0)), nil); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "removed", fs.Arg(0))
		return nil
	case "faults list":
		return call("GET", "/faults", nil)
	case "faults set":
		if fs.NArg() != 1 {
			return errors.New("sandbox faults set: want OPERATOR (CM, CU or CT) before the flags' values")
		}
		return call("PUT", "/faults/"+url.PathEscape(fs.Arg(0)), map[string]any{
			"latency": latency.String(), "errorRate": *errRate, "maintenance": *maint, "quotaExhausted": *quota,
		})
	}
	return fmt.Errorf("sandbox: unknown subcommand %q", strings.Join(args[:2], " "))
}

// parseInterspersed parses flags that may stand after one leading
// positional argument ("faults set CM --latency 1s"): the positional is
// moved behind the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = append(append([]string{}, args[1:]...), append([]string{"--"}, args[0])...)
	}
	return fs.Parse(args)
}

// jwtCmd manages the JwtToken signing keys.
func jwtCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "list") {
		return errors.New("jwt: want rotate or list")
	}
	var sf storeFlags
	fs := flag.NewFlagSet("numauth jwt "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf.register(fs)
	var delay, ttl *time.Duration
	if args[0] == "rotate" {
		delay = fs.Duration("delay", defaultPublicationDelay, "how long the new key is published before it signs; longer than the JWKS cache lifetime (5 min) plus the servers' key refresh (1 min)")
	} else {
		ttl = fs.Duration("jwt-token-ttl", time.Hour, "the servers' --jwt-token-ttl: how long a retired key stays in the JWKS")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("jwt %s: takes no arguments", args[0])
	}
	if delay != nil && *delay < 0 {
		return fmt.Errorf("jwt rotate: --delay %v is negative", *delay)
	}
	return withService(ctx, sf, func(svc *auth.Service) error {
		kr := svc.Keyring()
		if args[0] == "list" {
			kr.WithMaxTokenLifetime(*ttl)
			return printJWTKeys(stdout, kr.Keys())
		}
		old := kr.SigningKeyID()
		id, at, err := kr.Rotate(ctx, *delay)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key %s: in the JWKS now, signs from %s\n", id, at.Format(time.RFC3339))
		fmt.Fprintf(stdout, "key %s signs until then and stays in the JWKS until its last JwtToken expires (%s plus --jwt-token-ttl)\n", old, at.Format(time.RFC3339))
		return nil
	})
}

// defaultPublicationDelay is numauth jwt rotate's --delay: the JWKS
// endpoint's max-age (300 s) plus a refresh of every server's keys (1 min),
// with room to spare.
const defaultPublicationDelay = 10 * time.Minute

func printJWTKeys(w io.Writer, keys []token.KeyInfo) error {
	when := func(t time.Time, zero string) string {
		if t.IsZero() {
			return zero
		}
		return t.Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tSTATE\tSIGNS FROM\tNOT AFTER\tIN JWKS UNTIL")
	now := time.Now()
	for _, k := range keys {
		state := "retired"
		switch {
		case k.Signing:
			state = "signing"
		case !k.Published:
		case k.NotStarted():
			state = "published, not started"
		case !k.NotAfter.IsZero() && !now.Before(k.NotAfter):
			state = "published, retired"
		case now.Before(k.SignsFrom):
			state = "published, signs next"
		default:
			state = "published, superseded" // a newer key signs already
		}
		from := when(k.SignsFrom, "start")
		if k.NotStarted() {
			from = "when the key before it is retired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", termSafeAll(k.ID, state, from, when(k.NotAfter, "-"), when(k.PublishedUntil, "-"))...)
	}
	return tw.Flush()
}
