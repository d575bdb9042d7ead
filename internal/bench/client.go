package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/openapi/sign"
)

// maxAnswer bounds how much of an answer the bench reads.
const maxAnswer = 1 << 20

// errAborted marks a call cut short because the run was interrupted: it is
// neither a success nor an error of the server.
var errAborted = errors.New("aborted")

// CallError is a call or flow that failed, with the code the report counts
// it under: a gateway code (NOT_CELLULAR), an API code (isv.TOKEN_INVALID),
// or one of the bench's own: TIMEOUT, TRANSPORT (no answer), HTTP_<status>
// (an answer that is not the expected JSON), VerifyResult:<result> (a
// verification that did not PASS), MOBILE_MISMATCH, MASK_MISMATCH.
type CallError struct {
	Code   string
	Detail string
}

func (e *CallError) Error() string {
	if e.Detail == "" {
		return e.Code
	}
	return e.Code + ": " + e.Detail
}

// NewHTTPClient returns the client the bench uses for every call: one
// transport with keep-alive, at least conns idle connections kept per host
// (so that no worker ever opens a new connection in the steady state), no
// proxy from the environment (the server must see this machine's address),
// and a per-call timeout.
func NewHTTPClient(conns int, timeout time.Duration) *http.Client {
	conns = max(conns, 1)
	tr := &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          2 * conns,
		MaxIdleConnsPerHost:   conns + conns/4 + 1,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// client makes the bench's calls: signed RPC calls as the integrator server
// and gateway calls as the page.
type client struct {
	hc     *http.Client
	target string // no trailing slash
	keyID  string
	secret string
	origin string
	// sourceHeader, if set, names the subscriber on page calls (for a
	// server that trusts this machine as an enrichment proxy).
	sourceHeader, phone string
}

// rpcAnswer holds the fields of the RPC answers the bench reads.
type rpcAnswer struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	TokenInfo struct {
		AccessToken string `json:"AccessToken"`
		JwtToken    string `json:"JwtToken"`
	} `json:"TokenInfo"`
	GateVerify struct {
		VerifyResult string `json:"VerifyResult"`
	} `json:"GateVerify"`
	Data struct {
		Mobile string `json:"Mobile"`
	} `json:"Data"`
	GateVerifySchemeDTO struct {
		SchemeCode string `json:"SchemeCode"`
	} `json:"GateVerifySchemeDTO"`
	Model rpcModel `json:"Model"`
}

// rpcModel is an answer's Model: an object (the SMS actions',
// VerifyWithFusionAuthToken's) or a string (GetFusionAuthToken's token).
type rpcModel struct {
	VerifyCode   string `json:"VerifyCode"`
	VerifyResult string `json:"VerifyResult"`
	PhoneNumber  string `json:"PhoneNumber"`
	// Token is a string Model.
	Token string `json:"-"`
}

func (m *rpcModel) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &m.Token)
	}
	type plain rpcModel
	return json.Unmarshal(b, (*plain)(m))
}

// gatewayRequest is a gateway call's body, as the web SDK sends it.
type gatewayRequest struct {
	AccessToken string `json:"accessToken,omitempty"`
	JwtToken    string `json:"jwtToken,omitempty"`
	Kind        string `json:"kind,omitempty"`
	PhoneNumber string `json:"phoneNumber,omitempty"`
	Session     string `json:"session,omitempty"`
	Mask        string `json:"mask,omitempty"`
	Query       string `json:"query,omitempty"`
	FusionToken string `json:"fusionToken,omitempty"`
	Code        string `json:"code,omitempty"`
}

// gatewayAnswer holds the fields of the gateway answers the bench reads.
type gatewayAnswer struct {
	Code        string `json:"code"`
	Msg         string `json:"msg"`
	Session     string `json:"session"`
	SpToken     string `json:"spToken"`
	MaskedPhone string `json:"maskedPhone"`
	// Redirect is a redirect front leg (code REDIRECT): the operator's URL.
	Redirect *struct {
		URL string `json:"url"`
	} `json:"redirect"`
}

// nonce returns a fresh SignatureNonce.
func nonce() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// rpc signs (V1) and sends one action as a POST form, and decodes the answer.
// A non-OK Code is a *CallError with that code.
func (c *client) rpc(ctx context.Context, action string, params url.Values) (rpcAnswer, error) {
	params.Set("Action", action)
	params.Set("Version", "2017-05-25")
	params.Set("Format", "JSON")
	signed := sign.SignV1(http.MethodPost, params, c.keyID, c.secret, time.Now(), nonce())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.target+"/", strings.NewReader(signed.Encode()))
	if err != nil {
		return rpcAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var a rpcAnswer
	if err := c.do(ctx, req, &a); err != nil {
		return a, err
	}
	if a.Code != "OK" {
		return a, apiFailure(a.Code, a.Message)
	}
	return a, nil
}

// gateway calls one H5 gateway operation as the web SDK does from a page on
// c.origin. A non-OK code is a *CallError with that code.
func (c *client) gateway(ctx context.Context, op string, body gatewayRequest) (gatewayAnswer, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return gatewayAnswer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.target+"/h5/v1/"+op, bytes.NewReader(b))
	if err != nil {
		return gatewayAnswer{}, err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("Origin", c.origin)
	if c.sourceHeader != "" {
		req.Header.Set(c.sourceHeader, c.phone)
	}
	var a gatewayAnswer
	if err := c.do(ctx, req, &a); err != nil {
		return a, err
	}
	if a.Code != "OK" && !(a.Code == "REDIRECT" && a.Redirect != nil) {
		return a, apiFailure(a.Code, a.Msg)
	}
	return a, nil
}

func apiFailure(code, msg string) *CallError {
	if code == "" {
		code = "NO_CODE"
	}
	return &CallError{Code: code, Detail: msg}
}

// do sends req and decodes a JSON answer into v, reading the body to the
// end so that the connection is reused.
func (c *client) do(ctx context.Context, req *http.Request, v any) error {
	res, err := c.hc.Do(req)
	if err != nil {
		return transportFailure(ctx, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return transportFailure(ctx, err)
	}
	return decodeAnswer(res.StatusCode, raw, v)
}

// decodeAnswer decodes an answer body (untrusted input) into v: a JSON
// object, whatever the HTTP status, since both the RPC API and the gateway
// answer their errors in JSON. Anything else is HTTP_<status>.
func decodeAnswer(status int, raw []byte, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, v) != nil {
		return &CallError{Code: "HTTP_" + strconv.Itoa(status), Detail: fmt.Sprintf("answer is not the expected JSON: %.60q", raw)}
	}
	return nil
}

// transportFailure classifies a call that got no answer.
func transportFailure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", errAborted, err)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &CallError{Code: "TIMEOUT", Detail: err.Error()}
	}
	return &CallError{Code: "TRANSPORT", Detail: err.Error()}
}

// codeOf returns the code an error is counted under.
func codeOf(err error) string {
	var ce *CallError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return "TRANSPORT"
}

// maskDigits returns the digits of phone that masked hides: masked must be
// phone with one run of '*' in place of some of its digits (138****8000 for
// 13800138000). It reports false when masked is not a mask of phone, so
// that the bench never sends a wrong mask (three of them lock the number).
func maskDigits(masked, phone string) (string, bool) {
	if len(masked) != len(phone) {
		return "", false
	}
	i := strings.IndexByte(masked, '*')
	if i < 0 {
		return "", false
	}
	j := i
	for j < len(masked) && masked[j] == '*' {
		j++
	}
	if masked[:i] != phone[:i] || masked[j:] != phone[j:] {
		return "", false
	}
	digits := phone[i:j]
	for k := 0; k < len(digits); k++ {
		if digits[k] < '0' || digits[k] > '9' {
			return "", false
		}
	}
	return digits, true
}
