package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi"

	"github.com/numauth/numauth/test/harness"
)

// appToken asks the sandbox carrier for a native app's token over the
// loopback "cellular" line.
func appToken(t testing.TB, in *harness.Instance, scheme, kind string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"schemeCode": scheme, "kind": kind})
	res, err := http.Post(in.URL+"/sandbox/v1/app-token", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Code  int    `json:"code"`
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("app-token answer: %v", err)
	}
	return out.Code, out.Token
}

func (s *v1SDK) createAppScheme(t testing.TB, name string) string {
	t.Helper()
	req := dypnsapi.CreateCreateVerifySchemeRequest()
	s.prep(req.RpcRequest)
	req.SchemeName, req.AppName, req.OsType = name, "Compat", "Android"
	req.PackName, req.PackSign = "com.example.compat", "0123456789abcdef0123456789abcdef"
	resp, err := s.c.CreateVerifyScheme(req)
	s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId).ok(t, "CreateVerifyScheme (Android)")
	return resp.GateVerifySchemeDTO.SchemeCode
}

func (s *v1SDK) getMobile(t testing.TB, tok string) (string, outcome) {
	t.Helper()
	req := dypnsapi.CreateGetMobileRequest()
	s.prep(req.RpcRequest)
	req.AccessToken, req.OutId = tok, "out-1"
	resp, err := s.c.GetMobile(req)
	return resp.GetMobileResultDTO.Mobile, s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
}

func (s *v1SDK) verifyMobile(t testing.TB, tok, phone string) (dypnsapi.GateVerifyResultDTO, outcome) {
	t.Helper()
	req := dypnsapi.CreateVerifyMobileRequest()
	s.prep(req.RpcRequest)
	req.AccessCode, req.PhoneNumber = tok, phone
	resp, err := s.c.VerifyMobile(req)
	return resp.GateVerifyResultDTO, s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
}

func (s *v1SDK) billing(t testing.TB, authType int, month string) (dypnsapi.Data, outcome) {
	t.Helper()
	req := dypnsapi.CreateQueryGateVerifyBillingPublicRequest()
	s.prep(req.RpcRequest)
	req.AuthenticationType, req.Month = requests.NewInteger(authType), month
	resp, err := s.c.QueryGateVerifyBillingPublic(req)
	return resp.Data, s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
}

// billingMonth is the current month as bills count it (China time).
func billingMonth() string { return time.Now().In(time.FixedZone("CST", 8*3600)).Format("200601") }

// TestAppFlowsAndBilling: the V1 SDK's typed GetMobile, VerifyMobile,
// QueryGateVerifyBillingPublic and SMS statistics, each flavour as an
// account of its own so its bill is exactly its own calls.
func TestAppFlowsAndBilling(t *testing.T) {
	in := harness.Start(t, harness.Options{Args: []string{"--sandbox-subscriber", "127.0.0.1=" + localPhone,
		"--price", "verify=0.04", "--price", "login=0.1", "--price", "sms=0.05"}})
	for i, f := range flavours[:3] { // the V1 SDK: JSON, XML, GET
		id, secret := fmt.Sprintf("LTAI5tCompatApp%06d", i), fmt.Sprintf("compat-app-secret-%d-0123456789abcdef", i)
		cli(t, in, "keys", "create", "--account", "app-"+f.name, "--id", id, "--secret", secret)
		s := f.new(t, in.Addr, id, secret).(*v1SDK)
		smsPhone := fmt.Sprintf("1390013900%d", i)
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			day, month := today(), billingMonth()
			code := s.createAppScheme(t, "app "+f.name)
			if c, _ := appToken(t, in, "FC199999999999999", "login"); c != 600017 {
				t.Errorf("app-token for an unknown scheme: code %d, want 600017", c)
			}
			token := func(kind string) string {
				c, tok := appToken(t, in, code, kind)
				if c != 600000 || tok == "" {
					t.Fatalf("app-token %s: code %d", kind, c)
				}
				return tok
			}

			login := token("login")
			_, o := s.verifyMobile(t, login, localPhone)
			o.want(t, "VerifyMobile with a login token", http.StatusOK, "isv.TOKEN_UNAUTHORIZED_USED")
			mobile, o := s.getMobile(t, login)
			o.ok(t, "GetMobile")
			if mobile != localPhone {
				t.Errorf("GetMobileResultDTO.Mobile = %q, want %q", mobile, localPhone)
			}
			_, o = s.getMobile(t, login)
			o.want(t, "GetMobile, the token again", http.StatusOK, "isv.TOKEN_INVALID")
			_, o = s.getMobile(t, "not-a-token")
			o.want(t, "GetMobile, a forged token", http.StatusOK, "isv.TOKEN_INVALID")

			verify := token("verify")
			gv, o := s.verifyMobile(t, verify, localPhone)
			o.ok(t, "VerifyMobile, the line's number")
			if gv.VerifyResult != "PASS" || !requestIDShape(gv.VerifyId) {
				t.Errorf("GateVerifyResultDTO = %+v, want PASS with a VerifyId", gv)
			}
			_, o = s.verifyMobile(t, verify, localPhone)
			o.want(t, "VerifyMobile, the token again", http.StatusOK, "isv.TOKEN_INVALID")
			_, o = s.verifyMobile(t, token("verify"), "123")
			o.want(t, "VerifyMobile, an illegal number", http.StatusOK, "isv.MOBILE_NUMBER_ILLEGAL")
			gv, o = s.verifyMobile(t, token("verify"), otherCM)
			o.ok(t, "VerifyMobile, another number")
			if gv.VerifyResult != "REJECT" {
				t.Errorf("GateVerifyResultDTO = %+v, want REJECT", gv)
			}
			_, o = s.getMobile(t, token("verify"))
			o.want(t, "GetMobile with a verification token", http.StatusOK, "isv.TOKEN_UNAUTHORIZED_USED")

			send(t, s, codeSend(smsPhone))

			st, o := s.Statistics(t, 2, day, today(), code)
			o.ok(t, "QueryGateVerifyStatisticPublic (verification)")
			checkStats(t, st, day, 1, 1)
			st, o = s.Statistics(t, 1, day, today(), "")
			o.ok(t, "QueryGateVerifyStatisticPublic (login)")
			checkStats(t, st, day, 1, 0)
			st, o = s.Statistics(t, 3, day, today(), "")
			o.ok(t, "QueryGateVerifyStatisticPublic (SMS)")
			if st.Total != 1 || st.TotalSuccess+st.TotalFail+st.TotalUnknown != 1 || st.TotalFail != 0 {
				t.Errorf("SMS statistics = %+v, want the one send", st)
			}

			if month != billingMonth() {
				t.Skip("the month ended during the test")
			}
			bill, o := s.billing(t, 2, month)
			o.ok(t, "QueryGateVerifyBillingPublic")
			// 2 × 0.04 + 1 × 0.10 + 1 × 0.05
			if bill.AmountSum != "0.23" || len(bill.SceneBillingList) != 3 {
				t.Fatalf("bill = %+v, want 0.23 in three lines", bill)
			}
			want := []dypnsapi.SceneBillingListItem{
				{SceneCode: code, SceneName: "app " + f.name, AppName: "Compat", ItemName: "本机号码校验", Add: "2", SinglePrice: "0.04", Amount: "0.08"},
				{SceneCode: code, SceneName: "app " + f.name, AppName: "Compat", ItemName: "一键登录", Add: "1", SinglePrice: "0.10", Amount: "0.10"},
				{SceneName: "默认方案", ItemName: "短信认证", Add: "1", SinglePrice: "0.05", Amount: "0.05"},
			}
			for j, l := range bill.SceneBillingList {
				if l != want[j] {
					t.Errorf("SceneBillingList[%d] = %+v, want %+v", j, l, want[j])
				}
			}
			bill, o = s.billing(t, 4, month)
			o.ok(t, "QueryGateVerifyBillingPublic (SMS)")
			if bill.AmountSum != "0.05" {
				t.Errorf("SMS bill = %+v", bill)
			}
			_, o = s.billing(t, 9, month)
			o.want(t, "QueryGateVerifyBillingPublic, AuthenticationType 9", http.StatusOK, "isv.INVALID_PARAMETERS")
			_, o = s.billing(t, 0, "2026-1")
			o.want(t, "QueryGateVerifyBillingPublic, a malformed Month", http.StatusOK, "isv.INVALID_PARAMETERS")
			_, o = s.billing(t, 0, "202613")
			o.want(t, "QueryGateVerifyBillingPublic, month 13", http.StatusOK, "isv.INVALID_PARAMETERS")
		})
	}
}

// TestOfflineActions: every SDK flavour gets InvalidAction.NotFound for
// the actions Alibaba has taken offline or deprecated.
func TestOfflineActions(t *testing.T) {
	in := start(t)
	eachSDK(t, in, func(t *testing.T, s sdk) {
		for _, action := range []string{"GetSmsAuthTokens", "VerifySmsCode", "GetAuthorizationUrl", "JyCreateVerifyScheme", "JyQueryAppInfoBySceneCode"} {
			s.Call(t, action, map[string]string{"PhoneNumber": localPhone}).want(t, action, http.StatusNotFound, "InvalidAction.NotFound")
		}
	})
}
