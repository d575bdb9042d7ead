package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxProviderID is the longest receiver id taken from an answer.
const maxProviderID = 128

// parseAnswer returns the "id" of a receiver's JSON answer {"id":"…"}: a
// string, or a number kept as written, of 1 to maxProviderID visible ASCII
// characters. Anything else (no JSON, no id, an id of another type or
// shape) reports false, and the caller uses the webhook-id.
func parseAnswer(b []byte) (string, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return "", false
	}
	var a struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(b, &a) != nil || len(a.ID) == 0 {
		return "", false
	}
	var id string
	switch a.ID[0] {
	case '"':
		if json.Unmarshal(a.ID, &id) != nil {
			return "", false
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if json.Unmarshal(a.ID, &n) != nil {
			return "", false
		}
		id = n.String()
	default:
		return "", false
	}
	if !validID(id) || len(id) > maxProviderID {
		return "", false
	}
	return id, true
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date, relative to now. An empty, malformed or past value reports 0 and
// false; a value longer than a day is held at a day (the caller refuses
// anything past MaxRetryAfter anyway).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	const day = 24 * time.Hour
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return day, true
			}
			return 0, false
		}
		if n > uint64(day/time.Second) {
			return day, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0, false
	}
	return min(d, day), true
}

// hmacSHA256 is the HMAC-SHA256 under key of the parts, one after another.
func hmacSHA256(key []byte, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}
