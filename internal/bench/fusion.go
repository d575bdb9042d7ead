package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
)

// KindFusion: H5 fusion authentication, the carrier path and the SMS path
// alternating. Carrier: GetFusionAuthToken → fusion-check → login-mask →
// login-token → VerifyWithFusionAuthToken. SMS (the page on Wi-Fi):
// GetFusionAuthToken → fusion-check → fusion-sms-send → the code read from
// the sandbox outbox (sms-outbox, the bench's stand-in for the user reading
// the text) → fusion-sms-check → VerifyWithFusionAuthToken, to a fresh
// number of the 170 block per flow.
// KindFusionCarrier and KindFusionSMS run one of the two paths only, for
// each path's own flows/s and p99.
const (
	KindFusion        Kind = "fusion"
	KindFusionCarrier Kind = "fusion-carrier"
	KindFusionSMS     Kind = "fusion-sms"
)

// fusionFlow runs flow i of kind: fusion's even flows take the carrier
// path, its odd ones SMS.
func (r *run) fusionFlow(ctx context.Context, kind Kind, i int64) error {
	var t rpcAnswer
	err := r.timed(stepFusionToken, func() (err error) {
		t, err = r.c.rpc(ctx, "GetFusionAuthToken", url.Values{
			"SchemeCode": {r.scheme}, "Platform": {"H5"}, "DurationSeconds": {"900"},
		})
		return err
	})
	if err != nil {
		return err
	}
	s, err := r.page(ctx, stepFusionCheck, gatewayRequest{FusionToken: t.Model.Token})
	if err != nil {
		return err
	}
	var vt, want string
	if kind == KindFusionCarrier || (kind == KindFusion && i%2 == 0) {
		sp, err := r.loginLegs(ctx, s.Session)
		if err != nil {
			return err
		}
		vt, want = sp.SpToken, r.c.phone
	} else {
		phone := fmt.Sprintf("170%08d", (r.smsBase+i)%100_000_000)
		if _, err := r.page(ctx, stepFusionSmsSend, gatewayRequest{Session: s.Session, PhoneNumber: phone}); err != nil {
			return err
		}
		var code string
		if err := r.timed(stepSmsOutbox, func() (err error) {
			code, err = r.outboxCode(ctx, "+86"+phone)
			return err
		}); err != nil {
			return err
		}
		sp, err := r.page(ctx, stepFusionSmsCheck, gatewayRequest{Session: s.Session, PhoneNumber: phone, Code: code})
		if err != nil {
			return err
		}
		vt, want = sp.SpToken, phone
	}
	var v rpcAnswer
	err = r.timed(stepVerifyFusion, func() (err error) {
		v, err = r.c.rpc(ctx, "VerifyWithFusionAuthToken", url.Values{"VerifyToken": {vt}})
		return err
	})
	if err != nil {
		return err
	}
	if v.Model.VerifyResult != "PASS" || v.Model.PhoneNumber != want {
		return r.check(stepVerifyFusion, &CallError{Code: "VerifyResult:" + v.Model.VerifyResult,
			Detail: fmt.Sprintf("number %s, want %s", maskPhone(v.Model.PhoneNumber), maskPhone(want))})
	}
	return nil
}

var outboxCode = regexp.MustCompile(`验证码([0-9A-Za-z]+)`)

// outboxCode reads the code of the newest text to e164 from the sandbox
// SMS provider's outbox (GET /admin/v1/sms/outbox, untrusted input).
func (r *run) outboxCode(ctx context.Context, e164 string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.Target+"/admin/v1/sms/outbox?"+url.Values{"phone": {e164}, "limit": {"1"}}.Encode(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.AdminToken)
	res, err := r.c.hc.Do(req)
	if err != nil {
		return "", transportFailure(ctx, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return "", transportFailure(ctx, err)
	}
	var out struct {
		Messages []struct {
			Text string `json:"text"`
		} `json:"messages"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil {
		return "", &CallError{Code: "OUTBOX", Detail: fmt.Sprintf("%s: %.80q", res.Status, raw)}
	}
	if len(out.Messages) == 0 {
		return "", &CallError{Code: "OUTBOX", Detail: "no text to " + maskPhone(e164[3:])}
	}
	m := outboxCode.FindStringSubmatch(out.Messages[0].Text)
	if m == nil {
		return "", &CallError{Code: "OUTBOX", Detail: "no code in the text"}
	}
	return m[1], nil
}
