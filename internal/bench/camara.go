package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// KindCAMARA drives numauth's CAMARA side as a CAMARA customer does:
// authorize (the phone's request, answered with a redirect carrying the
// code) → token (client_secret_basic, PKCE) → POST /verify with the line's
// number, which must answer true.
const KindCAMARA Kind = "camara"

// camaraScope is what the bench's authorizations ask for.
const camaraScope = "openid number-verification:verify"

// camaraFlow runs one authorization-code flow and its NV call.
func (r *run) camaraFlow(ctx context.Context) error {
	b := make([]byte, 32)
	rand.Read(b)
	verifier := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	state := verifier[:12]
	q := url.Values{
		"response_type": {"code"}, "client_id": {r.cfg.ClientID}, "redirect_uri": {r.cfg.RedirectURI},
		"scope": {camaraScope}, "state": {state}, "nonce": {verifier[12:24]},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	var code string
	err := r.timed(stepAuthorize, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.Target+"/camara/authorize?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		if r.c.sourceHeader != "" {
			req.Header.Set(r.c.sourceHeader, r.c.phone)
		}
		res, err := r.noRedirect.Do(req)
		if err != nil {
			return transportFailure(ctx, err)
		}
		io.Copy(io.Discard, io.LimitReader(res.Body, maxAnswer))
		res.Body.Close()
		if res.StatusCode != http.StatusFound {
			return &CallError{Code: "HTTP_" + strconv.Itoa(res.StatusCode), Detail: "the authorization endpoint did not redirect"}
		}
		loc, err := url.Parse(res.Header.Get("Location"))
		if err != nil {
			return &CallError{Code: "BAD_REDIRECT", Detail: err.Error()}
		}
		lq := loc.Query()
		if e := lq.Get("error"); e != "" {
			return apiFailure(e, lq.Get("error_description"))
		}
		if code = lq.Get("code"); code == "" || lq.Get("state") != state {
			return &CallError{Code: "BAD_REDIRECT", Detail: "no code, or another state"}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Desc        string `json:"error_description"`
	}
	err = r.timed(stepToken, func() error {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {r.cfg.RedirectURI}, "code_verifier": {verifier}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.Target+"/camara/oauth/token", strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(r.cfg.ClientID), url.QueryEscape(r.cfg.ClientSecret))
		if err := r.c.do(ctx, req, &tok); err != nil {
			return err
		}
		if tok.AccessToken == "" {
			return apiFailure(tok.Error, tok.Desc)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var nv struct {
		Verified *bool  `json:"devicePhoneNumberVerified"`
		Code     string `json:"code"`
		Message  string `json:"message"`
	}
	err = r.timed(stepNVVerify, func() error {
		body := fmt.Sprintf(`{"phoneNumber":%q}`, e164(r.c.phone))
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.Target+"/camara/number-verification/v2/verify", strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if err := r.c.do(ctx, req, &nv); err != nil {
			return err
		}
		if nv.Verified == nil {
			return apiFailure(nv.Code, nv.Message)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !*nv.Verified {
		return r.check(stepNVVerify, &CallError{Code: "devicePhoneNumberVerified:false"})
	}
	return nil
}

// e164 is the E.164 form of a number the sandbox table gives: mainland
// numbers in 11 digits, others already with their "+".
func e164(p string) string {
	if strings.HasPrefix(p, "+") {
		return p
	}
	return "+86" + p
}

// redirect runs a redirect front leg as the web SDK's hidden frame does:
// the operator's authorization URL, its redirect to numauth's callback page,
// then redirect-complete with the operator's answer.
func (r *run) redirect(ctx context.Context, session, authURL string) (gatewayAnswer, error) {
	var query string
	err := r.timed(stepOperator, func() error {
		loc, err := r.get(ctx, authURL, http.StatusFound, http.StatusSeeOther)
		if err != nil {
			return err
		}
		cb, err := url.Parse(loc)
		if err != nil || !cb.IsAbs() {
			return &CallError{Code: "BAD_REDIRECT", Detail: "the operator redirected to no absolute URL"}
		}
		if e := cb.Query().Get("error"); e != "" {
			return apiFailure(e, cb.Query().Get("error_description"))
		}
		query = cb.RawQuery
		_, err = r.get(ctx, loc, http.StatusOK) // numauth's callback page
		return err
	})
	if err != nil {
		return gatewayAnswer{}, err
	}
	return r.page(ctx, stepRedirectComplete, gatewayRequest{Session: session, Query: query})
}

// get fetches u without following redirects, wants one of statuses, and
// returns the answer's Location.
func (r *run) get(ctx context.Context, u string, statuses ...int) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	res, err := r.noRedirect.Do(req)
	if err != nil {
		return "", transportFailure(ctx, err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, maxAnswer))
	res.Body.Close()
	if !slices.Contains(statuses, res.StatusCode) {
		return "", &CallError{Code: "HTTP_" + strconv.Itoa(res.StatusCode), Detail: "GET " + req.URL.Host + req.URL.Path}
	}
	return res.Header.Get("Location"), nil
}
