package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/numauth/numauth/internal/carrier"
)

// maxAdminBody bounds an admin request body.
const maxAdminBody = 64 << 10

// AdminHandler returns the HTTP handler for runtime control. It does no
// authentication: mount it behind numauth's authenticated admin prefix,
// stripping that prefix (http.StripPrefix), so that it sees these paths:
//
//	GET    /subscribers               → {"subscribers": [{"prefix", "phone", "operator"}]}
//	POST   /subscribers               {"prefix", "phone"[, "operator"]} → the subscriber as stored
//	DELETE /subscribers?prefix=P      → 204, or 404 when P has no subscriber
//	GET    /faults                    → {"CM": fault, "CU": fault, "CT": fault, other operators with faults}
//	PUT    /faults/{operator}         fault → the fault as stored
//
// where a phone is answered as the Alibaba-style API answers numbers (the
// 11 digits of a mainland number, E.164 for another: carrier.AlibabaForm)
// and taken in any form carrier.ParseE164 reads, and a fault is {"latency": "200ms", "errorRate": 0.1, "maintenance":
// false, "quotaExhausted": false}. A prefix may be a bare address. POST of an
// existing prefix renumbers it; PUT replaces the operator's faults (absent
// fields are zero, so {} clears them). Bad input gets a 400 with
// {"code": "InvalidParameter", "message": "..."} (404 NotFound, 405
// MethodNotAllowed, 413 RequestTooLarge); unknown fields are bad input.
// Answers are JSON.
func (s *Sandbox) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /subscribers", s.listSubscribers)
	mux.HandleFunc("POST /subscribers", s.postSubscriber)
	mux.HandleFunc("DELETE /subscribers", s.deleteSubscriber)
	mux.HandleFunc("GET /faults", s.listFaults)
	mux.HandleFunc("PUT /faults/{operator}", s.putFault)
	// Patterns with a method win over these, which answer the rest in JSON.
	mux.Handle("/subscribers", methodNotAllowed("GET, HEAD, POST, DELETE"))
	mux.Handle("/faults", methodNotAllowed("GET, HEAD"))
	mux.Handle("/faults/{operator}", methodNotAllowed("PUT"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such sandbox admin endpoint")
	})
	return mux
}

func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed; allowed: %s", r.Method, allow))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers as numauth's admin API does: {"code", "message"},
// the code named by the status (docs/admin-api.md).
func writeError(w http.ResponseWriter, status int, msg string) {
	code := "InvalidParameter"
	switch status {
	case http.StatusNotFound:
		code = "NotFound"
	case http.StatusMethodNotAllowed:
		code = "MethodNotAllowed"
	case http.StatusRequestEntityTooLarge:
		code = "RequestTooLarge"
	}
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}

// readBody decodes the request body into v; on failure it answers and
// returns false.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	err := decodeStrict(http.MaxBytesReader(w, r.Body, maxAdminBody), v)
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", maxAdminBody))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "request body is empty; want a JSON object")
	default:
		writeError(w, http.StatusBadRequest, "request body: "+err.Error())
	}
	return false
}

func subscriberJSON(sub Subscriber) SubscriberJSON {
	return SubscriberJSON{Prefix: sub.Prefix.String(), Phone: carrier.AlibabaForm(sub.Phone), Operator: string(sub.Operator)}
}

func (s *Sandbox) listSubscribers(w http.ResponseWriter, r *http.Request) {
	subs := s.Subscribers()
	out := make([]SubscriberJSON, len(subs))
	for i, sub := range subs {
		out[i] = subscriberJSON(sub)
	}
	writeJSON(w, http.StatusOK, map[string][]SubscriberJSON{"subscribers": out})
}

func (s *Sandbox) postSubscriber(w http.ResponseWriter, r *http.Request) {
	var in SubscriberJSON
	if !readBody(w, r, &in) {
		return
	}
	sub, err := in.subscriber()
	if err == nil {
		err = s.AddSubscriber(sub)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, subscriberJSON(sub))
}

func (s *Sandbox) deleteSubscriber(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("prefix") {
		writeError(w, http.StatusBadRequest, "missing query parameter prefix")
		return
	}
	p, err := ParsePrefix(q.Get("prefix"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "prefix: not an IP address or CIDR prefix") // the parser's text repeats the input
		return
	}
	if !s.RemoveSubscriber(p) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no subscriber with prefix %s", p))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sandbox) listFaults(w http.ResponseWriter, r *http.Request) {
	faults := s.Faults()
	out := make(map[carrier.Operator]FaultJSON, len(faults)+3)
	for _, op := range []carrier.Operator{carrier.ChinaMobile, carrier.ChinaUnicom, carrier.ChinaTelecom} {
		out[op] = faultJSON(Fault{})
	}
	for op, f := range faults {
		out[op] = faultJSON(f)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sandbox) putFault(w http.ResponseWriter, r *http.Request) {
	op := carrier.Operator(r.PathValue("operator"))
	if !carrier.ValidOperator(op) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown operator %q (want CM, CU, CT, or a code of 2 to 8 of A-Z and 0-9)", op))
		return
	}
	var in FaultJSON
	if !readBody(w, r, &in) {
		return
	}
	f, err := in.fault()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.SetFault(op, f)
	writeJSON(w, http.StatusOK, faultJSON(f))
}
