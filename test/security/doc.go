// Package security holds numauth's security regression tests: one file per
// finding of the security review (issue 9), each a black-box reproduction
// over HTTP against real numauth processes started by test/harness, which
// failed before the fix and must keep passing after it.
//
// Every test runs on SQLite + the in-process ephemeral store, and again on
// PostgreSQL + Redis when those are reachable (that variant skips with a
// message saying how to provide them otherwise). Each server gets stores
// of its own: a temporary data directory; a fresh PostgreSQL database on
// NUMAUTH_TEST_POSTGRES (default postgres://root@127.0.0.1:5432/test,
// trust auth), dropped when the test ends; and a Redis key prefix of its
// own (--redis-prefix) in the database NUMAUTH_TEST_SECURITY_REDIS names
// (default redis://127.0.0.1:6379/12), whose keys are deleted when the
// test ends. No test touches another test's data.
//
// env_test.go holds the helpers every test here uses: forEachBackend,
// startServer, signed RPC calls (server.call, server.callFrom) and gateway
// calls with an Origin (server.gateway); the fresh PostgreSQL database and
// Redis prefix come from test/harness (FreshDatabase, FreshRedisPrefix).
//
// The package has no code of its own; everything is in its tests.
package security
