// Command numauth is the numauth server and its operator tools.
//
//	numauth serve                  run the service
//	numauth keys create|list|disable|enable|rotate-master
//	numauth jwt rotate|list        JwtToken signing keys: rotate with a publication delay, list
//	numauth schemes list
//	numauth users create|list|disable|enable|delete|signout (--server URL: through a running server)
//	numauth sandbox subscribers add|list|remove, numauth sandbox faults list|set
//	numauth sms outbox             what the sandbox SMS provider delivered
//	numauth camara clients create|list|disable|enable
//	numauth bench                  load-generate whole flows against a server
//	numauth version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `numauth — self-hosted phone-number authentication (Alibaba Dypnsapi compatible)

Usage:
  numauth serve [flags]                         run the service (numauth serve -h for flags)
  numauth keys create [--account A] [--id ID] [--secret S] [--description D]
  numauth keys list
  numauth keys disable|enable ID                (create, list, disable, enable also with --server URL)
  numauth keys rotate-master                    re-seal every stored secret under the current master key
  numauth jwt rotate [--delay D]                new JwtToken signing key: published now, signs after D (10m)
  numauth jwt list [--jwt-token-ttl D]          the JwtToken signing keys: which signs, which are published, until when
  numauth schemes list [--account A]
  numauth users create NAME [--role admin|viewer]   console user; prints its generated password once
  numauth users list | disable|enable|delete|signout NAME   (each also with --server URL)
  numauth sandbox subscribers list|add ADDR_OR_CIDR=PHONE|remove ADDR_OR_CIDR
  numauth sandbox faults list|set OPERATOR [--latency D] [--error-rate R] [--maintenance] [--quota-exhausted]
  numauth sms outbox [--phone P] [--limit N] [--json]   what the sandbox SMS provider delivered
  numauth camara clients create [--account A] --redirect-uri URI [--redirect-uri URI2 …]
                                (--jwks-file F | --secret) [--name N] [--scope S …]   prints {"client_id", "client_secret"?}
  numauth camara clients list [--account A] [--json]
  numauth camara clients disable|enable ID
  numauth bench [flags]                         drive whole flows against a server (numauth bench -h)
  numauth version

keys, jwt, users, schemes, sms and camara work on --data-dir (or --store); sandbox talks to a running
server at --addr, and users to one at --server URL, with the admin token from --data-dir.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitStatus(err, os.Stderr))
}

// errNoCommand is run's error for no command at all: the usage is printed,
// and it is a usage error.
var errNoCommand = errors.New("no command")

// exitStatus is numauth's exit status for run's error, printed to stderr
// when the usage was not: 0 for none and for help asked for (-h or --help,
// after any command), 2 for anything else.
func exitStatus(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case !errors.Is(err, errNoCommand):
		fmt.Fprintln(stderr, "numauth:", err)
	}
	return 2
}

// asksHelp reports whether one of the first n words is -h, -help or --help.
// It answers for the words of commands that have no flags of their own at
// that place (numauth keys -h, numauth sandbox faults --help); after a
// subcommand, its flag set answers -h with its flags.
func asksHelp(words []string, n int) bool {
	for _, w := range words[:min(n, len(words))] {
		if w == "-h" || w == "-help" || w == "--help" {
			return true
		}
	}
	return false
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errNoCommand
	}
	if n := map[string]int{"keys": 1, "jwt": 1, "users": 1, "schemes": 1, "sandbox": 2, "sms": 1, "camara": 2}[args[0]]; asksHelp(args[1:], n) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "keys":
		return keysCmd(ctx, args[1:], stdout, stderr)
	case "users":
		return usersCmd(ctx, args[1:], stdout, stderr)
	case "jwt":
		return jwtCmd(ctx, args[1:], stdout, stderr)
	case "schemes":
		return schemesCmd(ctx, args[1:], stdout, stderr)
	case "sandbox":
		return sandboxCmd(ctx, args[1:], stdout, stderr)
	case "sms":
		return smsCmd(ctx, args[1:], stdout, stderr)
	case "camara":
		return camaraCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "numauth", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}
