package admin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// A console session lives in the ephemeral store under con:s: and the
// hash of its cookie value (so the store never holds a usable cookie), with
// the session's lifetime as TTL. It names the user and the user's
// generation when it was opened: any change to the user (password, role,
// disabling, "sign out everywhere") moves the generation on and so ends
// every session at once, on every instance.
const kSession = "con:s:"

type session struct {
	User       string            `json:"u"`
	Role       store.ConsoleRole `json:"r"`
	Generation int64             `json:"g"`
	CSRF       string            `json:"c"`
	Expires    int64             `json:"e"` // unix seconds
	key        string
}

// loadSession returns the session of cookie value id if it is live and its
// user unchanged since it began; a session that is not is deleted.
func (a *API) loadSession(ctx context.Context, id string) (*session, error) {
	if len(id) > 64 {
		return nil, nil
	}
	key := kSession + keyHash(id)
	raw, err := a.cfg.Ephemeral.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s session
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, nil
	}
	s.key = key
	u, err := a.cfg.Durable.GetConsoleUser(ctx, s.User)
	if errors.Is(err, store.ErrNotFound) {
		a.cfg.Ephemeral.Delete(ctx, key)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled || u.Generation != s.Generation || a.cfg.Now().Unix() >= s.Expires {
		a.cfg.Ephemeral.Delete(ctx, key)
		return nil, nil
	}
	s.Role = u.Role
	return &s, nil
}

// SessionInfo is what GET /admin/v1/session and a sign-in answer.
type SessionInfo struct {
	User      string            `json:"user"`
	Role      store.ConsoleRole `json:"role"`
	CSRFToken string            `json:"csrfToken,omitempty"`
	Expires   time.Time         `json:"expires,omitzero"`
}

type signInRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// signIn checks a user name and password within the sign-in budgets and
// opens a session. Each wrong attempt costs one unit of the user's budget
// and one of the source address's; a right one costs nothing.
func (a *API) signIn(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	ctx := r.Context()
	var in signInRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.User == "" || len(in.User) > maxUserName {
		return bad("user must have 1 to %d bytes", maxUserName)
	}
	setAuditTarget(ctx, in.User)
	src := a.cfg.ClientAddr(r)
	res, err := a.limiter.Reserve(ctx, a.perUser.For(keyHash(in.User)), a.perSrc.For(src.String()))
	if err != nil {
		if errors.Is(err, store.ErrUnavailable) {
			return err
		}
		return fmt.Errorf("%w: %w", errThrottled, err)
	}
	u, err := a.cfg.Durable.GetConsoleUser(ctx, in.User)
	hash := u.PasswordHash
	if errors.Is(err, store.ErrNotFound) {
		hash = dummyHash
	} else if err != nil {
		res.Refund(ctx)
		return err
	}
	ok, verr := VerifyPassword(ctx, hash, in.Password)
	if err != nil || !ok || u.Disabled {
		if verr != nil && !errors.Is(err, store.ErrNotFound) {
			a.log.ErrorContext(ctx, "console user's password hash unreadable", "user", in.User, "err", verr)
		}
		if _, kerr := res.Keep(ctx); kerr != nil {
			return kerr
		}
		return errSignIn
	}
	res.Refund(ctx)
	if rec := recordOf(ctx); rec != nil {
		rec.actor = "user:" + u.Name
	}
	id, s := rand.Text(), session{
		User: u.Name, Role: u.Role, Generation: u.Generation, CSRF: rand.Text(),
		Expires: a.cfg.Now().Add(a.cfg.SessionTTL).Unix(),
	}
	raw, _ := json.Marshal(s)
	if err := a.cfg.Ephemeral.Put(ctx, kSession+keyHash(id), raw, a.cfg.SessionTTL); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: id, Path: "/", MaxAge: int(a.cfg.SessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.cfg.SecureCookies || r.TLS != nil,
	})
	writeJSON(w, http.StatusOK, SessionInfo{User: u.Name, Role: u.Role, CSRFToken: s.CSRF, Expires: time.Unix(s.Expires, 0).UTC()})
	return nil
}

func (a *API) getSession(w http.ResponseWriter, r *http.Request, p *Principal) error {
	info := SessionInfo{User: p.User, Role: p.Role}
	if p.sess != nil {
		info.CSRFToken, info.Expires = p.sess.CSRF, time.Unix(p.sess.Expires, 0).UTC()
	} else {
		info.User = "(admin token)"
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// signOut ends the caller's session.
func (a *API) signOut(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if p.sess == nil {
		return bad("the admin token has no session to end")
	}
	setAuditTarget(r.Context(), p.User)
	if err := a.cfg.Ephemeral.Delete(r.Context(), p.sess.key); err != nil {
		return err
	}
	a.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// signOutEverywhere ends every session of the caller, on every instance.
func (a *API) signOutEverywhere(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if p.sess == nil {
		return bad("the admin token has no sessions to end")
	}
	setAuditTarget(r.Context(), p.User)
	if _, err := a.cfg.Durable.UpdateConsoleUser(r.Context(), p.User, store.ConsoleUserChange{}); err != nil {
		return err
	}
	a.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: a.cfg.SecureCookies || r.TLS != nil})
}
