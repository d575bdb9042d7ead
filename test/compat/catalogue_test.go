package compat

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"

	"github.com/numauth/numauth/test/harness"
)

// The actions of Alibaba's public metadata for the product
// (../shared/reference/alibaba/dypnsapi-2017-05-25.en.json) are the
// catalogue numauth serves: each live one answers its documented success
// shape and refuses a call missing any required parameter; each one Alibaba
// has taken offline answers InvalidAction.NotFound, as do the two
// deprecated Jy* actions, which the metadata no longer lists.

var metadataFile = filepath.Join("..", "..", "..", "shared", "reference", "alibaba", "dypnsapi-2017-05-25.en.json")

// inferred are parameters Alibaba requires and numauth, as docs/api.md
// says, infers when absent: a call without one succeeds.
var inferred = map[string][]string{"CreateSchemeConfig": {"Platform"}}

// offline are the actions Alibaba no longer serves (SPEC §2.1).
var offline = []string{"GetSmsAuthTokens", "VerifySmsCode", "GetAuthorizationUrl", "JyCreateVerifyScheme", "JyQueryAppInfoBySceneCode"}

type apiMeta struct {
	Parameters []struct {
		Name   string `json:"name"`
		Schema struct {
			Required bool `json:"required"`
		} `json:"schema"`
	} `json:"parameters"`
	Responses map[string]struct {
		Schema struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schema"`
	} `json:"responses"`
}

func loadMetadata(t *testing.T) map[string]apiMeta {
	t.Helper()
	raw, err := os.ReadFile(metadataFile)
	if err != nil {
		t.Skipf("Alibaba's metadata is not beside the repository (%v): the catalogue test needs ../shared", err)
	}
	var doc struct {
		APIs map[string]apiMeta `json:"apis"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.APIs
}

// common calls action through the V1 SDK's common request (the official
// SDK's generic path for any action) and returns the HTTP status, the
// decoded answer and its Code.
func common(t *testing.T, s *v1SDK, action string, params map[string]string) (int, map[string]any, string) {
	t.Helper()
	req := requests.NewCommonRequest()
	req.Method = "POST"
	req.Scheme = "http"
	req.Domain = s.addr
	req.Version = apiVersion
	req.ApiName = action
	req.Product = "Dypnsapi"
	for k, v := range params {
		req.QueryParams[k] = v
	}
	res, err := s.c.ProcessCommonRequest(req)
	if err != nil {
		var se *sdkerrors.ServerError
		if ok := asServerError(err, &se); ok {
			var body map[string]any
			json.Unmarshal([]byte(se.Message()), &body)
			return se.HttpStatus(), body, se.ErrorCode()
		}
		t.Fatalf("%s: %v", action, err)
	}
	var body map[string]any
	if err := json.Unmarshal(res.GetHttpContentBytes(), &body); err != nil {
		t.Fatalf("%s: answer is not JSON: %s", action, res.GetHttpContentString())
	}
	code, _ := body["Code"].(string)
	return res.GetHttpStatus(), body, code
}

func asServerError(err error, se **sdkerrors.ServerError) bool {
	e, ok := err.(*sdkerrors.ServerError)
	if ok {
		*se = e
	}
	return ok
}

// catalogue builds a successful call of each live action on in.
type catalogue struct {
	t      *testing.T
	in     *harness.Instance
	s      *v1SDK
	site   site
	scheme string
	// appScheme is an Android scheme, made on first use; fusionCode an
	// H5 fusion scheme on fusionSite.
	appScheme  string
	fusionCode string
	fusionSite site
}

func (c *catalogue) call(action string, params map[string]string) map[string]any {
	c.t.Helper()
	status, body, code := common(c.t, c.s, action, params)
	if status != http.StatusOK || code != "OK" {
		c.t.Fatalf("%s(%v): HTTP %d %q %v", action, params, status, code, body)
	}
	return body
}

func (c *catalogue) authToken(biz string) (access, jwt string) {
	body := c.call("GetAuthToken", map[string]string{"Url": c.site.URL, "Origin": c.site.Origin, "SceneCode": c.scheme, "BizType": biz})
	ti, _ := body["TokenInfo"].(map[string]any)
	return ti["AccessToken"].(string), ti["JwtToken"].(string)
}

// spToken runs the page side of a flow of kind through the gateway.
func (c *catalogue) spToken(kind string) string {
	biz := map[string]string{"verify": "0", "login": "1"}[kind]
	access, jwt := c.authToken(biz)
	p := newPage(c.t, c.in, c.site.Origin)
	res := p.call("check", map[string]string{"accessToken": access, "jwtToken": jwt, "kind": kind})
	if kind == "verify" {
		return p.verifyToken(str(res, "session"))
	}
	return p.loginToken(str(res, "session"), localPhone)
}

// appToken is what a native app's carrier SDK gets for kind, from the
// sandbox's app-token endpoint.
func (c *catalogue) appToken(kind string) string {
	c.t.Helper()
	if c.appScheme == "" {
		c.appScheme = c.s.createAppScheme(c.t, "catalogue app")
	}
	code, tok := appToken(c.t, c.in, c.appScheme, kind)
	if code != 600000 || tok == "" {
		c.t.Fatalf("app-token %s: code %d", kind, code)
	}
	return tok
}

// fusionScheme is an H5 fusion scheme (CreateSchemeConfig), made on first use.
func (c *catalogue) fusionScheme() string {
	c.t.Helper()
	if c.fusionCode == "" {
		o := "https://fusion-" + randomSuffix() + ".example"
		c.fusionSite = site{Origin: o, URL: o + "/"}
		body := c.call("CreateSchemeConfig", map[string]string{"SchemeName": "fusion-" + randomSuffix(), "AppName": "catalogue",
			"Platform": "H5", "H5Origin": c.fusionSite.Origin, "H5Url": c.fusionSite.URL})
		m, _ := body["Model"].(map[string]any)
		c.fusionCode = m["SchemeCode"].(string)
	}
	return c.fusionCode
}

// success returns the parameters of a call of action that succeeds.
func (c *catalogue) success(action string) map[string]string {
	smsPhone := "13700137000"
	switch action {
	case "CreateVerifyScheme":
		o := "https://cat-" + randomSuffix() + ".example"
		return map[string]string{"SchemeName": "cat-" + randomSuffix(), "AppName": "catalogue", "OsType": "H5", "Origin": o, "Url": o + "/"}
	case "CreateSchemeConfig":
		o := "https://cfg-" + randomSuffix() + ".example"
		return map[string]string{"SchemeName": "cfg-" + randomSuffix(), "AppName": "catalogue", "Platform": "H5", "H5Origin": o, "H5Url": o + "/"}
	case "DescribeVerifyScheme":
		return map[string]string{"SchemeCode": c.scheme}
	case "DeleteVerifyScheme":
		body := c.call("CreateVerifyScheme", c.success("CreateVerifyScheme"))
		dto, _ := body["GateVerifySchemeDTO"].(map[string]any)
		return map[string]string{"SchemeCode": dto["SchemeCode"].(string)}
	case "GetAuthToken":
		return map[string]string{"Url": c.site.URL, "Origin": c.site.Origin, "SceneCode": c.scheme}
	case "VerifyPhoneWithToken":
		return map[string]string{"SpToken": c.spToken("verify"), "PhoneNumber": localPhone}
	case "GetPhoneWithToken":
		return map[string]string{"SpToken": c.spToken("login")}
	case "SendSmsVerifyCode":
		return map[string]string{"PhoneNumber": freshPhone(), "SignName": "numauth", "TemplateCode": "100001",
			"TemplateParam": `{"code":"##code##","min":"5"}`, "ReturnVerifyCode": "true"}
	case "CheckSmsVerifyCode":
		phone := freshPhone()
		body := c.call("SendSmsVerifyCode", map[string]string{"PhoneNumber": phone, "SignName": "numauth", "TemplateCode": "100001",
			"TemplateParam": `{"code":"##code##","min":"5"}`, "ReturnVerifyCode": "true"})
		m, _ := body["Model"].(map[string]any)
		return map[string]string{"PhoneNumber": phone, "VerifyCode": m["VerifyCode"].(string)}
	case "QuerySendDetails":
		return map[string]string{"PhoneNumber": smsPhone, "SendDate": today(), "PageSize": "10", "CurrentPage": "1"}
	case "QueryGateVerifyStatisticPublic":
		return map[string]string{"AuthenticationType": "2", "StartDate": today(), "EndDate": today()}
	case "GetMobile":
		return map[string]string{"AccessToken": c.appToken("login")}
	case "VerifyMobile":
		return map[string]string{"AccessCode": c.appToken("verify"), "PhoneNumber": localPhone}
	case "QueryGateVerifyBillingPublic":
		return map[string]string{"AuthenticationType": "2", "Month": billingMonth()}
	case "GetFusionAuthToken":
		return map[string]string{"SchemeCode": c.fusionScheme(), "Platform": "H5", "DurationSeconds": "900"}
	case "VerifyWithFusionAuthToken":
		body := c.call("GetFusionAuthToken", map[string]string{"SchemeCode": c.fusionScheme(), "Platform": "H5", "DurationSeconds": "900"})
		p := newPage(c.t, c.in, c.fusionSite.Origin)
		res := p.call("fusion-check", map[string]string{"fusionToken": body["Model"].(string)})
		return map[string]string{"VerifyToken": p.loginToken(str(res, "session"), localPhone)}
	}
	return nil
}

// TestCatalogue: every action in Alibaba's metadata is served with its
// documented shape, or is offline.
func TestCatalogue(t *testing.T) {
	apis := loadMetadata(t)
	in := start(t)
	s := newV1(t, in.Addr, harness.AccessKeyID, harness.AccessKeySecret)
	c := &catalogue{t: t, in: in, s: s}
	c.site, c.scheme = register(t, s, "catalogue")

	var live []string
	for name := range apis {
		if !contains(offline, name) {
			live = append(live, name)
		}
	}
	sort.Strings(live)
	if len(live) != 16 {
		t.Errorf("the metadata lists %d live actions, want the 16 SPEC §2.1 names: %v", len(live), live)
	}
	for _, name := range offline {
		t.Run(name, func(t *testing.T) {
			status, _, code := common(t, s, name, map[string]string{})
			if status != http.StatusNotFound || code != "InvalidAction.NotFound" {
				t.Errorf("offline %s: HTTP %d %q, want 404 InvalidAction.NotFound", name, status, code)
			}
		})
	}
	for _, name := range live {
		t.Run(name, func(t *testing.T) {
			c.t = t
			params := c.success(name)
			if params == nil {
				t.Fatalf("%s: the catalogue test has no successful call for it", name)
			}
			// The documented success shape: every top-level field.
			body := c.call(name, params)
			for field := range apis[name].Responses["200"].Schema.Properties {
				if field == "AccessDeniedDetail" { // present on a RAM denial only
					continue
				}
				if _, ok := body[field]; !ok {
					t.Errorf("%s: the answer has no %s (documented): %v", name, field, body)
				}
			}
			// A call missing any required parameter is refused as such.
			for _, p := range apis[name].Parameters {
				if !p.Schema.Required {
					continue
				}
				without := map[string]string{}
				for k, v := range c.success(name) {
					if k != p.Name {
						without[k] = v
					}
				}
				status, body, code := common(t, s, name, without)
				if contains(inferred[name], p.Name) {
					if status != http.StatusOK || code != "OK" {
						t.Errorf("%s without %s (inferred, docs/api.md): HTTP %d %q %v, want OK", name, p.Name, status, code, body)
					}
					continue
				}
				if status != http.StatusBadRequest || !strings.HasPrefix(code, "Missing") {
					t.Errorf("%s without %s: HTTP %d %q %v, want 400 Missing…", name, p.Name, status, code, body)
				}
			}
		})
	}
}

var suffixes, phones atomic.Int64

// freshPhone is a mainland number no earlier call of the run sent an SMS to.
func freshPhone() string { return "1370" + strconv.FormatInt(10000000+phones.Add(1), 10)[1:] }

// randomSuffix names things one catalogue run creates apart.
func randomSuffix() string {
	return strconv.FormatInt(suffixes.Add(1), 10) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
