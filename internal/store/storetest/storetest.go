// Package storetest is the conformance suite that every store backend runs.
//
// A backend's test calls [RunDurable] or [RunEphemeral] with an opener that
// returns a fresh, isolated, empty store (a new temporary file, a new
// PostgreSQL schema, a unique Redis key prefix). The suite closes the store at
// the end of each subtest; the opener may register its own t.Cleanup for
// anything else it created (it runs after the store is closed).
//
// The suite is modelled on dex's storage/conformance: small table-driven
// subtests, each with its own store, so a failure names one behaviour.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Timeout bounds each subtest's context.
const Timeout = 30 * time.Second

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

func mustIs(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eventually polls cond every 20ms until it holds or limit passes.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: condition not reached within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
