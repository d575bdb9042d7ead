// Package rpcclient is a small signed client for numauth's RPC API (V1
// signatures) and its H5 gateway, used by the load generator and by tests.
// Integrators use the official Alibaba Cloud SDKs instead.
package rpcclient

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

	"github.com/google/uuid"

	"github.com/numauth/numauth/internal/openapi/sign"
)

// Client calls one numauth endpoint with one AccessKey.
type Client struct {
	Endpoint    string // e.g. http://127.0.0.1:8080
	AccessKeyID string
	Secret      string
	HTTP        *http.Client
	// Header holds extra headers sent with every call (tests use it to
	// send what a proxy would add); nil sends none.
	Header http.Header
}

// Result is a decoded answer.
type Result struct {
	Status int
	Code   string
	Body   map[string]any
}

// Call signs and sends one action with POST form parameters.
func (c *Client) Call(ctx context.Context, action string, params map[string]string) (Result, error) {
	v := url.Values{"Action": {action}, "Version": {"2017-05-25"}, "Format": {"JSON"}}
	for k, val := range params {
		v.Set(k, val)
	}
	signed := sign.SignV1("POST", v, c.AccessKeyID, c.Secret, time.Now().UTC(), uuid.NewString())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint+"/", strings.NewReader(signed.Encode()))
	if err != nil {
		return Result{}, err
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) do(req *http.Request) (Result, error) {
	res, err := c.httpClient().Do(req)
	if err != nil {
		return Result{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return Result{}, err
	}
	out := Result{Status: res.StatusCode}
	if err := json.Unmarshal(raw, &out.Body); err != nil {
		return out, fmt.Errorf("answer is not JSON (HTTP %d): %.200s", res.StatusCode, raw)
	}
	out.Code, _ = out.Body["Code"].(string)
	return out, nil
}

// Get returns a nested string field, e.g. Get("TokenInfo", "AccessToken").
func (r Result) Get(path ...string) string {
	var cur any = r.Body
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

// H5 calls a gateway operation as the web SDK does, from a page at origin.
func (c *Client) H5(ctx context.Context, origin, op string, body map[string]string) (map[string]any, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint+"/h5/v1/"+op, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("gateway answer is not JSON (HTTP %d)", res.StatusCode)
	}
	return out, nil
}
