package compat

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/test/harness"
)

// The sandbox subscriber on 127.0.0.1: every gateway call of these tests
// comes from there, so the sandbox carrier sees this China Mobile number.
const (
	localPhone = "13800138000" // CM, the line's number
	otherCM    = "13900139000" // CM, another subscriber
	otherCU    = "13012345678" // CU: another carrier than the line's
)

// start runs a numauth with the sandbox subscriber.
func start(t testing.TB) *harness.Instance {
	t.Helper()
	return harness.Start(t, harness.Options{Args: []string{"--sandbox-subscriber", "127.0.0.1=" + localPhone}})
}

// flavour makes one kind of SDK client for an AccessKey.
type flavour struct {
	name string
	new  func(t testing.TB, addr, id, secret string) sdk
}

// flavours are the SDKs under test: alibaba-cloud-sdk-go (V1) with JSON
// answers, with XML answers and sending GET; darabonba-openapi with V3
// signatures, and with its V1 signatures.
var flavours = []flavour{
	{"V1", func(t testing.TB, addr, id, secret string) sdk { return newV1(t, addr, id, secret) }},
	{"V1-XML", func(t testing.TB, addr, id, secret string) sdk { return newV1(t, addr, id, secret).withXML() }},
	{"V1-GET", func(t testing.TB, addr, id, secret string) sdk { return newV1(t, addr, id, secret).withGET() }},
	{"V3", func(t testing.TB, addr, id, secret string) sdk { return newV3(t, addr, id, secret) }},
	{"OpenAPI-V1", func(t testing.TB, addr, id, secret string) sdk { return newOpenAPIV1(t, addr, id, secret) }},
}

// allSDKs returns one client of every flavour, signed with the bootstrap key.
func allSDKs(t testing.TB, in *harness.Instance) []sdk {
	t.Helper()
	var out []sdk
	for _, f := range flavours {
		out = append(out, f.new(t, in.Addr, harness.AccessKeyID, harness.AccessKeySecret))
	}
	return out
}

// eachSDK runs fn as a parallel subtest for every flavour, with a client
// signed by the bootstrap key. The subtests share the bootstrap account
// (each uses its own site), so they also check that one account's
// concurrent clients do not disturb each other.
func eachSDK(t *testing.T, in *harness.Instance, fn func(t *testing.T, s sdk)) {
	runEach(t, allSDKs(t, in), fn)
}

// runEach runs fn as a parallel subtest for every client, named by its flavour.
func runEach(t *testing.T, sdks []sdk, fn func(t *testing.T, s sdk)) {
	for _, s := range sdks {
		t.Run(s.Name(), func(t *testing.T) {
			t.Parallel()
			fn(t, s)
		})
	}
}

// site is an H5 page of one test: its own origin, so that tests sharing an
// account (the bootstrap key's) never match each other's schemes.
type site struct{ Origin, URL string }

func siteFor(t testing.TB, s sdk) site {
	host := strings.ToLower(strings.NewReplacer("/", "-", "_", "-", " ", "-").Replace(t.Name() + "-" + s.Name()))
	origin := "https://" + host + ".example.com"
	return site{Origin: origin, URL: origin + "/login"}
}

// register creates the H5 scheme "<name> <SDK>" for the test's own site
// and returns the site and the SchemeCode.
func register(t testing.TB, s sdk, name string) (site, string) {
	t.Helper()
	page := siteFor(t, s)
	code, o := s.CreateH5Scheme(t, name+" "+s.Name(), page.Origin, page.URL)
	o.ok(t, "CreateVerifyScheme")
	return page, code
}

func today() string { return time.Now().UTC().Format("20060102") }

// TestSchemesAndAuthTokens drives the scheme life cycle and GetAuthToken
// with each SDK, through success, business codes and gateway codes.
func TestSchemesAndAuthTokens(t *testing.T) {
	in := start(t)
	eachSDK(t, in, func(t *testing.T, s sdk) {
		page, code := register(t, s, "compat")
		name := "compat " + s.Name()
		if !strings.HasPrefix(code, "FC") || len(code) != 17 {
			t.Errorf("SchemeCode %q is not shaped like Alibaba's (FC and 15 digits)", code)
		}
		_, o := s.CreateH5Scheme(t, name, page.Origin, page.URL)
		o.want(t, "CreateVerifyScheme with a taken name", http.StatusOK, "isv.VERIFY_SCHEME_CONFLICT")
		_, o = s.CreateH5Scheme(t, name+" bad origin", "ftp://"+page.Origin[len("https://"):], page.URL)
		o.want(t, "CreateVerifyScheme with a non-http Origin", http.StatusOK, "isv.INVALID_PARAMETERS")

		_, o = s.DescribeScheme(t, code)
		o.ok(t, "DescribeVerifyScheme")

		// The seeds call GetAuthToken with Url and Origin alone.
		ti, o := s.GetAuthToken(t, page.URL, page.Origin, "", "")
		o.ok(t, "GetAuthToken(Url, Origin)")
		if ti.AccessToken == "" || strings.Count(ti.JwtToken, ".") != 2 {
			t.Errorf("TokenInfo = %+v, want an AccessToken and a JWT", ti)
		}
		// A page below the registered URL, with a query, is the same page;
		// the URL's characters survive both SDKs' encodings and signatures.
		_, o = s.GetAuthToken(t, page.URL+"/登录 页?a=1&b=*~+/%20#top", page.Origin, code, "1")
		o.ok(t, "GetAuthToken(SceneCode, BizType=1) below the registered URL")
		_, o = s.GetAuthToken(t, page.URL, strings.ToUpper(page.Origin)+"/", "", "0")
		o.ok(t, "GetAuthToken with an upper-case Origin and a trailing slash")

		for _, c := range []struct {
			what, url, origin, scene, biz string
			status                        int
			code                          string
		}{
			{"unregistered origin", "https://nobody.example.com/login", "https://nobody.example.com", "", "", 200, "isv.SCENE_QUERY_FAIL"},
			{"page outside the registered URL", page.Origin + "/elsewhere", page.Origin, "", "", 200, "isv.SCENE_QUERY_FAIL"},
			{"Url on another origin", "https://nobody.example.com/login", page.Origin, "", "", 200, "isv.SCENE_QUERY_FAIL"},
			{"unknown SceneCode", page.URL, page.Origin, "FC100000000000000", "", 200, "isv.SCENE_QUERY_FAIL"},
			{"BizType out of range", page.URL, page.Origin, "", "7", 200, "isv.INVALID_PARAMETERS"},
			{"Origin not an origin", page.URL, "javascript:alert(1)", "", "", 200, "isv.INVALID_PARAMETERS"},
			{"BizType not a number", page.URL, page.Origin, "", "one", 400, "InvalidParameter"},
			{"no Url", "", page.Origin, "", "", 400, "MissingUrl"},
			{"no Origin", page.URL, "", "", "", 400, "MissingOrigin"},
		} {
			_, o := s.GetAuthToken(t, c.url, c.origin, c.scene, c.biz)
			o.want(t, "GetAuthToken, "+c.what, c.status, c.code)
		}

		st, o := s.Statistics(t, 2, today(), today(), code)
		o.ok(t, "QueryGateVerifyStatisticPublic")
		if st.Total != 0 || len(st.DayStatistic) != 0 {
			t.Errorf("statistics of a scheme without verifications: %+v", st)
		}
		_, o = s.Statistics(t, 4, today(), today(), "")
		o.want(t, "QueryGateVerifyStatisticPublic AuthenticationType=4 (face, not served)", http.StatusOK, "isv.INVALID_PARAMETERS")

		// A second scheme for the same page: Url and Origin alone no
		// longer tell which one, SceneCode does.
		code2, o := s.CreateSchemeConfig(t, name+" config", page.Origin, page.URL)
		o.ok(t, "CreateSchemeConfig")
		if code2 == "" || code2 == code {
			t.Fatalf("CreateSchemeConfig: Model.SchemeCode = %q", code2)
		}
		_, o = s.DescribeScheme(t, code2)
		o.ok(t, "DescribeVerifyScheme of CreateSchemeConfig's scheme")
		_, o = s.GetAuthToken(t, page.URL, page.Origin, "", "")
		o.want(t, "GetAuthToken with two matching schemes", http.StatusOK, "isv.SCENE_QUERY_FAIL")
		_, o = s.GetAuthToken(t, page.URL, page.Origin, code2, "")
		o.ok(t, "GetAuthToken with two matching schemes and SceneCode")

		ok, o := s.DeleteScheme(t, code)
		o.ok(t, "DeleteVerifyScheme")
		if !ok {
			t.Errorf("DeleteVerifyScheme: Result = false, want true")
		}
		_, o = s.DescribeScheme(t, code)
		o.want(t, "DescribeVerifyScheme after delete", http.StatusOK, "isv.VERIFY_SCHEME_NOT_EXIST")
		_, o = s.DeleteScheme(t, code)
		o.want(t, "DeleteVerifyScheme again", http.StatusOK, "isv.VERIFY_SCHEME_NOT_EXIST")
		_, o = s.GetAuthToken(t, page.URL, page.Origin, code, "")
		o.want(t, "GetAuthToken with the deleted SceneCode", http.StatusOK, "isv.SCENE_QUERY_FAIL")
		_, o = s.GetAuthToken(t, page.URL, page.Origin, "", "")
		o.ok(t, "GetAuthToken, one matching scheme left")
		if ok, o := s.DeleteScheme(t, code2); !ok {
			t.Errorf("DeleteVerifyScheme(%s): %v", code2, o)
		}
		_, o = s.GetAuthToken(t, page.URL, page.Origin, "", "")
		o.want(t, "GetAuthToken after deleting both", http.StatusOK, "isv.SCENE_QUERY_FAIL")
	})
}

// TestGatewayErrors checks the errors an SDK meets before any rule runs:
// unknown actions, missing parameters, a wrong API version.
func TestGatewayErrors(t *testing.T) {
	in := start(t)
	eachSDK(t, in, func(t *testing.T, s sdk) {
		for _, c := range []struct {
			action string
			params map[string]string
			status int
			code   string
		}{
			{"NoSuchAction", nil, 404, "InvalidAction.NotFound"},
			{"SendSms", map[string]string{"PhoneNumbers": localPhone}, 404, "InvalidAction.NotFound"},
			{"DescribeVerifyScheme", nil, 400, "MissingSchemeCode"},
			{"DeleteVerifyScheme", map[string]string{"SchemeCode": "  "}, 400, "MissingSchemeCode"},
			{"CreateVerifyScheme", map[string]string{"AppName": "a", "OsType": "H5"}, 400, "MissingSchemeName"},
			{"CreateVerifyScheme", map[string]string{"SchemeName": "a", "AppName": "a"}, 400, "MissingOsType"},
			{"CreateVerifyScheme", map[string]string{"SchemeName": "a", "AppName": "a", "OsType": "Symbian"}, 200, "isv.INVALID_PARAMETERS"},
			{"VerifyPhoneWithToken", map[string]string{"PhoneNumber": localPhone}, 400, "MissingSpToken"},
			{"VerifyPhoneWithToken", map[string]string{"SpToken": "x"}, 400, "MissingPhoneNumber"},
			{"GetPhoneWithToken", nil, 400, "MissingSpToken"},
			{"QueryGateVerifyStatisticPublic", map[string]string{"StartDate": today(), "EndDate": today()}, 400, "MissingAuthenticationType"},
			{"QueryGateVerifyStatisticPublic", map[string]string{"AuthenticationType": "2", "EndDate": today()}, 400, "MissingStartDate"},
			{"QueryGateVerifyStatisticPublic", map[string]string{"AuthenticationType": "2", "StartDate": "2024-01-01", "EndDate": today()}, 200, "isv.INVALID_PARAMETERS"},
			{"VerifyPhoneWithToken", map[string]string{"SpToken": "not-a-token", "PhoneNumber": localPhone}, 200, "isv.TOKEN_INVALID"},
			{"VerifyPhoneWithToken", map[string]string{"SpToken": "not-a-token", "PhoneNumber": "12345"}, 200, "isv.MOBILE_NUMBER_ILLEGAL"},
			{"GetPhoneWithToken", map[string]string{"SpToken": "not-a-token"}, 200, "isv.TOKEN_INVALID"},
		} {
			o := s.Call(t, c.action, c.params)
			o.want(t, fmt.Sprintf("%s %v", c.action, c.params), c.status, c.code)
		}
	})
}
