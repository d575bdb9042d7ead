package h5

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The callback page carries the operator's answer, which anyone can make up:
// whatever the query, the page holds exactly the two script elements it
// writes, and the answer never closes one of them.
func FuzzCallbackPage(f *testing.F) {
	mux := http.NewServeMux()
	New(lenient{bound: "https://shop.example.com"}, nil, nil).Register(mux)
	for _, q := range []string{"code=c&state=s", "state=%3C/script%3E%3Cscript%3Ealert(1)%3C/script%3E", "x=\u2028\u2029", "%zz", ""} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest(http.MethodGet, "/h5/v1/camara/callback", nil)
		req.URL.RawQuery = q
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d for %q", rec.Code, q)
		}
		body := rec.Body.String()
		if n := strings.Count(strings.ToLower(body), "<script"); n != 2 {
			t.Fatalf("%d script elements for %q:\n%s", n, q, body)
		}
		if n := strings.Count(strings.ToLower(body), "</script"); n != 2 {
			t.Fatalf("%d script ends for %q:\n%s", n, q, body)
		}
	})
}
