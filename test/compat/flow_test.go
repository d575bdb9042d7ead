package compat

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi"

	"github.com/numauth/numauth/internal/rpcclient"
	"github.com/numauth/numauth/test/harness"
)

// page plays the H5 page's part: the web SDK's gateway calls, from origin,
// over the loopback "cellular" line of the sandbox subscriber.
type page struct {
	t      testing.TB
	gw     *rpcclient.Client
	origin string
}

func newPage(t testing.TB, in *harness.Instance, origin string) *page {
	return &page{t: t, gw: &rpcclient.Client{Endpoint: in.URL}, origin: origin}
}

// call runs one gateway operation and fails the test unless it is OK.
func (p *page) call(op string, body map[string]string) map[string]any {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.gw.H5(ctx, p.origin, op, body)
	if err != nil {
		p.t.Fatalf("gateway %s: %v", op, err)
	}
	if res["code"] != "OK" {
		p.t.Fatalf("gateway %s: %v", op, res)
	}
	return res
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// session opens a gateway session for the flow kind ("verify" or "login")
// with GetAuthToken's tokens.
func (p *page) session(ti dypnsapi.TokenInfo, kind string) string {
	p.t.Helper()
	res := p.call("check", map[string]string{"accessToken": ti.AccessToken, "jwtToken": ti.JwtToken, "kind": kind})
	if str(res, "session") == "" {
		p.t.Fatalf("check: no session in %v", res)
	}
	return str(res, "session")
}

// verifyToken runs the carrier leg of local-number verification.
func (p *page) verifyToken(session string) string {
	p.t.Helper()
	res := p.call("verify-token", map[string]string{"session": session})
	if str(res, "spToken") == "" || str(res, "carrier") != "CM" {
		p.t.Fatalf("verify-token: %v, want an spToken from CM", res)
	}
	return str(res, "spToken")
}

// loginToken runs one-click login's page side: the masked number, then the
// middle four digits the user types.
func (p *page) loginToken(session, phone string) string {
	p.t.Helper()
	res := p.call("login-mask", map[string]string{"session": session})
	if want := phone[:3] + "****" + phone[7:]; str(res, "maskedPhone") != want {
		p.t.Fatalf("login-mask: %v, want maskedPhone %s", res, want)
	}
	res = p.call("login-token", map[string]string{"session": session, "mask": phone[3:7]})
	if str(res, "spToken") == "" {
		p.t.Fatalf("login-token: no spToken in %v", res)
	}
	return str(res, "spToken")
}

// TestVerifyFlow is local-number verification end to end at the API level:
// the integrator server's calls through each official SDK, the page's
// through the gateway, the carrier leg through the sandbox subscriber.
func TestVerifyFlow(t *testing.T) {
	in := start(t)
	eachSDK(t, in, func(t *testing.T, s sdk) {
		day := today()
		site, code := register(t, s, "verify")
		ti, o := s.GetAuthToken(t, site.URL, site.Origin, "", "")
		o.ok(t, "GetAuthToken")
		pg := newPage(t, in, site.Origin)
		sess := pg.session(ti, "verify")

		sp := pg.verifyToken(sess)
		gv, o := s.VerifyPhoneWithToken(t, sp, localPhone)
		o.ok(t, "VerifyPhoneWithToken, the line's number")
		if gv.VerifyResult != "PASS" || !requestIDShape(gv.VerifyId) {
			t.Errorf("GateVerify = %+v, want PASS with a VerifyId", gv)
		}
		_, o = s.VerifyPhoneWithToken(t, sp, localPhone)
		o.want(t, "VerifyPhoneWithToken, the spToken again", http.StatusOK, "isv.TOKEN_INVALID")

		// The number as people type it.
		gv, o = s.VerifyPhoneWithToken(t, pg.verifyToken(sess), "+86 "+localPhone[:3]+"-"+localPhone[3:7]+"-"+localPhone[7:])
		o.ok(t, "VerifyPhoneWithToken, +86 and dashes")
		if gv.VerifyResult != "PASS" {
			t.Errorf("GateVerify = %+v, want PASS", gv)
		}
		gv, o = s.VerifyPhoneWithToken(t, pg.verifyToken(sess), otherCM)
		o.ok(t, "VerifyPhoneWithToken, another CM number")
		if gv.VerifyResult != "REJECT" {
			t.Errorf("GateVerify = %+v, want REJECT", gv)
		}
		_, o = s.VerifyPhoneWithToken(t, pg.verifyToken(sess), otherCU)
		o.want(t, "VerifyPhoneWithToken, a number of another carrier", http.StatusOK, "isv.PARAMETERS_MISMATCH")
		_, o = s.GetPhoneWithToken(t, pg.verifyToken(sess))
		o.want(t, "GetPhoneWithToken with a verification spToken", http.StatusOK, "isv.TOKEN_UNAUTHORIZED_USED")

		// Verifications are counted per day; business codes are not.
		st, o := s.Statistics(t, 2, day, today(), code)
		o.ok(t, "QueryGateVerifyStatisticPublic")
		checkStats(t, st, day, 2, 1)
	})
}

// TestLoginFlow is one-click login end to end: the page shows the masked
// number, the user types the middle four digits, and the integrator server
// reads the full number with GetPhoneWithToken.
func TestLoginFlow(t *testing.T) {
	in := start(t)
	eachSDK(t, in, func(t *testing.T, s sdk) {
		day := today()
		site, code := register(t, s, "login")
		ti, o := s.GetAuthToken(t, site.URL, site.Origin, code, "1") // BizType 1: login only
		o.ok(t, "GetAuthToken")
		pg := newPage(t, in, site.Origin)
		sess := pg.session(ti, "login")

		sp := pg.loginToken(sess, localPhone)
		mobile, o := s.GetPhoneWithToken(t, sp)
		o.ok(t, "GetPhoneWithToken")
		if mobile != localPhone {
			t.Errorf("Data.Mobile = %q, want %q", mobile, localPhone)
		}
		_, o = s.GetPhoneWithToken(t, sp)
		o.want(t, "GetPhoneWithToken, the spToken again", http.StatusOK, "isv.TOKEN_INVALID")
		_, o = s.VerifyPhoneWithToken(t, pg.loginToken(sess, localPhone), localPhone)
		o.want(t, "VerifyPhoneWithToken with a login spToken", http.StatusOK, "isv.TOKEN_UNAUTHORIZED_USED")

		st, o := s.Statistics(t, 1, day, today(), code)
		o.ok(t, "QueryGateVerifyStatisticPublic (login)")
		checkStats(t, st, day, 1, 0)
	})
}

// checkStats checks QueryGateVerifyStatisticPublic's Data: success and fail
// in total, nothing unknown, and day rows from since to today (one row,
// unless the test ran over midnight UTC) that add up to the totals.
func checkStats(t testing.TB, st dypnsapi.Data, since string, success, fail int64) {
	t.Helper()
	if st.Total != success+fail || st.TotalSuccess != success || st.TotalFail != fail || st.TotalUnknown != 0 {
		t.Errorf("statistics = %+v, want %d successes and %d failures", st, success, fail)
	}
	var sum dypnsapi.DayStatisticItem
	for _, d := range st.DayStatistic {
		if d.StatisticDateStr < since || d.StatisticDateStr > today() {
			t.Errorf("DayStatistic for %q, want days from %s to today", d.StatisticDateStr, since)
		}
		sum.TotalSuccess += d.TotalSuccess
		sum.TotalFail += d.TotalFail
		sum.TotalUnknown += d.TotalUnknown
	}
	if len(st.DayStatistic) == 0 || sum.TotalSuccess != st.TotalSuccess || sum.TotalFail != st.TotalFail || sum.TotalUnknown != st.TotalUnknown {
		t.Errorf("DayStatistic %+v does not add up to the totals %+v", st.DayStatistic, st)
	}
}
