package openapi

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on untrusted input.
const (
	maxBodyBytes  = 64 << 10 // request body
	maxParams     = 128      // distinct parameter names
	maxParamBytes = 8 << 10  // one parameter value
)

// Params are an RPC call's parameters: the query string merged with a
// form body (a name in both takes the query's value, as the gateway does).
type Params struct {
	v url.Values
}

// parseParams merges query and form and checks the limits.
func parseParams(query, form url.Values) (Params, error) {
	v := make(url.Values, len(query)+len(form))
	for k, vs := range form {
		v[k] = vs
	}
	for k, vs := range query {
		v[k] = vs
	}
	if len(v) > maxParams {
		return Params{}, apiErr(codeInvalidParameter, fmt.Sprintf("too many parameters (at most %d)", maxParams))
	}
	for k, vs := range v {
		if len(vs) > 1 {
			return Params{}, apiErr(codeInvalidParameter, fmt.Sprintf("parameter %q is given %d times", clip(k), len(vs)))
		}
		if len(k) > 128 || !utf8.ValidString(k) {
			return Params{}, apiErr(codeInvalidParameter, "parameter names must be short UTF-8 text")
		}
		if len(vs[0]) > maxParamBytes || !utf8.ValidString(vs[0]) {
			return Params{}, apiErr(codeInvalidParameter, fmt.Sprintf("parameter %q must be UTF-8 text of at most %d bytes", clip(k), maxParamBytes))
		}
	}
	return Params{v: v}, nil
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// Get returns a parameter's value, "" if absent.
func (p Params) Get(name string) string { return p.v.Get(name) }

// Values exposes the raw values (for signature checks).
func (p Params) Values() url.Values { return p.v }

// Required returns a parameter that must be present and non-blank, or the
// Missing{Name} error.
func (p Params) Required(name string) (string, error) {
	s := p.v.Get(name)
	if strings.TrimSpace(s) == "" {
		return "", missing(name)
	}
	return s, nil
}

// Int returns an optional integer parameter; absent gives def.
func (p Params) Int(name string, def int) (int, error) {
	s := strings.TrimSpace(p.v.Get(name))
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -1<<31 || n > 1<<31-1 {
		return 0, apiErr(codeInvalidParameter, fmt.Sprintf("parameter %s must be an integer", name))
	}
	return n, nil
}

func missing(name string) error {
	return &APIError{Code: "Missing" + name, Status: 400,
		Message: fmt.Sprintf("%s is mandatory for this action.", name)}
}
