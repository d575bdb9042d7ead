package compat

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/numauth/numauth/test/harness"
)

// authenticated reports whether numauth took the request as signed by a
// valid key: it answered with a business outcome (HTTP 200), whatever the
// rules said.
func authenticated(o outcome) bool { return o.Status == http.StatusOK }

// probe is a cheap authenticated call: GetAuthToken for a page no scheme
// allows (isv.SCENE_QUERY_FAIL once the signature holds).
func probe(t testing.TB, s sdk) outcome {
	t.Helper()
	_, o := s.GetAuthToken(t, "https://probe.example.com/", "https://probe.example.com", "", "")
	return o
}

// TestSignatures checks what each SDK gets for a wrong secret, an unknown
// AccessKeyId, a replayed request and a request dated outside the window.
func TestSignatures(t *testing.T) {
	in := start(t)
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			good := f.new(t, in.Addr, harness.AccessKeyID, harness.AccessKeySecret)
			probe(t, good).want(t, "bootstrap key", http.StatusOK, "isv.SCENE_QUERY_FAIL")

			probe(t, f.new(t, in.Addr, harness.AccessKeyID, harness.AccessKeySecret+"x")).
				want(t, "wrong secret", http.StatusBadRequest, "SignatureDoesNotMatch")
			probe(t, f.new(t, in.Addr, "LTAI5tNoSuchKey000000", harness.AccessKeySecret)).
				want(t, "unknown AccessKeyId", http.StatusNotFound, "InvalidAccessKeyId.NotFound")

			// The SDK's last request, sent again byte for byte.
			a := good.Tap().Replay(t)
			if a.Status != http.StatusBadRequest || a.Code() != "SignatureNonceUsed" {
				t.Errorf("replayed request: HTTP %d %q, want 400 SignatureNonceUsed: %s", a.Status, a.Code(), a.Body)
			}
			probe(t, good).want(t, "a fresh request after the replay", http.StatusOK, "isv.SCENE_QUERY_FAIL")

			// ±15 minutes are accepted, except that an instance with
			// in-process nonces (this one) refuses anything dated before it
			// started: it cannot know which nonces were spent back then.
			for _, c := range []struct {
				skew time.Duration
				ok   bool
			}{
				{-16 * time.Minute, false}, {16 * time.Minute, false},
				{14 * time.Minute, true}, {-14 * time.Minute, false},
			} {
				o := probe(t, good.Skewed(c.skew))
				if c.ok {
					o.want(t, "dated "+c.skew.String(), http.StatusOK, "isv.SCENE_QUERY_FAIL")
				} else {
					o.want(t, "dated "+c.skew.String(), http.StatusBadRequest, "InvalidTimeStamp.Expired")
				}
			}
		})
	}
}

// TestV3FixedNonce reuses an x-acs-signature-nonce through the V3 SDK's own
// headers: the second, otherwise fresh and correctly signed request is
// refused.
func TestV3FixedNonce(t *testing.T) {
	in := start(t)
	s := newV3(t, in.Addr, harness.AccessKeyID, harness.AccessKeySecret).withNonce("compat-fixed-nonce-0001")
	probe(t, s).want(t, "first use of the nonce", http.StatusOK, "isv.SCENE_QUERY_FAIL")
	probe(t, s).want(t, "second use of the nonce", http.StatusBadRequest, "SignatureNonceUsed")
	// The nonce is spent per AccessKey: the same nonce under another key
	// is fresh.
	cli(t, in, "keys", "create", "--id", "LTAI5tCompatNonce0001", "--secret", "compat-nonce-secret-0123456789")
	other := newV3(t, in.Addr, "LTAI5tCompatNonce0001", "compat-nonce-secret-0123456789").withNonce("compat-fixed-nonce-0001")
	probe(t, other).want(t, "the nonce under another key", http.StatusOK, "isv.SCENE_QUERY_FAIL")
}

// TestAccessKeysFromTheCLI creates a key of another account with the
// operator CLI, checks that its SDK calls see only that account's schemes,
// then disables and enables it while numauth runs. Running servers cache
// keys for up to 5 s, so the change must show within that (plus margin).
func TestAccessKeysFromTheCLI(t *testing.T) {
	in := start(t)
	const id, secret = "LTAI5tCompatTenantB01", "compat-tenant-b-secret-0123456789"
	cli(t, in, "keys", "create", "--account", "tenant-b", "--id", id, "--secret", secret)

	owner := newV1(t, in.Addr, harness.AccessKeyID, harness.AccessKeySecret)
	code, o := owner.CreateH5Scheme(t, "compat owner", "https://owner.example.com", "https://owner.example.com/login")
	o.ok(t, "CreateVerifyScheme (bootstrap account)")

	var tenant []sdk
	for _, f := range flavours {
		s := f.new(t, in.Addr, id, secret)
		tenant = append(tenant, s)
		_, o := s.DescribeScheme(t, code)
		o.want(t, s.Name()+": another account's scheme", http.StatusOK, "isv.VERIFY_SCHEME_NOT_EXIST")
		_, o = s.GetAuthToken(t, "https://owner.example.com/login", "https://owner.example.com", "", "")
		o.want(t, s.Name()+": another account's origin", http.StatusOK, "isv.SCENE_QUERY_FAIL")
		_, o = s.DeleteScheme(t, code)
		o.want(t, s.Name()+": deleting another account's scheme", http.StatusOK, "isv.VERIFY_SCHEME_NOT_EXIST")
	}
	_, o = owner.DescribeScheme(t, code)
	o.ok(t, "the owner's scheme survived")

	cli(t, in, "keys", "disable", id)
	for _, s := range tenant {
		eventually(t, s.Name()+" with the disabled key", func() outcome { return probe(t, s) },
			http.StatusBadRequest, "InvalidAccessKeyId.Inactive")
	}
	cli(t, in, "keys", "enable", id)
	for _, s := range tenant {
		eventually(t, s.Name()+" with the key enabled again", func() outcome { return probe(t, s) },
			http.StatusOK, "isv.SCENE_QUERY_FAIL")
	}
}

// eventually calls fn until it answers code with status, for at most the
// key cache's 5 s and a margin.
func eventually(t testing.TB, what string, fn func() outcome, status int, code string) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for {
		o := fn()
		if o.Status == status && o.Code == code {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v after 8 s, want HTTP %d %q", what, o, status, code)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cli runs a numauth subcommand on the instance's data directory (the
// operator's way to manage keys while the server runs) and returns its
// output.
func cli(t testing.TB, in *harness.Instance, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := in.CLI(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
