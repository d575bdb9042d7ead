// Package security holds numauth's security regression tests: one file per
// finding of the security review (issue 9), each a black-box reproduction
// over HTTP against real numauth processes started by test/harness, which
// failed before the fix and must keep passing after it.
//
// The findings and their tests:
//
//	 1 mask brute force across sessions      flows_test.go   TestMaskBruteForce
//	 2 one tenant locks a number for all     flows_test.go   TestMaskLockPerTenant
//	 3 billed while the client got 503       flows_test.go   TestRetryAfterOutage
//	 4 unbounded gateway sessions            flows_test.go   TestSessionFlood
//	 5 deleted scheme keeps working          flows_test.go   TestDeletedScheme
//	 6 scheme names not unique               scheme_unique_test.go
//	 7 ready while writes fail               flows_test.go   TestReadyzOnFullDisk
//	 8 SchemeName validation                 scheme_name_test.go
//	 9 ops endpoints on the API listener     flows_test.go   TestOpsEndpoints
//	10 database files 0644                   file_mode_test.go
//	11 wrong method 404, not 405             h5_method_test.go
//	12 replay window after a store loss      replay_test.go  TestReplayAfterEphemeralLoss
//	13 IpWhiteList; punycode origins         ip_whitelist_test.go, origin_idna_test.go
//
// Every test runs on SQLite + the in-process ephemeral store, and again on
// PostgreSQL + Redis when those are reachable (that variant skips with a
// message saying how to provide them otherwise), except 7 and 9, which are
// about a local disk and the server's listeners. 3 and 7 fill a small
// tmpfs, which needs root (they skip, saying so, without it). Each server gets stores
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
