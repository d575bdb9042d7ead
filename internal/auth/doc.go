// Package auth holds numauth's rules: schemes, auth tokens, the carrier leg,
// verification and login, as plain Go methods over the store, token, limit
// and carrier interfaces. It knows nothing of HTTP; internal/openapi and
// internal/h5 are its protocol front ends. One file per flow:
//
//	session.go  the gateway session (check)
//	verify.go   local-number verification (verify-token, VerifyPhoneWithToken)
//	login.go    one-click login (login-mask, login-token, GetPhoneWithToken)
//	sptoken.go  minting spTokens and their exactly-once outcome
//	nonce.go    signature nonces and per-key throttling
//	sms.go      SMS codes (SendSmsVerifyCode, CheckSmsVerifyCode, QuerySendDetails)
//	budget.go   reserving budget units while parallel attempts settle
//	oauthclients.go  the CAMARA northbound API's OAuth clients (registration, secrets)
//
// # The H5 flows
//
//	GetAuthToken ─▶ check ─▶ session ─┬─ verify-token ─▶ spToken(verify) ─▶ VerifyPhoneWithToken
//	                                  └─ login-mask ─▶ session+line ─▶ login-token ─▶ spToken(login) ─▶ GetPhoneWithToken
//
// check spends a unit of the token pair's and the address's session
// budgets. login-token reserves a unit of the number's wrong-mask budgets
// (per account, and across accounts) before the carrier checks the digits;
// a correct mask gives it back, and the wrong mask that spends a budget
// ends the session. A session and its spTokens die with their scheme.
//
// # An spToken's outcome
//
//	absent ──claim──▶ P<lease> ──answered──▶ D    (every later use: TOKEN_INVALID)
//	                     │  ▲
//	              failed │  │ retry (takes over R, or a P whose lease ended;
//	                     ▼  │        answers the recorded record if there is one)
//	                     R ─┘
//
// Every arrow is one Swap in the ephemeral store, guarded by the epoch
// marker: after the store loses its data no arrow can be taken for a token
// minted before the loss (a token carries the marker it was minted under).
// The record of an answer has an id derived from the token, so one token
// never yields two records; a verification retry answers that record, a
// login retry asks the carrier for the number again and checks it against
// the record.
//
// # An SMS code
//
//	send: claim Interval ─▶ reserve hour/day/global/account units ─▶ add code hash ─▶ provider
//	        │ held: FREQUENCY_FAIL  │ spent: BUSINESS_LIMIT_CONTROL           accepted: keep units, record
//	                                                                          refused:  refund, release, withdraw code, record as failed
//	check:  live codes of (account, scheme, number) ─▶ reserve a check unit of their generation
//	        ─▶ match: remove that code (one Swap), give the unit back: PASS
//	        ─▶ no match: keep the unit; the last one ends the generation: UNKNOWN
//
// DuplicatePolicy 1 starts a new generation (and check budget) with every
// send; 2 adds the code to the live generation. The Interval is a cooldown
// from the accepted send, the other limits aligned windows (internal/limit).
package auth
