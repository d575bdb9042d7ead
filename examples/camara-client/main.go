// Command camara-client verifies a phone number with the CAMARA Number
// Verification API the way an operator's customer does, here against
// numauth's northbound API: it discovers the OpenID provider, serves a
// local callback, prints the authorization URL for the phone's browser to
// open over mobile data, exchanges the code (PKCE, private_key_jwt or
// client_secret_basic), checks the ID token and calls POST /verify once.
// See README.md beside this file.
//
//	go run ./examples/camara-client -client-key key.pem -print-jwks > jwks.json
//	numauth camara clients create --account default --redirect-uri http://127.0.0.1:8090/callback --jwks-file jwks.json
//	go run ./examples/camara-client -client-id ID -client-key key.pem -phone +8613812345678
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/numauth/numauth/examples/camara-client/rp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "camara-client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("camara-client", flag.ContinueOnError)
	issuer := fs.String("issuer", "http://127.0.0.1:8080/camara", "the operator's OpenID issuer")
	apiRoot := fs.String("api-root", "", "the operator's API root (the NV API is at API_ROOT/number-verification/v2); default: the issuer")
	clientID := fs.String("client-id", "", "the client id the operator gave you")
	keyFile := fs.String("client-key", "", "PEM RSA private key for private_key_jwt (its JWKS is what -print-jwks prints)")
	listen := fs.String("listen", "127.0.0.1:8090", "address of the local callback server")
	redirect := fs.String("redirect-url", "", "the redirect URL registered with the operator; default: http://LISTEN/callback")
	phone := fs.String("phone", "", "the number to verify, E.164 (+8613812345678)")
	printJWKS := fs.Bool("print-jwks", false, "print the public JWKS of -client-key (to register the client with) and exit")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the phone's browser")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The secret comes from the environment only, so that it never shows
	// in the process list.
	secret := os.Getenv("CAMARA_CLIENT_SECRET")

	cfg := rp.Config{Issuer: *issuer, APIRoot: *apiRoot, ClientID: *clientID, ClientSecret: secret, RedirectURL: *redirect}
	if *keyFile != "" {
		data, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		if cfg.Key, err = rp.ParseKey(data); err != nil {
			return err
		}
		if cfg.KeyID, err = rp.KeyID(cfg.Key); err != nil {
			return err
		}
	}
	if *printJWKS {
		if cfg.Key == nil {
			return errors.New("-print-jwks needs -client-key")
		}
		jwks, err := rp.JWKS(cfg.Key)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", jwks)
		return err
	}
	switch {
	case cfg.ClientID == "":
		return errors.New("-client-id is needed (numauth camara clients create prints it)")
	case cfg.Key == nil && secret == "":
		return errors.New("-client-key (private_key_jwt) or CAMARA_CLIENT_SECRET (client_secret_basic) is needed")
	case !strings.HasPrefix(*phone, "+"):
		return errors.New("-phone: want the number in E.164 form, such as +8613812345678")
	}
	if cfg.APIRoot == "" {
		cfg.APIRoot = cfg.Issuer
	}
	if cfg.RedirectURL == "" {
		cfg.RedirectURL = "http://" + *listen + "/callback"
	}
	if u, err := url.Parse(cfg.RedirectURL); err != nil || u.Path == "" || u.Path == "/" {
		return fmt.Errorf("-redirect-url %q: want a URL with a path, such as http://127.0.0.1:8090/callback", cfg.RedirectURL)
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client, err := rp.New(ctx, cfg)
	if err != nil {
		return err
	}
	type outcome struct {
		res rp.Result
		err error
	}
	done := make(chan outcome, 1)
	h, err := client.Handler(*phone, func(res rp.Result, err error) {
		select {
		case done <- outcome{res, err}:
		default:
		}
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() { // let the browser get its result page first
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()

	fmt.Fprintf(out, "Open this URL in the phone's browser, over mobile data (not Wi-Fi):\n%s\n", client.Start(*phone))
	fmt.Fprintf(out, "(or http://%s/ , which starts a verification of its own)\n", ln.Addr())
	select {
	case o := <-done:
		if o.err != nil {
			return o.err
		}
		fmt.Fprintf(out, "%s\n", o.res)
		fmt.Fprintf(out, "devicePhoneNumberVerified: %t\n", o.res.Verified)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no answer from the phone's browser: %w", ctx.Err())
	}
}
