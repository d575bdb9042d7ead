// Command h5-demo is an integrator server as a numauth customer would write
// it: one page that runs local-number verification (with a code by SMS where
// the carrier cannot answer) and one-click login with the numauth web SDK,
// and a back end that calls numauth's server API with the official Alibaba
// Cloud Go SDK. See docs/demo.md.
//
//	numauth serve --sandbox-subscriber 127.0.0.1=13800138000   # in another terminal
//	go run ./examples/h5-demo                                   # then open http://127.0.0.1:8090/
//
// The AccessKey comes from NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID/_SECRET, or else
// ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET. On start the server makes sure an H5
// scheme allows its page (CreateVerifyScheme when none does yet).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/numauth/numauth/examples/h5-demo/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "h5-demo:", err)
		os.Exit(1)
	}
}

// accessKey returns the AccessKey from the environment: numauth's bootstrap
// key first, then the Alibaba Cloud SDKs' usual variables.
func accessKey() (id, secret string, err error) {
	for _, pre := range []string{"NUMAUTH_BOOTSTRAP_ACCESS_KEY", "ALIBABA_CLOUD_ACCESS_KEY"} {
		id, secret = strings.TrimSpace(os.Getenv(pre+"_ID")), strings.TrimSpace(os.Getenv(pre+"_SECRET"))
		if id != "" && secret != "" {
			return id, secret, nil
		}
	}
	return "", "", errors.New("set NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID and NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET " +
		"(or ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET) to an AccessKey of numauth")
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("h5-demo", flag.ContinueOnError)
	numauth := fs.String("numauth", "http://127.0.0.1:8080", "numauth's base URL (server API and web SDK)")
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	public := fs.String("public-url", "", "the page's URL as browsers reach it (default: http://ADDR/)")
	scene := fs.String("scene-code", "", "H5 scheme code to use (default: the one that allows the page, created if none)")
	frames := fs.String("frame-src", "", "origins the page may frame besides numauth, space-separated: the operators of a camara carrier")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	id, secret, err := accessKey()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if *public == "" {
		*public = "http://" + ln.Addr().String() + "/"
	}
	srv, err := demo.New(demo.Config{
		Numauth: *numauth, PublicURL: *public, AccessKeyID: id, AccessKeySecret: secret, SceneCode: *scene, Logger: log,
		FrameSources: strings.Fields(*frames),
	})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	_, err = srv.EnsureScheme(sctx) // logs the scheme it creates
	cancel()
	if err != nil {
		return fmt.Errorf("%w\n(is numauth running at %s with this AccessKey?)", err, *numauth)
	}

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("h5 demo ready: open the page in a browser", "url", srv.PageURL(), "numauth", *numauth)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(shut)
}
