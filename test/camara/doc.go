// Package camara holds the whole-system tests of numauth's northbound CAMARA
// API (SPEC §7): its OpenID provider at /camara and the Number Verification
// API v2.1.0 at /camara/number-verification/v2, each test against real
// numauth processes started by test/harness, whose sandbox carrier maps
// 127.0.0.1 to a line (+8613812345678) and nothing to 127.0.0.3 (Wi-Fi). A
// test picks the phone's source address by dialing from 127.0.0.N.
//
// What runs:
//   - TestCamaraFeatures: CAMARA's own test definitions, the Gherkin files
//     ../shared/reference/camara/*.feature beside the repository, unchanged,
//     run with godog. Every step they use has a definition here; "a valid
//     access token" is a real one from the authorization-code flow (PKCE,
//     private_key_jwt for phoneNumberVerify, client_secret_basic for
//     phoneNumberShare). The scenarios that cannot apply to numauth are
//     skipped by tag, each with its reason (notForNumauth), and the test
//     prints how many passed and were skipped.
//   - TestRelyingParty: an independent relying party on coreos/go-oidc and
//     golang.org/x/oauth2 (discovery, PKCE S256, ID token checked against the
//     provider's JWKS, nonce) for both ways of client authentication, then
//     /verify true and false (plain and hashed), /device-phone-number, and
//     each token refused on its second use.
//   - TestFaults: Wi-Fi → access_denied; an unregistered redirect_uri → an
//     error page, no redirect; PKCE missing or plain → invalid_request; a
//     wrong verifier or a reused code → invalid_grant; a client assertion
//     with a wrong audience, expired, or with a replayed jti →
//     invalid_client; a scope not granted → 403 PERMISSION_DENIED; a
//     malformed phoneNumber → 400 INVALID_ARGUMENT; token lifetime ≤ 300 s.
//   - TestCamaraClientExample: builds examples/camara-client and runs it as
//     its README says, the test acting as the phone's browser.
//   - TestSpecValidator: the OpenAPI validator itself, against a stand-in
//     server, without numauth.
//
// Every NV call goes through one http.RoundTripper (validating) that checks
// the request and the response against
// ../shared/reference/camara-number-verification.yaml with kin-openapi
// (openapi3filter.ValidateRequest and ValidateResponse: status codes,
// headers, bodies, error answers too). A request meant to break the
// document (no body, no token, two properties …) is marked so, and then
// must break it.
//
// What each test needs: Go, to build cmd/numauth (and the example), and
// the reference folder: a clone without shared/ beside it skips the tests
// that read it. Nothing else: no network, no browser (the browser flow is
// test/e2e's TestCamaraBrowser).
package camara
