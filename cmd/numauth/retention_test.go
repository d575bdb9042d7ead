package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/test/harness"
)

func TestParseRetention(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string // a part of the error; "" for none
	}{
		{"", 0, ""},
		{"0", 0, ""},
		{"400d", 400 * 24 * time.Hour, ""},
		{" 30d ", 30 * 24 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"720h", 720 * time.Hour, ""},
		{"1h", time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"59m", 0, "at least"},
		{"0d", 0, "at least"},
		{"-400d", 0, "digits"},
		{"+400d", 0, "digits"},
		{"d", 0, "digits"},
		{"1.5d", 0, "digits"},
		{"400days", 0, "want e.g."},
		{"1d-12h", 0, "negative"},
		{"-5h", 0, "negative"},
		{"400", 0, "want e.g."},
		{"forever", 0, "want e.g."},
		{"999999999d", 0, "at most"},
		{"106000d2000000h", 0, "too long"},
	} {
		got, err := parseRetention(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("parseRetention(%q): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseRetention(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
		case got != tc.want:
			t.Errorf("parseRetention(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzParseRetention: any input is a retention of at least an hour, "keep
// everything" (0), or an error naming the input; never a panic or a
// negative or overflowed duration.
func FuzzParseRetention(f *testing.F) {
	for _, s := range []string{"400d", "1d12h", "720h", "0", "", "-1d", "9223372036854775807ns", "106000d2562047h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseRetention(s)
		if err != nil {
			if d != 0 || !strings.Contains(err.Error(), "retention") {
				t.Fatalf("parseRetention(%q) = %v, %v", s, d, err)
			}
			return
		}
		if d != 0 && d < minRetention {
			t.Fatalf("parseRetention(%q) = %v, below the minimum", s, d)
		}
	})
}

// TestServeRetention: a bad --retention (or NUMAUTH_RETENTION) stops serve
// before it opens anything, naming the flag; a good one deletes the
// records older than it at start and logs what it deleted.
func TestServeRetention(t *testing.T) {
	t.Setenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID", "")
	t.Setenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET", "")
	for _, bad := range []string{"forever", "-1d", "10m"} {
		_, err := newServer(context.Background(), parseServe(t, "--retention", bad), slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "--retention") {
			t.Errorf("--retention %s: %v, want an error naming --retention", bad, err)
		}
	}
	t.Setenv("NUMAUTH_RETENTION", "1.5d")
	if _, err := newServer(context.Background(), parseServe(t), slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "--retention") {
		t.Errorf("NUMAUTH_RETENTION=1.5d: %v, want an error naming --retention", err)
	}
	t.Setenv("NUMAUTH_RETENTION", "")

	f := parseServe(t, "--retention", "30d")
	ctx := context.Background()
	d, err := f.openDurable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old := store.Verification{ID: "old", Result: "PASS", CreatedAt: time.Now().AddDate(0, 0, -31)}
	recent := store.Verification{ID: "recent", Result: "PASS", CreatedAt: time.Now().AddDate(0, 0, -29)}
	if err := d.RecordVerifications(ctx, []store.Verification{old, recent}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	var logs harness.SyncBuffer
	srv, err := newServer(ctx, f, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `"records_deleted":1`) {
		if time.Now().After(deadline) {
			t.Fatalf("no maintenance log line deleting one record; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.close()
	d, err = f.openDurable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.GetVerification(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the 31-day-old record after start: %v, want ErrNotFound", err)
	}
	if _, err := d.GetVerification(ctx, "recent"); err != nil {
		t.Errorf("the 29-day-old record after start: %v", err)
	}
}
