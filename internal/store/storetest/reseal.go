package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// resealTests cover RetireSigningKey and ResealSecrets, what the key
// rotation commands need of a durable store.
var resealTests = []durableTest{
	{"RetireSigningKey", testRetireSigningKey},
	{"ResealSecrets", testResealSecrets},
	{"ResealSecretsAtomic", testResealSecretsAtomic},
	{"ResealSecretsEmpty", testResealSecretsEmpty},
}

// rbase is base at the stores' precision (microseconds).
var rbase = base.Truncate(time.Microsecond)

func testRetireSigningKey(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	for _, k := range []store.SigningKey{
		{ID: "jwt-1", Use: "jwt", Alg: "EdDSA", Sealed: []byte("s1"), Public: []byte{1}, CreatedAt: rbase},
		{ID: "jwt-2", Use: "jwt", Alg: "EdDSA", Sealed: []byte("s2"), Public: []byte{2}, CreatedAt: rbase.Add(time.Minute)},
	} {
		must(t, s.PutSigningKey(ctx, k), "PutSigningKey "+k.ID)
	}
	at := rbase.Add(5 * time.Minute)
	must(t, s.RetireSigningKey(ctx, "jwt-1", at), "RetireSigningKey")
	mustIs(t, s.RetireSigningKey(ctx, "jwt-9", at), store.ErrNotFound, "RetireSigningKey unknown")
	got, err := s.ListSigningKeys(ctx, "jwt")
	must(t, err, "ListSigningKeys")
	if len(got) != 2 || !got[0].NotAfter.Equal(at) || !got[1].NotAfter.IsZero() {
		t.Fatalf("after RetireSigningKey: %+v", got)
	}
	// Moving NotAfter again (a second rotation) replaces it.
	must(t, s.RetireSigningKey(ctx, "jwt-1", at.Add(time.Minute)), "RetireSigningKey again")
	got, err = s.ListSigningKeys(ctx, "jwt")
	must(t, err, "ListSigningKeys")
	if !got[0].NotAfter.Equal(at.Add(time.Minute)) {
		t.Fatalf("NotAfter = %v, want %v", got[0].NotAfter, at.Add(time.Minute))
	}
}

// putSealed stores two AccessKeys and three signing keys whose sealed
// values start with "old:" except one of each, which is "new:" already.
func putSealed(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	for i, sealed := range []string{"old:a1", "new:a2"} {
		k := store.AccessKey{ID: "LTAI" + sealed[4:], AccountID: "acct", SealedSecret: []byte(sealed), Status: store.KeyActive, CreatedAt: rbase.Add(time.Duration(i) * time.Second)}
		must(t, s.CreateAccessKey(ctx, k), "CreateAccessKey")
	}
	for i, k := range []store.SigningKey{
		{ID: "k1", Use: "jwt", Alg: "EdDSA", Sealed: []byte("old:k1"), Public: []byte{1}},
		{ID: "k2", Use: "oidc", Alg: "RS256", Sealed: []byte("new:k2"), Public: []byte{2}},
		{ID: "k3", Use: "root", Alg: "HKDF", Sealed: []byte("old:k3")},
	} {
		k.CreatedAt = rbase.Add(time.Duration(i) * time.Second)
		must(t, s.PutSigningKey(ctx, k), "PutSigningKey "+k.ID)
	}
}

// upgrade is a reseal function: "old:x" becomes "new:x", "new:x" stays.
func upgrade(seen *[]store.SealedSecret) func(store.SealedSecret) ([]byte, bool, error) {
	return func(sec store.SealedSecret) ([]byte, bool, error) {
		*seen = append(*seen, sec)
		if rest, ok := bytes.CutPrefix(sec.Sealed, []byte("old:")); ok {
			return append([]byte("new:"), rest...), true, nil
		}
		return sec.Sealed, false, nil
	}
}

func sealedValues(t *testing.T, s store.Durable) map[string]string {
	t.Helper()
	ctx := ctxFor(t)
	out := map[string]string{}
	aks, err := s.ListAccessKeys(ctx)
	must(t, err, "ListAccessKeys")
	for _, k := range aks {
		out[k.ID] = string(k.SealedSecret)
	}
	for _, use := range []string{"jwt", "oidc", "root"} {
		sks, err := s.ListSigningKeys(ctx, use)
		must(t, err, "ListSigningKeys")
		for _, k := range sks {
			out[k.ID] = string(k.Sealed)
		}
	}
	return out
}

func testResealSecrets(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	putSealed(t, s)
	var seen []store.SealedSecret
	n, err := s.ResealSecrets(ctx, upgrade(&seen))
	must(t, err, "ResealSecrets")
	if n != 3 {
		t.Errorf("ResealSecrets = %d, want 3", n)
	}
	want := map[string]string{"LTAIa1": "new:a1", "LTAIa2": "new:a2", "k1": "new:k1", "k2": "new:k2", "k3": "new:k3"}
	got := sealedValues(t, s)
	for id, v := range want {
		if got[id] != v {
			t.Errorf("%s sealed = %q, want %q", id, got[id], v)
		}
	}
	kinds := map[string]store.SealedSecret{}
	for _, sec := range seen {
		kinds[sec.ID] = sec
	}
	for id, want := range map[string]store.SealedSecret{
		"LTAIa1": {Kind: store.SealedAccessKey, ID: "LTAIa1"},
		"k2":     {Kind: store.SealedSigningKey, ID: "k2", Use: "oidc"},
		"k3":     {Kind: store.SealedSigningKey, ID: "k3", Use: "root"},
	} {
		if g := kinds[id]; g.Kind != want.Kind || g.Use != want.Use {
			t.Errorf("reseal saw %s as %+v, want kind %q use %q", id, g, want.Kind, want.Use)
		}
	}
	if len(seen) != 5 {
		t.Errorf("reseal called %d times, want 5 (every sealed value once)", len(seen))
	}
	// Idempotent: a second run finds nothing to do.
	seen = nil
	n, err = s.ResealSecrets(ctx, upgrade(&seen))
	must(t, err, "ResealSecrets again")
	if n != 0 {
		t.Errorf("second ResealSecrets = %d, want 0", n)
	}
	// The rest of each record is untouched.
	k, err := s.GetAccessKey(ctx, "LTAIa1")
	must(t, err, "GetAccessKey")
	if k.AccountID != "acct" || k.Status != store.KeyActive || !k.CreatedAt.Equal(rbase) {
		t.Errorf("AccessKey after reseal: %+v", k)
	}
}

func testResealSecretsAtomic(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	putSealed(t, s)
	before := sealedValues(t, s)
	boom := errors.New("opens under no key")
	var seen []store.SealedSecret
	up := upgrade(&seen)
	_, err := s.ResealSecrets(ctx, func(sec store.SealedSecret) ([]byte, bool, error) {
		if sec.ID == "k3" {
			return nil, false, boom
		}
		return up(sec)
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "k3") {
		t.Fatalf("ResealSecrets = %v, want the callback's error naming k3", err)
	}
	after := sealedValues(t, s)
	for id, v := range before {
		if after[id] != v {
			t.Errorf("%s changed to %q by a failed ResealSecrets (was %q)", id, after[id], v)
		}
	}
	// The store is still usable afterwards (the transaction ended).
	n, err := s.ResealSecrets(ctx, upgrade(&seen))
	must(t, err, "ResealSecrets after a failed one")
	if n != 3 {
		t.Errorf("ResealSecrets after a failed one = %d, want 3", n)
	}
}

func testResealSecretsEmpty(t *testing.T, s store.Durable) {
	n, err := s.ResealSecrets(ctxFor(t), func(store.SealedSecret) ([]byte, bool, error) {
		t.Error("reseal called on an empty store")
		return nil, false, nil
	})
	if err != nil || n != 0 {
		t.Fatalf("ResealSecrets on an empty store = %d, %v", n, err)
	}
}
