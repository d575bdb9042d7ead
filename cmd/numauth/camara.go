package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/numauth/numauth/internal/admin"
	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/store"
)

// listFlag is a repeatable string flag (--redirect-uri A --redirect-uri B).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// maxJWKSFile bounds what --jwks-file reads: more than any key set
// numauth accepts, so the service gives the reason.
const maxJWKSFile = 1 << 20

// camaraCmd is `numauth camara clients create|list|disable|enable`: the
// OAuth clients of the CAMARA northbound API, in the durable store.
func camaraCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "clients" {
		return errors.New("camara: want 'clients create|list|disable|enable'")
	}
	var sf storeFlags
	fs := flag.NewFlagSet("numauth camara clients "+args[1], flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf.register(fs)
	server := fs.String("server", "", "act through a running server's admin API (its URL) with the admin token [NUMAUTH_ADMIN_TOKEN or admin.token in --data-dir]")
	remote := func() (*adminClient, error) { return newAdminClient(*server, sf.dataDir) }
	switch args[1] {
	case "create":
		return camaraCreate(ctx, fs, &sf, server, args[2:], stdout, stderr)
	case "list":
		account := fs.String("account", "", "only this account's clients")
		asJSON := fs.Bool("json", false, "print JSON")
		if err := fs.Parse(args[2:]); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			return fmt.Errorf("camara clients list: unexpected argument %q", fs.Arg(0))
		}
		if *server != "" {
			c, err := remote()
			if err != nil {
				return err
			}
			var out struct{ Clients []admin.ClientJSON }
			if err := c.call(ctx, "GET", "/admin/v1/camara/clients?"+url.Values{"account": {*account}}.Encode(), nil, &out); err != nil {
				return err
			}
			cs := make([]auth.OAuthClient, 0, len(out.Clients))
			for _, j := range out.Clients {
				cs = append(cs, auth.OAuthClient{ID: j.ClientID, AccountID: j.AccountID, Name: j.Name, RedirectURIs: j.RedirectURIs,
					AuthMethod: j.AuthMethod, Scopes: j.Scopes, Status: store.KeyStatus(j.Status), CreatedAt: j.CreatedAt})
			}
			return printClients(stdout, *asJSON, cs)
		}
		return withService(ctx, sf, func(svc *auth.Service) error {
			cs, err := svc.ListOAuthClients(ctx, *account)
			if err != nil {
				return err
			}
			return printClients(stdout, *asJSON, cs)
		})
	case "disable", "enable":
		if err := parseInterspersed(fs, args[2:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("camara clients %s: want one client id", args[1])
		}
		if *server != "" {
			c, err := remote()
			if err != nil {
				return err
			}
			if err := c.call(ctx, "POST", "/admin/v1/camara/clients/"+url.PathEscape(fs.Arg(0))+"/"+args[1], nil, nil); err != nil {
				return fmt.Errorf("camara clients %s %s: %w", args[1], termSafe(fs.Arg(0)), err)
			}
			fmt.Fprintf(stdout, "%s %sd (running servers notice within 5 s)\n", termSafe(fs.Arg(0)), args[1])
			return nil
		}
		return withService(ctx, sf, func(svc *auth.Service) error {
			if err := svc.SetOAuthClientActive(ctx, fs.Arg(0), args[1] == "enable"); err != nil {
				return fmt.Errorf("camara clients %s %s: %w", args[1], termSafe(fs.Arg(0)), err)
			}
			fmt.Fprintf(stdout, "%s %sd (running servers notice within 5 s)\n", termSafe(fs.Arg(0)), args[1])
			return nil
		})
	}
	return fmt.Errorf("camara clients: unknown subcommand %q (want create, list, disable or enable)", args[1])
}

// camaraCreate is `numauth camara clients create`: it prints
// {"client_id": …, "client_secret": …} (the secret with --secret only).
// sf is registered on fs already, and filled in by the parse here.
func camaraCreate(ctx context.Context, fs *flag.FlagSet, sf *storeFlags, server *string, args []string, stdout, stderr io.Writer) error {
	var uris, scopes listFlag
	account := fs.String("account", auth.DefaultAccount, "account that owns the client (its calls are counted and billed as the account's)")
	fs.Var(&uris, "redirect-uri", "a redirect URI, matched exactly (repeatable; https, or http to a loopback host)")
	jwksFile := fs.String("jwks-file", "", "private_key_jwt: file with the client's public keys (a JWK Set)")
	useSecret := fs.Bool("secret", false, "client_secret_basic: generate a secret, printed once")
	name := fs.String("name", "", "free text")
	fs.Var(&scopes, "scope", "a scope the client may request (repeatable; default: every Number Verification scope)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("camara clients create: unexpected argument %q", fs.Arg(0))
	}
	in := auth.OAuthClientInput{AccountID: *account, Name: *name, RedirectURIs: uris, Scopes: scopes}
	switch {
	case (*jwksFile != "") == *useSecret:
		return errors.New("camara clients create: give either --jwks-file FILE (private_key_jwt) or --secret (client_secret_basic)")
	case *useSecret:
		in.AuthMethod = auth.AuthClientSecretBasic
	default:
		in.AuthMethod = auth.AuthPrivateKeyJWT
		b, err := readFileMax(*jwksFile, maxJWKSFile)
		if err != nil {
			return fmt.Errorf("camara clients create: --jwks-file: %w", err)
		}
		in.JWKS = b
	}
	if len(uris) == 0 {
		return errors.New("camara clients create: at least one --redirect-uri is required")
	}
	created := func(id, secret string) error {
		if err := writeJSON(stdout, struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret,omitempty"`
		}{id, secret}); err != nil {
			return err
		}
		if secret != "" {
			fmt.Fprintln(stderr, "Keep the secret now: numauth stores only its hash and cannot show it again.")
		}
		return nil
	}
	if *server != "" {
		c, err := newAdminClient(*server, sf.dataDir)
		if err != nil {
			return err
		}
		body := map[string]any{"account": in.AccountID, "name": in.Name, "redirectUris": in.RedirectURIs, "scopes": in.Scopes, "authMethod": in.AuthMethod}
		if in.JWKS != nil {
			if !json.Valid(in.JWKS) {
				return errors.New("camara clients create: --jwks-file does not hold JSON (want a JWK Set)")
			}
			body["jwks"] = json.RawMessage(in.JWKS)
		}
		var out admin.CreatedClientJSON
		if err := c.call(ctx, "POST", "/admin/v1/camara/clients", body, &out); err != nil {
			return fmt.Errorf("camara clients create: %w", err)
		}
		return created(out.ClientID, out.ClientSecret)
	}
	return withService(ctx, *sf, func(svc *auth.Service) error {
		c, secret, err := svc.CreateOAuthClient(ctx, in)
		if err != nil {
			return fmt.Errorf("camara clients create: %w", err)
		}
		return created(c.ID, secret)
	})
}

// printClients prints `camara clients list`: a table, or with asJSON the
// clients as JSON.
func printClients(stdout io.Writer, asJSON bool, cs []auth.OAuthClient) error {
	rows := make([][]string, 0, len(cs))
	for _, c := range cs {
		scopes := "(all)"
		if len(c.Scopes) > 0 {
			scopes = strings.Join(c.Scopes, " ")
		}
		rows = append(rows, []string{c.ID, c.AccountID, string(c.Status), c.AuthMethod,
			c.CreatedAt.Format(time.RFC3339), c.Name, strings.Join(c.RedirectURIs, " "), scopes})
	}
	return printList(stdout, asJSON, clientsJSON(cs), "CLIENT ID\tACCOUNT\tSTATUS\tAUTH\tCREATED\tNAME\tREDIRECT URIS\tSCOPES", rows)
}

// readFileMax reads a file of at most max bytes.
func readFileMax(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}

// oauthClientJSON is a client as `camara clients list --json` prints it:
// everything but the secret's hash.
type oauthClientJSON struct {
	ClientID     string          `json:"client_id"`
	Account      string          `json:"account"`
	Name         string          `json:"name"`
	Status       string          `json:"status"`
	AuthMethod   string          `json:"auth_method"`
	RedirectURIs []string        `json:"redirect_uris"`
	Scopes       []string        `json:"scopes"` // empty: every Number Verification scope
	JWKS         json.RawMessage `json:"jwks,omitempty"`
	CreatedAt    string          `json:"created_at"`
}

func clientsJSON(cs []auth.OAuthClient) []oauthClientJSON {
	out := make([]oauthClientJSON, 0, len(cs))
	for _, c := range cs {
		j := oauthClientJSON{ClientID: c.ID, Account: c.AccountID, Name: c.Name, Status: string(c.Status), AuthMethod: c.AuthMethod,
			RedirectURIs: c.RedirectURIs, Scopes: c.Scopes, CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano)}
		if j.RedirectURIs == nil {
			j.RedirectURIs = []string{}
		}
		if j.Scopes == nil {
			j.Scopes = []string{}
		}
		if json.Valid(c.JWKS) {
			j.JWKS = c.JWKS
		}
		out = append(out, j)
	}
	return out
}

// printList prints a list command's answer: asJSON, v as JSON; else a
// table of header (tab-separated) and rows, each cell made terminal-safe.
func printList(w io.Writer, asJSON bool, v any, header string, rows [][]string) error {
	if asJSON {
		return writeJSON(w, v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(termSafeStrings(r), "\t"))
	}
	return tw.Flush()
}

func termSafeStrings(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = termSafe(v)
	}
	return out
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
