package scaleout

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/test/harness"
)

// TestCamaraAcrossInstances: numauth's CAMARA side keeps its state in the
// shared stores, so any instance serves any step of a flow, and single use
// holds across them. Three instances on PostgreSQL and Redis behind one
// public URL: the authorization on the first, the code exchange on the
// second, the NV call on the third; a second exchange of the code and a
// second use of the token, on other instances, are refused; 30 parallel NV
// calls with one token, spread over the three, get one answer.
func TestCamaraAcrossInstances(t *testing.T) {
	dsn := freshDatabase(t)
	c := newCluster(t, 3, dsn, sharedRedis(t), "--public-url", "http://nv.scaleout.invalid", "--camara-authorize-per-source", "-1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const redirect = "https://rp.scaleout.invalid/cb"
	cmd := exec.CommandContext(ctx, harness.Binary(t), "camara", "clients", "create", "--store", dsn,
		"--data-dir", t.TempDir(), "--account", "default", "--redirect-uri", redirect, "--secret")
	cmd.Env = append(cmd.Environ(), c.env...)
	out, err := cmd.Output()
	var cl struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err != nil || json.Unmarshal(out, &cl) != nil || cl.Secret == "" {
		t.Fatalf("camara clients create: %v %s", err, out)
	}
	noRedirect := &http.Client{Timeout: clientTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	authorize := func(i int) (code, verifier string) {
		t.Helper()
		b := make([]byte, 32)
		rand.Read(b)
		verifier = base64.RawURLEncoding.EncodeToString(b)
		sum := sha256.Sum256([]byte(verifier))
		q := url.Values{"response_type": {"code"}, "client_id": {cl.ID}, "redirect_uri": {redirect}, "state": {"s"},
			"scope": {"openid number-verification:verify"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
		res, err := noRedirect.Get(c.ins[i].URL + "/camara/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		if code = loc.Query().Get("code"); res.StatusCode != http.StatusFound || code == "" {
			t.Fatalf("authorize on instance %d: %d %s", i, res.StatusCode, res.Header.Get("Location"))
		}
		return code, verifier
	}
	exchange := func(i int, code, verifier string) (string, string) {
		t.Helper()
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
		req, _ := http.NewRequestWithContext(ctx, "POST", c.ins[i].URL+"/camara/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(cl.ID, cl.Secret)
		res, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
			Error       string `json:"error"`
		}
		json.NewDecoder(res.Body).Decode(&tok)
		return tok.AccessToken, tok.Error
	}
	nv := func(i int, tok string) (int, any) {
		req, _ := http.NewRequestWithContext(ctx, "POST", c.ins[i].URL+"/camara/number-verification/v2/verify", strings.NewReader(`{"phoneNumber":"+86`+phone+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := c.hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		var b map[string]any
		json.NewDecoder(res.Body).Decode(&b)
		return res.StatusCode, b["devicePhoneNumberVerified"]
	}

	code, verifier := authorize(0)
	tok, e := exchange(1, code, verifier)
	if tok == "" {
		t.Fatalf("exchange on instance 1 of a code from instance 0: %s", e)
	}
	if again, e := exchange(2, code, verifier); again != "" || e != "invalid_grant" {
		t.Errorf("the code exchanged again on instance 2: token %t, error %q", again != "", e)
	}
	if st, v := nv(2, tok); st != 200 || v != true {
		t.Fatalf("verify on instance 2: %d %v", st, v)
	}
	if st, _ := nv(0, tok); st != 401 {
		t.Errorf("the token used again on instance 0: %d, want 401", st)
	}

	code, verifier = authorize(2)
	tok, _ = exchange(0, code, verifier)
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			st, _ := nv(i%3, tok)
			mu.Lock()
			got[st]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if got[200] != 1 || got[401] != 29 {
		t.Errorf("30 parallel calls with one token over 3 instances: %v, want one 200 and 29 401", got)
	}
}
