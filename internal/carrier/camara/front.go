package camara

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/wire"
)

// A state is base64url (no padding) of the state record sealed by the
// adapter's key (AES-256-GCM, additional data stateAAD):
//
//	version (1), kind ('v' or 'l'), id (16 random bytes), expiry (unix ms),
//	SHA-256 of the session binding (first 16 bytes), PKCE verifier, nonce,
//	redirect URL
//
// The operator sees only ciphertext; the verifier and the nonce never leave
// numauth in clear. A state is spent by putting its id in the shared
// memory (car:camara:st:ID) the first time a Complete gets past its
// binding and expiry checks, so exactly one Complete on any instance uses it.
// loginTicketTTL is how long a login's ticket lives: a gateway session's
// 10 minutes, then the spToken's (at most CU's 30 minutes).
const loginTicketTTL = 40 * time.Minute

const (
	stateVersion = 1
	maxState     = 2048 // a state longer than any this adapter seals
	spentPrefix  = "car:camara:st:"
)

var (
	stateAAD = []byte("numauth/carrier/camara/state/v1")
	b64      = base64.RawURLEncoding.Strict()

	errState   = fmt.Errorf("%w: forged, malformed or another adapter's", carrier.ErrStateUnknown)
	errSpent   = fmt.Errorf("%w: state already used", carrier.ErrTicketInvalid)
	errExpired = fmt.Errorf("%w: state expired", carrier.ErrTicketInvalid)
	errBinding = fmt.Errorf("%w: state bound to another session", carrier.ErrTicketInvalid)
	errQuery   = fmt.Errorf("%w: the callback's state is not this flow's", carrier.ErrTicketInvalid)
	errKind    = fmt.Errorf("%w: state begun for the other flow", carrier.ErrTicketInvalid)
)

type state struct {
	kind     carrier.Kind
	id       []byte
	expires  int64
	binding  []byte
	verifier string
	nonce    string
	redirect string
}

func bindingHash(b string) []byte {
	h := sha256.Sum256([]byte("numauth camara binding\x00" + b))
	return h[:16]
}

func kindByte(k carrier.Kind) (byte, bool) {
	switch k {
	case carrier.KindVerify:
		return 'v', true
	case carrier.KindLogin:
		return 'l', true
	}
	return 0, false
}

// kindOf reads a kind byte kindByte wrote.
func kindOf(b byte) (carrier.Kind, bool) {
	switch b {
	case 'v':
		return carrier.KindVerify, true
	case 'l':
		return carrier.KindLogin, true
	}
	return "", false
}

func (a *Adapter) sealState(st state) string {
	k, _ := kindByte(st.kind)
	w := wire.NewWriter(make([]byte, 0, 160))
	w.Byte(stateVersion)
	w.Byte(k)
	w.Bytes(st.id)
	w.Int(st.expires)
	w.Bytes(st.binding)
	w.Strings(st.verifier, st.nonce, st.redirect)
	return b64.EncodeToString(a.box.Seal(w.Out(), stateAAD))
}

func (a *Adapter) openState(s string) (state, error) {
	r, ok := a.unseal(s, maxState, stateAAD, stateVersion)
	if !ok {
		return state{}, errState
	}
	var st state
	if st.kind, ok = kindOf(r.Byte()); !ok {
		return state{}, errState
	}
	st.id, st.expires, st.binding = r.Bytes(), r.Int(), r.Bytes()
	st.verifier, st.nonce, st.redirect = r.String(), r.String(), r.String()
	if r.Done() != nil || len(st.id) != 16 {
		return state{}, errState
	}
	return st, nil
}

// unseal opens a sealed, base64url record of at most max characters made
// with aad, and returns a reader after its version byte, if that is version.
func (a *Adapter) unseal(s string, max int, aad []byte, version byte) (*wire.Reader, bool) {
	if s == "" || len(s) > max {
		return nil, false
	}
	raw, err := b64.DecodeString(s)
	if err != nil {
		return nil, false
	}
	plain, err := a.box.Open(raw, aad)
	if err != nil {
		return nil, false
	}
	r := wire.NewReader(plain)
	return r, r.Byte() == version
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Begin returns the operator's authorization URL for a flow of req.Kind.
func (a *Adapter) Begin(ctx context.Context, req carrier.BeginRequest) (carrier.Redirect, error) {
	if err := ctx.Err(); err != nil {
		return carrier.Redirect{}, err
	}
	if _, ok := kindByte(req.Kind); !ok {
		return carrier.Redirect{}, fmt.Errorf("camara: Begin for kind %q", req.Kind)
	}
	redirect := req.RedirectURL
	if a.cfg.RedirectURL != "" {
		redirect = a.cfg.RedirectURL
	}
	if err := checkURL("redirect URL", redirect); err != nil {
		return carrier.Redirect{}, err
	}
	d, err := a.discovery(ctx)
	if err != nil {
		return carrier.Redirect{}, err
	}
	st := state{
		kind: req.Kind, id: random(16), expires: a.cfg.Now().Add(StateTTL).UnixMilli(),
		binding: bindingHash(req.SessionBinding), verifier: oauth2.GenerateVerifier(),
		nonce: b64.EncodeToString(random(16)), redirect: redirect,
	}
	sealed := a.sealState(st)
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(st.verifier),
		oauth2.SetAuthURLParam("nonce", st.nonce),
		oauth2.SetAuthURLParam("prompt", "none"),
	}
	if req.LoginHint != "" {
		if p, err := carrier.ParseE164(req.LoginHint); err == nil {
			opts = append(opts, oauth2.SetAuthURLParam("login_hint", "tel:"+p))
		}
	}
	cb, _ := url.Parse(redirect) // checked above
	return carrier.Redirect{
		URL:            a.oauth(d, req.Kind, redirect).AuthCodeURL(sealed, opts...),
		State:          sealed,
		Window:         a.cfg.Window,
		CallbackOrigin: cb.Scheme + "://" + cb.Host,
	}, nil
}

// Complete takes the operator's answer to the browser and returns the line.
func (a *Adapter) Complete(ctx context.Context, req carrier.CallbackRequest) (carrier.Line, error) {
	if err := ctx.Err(); err != nil {
		return carrier.Line{}, err
	}
	st, err := a.openState(req.State)
	if err != nil {
		return carrier.Line{}, err
	}
	if req.Query.Get("state") != req.State {
		return carrier.Line{}, errQuery
	}
	if !equalBytes(st.binding, bindingHash(req.SessionBinding)) {
		return carrier.Line{}, errBinding
	}
	if req.Kind != "" && req.Kind != st.kind {
		return carrier.Line{}, errKind
	}
	now := a.cfg.Now()
	if now.UnixMilli() >= st.expires {
		return carrier.Line{}, errExpired
	}
	// RFC 9207: an operator that names itself in the answer must be ours.
	if iss := req.Query.Get("iss"); iss != "" && iss != a.cfg.Issuer {
		return carrier.Line{}, fmt.Errorf("%w: the answer names issuer %q", carrier.ErrTicketInvalid, iss)
	}
	// Spend the state: from here on, whatever the outcome, it is used.
	ttl := time.UnixMilli(st.expires).Sub(now) + time.Minute
	first, err := a.cfg.Shared.PutIfAbsent(ctx, spentPrefix+hex.EncodeToString(st.id), []byte{1}, ttl)
	if err != nil {
		if ctx.Err() != nil {
			return carrier.Line{}, ctx.Err()
		}
		return carrier.Line{}, fmt.Errorf("%w: spend the state: %w", carrier.ErrFailed, err)
	}
	if !first {
		return carrier.Line{}, errSpent
	}
	if e := req.Query.Get("error"); e != "" {
		return carrier.Line{}, authorizeError(e)
	}
	code := req.Query.Get("code")
	if code == "" || len(code) > 4096 {
		return carrier.Line{}, fmt.Errorf("%w: the operator's answer has no code", carrier.ErrFailed)
	}
	return a.exchange(ctx, st, code)
}

func equalBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := range a {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// exchange trades the code for the operator's tokens, checks the ID token,
// and makes the line's ticket.
func (a *Adapter) exchange(ctx context.Context, st state, code string) (carrier.Line, error) {
	d, err := a.discovery(ctx)
	if err != nil {
		return carrier.Line{}, err
	}
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(st.verifier)}
	if a.cfg.ClientKey != nil {
		assertion, err := a.assertion(d.endpoint.TokenURL)
		if err != nil {
			return carrier.Line{}, fmt.Errorf("%w: sign the client assertion: %w", carrier.ErrFailed, err)
		}
		opts = append(opts,
			oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
			oauth2.SetAuthURLParam("client_assertion", assertion))
	}
	cctx, cancel := a.callCtx(ctx)
	defer cancel()
	tok, err := a.oauth(d, st.kind, st.redirect).Exchange(cctx, code, opts...)
	if err != nil {
		return carrier.Line{}, tokenError(ctx, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return carrier.Line{}, fmt.Errorf("%w: the token answer has no ID token", carrier.ErrFailed)
	}
	idt, err := d.verifier.Verify(cctx, raw)
	if err != nil {
		if ctx.Err() != nil {
			return carrier.Line{}, ctx.Err()
		}
		return carrier.Line{}, fmt.Errorf("%w: ID token: %w", carrier.ErrFailed, err)
	}
	if idt.Nonce != st.nonce {
		return carrier.Line{}, fmt.Errorf("%w: the ID token's nonce is not this flow's", carrier.ErrFailed)
	}
	if tok.AccessToken == "" || !isBearer(tok.TokenType) {
		return carrier.Line{}, fmt.Errorf("%w: the token answer has no bearer access token", carrier.ErrFailed)
	}
	now := a.cfg.Now()
	if st.kind == carrier.KindLogin {
		// A login asks the operator for the number once; the ticket keeps
		// the number, not the token, and lives as long as a gateway
		// session and the spToken after it may.
		phone, err := a.devicePhoneNumber(ctx, tok.AccessToken)
		if err != nil {
			return carrier.Line{}, err
		}
		t := ticket{kind: carrier.KindLogin, op: a.cfg.Operator, expires: now.Add(loginTicketTTL), phone: phone}
		if op, ok := carrier.OperatorOf(phone); ok {
			t.op = op
		}
		sealed, err := a.sealTicket(ctx, t)
		if err != nil {
			return carrier.Line{}, err
		}
		return carrier.Line{Operator: t.op, Ticket: sealed, Masked: carrier.Mask(phone)}, nil
	}
	// A verification keeps the operator's token, and dies with it.
	expires := now.Add(a.cfg.MaxTicketTTL)
	if !tok.Expiry.IsZero() && tok.Expiry.Before(expires) {
		expires = tok.Expiry
	}
	if !expires.After(now) {
		return carrier.Line{}, fmt.Errorf("%w: the operator's access token is already expired", carrier.ErrFailed)
	}
	sealed, err := a.sealTicket(ctx, ticket{kind: carrier.KindVerify, op: a.cfg.Operator, expires: expires, token: tok.AccessToken})
	if err != nil {
		return carrier.Line{}, err
	}
	return carrier.Line{Operator: a.cfg.Operator, Ticket: sealed, Expires: expires}, nil
}

// isBearer: token_type is case-insensitive (RFC 6749 §5.1); oauth2 reads
// a missing one as "Bearer".
func isBearer(tt string) bool { return tt == "" || strings.EqualFold(tt, "bearer") }
