package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/numauth/numauth/internal/admin"
	"github.com/numauth/numauth/internal/store"
)

// usersCmd manages console users: on the stores of --data-dir / --store,
// or through a running server's admin API with --server URL.
func usersCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("users: want create, list, disable, enable, delete or signout")
	}
	var sf storeFlags
	fs := flag.NewFlagSet("numauth users "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf.register(fs)
	role := fs.String("role", "viewer", "create: admin (changes things) or viewer (reads)")
	server := fs.String("server", "", "a running server's URL: act through its admin API with the admin token [NUMAUTH_ADMIN_TOKEN or admin.token in --data-dir]")
	if err := parseInterspersed(fs, args[1:]); err != nil {
		return err
	}
	name := fs.Arg(0)
	if args[0] != "list" && name == "" {
		return fmt.Errorf("users %s: want a user NAME", args[0])
	}
	if *server != "" {
		c, err := newAdminClient(*server, sf.dataDir)
		if err != nil {
			return err
		}
		return usersRemote(ctx, c, args[0], name, store.ConsoleRole(*role), stdout, stderr)
	}
	d, err := sf.openDurable(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	switch args[0] {
	case "create":
		pw, err := admin.CreateUser(ctx, d, name, store.ConsoleRole(*role), "", time.Now())
		if err != nil {
			return err
		}
		printPassword(stdout, stderr, name, *role, pw)
		return nil
	case "list":
		us, err := d.ListConsoleUsers(ctx)
		if err != nil {
			return err
		}
		var out []admin.UserJSON
		for _, u := range us {
			out = append(out, admin.UserJSON{Name: u.Name, Role: u.Role, Disabled: u.Disabled, CreatedAt: u.CreatedAt})
		}
		printUsers(stdout, out)
		return nil
	case "disable", "enable":
		off := args[0] == "disable"
		_, err := d.UpdateConsoleUser(ctx, name, store.ConsoleUserChange{Disabled: &off})
		return err
	case "signout":
		_, err := d.UpdateConsoleUser(ctx, name, store.ConsoleUserChange{})
		return err
	case "delete":
		return d.DeleteConsoleUser(ctx, name)
	}
	return fmt.Errorf("users: unknown subcommand %q", args[0])
}

func usersRemote(ctx context.Context, c *adminClient, sub, name string, role store.ConsoleRole, stdout, stderr io.Writer) error {
	path := "/admin/v1/users/" + url.PathEscape(name)
	switch sub {
	case "create":
		var out struct{ Password string }
		if err := c.call(ctx, "POST", "/admin/v1/users", map[string]any{"name": name, "role": role}, &out); err != nil {
			return err
		}
		printPassword(stdout, stderr, name, string(role), out.Password)
		return nil
	case "list":
		var out struct{ Users []admin.UserJSON }
		if err := c.call(ctx, "GET", "/admin/v1/users", nil, &out); err != nil {
			return err
		}
		printUsers(stdout, out.Users)
		return nil
	case "disable", "enable":
		return c.call(ctx, "PATCH", path, map[string]any{"disabled": sub == "disable"}, nil)
	case "signout":
		return c.call(ctx, "PATCH", path, map[string]any{"signOut": true}, nil)
	case "delete":
		return c.call(ctx, "DELETE", path, nil, nil)
	}
	return fmt.Errorf("users: unknown subcommand %q", sub)
}

func printPassword(stdout, stderr io.Writer, name, role, pw string) {
	fmt.Fprintf(stdout, "User:     %s\nRole:     %s\nPassword: %s\n", name, role, pw)
	fmt.Fprintln(stderr, "Keep the password now: numauth stores only its hash and will not show it again.")
}

func printUsers(stdout io.Writer, us []admin.UserJSON) {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tCREATED")
	for _, u := range us {
		state := "active"
		if u.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", termSafe(u.Name), u.Role, state, u.CreatedAt.Format(time.RFC3339))
	}
	tw.Flush()
}
