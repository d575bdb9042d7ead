// Package camara serves numauth as a CAMARA operator: an OpenID provider
// whose authorization endpoint authenticates the phone's line through the
// carrier adapter's front leg (network-based authentication), and the
// Number Verification API v2.1.0 that the provider's access tokens open.
//
// The OpenID provider is zitadel/oidc's op package (OpenID certified):
// discovery, JWKS, the token endpoint's parsing, PKCE, ID tokens and
// error encoding are its; this package supplies the storage (auth requests,
// codes and access tokens in numauth's ephemeral store, so any instance
// serves any step), the clients (durable, per account), and the parts where
// CAMARA asks more than OpenID Connect does:
//
//   - the authorization endpoint never shows a page: prompt=none is implied,
//     the line is identified from the request itself, and a request from a
//     line the carrier cannot identify is sent back with access_denied;
//   - PKCE with S256 is required of every client, confidential or not;
//   - a client authenticates with private_key_jwt (RFC 7523: iss = sub =
//     client_id, aud the token endpoint or the issuer, exp at most 300 s
//     ahead and at most 300 s after iat, a jti used once) or, for
//     development, client_secret_basic;
//   - scopes: openid, exactly one purpose (dpv:…) and the NV scopes the
//     purpose implies, or the technical scopes; unknown scopes are refused
//     with invalid_scope rather than dropped;
//   - an access token lives at most 300 s and serves one NV call.
//
// The state of one authorization, from the phone's browser to the NV call:
//
//	GET /authorize ──(client, redirect_uri, scopes, PKCE, login_hint checked)──▶
//	  carrier front leg on this request ──not identified──▶ redirect_uri?error=access_denied
//	     │ identified: a grant (tickets, no number)
//	     ▼
//	  auth request "nv:ar:" (2 min) + code "nv:code:" ──▶ redirect_uri?code&state
//	POST /oauth/token (client auth, code_verifier) ──code taken once──▶
//	  access token "nv:at:" (≤ 300 s) + ID token (amr ["nba"], a one-time subject)
//	POST /number-verification/v2/verify or GET …/device-phone-number
//	  ──access token taken once──▶ auth.NetworkVerify / NetworkNumber ──▶ record, answer
package camara
