package admin

import (
	"net/url"
	"strconv"
	"time"
)

// The query parameters the read endpoints share. Each reads one parameter
// into dst, leaving dst as it is when the parameter is absent, and answers
// bad input with the hint the caller sees.

// timeParam reads the RFC 3339 time of query parameter name into dst,
// leaving dst as it is when the parameter is absent.
func timeParam(v url.Values, name string, dst *time.Time) error {
	s := v.Get(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return bad("%s is a time in RFC 3339 (2026-12-01T08:00:00Z)", name)
	}
	*dst = t
	return nil
}

// intParam reads query parameter name as an integer in [lo, hi] into dst,
// leaving dst as it is when the parameter is absent.
func intParam(v url.Values, name string, lo, hi int, dst *int) error {
	s := v.Get(name)
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return bad("%s must be %d to %d", name, lo, hi)
	}
	*dst = n
	return nil
}

// kindParam reads the kind of verification records a query selects:
// verify, login, or absent (both).
func kindParam(v url.Values, dst *string) error {
	switch k := v.Get("kind"); k {
	case "", "verify", "login":
		*dst = k
		return nil
	}
	return bad("kind is verify or login")
}

// firstErr is the first of errs that is not nil: the parameters of one
// query read in order, the first bad one reported.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
