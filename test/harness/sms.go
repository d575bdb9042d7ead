package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// AdminToken returns the token that guards the instance's /admin/
// endpoints (admin.token in its data directory).
func (in *Instance) AdminToken() (string, error) {
	b, err := os.ReadFile(filepath.Join(in.DataDir, "admin.token"))
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// OutboxMessage is one text the sandbox SMS provider delivered.
type OutboxMessage struct {
	ID           string `json:"id"`
	To           string `json:"to"` // E.164
	SignName     string `json:"signName"`
	TemplateCode string `json:"templateCode"`
	Text         string `json:"text"`
	CreatedAt    string `json:"createdAt"`
}

// SMSOutbox returns the texts the sandbox SMS provider delivered to phone
// (a mainland number or E.164), newest first, from GET
// /admin/v1/sms/outbox with the instance's admin token.
func (in *Instance) SMSOutbox(ctx context.Context, phone string) ([]OutboxMessage, error) {
	tok, err := in.AdminToken()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", in.URL+"/admin/v1/sms/outbox?phone="+url.QueryEscape(phone), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var body struct {
		Messages []OutboxMessage `json:"messages"`
		Error    string          `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("outbox: HTTP %d, %w", res.StatusCode, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("outbox: HTTP %d: %s", res.StatusCode, body.Error)
	}
	return body.Messages, nil
}

// smsCode finds the code in a text of numauth's default template 100001
// (【sign】验证码${code}，${min}分钟内有效，请勿泄露。).
var smsCode = regexp.MustCompile(`验证码(\w+)`)

// LastSMSCode returns the code of the newest text the sandbox SMS provider
// delivered to phone, failing the test if there is none.
func (in *Instance) LastSMSCode(t testing.TB, phone string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := in.SMSOutbox(ctx, phone)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) == 0 {
		t.Fatalf("the sandbox outbox holds no text to %s", phone)
	}
	m := smsCode.FindStringSubmatch(msgs[0].Text)
	if m == nil {
		t.Fatalf("no code in the text to %s: %q", phone, msgs[0].Text)
	}
	return m[1]
}
