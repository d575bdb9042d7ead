package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// Help asked for, after any command, prints a usage and exits 0; a usage
// error exits 2. Nothing here opens a store: the data directory stays empty.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("NUMAUTH_DATA_DIR", dir+"/data")
	for _, tc := range []struct {
		args   []string
		status int
		says   string // in stdout or stderr
	}{
		{[]string{"help"}, 0, "Usage:"},
		{[]string{"-h"}, 0, "Usage:"},
		{[]string{"--help"}, 0, "Usage:"},
		{[]string{"serve", "-h"}, 0, "-request-timeout"},
		{[]string{"serve", "--help"}, 0, "-request-timeout"},
		{[]string{"bench", "-h"}, 0, "-concurrency"},
		{[]string{"keys", "-h"}, 0, "Usage:"},
		{[]string{"keys", "create", "--help"}, 0, "-secret"},
		{[]string{"schemes", "-help"}, 0, "Usage:"},
		{[]string{"schemes", "list", "-h"}, 0, "-account"},
		{[]string{"sandbox", "--help"}, 0, "Usage:"},
		{[]string{"sandbox", "faults", "-h"}, 0, "Usage:"},
		{[]string{"sandbox", "faults", "set", "-h"}, 0, "-latency"},
		{[]string{"camara", "-h"}, 0, "Usage:"},
		{[]string{"camara", "clients", "--help"}, 0, "camara clients create"},
		{[]string{"camara", "clients", "create", "-h"}, 0, "-redirect-uri"},
		{[]string{"camara", "clients", "list", "-h"}, 0, "-json"},
		{[]string{"version"}, 0, "numauth"},
		{nil, 2, "Usage:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"serve", "--no-such-flag"}, 2, "no-such-flag"},
		{[]string{"serve", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"schemes"}, 2, "want list"},
		{[]string{"camara"}, 2, "want 'clients create|list|disable|enable'"},
		{[]string{"camara", "clients", "create", "--secret"}, 2, "at least one --redirect-uri"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := exitStatus(run(context.Background(), tc.args, &stdout, &stderr), &stderr)
			if out := stdout.String() + stderr.String(); status != tc.status || !strings.Contains(out, tc.says) {
				t.Fatalf("status %d, want %d; output lacks %q:\n%s", status, tc.status, tc.says, out)
			}
		})
	}
	if entries, _ := filepath.Glob(dir + "/*"); len(entries) != 0 {
		t.Fatalf("asking for help created %v", entries)
	}
}
