// Package mutation proves that the suite catches the breaks that matter: each
// mutant below is a deliberate break of one rule (a real one, found by a
// review or a past bug), applied to a copy of one source file through the Go
// toolchain's -overlay, and the package tests named with it must fail. A
// mutant whose text no longer appears in its file fails too, so a refactor
// has to carry its mutants along.
package mutation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

type mutant struct {
	name     string // the break, as a reviewer would put it
	file     string // from the repository root
	old, new string // old must appear exactly once in file
	pkg      string // the package whose tests must catch it
	run      string // -run pattern; "" runs the package's tests
}

var mutants = []mutant{
	{name: "V1 signature compares only the first 4 bytes of the HMAC",
		file: "internal/openapi/sign/v1.go", pkg: "./internal/openapi/sign",
		old: "subtle.ConstantTimeCompare(mac[:], c.sig[:c.sigLen])", new: "subtle.ConstantTimeCompare(mac[:4], c.sig[:4])"},
	{name: "V3 signature compares only the first 4 bytes of the HMAC",
		file: "internal/openapi/sign/v3.go", pkg: "./internal/openapi/sign",
		old: "subtle.ConstantTimeCompare(mac[:], c.sig[:c.sigLen])", new: "subtle.ConstantTimeCompare(mac[:4], c.sig[:4])"},
	{name: "the nonce is consumed before the signature is checked",
		file: "internal/openapi/server.go", pkg: "./internal/openapi", run: "TestBadSignatureBurnsNoNonce",
		old: "\tif err := claim.Verify(cred.Secret); err != nil {",
		new: "\ts.svc.ConsumeNonce(ctx, claim.AccessKeyID, claim.Nonce, claim.Timestamp, 2*s.cfg.ClockSkew)\n\tif err := claim.Verify(cred.Secret); err != nil {"},
	{name: "the gateway's CORS gate echoes any origin",
		file: "internal/h5/gateway.go", pkg: "./internal/h5",
		old: `if origin != "" && (!data || (boundOrigin != "" && sameOrigin(origin, boundOrigin))) {`, new: `if _ = data; origin != "" || boundOrigin != "" {`},
	{name: "the camara carrier's redirect state can be completed twice",
		file: "internal/carrier/camara/front.go", pkg: "./internal/carrier/camara", run: "^TestConformance$",
		old: "\tif !first {\n\t\treturn carrier.Line{}, errSpent\n\t}", new: "\t_ = first"},
	{name: "the camara carrier's redirect state completes any session",
		file: "internal/carrier/camara/front.go", pkg: "./internal/carrier/camara", run: "^TestConformance$",
		old: "if !equalBytes(st.binding, bindingHash(req.SessionBinding)) {", new: "if false {"},
	{name: "the camara carrier believes an ID token minted for another flow",
		file: "internal/carrier/camara/front.go", pkg: "./internal/carrier/camara", run: "TestIDTokenOfAnotherFlow",
		old: "if idt.Nonce != st.nonce {", new: "if idt.Nonce == \"never\" {"},
	{name: "the redirect callback page hands the operator's answer to any origin",
		file: "internal/h5/callback.go", pkg: "./internal/h5", run: "Redirect",
		old: "ans, status = callbackAnswer{Origin: origin, Query: r.URL.RawQuery}, http.StatusOK", new: `ans, status = callbackAnswer{Origin: "*" + origin[:0], Query: r.URL.RawQuery}, http.StatusOK`},
	{name: "redirect-complete is not bound to the session that began the redirect",
		file: "internal/auth/redirect.go", pkg: "./internal/h5", run: "Redirect",
		old: `sha256.Sum256([]byte("numauth redirect session\x00" + sessionID))`, new: `sha256.Sum256([]byte("numauth redirect session\x00"))`},
	{name: "login masks spend no budget",
		file: "internal/auth/login.go", pkg: "./internal/auth", run: "Mask",
		old: `return s.reserveWaiting(ctx, "mask tries", ErrMaskLocked, s.maskCharges(sess.AccountID, sess.PhoneHash)...)`, new: `return s.reserveWaiting(ctx, "mask tries", ErrMaskLocked)`},
	{name: "the mask budget is per session (the brute-force finding)",
		file: "internal/auth/login.go", pkg: "./internal/auth", run: "TestMaskBudgetIsPerNumber",
		old: `return s.reserveWaiting(ctx, "mask tries", ErrMaskLocked, s.maskCharges(sess.AccountID, sess.PhoneHash)...)`, new: `return s.reserveWaiting(ctx, "mask tries", ErrMaskLocked, s.maskCharges(sess.Ticket, sess.Ticket)...)`},
	{name: "one tenant's wrong masks lock the number for every tenant",
		file: "internal/auth/login.go", pkg: "./internal/auth", run: "TestMaskLockIsPerAccount",
		old: `s.budgets.mask.For(account + ":" + phoneHash),`, new: `s.budgets.mask.For(phoneHash),`},
	{name: "a locked number still gets its masked number",
		file: "internal/auth/login.go", pkg: "./internal/auth", run: "Mask",
		old: "if err := s.limits.Check(ctx, s.maskCharges(sess.AccountID, hash)...);", new: "if err := error(nil);"},
	{name: "a spent budget never refuses",
		file: "internal/limit/limit.go", pkg: "./internal/auth", run: "Mask",
		old: "if n >= int64(c.Budget.Limit) {", new: "if n >= int64(c.Budget.Limit)+1_000_000 {"},
	{name: "a wrong mask is given back instead of kept",
		file: "internal/auth/login.go", pkg: "./internal/auth", run: "Mask",
		old: "left, err := res.Keep(settleCtx)", new: "left, err := 1, res.Refund(settleCtx)"},
	{name: "REJECT is not billable",
		file: "internal/auth/verify.go", pkg: "./internal/auth", run: "TestBillingRule",
		old: "return v == carrier.Pass || v == carrier.Reject", new: "return v == carrier.Pass"},
	{name: "UNKNOWN is billable",
		file: "internal/auth/verify.go", pkg: "./internal/auth", run: "TestBillingRule",
		old: "return v == carrier.Pass || v == carrier.Reject", new: "return true"},
	{name: "a failed record write is ignored",
		file: "internal/auth/sptoken.go", pkg: "./internal/auth", run: "TestOutcomeExactlyOnce",
		old: "\tif err != nil {\n\t\treturn store.Verification{}, storeErr(\"record\", err)\n\t}", new: "\t_ = err"},
	{name: "the recorder acknowledges a failed write",
		file: "internal/groupcommit/groupcommit.go", pkg: "./internal/auth", run: "TestOutcomeExactlyOnce",
		old: "\t\tdefault:\n\t\t\tfor _, b := range batch {\n\t\t\t\tb.out <- err\n\t\t\t}", new: "\t\tdefault:\n\t\t\tfor _, b := range batch {\n\t\t\t\tb.out <- nil\n\t\t\t}"},
	{name: "a withdrawn record is written anyway",
		file: "internal/groupcommit/groupcommit.go", pkg: "./internal/auth", run: "TestWithdrawnRecordIsNeverWritten",
		old: "if req.state.CompareAndSwap(reqQueued, reqTaken) {", new: "if req.state.CompareAndSwap(reqQueued, reqTaken) || true {"},
	{name: "an answered spToken is not marked spent",
		file: "internal/auth/verify.go", pkg: "./internal/auth", run: "TestReplayAfterLease|TestOutcomeExactlyOnce",
		old: "\tif err == nil {\n\t\terr = s.settle(ctx, sp, cl)\n\t}", new: ""},
	{name: "spToken claims ignore the epoch guard",
		file: "internal/auth/sptoken.go", pkg: "./internal/auth", run: "TestReplayRightAfterStoreForgets",
		old: "prev, ok, err := s.eph.Swap(ctx, g, key, old, val, ttl)", new: "prev, ok, err := s.eph.Swap(ctx, store.Guard{Value: g.Value}, key, old, val, ttl)"},
	{name: "a deleted scheme's spTokens still verify",
		file: "internal/auth/sptoken.go", pkg: "./internal/auth", run: "TestDeletedSchemeStopsSessionsAndTokens",
		old: "if err := s.schemeAlive(ctx, sp.AccountID, sp.Scheme); errors.Is(err, ErrSchemeGone) {", new: "if err := error(nil); errors.Is(err, ErrSchemeGone) {"},
	{name: "a deleted scheme's sessions still mint spTokens",
		file: "internal/auth/session.go", pkg: "./internal/auth", run: "TestDeletedSchemeStopsSessionsAndTokens",
		old: "\tif err := s.schemeAlive(ctx, sess.AccountID, sess.Scheme); err != nil {\n\t\treturn session{}, err\n\t}", new: ""},
	{name: "gateway sessions are unbounded",
		file: "internal/auth/session.go", pkg: "./internal/auth", run: "TestSessionBudgets",
		old: "spendErr := s.limits.Spend(ctx, charges...)", new: "spendErr := s.limits.Spend(ctx)"},
	{name: "a refused gateway session stays in the store",
		file: "internal/auth/session.go", pkg: "./internal/auth", run: "TestSessionBudgets",
		old: "\t\t\ts.dropSession(ctx, id)\n", new: ""},
	{name: "a call's budget counters are asked one after another",
		file: "internal/limit/limit.go", pkg: "./internal/limit", run: "TestOneRoundTripPerCall",
		old: "\t\twg.Go(func() { fn(i) })", new: "\t\tfn(i)"},
	{name: "the in-process store ignores its memory bound",
		file: "internal/store/memory/memory.go", pkg: "./internal/store/memory", run: "TestBounded",
		old: "if s.used.Add(n) > s.max {", new: "if s.used.Add(n) > s.max<<20 {"},
	{name: "the in-process store ignores a Swap's guard",
		file: "internal/store/memory/memory.go", pkg: "./internal/store/memory", run: "TestConformance",
		old: "if !ok || ge.exp <= now || !bytes.Equal(ge.bytes(), g.Value) {", new: "if false && (!ok || ge.exp <= now || !bytes.Equal(ge.bytes(), g.Value)) {"},
	{name: "a scheme's IpWhiteList lets every address through",
		file: "internal/auth/source.go", pkg: "./internal/auth",
		old: "\tif !set.Contains(c.SourceIP) {", new: "\tif false && !set.Contains(c.SourceIP) {"},
	{name: "a BizType other than 0 or 1 mints tokens",
		file: "internal/openapi/actions.go", pkg: "./internal/openapi",
		old: "biz != int(token.BizVerify) && biz != int(token.BizLogin) {", new: "false {"},
	{name: "SQLite lists every account's OAuth clients for one account",
		file: "internal/store/sqlite/oauth.go", pkg: "./internal/store/sqlite", run: "TestConformance/OAuthClient",
		old: "FROM oauth_clients WHERE account_id = ? ORDER BY created_at, id`, accountID)", new: "FROM oauth_clients ORDER BY created_at, id`)"},
	{name: "SQLite lists OAuth clients by id, not by creation",
		file: "internal/store/sqlite/oauth.go", pkg: "./internal/store/sqlite", run: "TestConformance/OAuthClient",
		old: "FROM oauth_clients ORDER BY created_at, id`)", new: "FROM oauth_clients ORDER BY id`)"},
	{name: "SQLite's disabled OAuth client stays active",
		file: "internal/store/sqlite/oauth.go", pkg: "./internal/store/sqlite", run: "TestConformance/OAuthClient",
		old: "st := store.KeyInactive\n\tif active {", new: "st := store.KeyActive\n\tif active {"},
	{name: "SQLite reads an OAuth client's empty list back as empty, not nil",
		file: "internal/store/sqlite/oauth.go", pkg: "./internal/store/sqlite", run: "TestConformance/OAuthClient",
		old: "\tif len(v) == 0 {\n\t\treturn nil, nil\n\t}\n", new: ""},
	{name: "an OAuth client's secret is not compared",
		file: "internal/auth/oauthclients.go", pkg: "./internal/auth", run: "TestOAuthClientSecret",
		old: "subtle.ConstantTimeCompare(sum[:], c.SecretHash) != 1", new: "subtle.ConstantTimeCompare(sum[:], sum[:]) != 1"},
	{name: "an OAuth client may redirect over plain http to any host",
		file: "internal/auth/oauthclients.go", pkg: "./internal/auth", run: "TestCreateOAuthClientValidation",
		old: `case u.Scheme == "http" && !(strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback())):`, new: `case false:`},
	{name: "an OAuth client's JWKS may hold private keys",
		file: "internal/auth/oauthclients.go", pkg: "./internal/auth", run: "TestCheckJWKS",
		old: "\t\tfor _, m := range privateJWKMembers {", new: "\t\tfor _, m := range privateJWKMembers[:0] {"},
	{name: "Redis ignores a Swap's guard",
		file: "internal/store/redis/redis.go", pkg: "./internal/store/redis", run: "TestConformance",
		old: "keys[1], guarded = s.kLike(key, g.Key), \"1\"", new: "keys[1] = s.kLike(key, g.Key)"},
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func TestMutantsAreCaught(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not in PATH: mutants are built with it")
	}
	root := repoRoot(t)
	tmp := t.TempDir()
	// Two at a time: each one builds a test binary.
	sem := make(chan struct{}, max(1, min(runtime.NumCPU(), 2)))
	for i, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join(root, m.file))
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(src, []byte(m.old)); n != 1 {
				t.Fatalf("the mutant's text appears %d times in %s, want once: update the mutant with the code", n, m.file)
			}
			mutated := bytes.Replace(src, []byte(m.old), []byte(m.new), 1)
			dir := filepath.Join(tmp, fmt.Sprint(i))
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, filepath.Base(m.file))
			if err := os.WriteFile(path, mutated, 0o600); err != nil {
				t.Fatal(err)
			}
			overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(root, m.file): path}})
			ov := filepath.Join(dir, "overlay.json")
			if err := os.WriteFile(ov, overlay, 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"test", "-count=1", "-overlay", ov}
			if m.run != "" {
				args = append(args, "-run", m.run)
			}
			args = append(args, m.pkg)
			sem <- struct{}{}
			cmd := exec.Command("go", args...)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			<-sem
			text := string(out)
			switch {
			case err == nil:
				t.Errorf("the mutant survived: %s with it passes.\n%s", m.pkg, tail(text))
			case strings.Contains(text, "[build failed]") || strings.Contains(text, "[setup failed]"):
				t.Errorf("the mutant does not build, so it proves nothing:\n%s", tail(text))
			case !strings.Contains(text, "--- FAIL"):
				t.Errorf("go test failed without a failing test:\n%s", tail(text))
			}
		})
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}
