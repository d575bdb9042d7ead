package auth

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/numauth/numauth/internal/carrier"
)

func TestSessionEncoding(t *testing.T) {
	tests := []struct {
		name string
		in   session
	}{
		{"fresh verify session", session{AccountID: "acct1", Scheme: "FC100000000001", Origin: "https://shop.example.com", Kind: carrier.KindVerify, Expires: 1_800_000_000_000}},
		{"login session after login-mask", session{AccountID: "acct1", Scheme: "FC1", Origin: "https://a.example", Kind: carrier.KindLogin, Expires: 1,
			Operator: "CU", Ticket: "t-1", Masked: "186****0000", PhoneHash: "h"}},
		{"zero", session{}},
		{"fusion session after login-mask", session{AccountID: "acct1", Scheme: "FC1", Origin: "https://a.example", Kind: carrier.KindLogin, Expires: 9,
			Operator: "CM", Ticket: "t-2", Masked: "138****0000", PhoneHash: "h", Fusion: "fusion-id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeSession(tt.in.encode())
			if err != nil || got != tt.in {
				t.Fatalf("decode(encode) = %+v, %v; want %+v", got, err, tt.in)
			}
			// Sessions stored as JSON by an earlier numauth still read.
			js, _ := json.Marshal(tt.in)
			if got, err := decodeSession(js); err != nil || got != tt.in {
				t.Fatalf("decode(JSON) = %+v, %v; want %+v", got, err, tt.in)
			}
		})
	}
	for name, bad := range map[string][]byte{
		"empty": nil, "other version": {2, 0}, "truncated": (&session{AccountID: "a"}).encode()[:3],
		"trailing bytes": append((&session{}).encode(), 0), "bad JSON": []byte("{"),
		"fusion version without its id": append([]byte{fusionSessionVersion}, (&session{}).encode()[1:]...),
	} {
		if _, err := decodeSession(bad); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzDecodeSession: whatever the ephemeral store hands back (a shared
// Redis is not trusted to hold only numauth's own bytes) decodes or fails,
// never panics, and what decodes re-encodes to the same session.
func FuzzDecodeSession(f *testing.F) {
	f.Add((&session{AccountID: "a", Kind: carrier.KindLogin, Masked: "138****0000", Expires: 5}).encode())
	f.Add([]byte(`{"a":"x","k":"verify"}`))
	f.Add([]byte{1})
	f.Add((&session{AccountID: "a", Kind: carrier.KindLogin, Fusion: "f", Expires: 5}).encode())
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := decodeSession(in)
		if err != nil {
			return
		}
		if again, err := decodeSession(s.encode()); err != nil || again != s {
			t.Fatalf("re-encoding of %+v decodes to %+v, %v", s, again, err)
		}
	})
}

// Record ids are UUIDv7: later ids sort after earlier ones, which keeps the
// stores' id index appending at its right edge.
func TestRecordIDsAreTimeOrdered(t *testing.T) {
	prev := recordID()
	for range 100 {
		id := recordID()
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 || id != strings.ToUpper(id) {
			t.Fatalf("recordID() = %q (%v)", id, err)
		}
		if id <= prev {
			t.Fatalf("%q does not sort after %q", id, prev)
		}
		prev = id
	}
}
