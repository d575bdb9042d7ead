package camara

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/numauth/numauth/test/harness"
)

// reference is the folder of the public specifications numauth is held to:
// the repository is cloned with shared/ beside it.
var reference = filepath.Join("..", "..", "..", "shared", "reference")

// needReference skips the test when the reference folder is absent (a
// clone without shared/ beside it) and returns the path of name in it.
func needReference(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(reference, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("CAMARA reference %s is absent (clone the repository with shared/ beside it): %v", name, err)
	}
	return p
}

// loadSpec loads and checks the Number Verification API's OpenAPI
// document (v2.1.0) with its one server set to base, numauth's API root
// of the API, so that a router matches numauth's URLs.
func loadSpec(t testing.TB, base string) *openapi3.T {
	t.Helper()
	path := needReference(t, "camara-number-verification.yaml")
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", path, err)
	}
	if doc.Info.Version != "2.1.0" {
		t.Fatalf("%s is version %s, want 2.1.0", path, doc.Info.Version)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	return doc
}

// schemaAt returns the schema a feature names as "#/components/schemas/NAME".
//
// CAMARA's feature files of r3.2 name PhoneNumber and HashedPhoneNumber,
// which the v2.1.0 document does not define as components: there they are
// the properties phoneNumber and hashedPhoneNumber of
// NumberVerificationRequestBody, and that is the schema such a name stands
// for.
func schemaAt(doc *openapi3.T, ref string) (*openapi3.Schema, error) {
	name, ok := strings.CutPrefix(ref, "#/components/schemas/")
	if !ok || name == "" {
		return nil, fmt.Errorf("schema reference %q: want #/components/schemas/NAME", ref)
	}
	if s := doc.Components.Schemas[name]; s != nil && s.Value != nil {
		return s.Value, nil
	}
	if body := doc.Components.Schemas["NumberVerificationRequestBody"]; body != nil && body.Value != nil {
		prop := strings.ToLower(name[:1]) + name[1:]
		if s := body.Value.Properties[prop]; s != nil && s.Value != nil {
			return s.Value, nil
		}
	}
	return nil, fmt.Errorf("the OpenAPI document has no schema %s", name)
}

// complies checks a JSON value (as encoding/json decodes it into any)
// against the schema at ref.
func complies(doc *openapi3.T, ref string, v any) error {
	s, err := schemaAt(doc, ref)
	if err != nil {
		return err
	}
	return s.VisitJSON(v, openapi3.MultiErrors())
}

// nvAPI calls numauth's Number Verification API through a client whose
// every request and response is validated against the OpenAPI document.
type nvAPI struct {
	base string // http://ADDR/camara/number-verification/v2
	doc  *openapi3.T
	http *http.Client
}

func newNV(t testing.TB, in *harness.Instance) *nvAPI {
	t.Helper()
	base := in.URL + "/camara/number-verification/v2"
	doc := loadSpec(t, base)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &nvAPI{base: base, doc: doc, http: &http.Client{
		Transport: &validating{router: router, next: tr},
		Timeout:   15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("the NV API redirected")
		},
	}}
}

// nvResponse is one answer of the NV API, already validated.
type nvResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body (numbers as float64).
func (r *nvResponse) JSON() (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return nil, fmt.Errorf("HTTP %d body %q is not a JSON object: %w", r.Status, r.Body, err)
	}
	return m, nil
}

func (r *nvResponse) String() string { return fmt.Sprintf("HTTP %d %s", r.Status, r.Body) }

// nvRequest is a request to the NV API.
type nvRequest struct {
	Method, Path string      // http.MethodPost, "/verify"
	Header       http.Header // Authorization, x-correlator, Content-Type …
	Body         []byte      // nil: none
	// BreaksSchema says that the request is meant to break the OpenAPI
	// document (no body, two properties, no Authorization …): the
	// validator then insists that it does, instead of refusing to send it.
	BreaksSchema bool
}

// do sends r; an error is a transport failure or a validation failure.
func (nv *nvAPI) do(ctx context.Context, r nvRequest) (*nvResponse, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, nv.base+r.Path, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if r.BreaksSchema {
		req = req.WithContext(context.WithValue(req.Context(), breaksSchemaKey{}, true))
	}
	res, err := nv.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &nvResponse{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// verify calls POST /verify with a bearer token and a JSON body.
func (nv *nvAPI) verify(t testing.TB, token string, body any) *nvResponse {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return nv.must(t, nvRequest{Method: http.MethodPost, Path: "/verify", Body: b, Header: http.Header{
		"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"},
	}})
}

// share calls GET /device-phone-number with a bearer token.
func (nv *nvAPI) share(t testing.TB, token string) *nvResponse {
	t.Helper()
	return nv.must(t, nvRequest{Method: http.MethodGet, Path: "/device-phone-number", Header: http.Header{
		"Authorization": {"Bearer " + token},
	}})
}

func (nv *nvAPI) must(t testing.TB, r nvRequest) *nvResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := nv.do(ctx, r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	return res
}

type breaksSchemaKey struct{}

// validating is the RoundTripper of every NV call of the tests: it
// validates the request against the OpenAPI document before sending it
// (openapi3filter.ValidateRequest, with the security requirement checked
// as a bearer token) and the response after (ValidateResponse, status
// codes, headers and bodies, error answers included). A failure is
// returned as the call's error, so that nothing escapes validation.
type validating struct {
	router routers.Router
	next   http.RoundTripper
}

func (v *validating) RoundTrip(req *http.Request) (*http.Response, error) {
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return nil, fmt.Errorf("openapi: %s %s is no operation of the NV API: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: bearerAuth},
	}
	reqErr := openapi3filter.ValidateRequest(req.Context(), in)
	breaks, _ := req.Context().Value(breaksSchemaKey{}).(bool)
	switch {
	case reqErr != nil && !breaks:
		return nil, fmt.Errorf("openapi: the request breaks the NV API's rules: %w", reqErr)
	case reqErr == nil && breaks:
		return nil, fmt.Errorf("openapi: the request is meant to break the NV API's rules but keeps them")
	}
	if req.GetBody != nil { // ValidateRequest has read the body: send a fresh copy
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = body
	}
	res, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), out.SetBodyBytes(b)); err != nil {
		return nil, fmt.Errorf("openapi: numauth's answer to %s %s breaks the NV API's rules: %w (HTTP %d, Content-Type %q, body %q)",
			req.Method, req.URL.Path, err, res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	return res, nil
}

// bearerAuth is the check of the document's openIdConnect security
// scheme a client can make: an Authorization header with a bearer token.
// Whether the token is good is numauth's to say.
func bearerAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	tok, ok := strings.CutPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return errors.New("no bearer token in the Authorization header")
	}
	return nil
}

// TestSpecValidator holds the validator itself to the document, offline: a
// request or answer that breaks it fails the call, one that is meant to
// break it must, and a good exchange passes.
func TestSpecValidator(t *testing.T) {
	srv := fakeNV(t)
	nv := &nvAPI{base: srv.URL + "/camara/number-verification/v2"}
	nv.doc = loadSpec(t, nv.base)
	router, err := gorillamux.NewRouter(nv.doc)
	if err != nil {
		t.Fatal(err)
	}
	nv.http = &http.Client{Transport: &validating{router: router, next: http.DefaultTransport}}
	ctx := context.Background()
	good := http.Header{"Authorization": {"Bearer t"}, "Content-Type": {"application/json"}}
	for _, c := range []struct {
		name    string
		req     nvRequest
		wantErr string
	}{
		{"good", nvRequest{Method: "POST", Path: "/verify", Header: good, Body: []byte(`{"phoneNumber":"+8613812345678"}`)}, ""},
		{"no token", nvRequest{Method: "POST", Path: "/verify", Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"phoneNumber":"+8613812345678"}`)}, "breaks the NV API's rules"},
		{"no token, meant", nvRequest{Method: "POST", Path: "/verify", Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"phoneNumber":"+8613812345678"}`), BreaksSchema: true}, ""},
		{"two properties", nvRequest{Method: "POST", Path: "/verify", Header: good, Body: []byte(`{"phoneNumber":"+8613812345678","hashedPhoneNumber":"` + strings.Repeat("a", 64) + `"}`)}, "breaks the NV API's rules"},
		{"good, meant to break", nvRequest{Method: "POST", Path: "/verify", Header: good, Body: []byte(`{"phoneNumber":"+8613812345678"}`), BreaksSchema: true}, "meant to break"},
		{"bad answer", nvRequest{Method: "GET", Path: "/device-phone-number", Header: good}, "numauth's answer"},
		{"undocumented status", nvRequest{Method: "POST", Path: "/verify", Header: good, Body: []byte(`{"phoneNumber":"+8613900000000"}`)}, "numauth's answer"},
		{"no such operation", nvRequest{Method: "GET", Path: "/verify", Header: good}, "no operation"},
	} {
		_, err := nv.do(ctx, c.req)
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s: %v, want error containing %q", c.name, err, c.wantErr)
		}
	}
}

// fakeNV is a stand-in NV API for TestSpecValidator: a good answer to a
// verify of +8613812345678, a 401 without a token, a 500 (no status of
// the document) for any other number, and a phone number without its +
// from /device-phone-number.
func fakeNV(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("Authorization") == "":
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"status":401,"code":"UNAUTHENTICATED","message":"no token"}`)
		case r.URL.Path == "/camara/number-verification/v2/device-phone-number":
			io.WriteString(w, `{"devicePhoneNumber":"13812345678"}`)
		default:
			b, _ := io.ReadAll(r.Body)
			if !bytes.Contains(b, []byte("+8613812345678")) {
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, `{"status":500,"code":"INTERNAL","message":"boom"}`)
				return
			}
			io.WriteString(w, `{"devicePhoneNumberVerified":true}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}
