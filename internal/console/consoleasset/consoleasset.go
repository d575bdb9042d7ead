// Package consoleasset holds the built operator console and serves it at /console/. Its
// source is web/console (TypeScript, uPlot); after changing it, run
// go generate ./internal/console/consoleasset and commit the result (a test fails on a
// stale copy).
package consoleasset

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

//go:generate go run ../../../web/console/build

var (
	//go:embed index.html
	IndexHTML []byte
	//go:embed console.js
	JS []byte
	//go:embed console.css
	CSS []byte
)

// CSP allows only the console's own script, style sheet and API: no inline script, no
// frames, no other origin.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

type asset struct {
	body  []byte
	ctype string
	etag  string
}

func newAsset(b []byte, ctype string) asset {
	sum := sha256.Sum256(b)
	return asset{b, ctype, `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// Handler serves the console under prefix /console/: the shell at /console/, its script
// and style sheet beside it, and 404 for anything else.
func Handler() http.Handler {
	files := map[string]asset{
		"/console/":            newAsset(IndexHTML, "text/html; charset=utf-8"),
		"/console/console.js":  newAsset(JS, "text/javascript; charset=utf-8"),
		"/console/console.css": newAsset(CSS, "text/css; charset=utf-8"),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		a, ok := files[r.URL.Path]
		if !ok {
			h.Set("Cache-Control", "no-store")
			http.NotFound(w, r)
			return
		}
		// Not content-hashed names: revalidate every time (cheap, with the ETag).
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Type", a.ctype)
		h.Set("ETag", a.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}
