package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// adminClient calls a running server's admin API (--server URL) with the
// admin token: NUMAUTH_ADMIN_TOKEN, or admin.token in --data-dir.
type adminClient struct {
	base  string
	token string
	hc    *http.Client
}

func newAdminClient(server, dataDir string) (*adminClient, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server must be the server's http:// or https:// URL, not %q", server)
	}
	tok, err := adminToken(dataDir, false)
	if err != nil {
		return nil, err
	}
	return &adminClient{base: strings.TrimSuffix(server, "/"), token: tok, hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

// call sends body (JSON) to the admin API and decodes the answer into out
// (when not nil); an error answer becomes an error naming its code.
func (c *adminClient) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Code, Message string }
		if json.Unmarshal(raw, &e) == nil && e.Code != "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, e.Code, e.Message)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}
