package camara

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/cucumber/godog"

	"github.com/numauth/numauth/test/harness"
)

// notForNumauth are the scenarios of CAMARA's feature files that cannot
// apply to numauth, by tag, with the reason. They are reported as skipped.
var notForNumauth = map[string]string{
	"@phoneNumberVerify_403.2_not_authenticated_using_network_or_sim_based_authentication": noOtherAuth,
	"@phoneNumberShare_403.2_not_authenticated_using_network_or_sim_based_authentication":  noOtherAuth,
	"@phone_number_verify_C02.01_phone_number_not_schema_compliant": "it needs a 2-legged access token (client credentials) " +
		"that identifies no phone number, and numauth offers only the 3-legged authorization-code flow; the same malformed " +
		"phoneNumber with a 3-legged token is TestRelyingParty's InvalidPhoneNumber",
}

const noOtherAuth = "numauth's OpenID provider authenticates a user only by the mobile network (the carrier adapter's " +
	"front leg at the authorization endpoint): it has no SMS, password or other method, so no token exists " +
	"for which neither network-based nor SIM-based authentication was used"

// TestCamaraFeatures runs CAMARA's own test definitions of the Number
// Verification API v2.1.0, the Gherkin files unchanged, against a real
// numauth over HTTP, every NV call validated against the OpenAPI document.
func TestCamaraFeatures(t *testing.T) {
	dir := needReference(t, "camara")
	features, err := filepath.Glob(filepath.Join(dir, "*.feature"))
	if err != nil || len(features) == 0 {
		t.Skipf("no CAMARA feature files in %s (%v)", dir, err)
	}
	env := newFeatureEnv(t)
	env.skips = maps.Clone(notForNumauth)
	if serveHasFlag(t, ttlFlag) {
		env.short = newFeatureEnv(t, "--"+ttlFlag, shortTTL.String())
	} else {
		env.skips["@phone_number_verify_401.2_expired_access_token"] = noExpiry
	}

	var out bytes.Buffer
	suite := godog.TestSuite{
		Name:                "camara-number-verification",
		ScenarioInitializer: func(sc *godog.ScenarioContext) { env.initScenario(t, sc) },
		Options: &godog.Options{
			Format:    "pretty",
			Output:    &out,
			Paths:     features,
			Strict:    true, // an undefined or pending step fails
			NoColors:  true,
			TestingT:  t,
			Randomize: 0,
		},
	}
	status := suite.Run()
	if t.Failed() || status != 0 {
		t.Logf("godog (exit status %d):\n%s", status, out.String())
		if status != 0 && !t.Failed() {
			t.Error("godog failed")
		}
	}

	env.mu.Lock()
	defer env.mu.Unlock()
	sort.Strings(env.skipped)
	msg := fmt.Sprintf("CAMARA feature files: %d scenarios: %d passed, %d skipped, %d failed",
		env.passed+len(env.skipped)+len(env.failed), env.passed, len(env.skipped), len(env.failed))
	t.Log(msg)
	fmt.Println(msg) // shown without -v too
	for _, s := range env.skipped {
		t.Logf("skipped: %s", s)
	}
	if len(env.failed) > 0 {
		t.Errorf("failed scenarios:\n  %s", strings.Join(env.failed, "\n  "))
	}
	if env.passed == 0 {
		t.Error("no scenario passed")
	}
}

// featureEnv is what every scenario shares: one numauth and two clients,
// a private_key_jwt one for phoneNumberVerify and a client_secret_basic
// one for phoneNumberShare, so both ways of client authentication serve
// the features' tokens.
type featureEnv struct {
	in            *harness.Instance
	md            metadata
	nv            *nvAPI
	verify, share *party
	skips         map[string]string // tag → reason
	short         *featureEnv       // a numauth whose access tokens expire at once; nil if serve cannot

	mu      sync.Mutex
	passed  int
	skipped []string
	failed  []string
}

// newFeatureEnv starts a numauth with serve's flags args and registers
// the clients of the scenarios.
func newFeatureEnv(t *testing.T, args ...string) *featureEnv {
	in := startNumauth(t, args...)
	env := &featureEnv{in: in, md: discover(t, in), nv: newNV(t, in)}
	env.verify = newParty(t, env.md, in.NewCamaraClient(t, redirectURI, false), lineAddr)
	env.share = newParty(t, env.md, in.NewCamaraClient(t, redirectURI, true), lineAddr)
	return env
}

// scenario is one scenario's request under construction and its answer.
type scenario struct {
	t      *testing.T
	env    *featureEnv
	nv     *nvAPI // where the request goes: env.nv unless the token is of another numauth
	op     string // the feature's operation: phoneNumberVerify or phoneNumberShare
	base   string
	header http.Header
	body   map[string]any
	raw    []byte // a literal body, instead of body
	noBody bool
	byDflt bool // body is still the Background's default
	// The request is meant to break the OpenAPI document: by its body,
	// or by having no token.
	bodyBreaks, authBreaks bool
	skipped                string // why the scenario is skipped, if it is
	phone                  string
	idToken                string
	res                    *nvResponse
	resJSON                map[string]any
}

func (env *featureEnv) initScenario(t *testing.T, sc *godog.ScenarioContext) {
	s := &scenario{t: t, env: env, nv: env.nv, header: http.Header{}}
	sc.Before(func(ctx context.Context, p *godog.Scenario) (context.Context, error) {
		switch {
		case strings.Contains(p.Uri, "phoneNumberVerify"):
			s.op = "phoneNumberVerify"
		case strings.Contains(p.Uri, "phoneNumberShare"):
			s.op = "phoneNumberShare"
		default:
			return ctx, fmt.Errorf("feature file %s names no operation", p.Uri)
		}
		for _, tag := range p.Tags {
			if why, ok := env.skips[tag.Name]; ok {
				s.skipped = why
				godog.Logf(ctx, "skipped: %s", why)
				return ctx, godog.ErrSkip
			}
		}
		return ctx, nil
	})
	sc.After(func(ctx context.Context, p *godog.Scenario, err error) (context.Context, error) {
		name := fmt.Sprintf("%s %s (%s)", filepath.Base(p.Uri), p.Name, tagNames(p))
		env.mu.Lock()
		defer env.mu.Unlock()
		switch {
		case s.skipped != "":
			env.skipped = append(env.skipped, name+": "+s.skipped)
		case err == nil:
			env.passed++
		default:
			env.failed = append(env.failed, name+": "+err.Error())
		}
		return ctx, nil
	})

	// Background.
	sc.Step(`^the resource "([^"]*)" as base url$`, s.resource)
	sc.Step(`^the header "([^"]*)" is set to "([^"]*)"$`, s.setHeader)
	sc.Step(`^the header "Authorization" is set to a valid access token$`, s.validToken)
	sc.Step(`^the header "x-correlator" complies with the schema at "([^"]*)"$`, s.correlator)
	sc.Step(`^the request body is set by default to a request body compliant with the schema$`, s.defaultBody)

	// The line and its token.
	sc.Step(`^a valid phone number identified by the token and provided in the request body$`, s.lineInBody)
	sc.Step(`^a valid (?:testing )?phone ?[Nn]umber supported by the service, identified by the token$`, s.lineOfToken)
	sc.Step(`^the token has been obtained by a supported authentication method$`, s.networkAuthenticated)

	// Request bodies.
	sc.Step(`^the (?:request )?body property "([^"]*)" is set to (the phone number identified by the access token|a valid phone number different from the one identified by the access token|a valid phone number)(, hashed in SHA-256 \(in hexadecimal representation\))?$`, s.setNumber)
	sc.Step(`^the same phone number is compliant with OAS schema at "([^"]*)"$`, s.sameNumberComplies)
	sc.Step(`^the request body property "([^"]*)" is set to a valid phone number compliant with OAS schema at "([^"]*)"$`, s.setHashedComplying)
	sc.Step(`^the request body property "([^"]*)" does not comply with the OAS schema at "([^"]*)"$`, s.setNonCompliant)
	sc.Step(`^the request body property "([^"]*)" is set to "([^"]*)"$`, s.setProperty)
	sc.Step(`^the request body does not contain neither "([^"]*)" nor "([^"]*)"$`, s.lacks)
	sc.Step(`^the request body is not included$`, s.noRequestBody)
	sc.Step(`^the request body is set to "([^"]*)"$`, s.literalBody)
	sc.Step(`^the request body is set to a valid request body$`, s.validBody)

	// Authorization headers.
	sc.Step(`^the header "Authorization" is removed$`, s.noToken)
	sc.Step(`^the header "Authorization" is set to an expired access token$`, s.expiredToken)
	sc.Step(`^the header "Authorization" is set to an invalid access token$`, s.invalidToken)
	sc.Step(`^the header "Authorization" is set to an access token without the required scope$`, s.otherScopeToken)
	sc.Step(`^the header "Authorization" is set to a token for which neither Network-based nor SIM-based authentication was used$`, s.notNetworkToken)
	sc.Step(`^the header "Authorization" is set to a valid access token which does not identify a single phone number$`, s.twoLeggedToken)

	// The call and its answer.
	sc.Step(`^the request "([^"]*)" is sent$`, s.send)
	sc.Step(`^the response status code is "?(\d+)"?$`, s.status)
	sc.Step(`^the response header "([^"]*)" is "([^"]*)"$`, s.responseHeader)
	sc.Step(`^the response header "([^"]*)" has same value as the request header "([^"]*)"$`, s.echoedHeader)
	sc.Step(`^the response body complies with the OAS schema at "([^"]*)"$`, s.bodyComplies)
	sc.Step(`^the response property "([^"]*)" == (true|false)$`, s.propertyBool)
	sc.Step(`^the response property "([^"]*)" is (\d+)$`, s.propertyInt)
	sc.Step(`^the response property "([^"]*)" is "([^"]*)"$`, s.propertyString)
	sc.Step(`^the response property "([^"]*)" contains a user friendly text$`, s.friendlyText)
	sc.Step(`^the response property "([^"]*)" is equal to the phone number associated with the access token$`, s.propertyIsLine)
}

func tagNames(p *godog.Scenario) string {
	var names []string
	for _, tag := range p.Tags {
		names = append(names, tag.Name)
	}
	return strings.Join(names, " ")
}

// party returns the client of the scenario's operation.
func (s *scenario) party() *party {
	if s.op == "phoneNumberShare" {
		return s.env.share
	}
	return s.env.verify
}

// scopeOf is the purpose scope of an operation.
func scopeOf(op string) string {
	if op == "phoneNumberShare" {
		return scopeShare
	}
	return scopeVerify
}

// tokenFor runs the whole authorization-code flow from the line for scope.
// A scenario's steps run in its own subtest, so a t.Fatal of the flow
// helpers ends it; they are called here through a recorder that turns
// them into the step's error.
func (s *scenario) tokenFor(p *party, scope string) (tokenAnswer, error) {
	var (
		a   tokenAnswer
		rec = &recorder{TB: s.t}
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a = p.tokens(rec, scope)
	}()
	<-done
	if rec.err != "" {
		return tokenAnswer{}, errors.New(rec.err)
	}
	return a, nil
}

// recorder is a testing.TB whose Fatal ends only the goroutine it is
// called on and keeps the message.
type recorder struct {
	testing.TB
	err string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatal(args ...any) {
	r.err = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.err = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (s *scenario) resource(path string) error {
	if path != "/number-verification/v2" {
		return fmt.Errorf("base url %q: numauth serves the NV API v2 at /camara/number-verification/v2", path)
	}
	s.base = s.env.nv.base
	return nil
}

func (s *scenario) setHeader(name, value string) error {
	s.header.Set(name, value)
	return nil
}

func (s *scenario) validToken() error {
	a, err := s.tokenFor(s.party(), scopeOf(s.op))
	if err != nil {
		return err
	}
	s.header.Set("Authorization", "Bearer "+a.AccessToken)
	s.phone, s.idToken = linePhone, a.IDToken
	return nil
}

func (s *scenario) correlator(ref string) error {
	v := "numauth-camara-" + rand.Text()
	if err := complies(s.env.nv.doc, ref, v); err != nil {
		return fmt.Errorf("x-correlator %q: %w", v, err)
	}
	s.header.Set("x-correlator", v)
	return nil
}

func (s *scenario) defaultBody() error {
	s.body, s.byDflt = map[string]any{"phoneNumber": linePhone}, true
	return complies(s.env.nv.doc, "#/components/schemas/NumberVerificationRequestBody", s.body)
}

func (s *scenario) lineInBody() error {
	if err := s.lineOfToken(); err != nil {
		return err
	}
	if s.body["phoneNumber"] != s.phone {
		return fmt.Errorf("the request body is %v, want the token's number %s in it", s.body, s.phone)
	}
	return nil
}

// lineOfToken checks that the scenario's token was obtained from the
// sandbox line, whose number is therefore the token's.
func (s *scenario) lineOfToken() error {
	if s.phone != linePhone {
		return errors.New("the scenario's token was not obtained from the sandbox line")
	}
	return nil
}

// networkAuthenticated: the token came through numauth's authorization
// endpoint from an address the sandbox carrier identifies, which is
// network-based authentication; the ID token of the same flow says so in
// its amr claim when numauth puts one there.
func (s *scenario) networkAuthenticated() error {
	if err := s.lineOfToken(); err != nil {
		return err
	}
	if s.idToken == "" {
		return nil
	}
	c, err := claims(s.idToken)
	if err != nil {
		return fmt.Errorf("ID token: %w", err)
	}
	if amr, ok := c["amr"]; ok {
		if list, _ := amr.([]any); len(list) == 0 {
			return fmt.Errorf("ID token amr %v names no authentication method", amr)
		}
	}
	return nil
}

// setBody starts the scenario's own body when it still is the
// Background's default: a scenario that sets a property says what its
// body holds, instead of adding to the default one.
func (s *scenario) setBody(prop string, v any) error {
	name, ok := strings.CutPrefix(prop, "$.")
	if !ok || strings.ContainsAny(name, ".[") {
		return fmt.Errorf("body property %q: want $.NAME", prop)
	}
	if s.byDflt || s.body == nil {
		s.body, s.byDflt = map[string]any{}, false
	}
	s.body[name] = v
	s.bodyBreaks = complies(s.env.nv.doc, "#/components/schemas/NumberVerificationRequestBody", s.body) != nil
	return nil
}

func (s *scenario) setNumber(prop, which, hash string) error {
	n := linePhone
	if strings.Contains(which, "different") {
		n = otherPhone
	}
	var v any = n
	if hash != "" {
		v = hashed(n)
	}
	return s.setBody(prop, v)
}

func (s *scenario) sameNumberComplies(ref string) error {
	return complies(s.env.nv.doc, ref, s.body["phoneNumber"])
}

func (s *scenario) setHashedComplying(prop, ref string) error {
	v := hashed(linePhone)
	if err := complies(s.env.nv.doc, ref, v); err != nil {
		return err
	}
	return s.setBody(prop, v)
}

func (s *scenario) setNonCompliant(prop, ref string) error {
	v := lineMainland // the mainland form, without + and country code
	if complies(s.env.nv.doc, ref, v) == nil {
		return fmt.Errorf("%q complies with %s", v, ref)
	}
	return s.setBody(prop, v)
}

func (s *scenario) setProperty(prop, value string) error { return s.setBody(prop, value) }

func (s *scenario) lacks(a, b string) error {
	for _, p := range []string{a, b} {
		if _, ok := s.body[strings.TrimPrefix(p, "$.")]; ok {
			return fmt.Errorf("the request body %v contains %s", s.body, p)
		}
	}
	return nil
}

func (s *scenario) noRequestBody() error {
	s.noBody, s.bodyBreaks = true, true // the operation requires a body
	return nil
}

func (s *scenario) literalBody(lit string) error {
	var v any
	if err := json.Unmarshal([]byte(lit), &v); err != nil {
		return fmt.Errorf("request body %q: %w", lit, err)
	}
	s.raw, s.body, s.byDflt = []byte(lit), nil, false
	s.bodyBreaks = complies(s.env.nv.doc, "#/components/schemas/NumberVerificationRequestBody", v) != nil
	return nil
}

func (s *scenario) validBody() error {
	s.body, s.byDflt, s.raw, s.noBody, s.bodyBreaks = map[string]any{"phoneNumber": linePhone}, false, nil, false, false
	return nil
}

func (s *scenario) noToken() error {
	s.header.Del("Authorization")
	s.authBreaks = true // the document's security requirement
	return nil
}

func (s *scenario) expiredToken() error {
	tok, err := s.env.expired(s)
	if err != nil {
		return err
	}
	s.header.Set("Authorization", "Bearer "+tok)
	return nil
}

func (s *scenario) invalidToken() error {
	s.header.Set("Authorization", "Bearer "+rand.Text()+rand.Text())
	return nil
}

// otherScopeToken is a good token of the other operation's scope.
func (s *scenario) otherScopeToken() error {
	other := "phoneNumberShare"
	if s.op == "phoneNumberShare" {
		other = "phoneNumberVerify"
	}
	a, err := s.tokenFor(s.party(), scopeOf(other))
	if err != nil {
		return err
	}
	s.header.Set("Authorization", "Bearer "+a.AccessToken)
	return nil
}

func (s *scenario) notNetworkToken() error { return errors.New(noOtherAuth) }

func (s *scenario) twoLeggedToken() error {
	return errors.New("numauth offers no 2-legged access token: " + notForNumauth["@phone_number_verify_C02.01_phone_number_not_schema_compliant"])
}

// send sends the scenario's request; a Then step sends it if no When step
// did (one of CAMARA's scenarios has no When).
func (s *scenario) send(op string) error {
	if op != s.op {
		return fmt.Errorf("request %q in a feature of %s", op, s.op)
	}
	r := nvRequest{Header: s.header, BreaksSchema: s.bodyBreaks || s.authBreaks}
	switch op {
	case "phoneNumberVerify":
		r.Method, r.Path = http.MethodPost, "/verify"
		switch {
		case s.noBody:
		case s.raw != nil:
			r.Body = s.raw
		default:
			b, err := json.Marshal(s.body)
			if err != nil {
				return err
			}
			r.Body = b
		}
	case "phoneNumberShare":
		r.Method, r.Path = http.MethodGet, "/device-phone-number"
	default:
		return fmt.Errorf("unknown operation %q", op)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := s.nv.do(ctx, r)
	if err != nil {
		return err
	}
	s.res = res
	if m, err := res.JSON(); err == nil {
		s.resJSON = m
	}
	return nil
}

func (s *scenario) answer() (*nvResponse, error) {
	if s.res == nil {
		if err := s.send(s.op); err != nil {
			return nil, err
		}
	}
	return s.res, nil
}

func (s *scenario) status(code int) error {
	res, err := s.answer()
	if err != nil {
		return err
	}
	if res.Status != code {
		return fmt.Errorf("response %s, want status %d", res, code)
	}
	return nil
}

func (s *scenario) responseHeader(name, want string) error {
	res, err := s.answer()
	if err != nil {
		return err
	}
	got := res.Header.Get(name)
	if strings.EqualFold(name, "Content-Type") {
		// A media type with parameters (charset) is that media type.
		if mt, _, err := mime.ParseMediaType(got); err == nil && mt == want {
			return nil
		}
	}
	if got != want {
		return fmt.Errorf("response header %s = %q, want %q", name, got, want)
	}
	return nil
}

func (s *scenario) echoedHeader(resName, reqName string) error {
	res, err := s.answer()
	if err != nil {
		return err
	}
	want := s.header.Get(reqName)
	if got := res.Header.Get(resName); want == "" || got != want {
		return fmt.Errorf("response header %s = %q, want the request's %s %q", resName, got, reqName, want)
	}
	return nil
}

func (s *scenario) bodyComplies(ref string) error {
	if _, err := s.answer(); err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(s.res.Body, &v); err != nil {
		return fmt.Errorf("response body %q: %w", s.res.Body, err)
	}
	return complies(s.env.nv.doc, ref, v)
}

// property returns a top-level property of the JSON answer ("$.name").
func (s *scenario) property(path string) (any, error) {
	if _, err := s.answer(); err != nil {
		return nil, err
	}
	name, ok := strings.CutPrefix(path, "$.")
	if !ok || strings.ContainsAny(name, ".[") {
		return nil, fmt.Errorf("response property %q: want $.NAME", path)
	}
	if s.resJSON == nil {
		return nil, fmt.Errorf("response %s is not a JSON object", s.res)
	}
	v, ok := s.resJSON[name]
	if !ok {
		return nil, fmt.Errorf("response %s has no %s", s.res, path)
	}
	return v, nil
}

func (s *scenario) propertyBool(path, want string) error {
	v, err := s.property(path)
	if err != nil {
		return err
	}
	if b, ok := v.(bool); !ok || strconv.FormatBool(b) != want {
		return fmt.Errorf("response %s: %s = %v, want %s", s.res, path, v, want)
	}
	return nil
}

func (s *scenario) propertyInt(path string, want int) error {
	v, err := s.property(path)
	if err != nil {
		return err
	}
	if f, ok := v.(float64); !ok || f != float64(want) {
		return fmt.Errorf("response %s: %s = %v, want %d", s.res, path, v, want)
	}
	return nil
}

func (s *scenario) propertyString(path, want string) error {
	v, err := s.property(path)
	if err != nil {
		return err
	}
	if v != want {
		return fmt.Errorf("response %s: %s = %v, want %q", s.res, path, v, want)
	}
	return nil
}

// friendlyText: a sentence for a person, not empty, not a code.
var codeLike = regexp.MustCompile(`^[A-Z0-9_.]+$`)

func (s *scenario) friendlyText(path string) error {
	v, err := s.property(path)
	if err != nil {
		return err
	}
	text, _ := v.(string)
	if strings.TrimSpace(text) == "" || codeLike.MatchString(text) || !strings.ContainsFunc(text, unicode.IsSpace) ||
		slices.Contains([]string{fmt.Sprint(s.resJSON["code"])}, text) {
		return fmt.Errorf("response %s: %s = %q is no text for a person", s.res, path, v)
	}
	return nil
}

func (s *scenario) propertyIsLine(path string) error {
	if err := s.propertyString(path, s.phone); err != nil {
		return err
	}
	return nil
}

// ttlFlag is serve's flag that shortens the access tokens' lifetime
// below the 300 s that SPEC §7 allows: an expired token of a real numauth
// takes that long to make otherwise.
const ttlFlag = "camara-access-token-ttl"

// shortTTL is the lifetime of the tokens that expire in the 401.2
// scenarios.
const shortTTL = time.Second

// noExpiry is the reason the 401.2 scenarios are skipped while serve has no
// ttlFlag.
const noExpiry = "numauth serve has no --" + ttlFlag + " flag, and an access token takes 300 s to expire otherwise " +
	"(too long for the suite)"

// serveHasFlag reports whether numauth serve has the flag name.
func serveHasFlag(t testing.TB, name string) bool {
	t.Helper()
	out, _ := exec.Command(harness.Binary(t), "serve", "-h").CombinedOutput()
	return regexp.MustCompile(`(?m)^\s*--?` + regexp.QuoteMeta(name) + `\b`).Match(out)
}

// expired returns an access token of the scenario's operation that has
// expired, from the numauth whose tokens live shortTTL, and points the
// scenario's request at that numauth.
func (env *featureEnv) expired(s *scenario) (string, error) {
	if env.short == nil {
		return "", errors.New(noExpiry)
	}
	p := env.short.verify
	if s.op == "phoneNumberShare" {
		p = env.short.share
	}
	a, err := s.tokenFor(p, scopeOf(s.op))
	if err != nil {
		return "", err
	}
	time.Sleep(shortTTL + 500*time.Millisecond)
	s.nv = env.short.nv
	return a.AccessToken, nil
}
