// Package scaleout holds numauth's scale-out tests: several real numauth
// processes (test/harness) sharing one PostgreSQL database (durable state)
// and one Redis (ephemeral state), checked for the promises of the
// scale-out mode (docs/scaleout.md):
//
//   - anything created or minted through one instance works through every
//     other (schemes, AccessTokens and JwtTokens, gateway sessions,
//     spTokens);
//   - whatever must happen once happens once across all instances
//     (SignatureNonce, spToken consumption, the login mask budget,
//     per-AccessKey throttling), also under concurrent attack;
//   - instances starting at once on an empty database migrate it once;
//   - when Redis or PostgreSQL goes away, calls fail fast with
//     ServiceUnavailable, /readyz says so, nothing is acknowledged that is
//     not stored, and service resumes by itself when the store returns;
//   - an instance killed with SIGKILL under load has lost no verification
//     it acknowledged;
//   - behind HAProxy (round robin, health checks on GET /readyz) the flows
//     work with every call on another instance, and an instance killed
//     under load is taken out while the flows go on (TestHAProxy; skipped
//     when haproxy is not installed).
//
// The tests need PostgreSQL and Redis and skip with a message when either
// is unreachable. NUMAUTH_TEST_POSTGRES names a server (default
// postgres://root@127.0.0.1:5432/test, trust auth) on which each test
// creates and drops its own database; NUMAUTH_TEST_SCALEOUT_REDIS names a
// Redis database (default redis://127.0.0.1:6379/13) the tests own: they
// delete the keys under numauth's prefix ("numauth:") in it. The fault
// tests never stop those shared servers: they run a private redis-server
// and a private PostgreSQL cluster (initdb and pg_ctl, run as the postgres
// user when the tests run as root) and skip when those programs are
// missing.
//
// The package has no code of its own; everything is in its tests.
package scaleout
