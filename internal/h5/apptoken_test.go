package h5

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
)

type fakeIssuer struct {
	err  error
	got  carrier.FrontRequest
	kind carrier.Kind
}

func (f *fakeIssuer) IssueAppToken(_ context.Context, scheme string, kind carrier.Kind, front carrier.FrontRequest) (string, error) {
	f.got, f.kind = front, kind
	if f.err != nil {
		return "", f.err
	}
	return "tok-" + scheme, nil
}

func TestAppTokenHandler(t *testing.T) {
	for _, tt := range []struct {
		name   string
		body   string
		err    error
		status int
		code   int
		token  string
	}{
		{"login", `{"schemeCode":"FC1","kind":"login"}`, nil, 200, 600000, "tok-FC1"},
		{"verify", `{"schemeCode":"FC1","kind":"verify"}`, nil, 200, 600000, "tok-FC1"},
		{"Wi-Fi", `{"schemeCode":"FC1","kind":"verify"}`, fmt.Errorf("x: %w", auth.ErrNotNetworkAuthenticated), 200, 600008, ""},
		{"unknown scheme", `{"schemeCode":"nope","kind":"login"}`, auth.ErrNotAppScheme, 200, 600017, ""},
		{"maintenance", `{"schemeCode":"FC1","kind":"login"}`, auth.ErrCarrierMaintenance, 200, 600013, ""},
		{"quota", `{"schemeCode":"FC1","kind":"login"}`, auth.ErrCarrierQuota, 200, 600014, ""},
		{"carrier failed", `{"schemeCode":"FC1","kind":"login"}`, auth.ErrCarrierFailed, 200, 600011, ""},
		{"bad kind", `{"schemeCode":"FC1","kind":"both"}`, nil, 400, 600011, ""},
		{"not JSON", `schemeCode=FC1`, nil, 400, 600011, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			iss := &fakeIssuer{err: tt.err}
			req := httptest.NewRequest("POST", "/sandbox/v1/app-token", strings.NewReader(tt.body))
			req.RemoteAddr = "10.1.2.3:4567"
			rec := httptest.NewRecorder()
			AppTokenHandler(iss, nil).ServeHTTP(rec, req)
			var got appTokenReply
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != tt.status || got.Code != tt.code || got.Token != tt.token {
				t.Fatalf("= %d %s, want %d code %d token %q", rec.Code, rec.Body, tt.status, tt.code, tt.token)
			}
			if tt.code == 600000 && (iss.got.Source.String() != "10.1.2.3" || string(iss.kind) != strings.Split(strings.Split(tt.body, `"kind":"`)[1], `"`)[0]) {
				t.Fatalf("front = %+v kind %s", iss.got, iss.kind)
			}
			if rec.Header().Get("Cache-Control") != "no-store" || rec.Code == http.StatusInternalServerError {
				t.Fatalf("headers %v", rec.Header())
			}
		})
	}
}

// The app-token body is untrusted: any bytes get a JSON answer with a
// documented code, never a panic or a 500.
func FuzzAppTokenHandler(f *testing.F) {
	for _, s := range []string{`{"schemeCode":"FC1","kind":"login"}`, `{"kind":1}`, `[]`, `null`, "\xff", ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/sandbox/v1/app-token", strings.NewReader(body))
		rec := httptest.NewRecorder()
		AppTokenHandler(&fakeIssuer{err: auth.ErrNotAppScheme}, nil).ServeHTTP(rec, req)
		var got appTokenReply
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || (got.Code != appFailed && got.Code != appBadScheme) || rec.Code >= 500 {
			t.Fatalf("%q: %d %s", body, rec.Code, rec.Body)
		}
	})
}
