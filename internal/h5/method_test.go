package h5_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMethodsAndPaths: a gateway operation asked with a method other than
// POST (or OPTIONS, the preflight) is 405 with an Allow header, an unknown
// operation is 404; both answer the gateway's JSON shape.
func TestMethodsAndPaths(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/h5/v1/check", http.StatusMethodNotAllowed, "OPTIONS, POST"},
		{"PUT", "/h5/v1/verify-token", http.StatusMethodNotAllowed, "OPTIONS, POST"},
		{"DELETE", "/h5/v1/login-mask", http.StatusMethodNotAllowed, "OPTIONS, POST"},
		{"HEAD", "/h5/v1/login-token", http.StatusMethodNotAllowed, "OPTIONS, POST"},
		{"PATCH", "/h5/v1/check", http.StatusMethodNotAllowed, "OPTIONS, POST"},
		{"POST", "/h5/v1/nope", http.StatusNotFound, ""},
		{"GET", "/h5/v1/nope", http.StatusNotFound, ""},
		{"POST", "/h5/v1/check/extra", http.StatusNotFound, ""},
		{"POST", "/h5/v1/", http.StatusNotFound, ""},
		{"OPTIONS", "/h5/v1/check", http.StatusNoContent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader("{}"))
			req.Header.Set("Origin", origin)
			rec := httptest.NewRecorder()
			f.mux.ServeHTTP(rec, req)
			if rec.Code != tt.status || rec.Header().Get("Allow") != tt.allow {
				t.Fatalf("= %d, Allow %q; want %d, Allow %q", rec.Code, rec.Header().Get("Allow"), tt.status, tt.allow)
			}
			if tt.status == http.StatusNoContent || tt.method == "HEAD" {
				return
			}
			var body struct{ Code, Msg string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code != "BAD_ARGUMENT" || body.Msg == "" ||
				!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
				t.Fatalf("body %q (%s): want the gateway's JSON with code BAD_ARGUMENT", rec.Body, rec.Header().Get("Content-Type"))
			}
		})
	}
}
