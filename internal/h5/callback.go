package h5

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
)

// The callback of a redirect front leg (GET /h5/v1/NAME/callback, the
// redirect URL an operator knows numauth by). The operator sends the
// SDK's hidden frame or popup here with its answer; this page hands the
// answer to the page that ran the flow, by postMessage to that page's
// origin only, and the SDK completes the flow with its session
// (redirect-complete). The answer is worth nothing without the session: the
// adapter's state is bound to it.

// callbackScript posts the answer to the opener (popup) or the parent
// (frame). Its data comes from the JSON block before it; it is the only
// script the page's Content-Security-Policy allows (by its hash).
const callbackScript = `(function(){var d=JSON.parse(document.getElementById("numauth-answer").textContent);` +
	`var w=window.opener||window.parent;if(w&&w!==window){w.postMessage({numauth:"redirect",query:d.query,error:d.error},d.origin)}` +
	`if(window.opener){window.close()}})();`

var callbackScriptHash = func() string {
	h := sha256.Sum256([]byte(callbackScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}()

type callbackAnswer struct {
	Origin string `json:"origin"`
	Query  string `json:"query,omitempty"`
	Error  string `json:"error,omitempty"`
}

func (g *Gateway) callback(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if !carrier.ValidName(r.PathValue("adapter")) {
		writeJSON(w, http.StatusNotFound, reply{Code: "BAD_ARGUMENT", Msg: "no such gateway operation"})
		return
	}
	q := r.URL.Query()
	ans := callbackAnswer{Origin: "*", Error: "unknown_state"}
	status := http.StatusBadRequest
	origin, err := g.svc.RedirectOrigin(r.Context(), q.Get("state"))
	switch {
	case err == nil:
		// The answer goes to the page's origin only.
		ans, status = callbackAnswer{Origin: origin, Query: r.URL.RawQuery}, http.StatusOK
	case errors.Is(err, auth.ErrSessionInvalid):
		// An unknown or expired state: say so to whoever opened the
		// window, with nothing of the operator's answer.
	default:
		g.log.WarnContext(r.Context(), "redirect callback: could not read the redirect", "err", err)
		ans.Error, status = "unavailable", http.StatusServiceUnavailable
	}
	data, _ := json.Marshal(ans) // escapes <, > and &: safe inside the script element
	h := w.Header()
	// The error page carries no data: any page may frame it, so that the
	// SDK in the frame's parent hears unknown_state at once.
	ancestors := "*"
	if ans.Origin != "*" {
		ancestors = ans.Origin
	}
	h.Set("Content-Security-Policy", "default-src 'none'; script-src "+callbackScriptHash+"; frame-ancestors "+ancestors+"; base-uri 'none'; form-action 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	var b strings.Builder
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">`)
	b.WriteString(`<title>numauth</title></head><body><p>You can close this window.</p><script type="application/json" id="numauth-answer">`)
	b.Write(data)
	b.WriteString(`</script><script>`)
	b.WriteString(callbackScript)
	b.WriteString(`</script></body></html>`)
	w.Write([]byte(b.String()))
	code := "OK"
	if status != http.StatusOK {
		code = strings.ToUpper(ans.Error)
	}
	g.metrics.ObserveH5("callback", code, time.Since(start))
}
