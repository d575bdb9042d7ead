package compat

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi"
)

// fusionSDK is the part of an SDK the fusion actions need.
type fusionSDK interface {
	sdk
	// GetFusionAuthToken sends duration only when it is not empty.
	GetFusionAuthToken(t testing.TB, schemeCode, platform, duration string) (string, outcome)
	VerifyWithFusionAuthToken(t testing.TB, verifyToken string) (dypnsapi.Model, outcome)
}

func (s *v1SDK) GetFusionAuthToken(t testing.TB, schemeCode, platform, duration string) (string, outcome) {
	t.Helper()
	req := dypnsapi.CreateGetFusionAuthTokenRequest()
	s.prep(req.RpcRequest)
	req.SchemeCode, req.Platform = schemeCode, platform
	if duration != "" {
		req.DurationSeconds = requests.Integer(duration)
	}
	resp, err := s.c.GetFusionAuthToken(req)
	o := s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
	if o.Code == "OK" && !resp.Success {
		t.Errorf("GetFusionAuthToken: Success = false on OK")
	}
	return resp.Model, o
}

func (s *v1SDK) VerifyWithFusionAuthToken(t testing.TB, verifyToken string) (dypnsapi.Model, outcome) {
	t.Helper()
	req := dypnsapi.CreateVerifyWithFusionAuthTokenRequest()
	s.prep(req.RpcRequest)
	req.VerifyToken = verifyToken
	resp, err := s.c.VerifyWithFusionAuthToken(req)
	o := s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
	if o.Code == "OK" && !resp.Success {
		t.Errorf("VerifyWithFusionAuthToken: Success = false on OK")
	}
	return resp.Model, o
}

func (s *v3SDK) GetFusionAuthToken(t testing.TB, schemeCode, platform, duration string) (string, outcome) {
	t.Helper()
	q := map[string]string{"SchemeCode": schemeCode, "Platform": platform}
	if duration != "" {
		q["DurationSeconds"] = duration
	}
	body, o := s.call(t, "GetFusionAuthToken", q, nil)
	m, _ := body["Model"].(string)
	if o.Code == "OK" && body["Success"] != true {
		t.Errorf("GetFusionAuthToken: Success = %v on OK", body["Success"])
	}
	return m, o
}

func (s *v3SDK) VerifyWithFusionAuthToken(t testing.TB, verifyToken string) (dypnsapi.Model, outcome) {
	t.Helper()
	body, o := s.call(t, "VerifyWithFusionAuthToken", map[string]string{"VerifyToken": verifyToken}, nil)
	var m dypnsapi.Model
	decodeField(t, body, "Model", &m)
	if o.Code == "OK" && body["Success"] != true {
		t.Errorf("VerifyWithFusionAuthToken: Success = %v on OK", body["Success"])
	}
	return m, o
}

// TestFusionFlow: every official SDK mints a fusion token, the page runs
// the H5 strategy through the gateway (the carrier's one-click login on the
// sandbox line, then the SMS path through the sandbox outbox), and the SDK
// answers each VerifyToken once; bad input gets its documented code.
func TestFusionFlow(t *testing.T) {
	in := start(t)
	eachSDK(t, in, func(t *testing.T, s sdk) {
		fs := s.(fusionSDK)
		page := siteFor(t, s)
		code, o := s.CreateSchemeConfig(t, "fusion "+s.Name(), page.Origin, page.URL)
		o.ok(t, "CreateSchemeConfig")

		for _, tc := range []struct {
			platform, duration string
			status             int
			code               string
		}{
			{"H5", "899", http.StatusOK, "isv.INVALID_PARAMETERS"},
			{"H5", "43201", http.StatusOK, "isv.INVALID_PARAMETERS"},
			{"Android", "900", http.StatusOK, "isv.INVALID_PARAMETERS"},
			{"H5", "", http.StatusBadRequest, "MissingDurationSeconds"},
		} {
			_, o := fs.GetFusionAuthToken(t, code, tc.platform, tc.duration)
			o.want(t, fmt.Sprintf("GetFusionAuthToken(%s, %s)", tc.platform, tc.duration), tc.status, tc.code)
		}
		_, o = fs.GetFusionAuthToken(t, "FC000000000000000", "H5", "900")
		o.want(t, "GetFusionAuthToken of no scheme", http.StatusOK, "isv.VERIFY_SCHEME_NOT_EXIST")

		pg := newPage(t, in, page.Origin)
		open := func() string {
			ft, o := fs.GetFusionAuthToken(t, code, "H5", "900")
			o.ok(t, "GetFusionAuthToken")
			res := pg.call("fusion-check", map[string]string{"fusionToken": ft})
			if str(res, "session") == "" || str(res, "strategy") != "carrier" {
				t.Fatalf("fusion-check: %v", res)
			}
			return str(res, "session")
		}

		// The carrier path: one-click login on the sandbox line.
		vt := pg.loginToken(open(), localPhone)
		m, o := fs.VerifyWithFusionAuthToken(t, vt)
		o.ok(t, "VerifyWithFusionAuthToken, carrier path")
		if m.PhoneNumber != localPhone || m.VerifyResult != "PASS" || m.PhoneScore != 0 {
			t.Errorf("Model = %+v, want PASS for %s, score 0", m, localPhone)
		}
		_, o = fs.VerifyWithFusionAuthToken(t, vt)
		o.want(t, "VerifyWithFusionAuthToken, the VerifyToken again", http.StatusOK, "isv.TOKEN_INVALID")
		_, o = s.GetPhoneWithToken(t, vt)
		o.want(t, "GetPhoneWithToken with a VerifyToken", http.StatusOK, "isv.TOKEN_INVALID")

		// The SMS path, as on Wi-Fi: a code to the number the user types.
		// Each flavour texts its own number (the send interval is per number).
		num := fmt.Sprintf("1390013%04d", len(s.Name())*97+int(s.Name()[len(s.Name())-1]))
		sess := open()
		pg.call("fusion-sms-send", map[string]string{"session": sess, "phoneNumber": num})
		res := pg.call("fusion-sms-check", map[string]string{"session": sess, "phoneNumber": num, "code": in.LastSMSCode(t, "+86"+num)})
		m, o = fs.VerifyWithFusionAuthToken(t, str(res, "spToken"))
		o.ok(t, "VerifyWithFusionAuthToken, SMS path")
		if m.PhoneNumber != num || m.VerifyResult != "PASS" || m.PhoneScore != 30 {
			t.Errorf("Model = %+v, want PASS for %s, score 30", m, num)
		}
		_, o = fs.VerifyWithFusionAuthToken(t, "forged")
		o.want(t, "VerifyWithFusionAuthToken, a forged token", http.StatusOK, "isv.TOKEN_INVALID")
	})
}
