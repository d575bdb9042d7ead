package camara

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/obs"
)

// maxAnswer bounds an NV answer read from the operator.
const maxAnswer = 64 << 10

// Verify asks the operator (POST /verify) whether phone is the line's
// number. Some operators' tokens serve one call: a second Verify on one
// ticket is then the operator's 401, ErrTicketInvalid.
func (a *Adapter) Verify(ctx context.Context, ticketStr, phone string) (carrier.Verdict, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	t, err := a.openTicket(ctx, ticketStr, carrier.KindVerify)
	if err != nil {
		return "", err
	}
	p, err := carrier.ParseE164(phone)
	if err != nil {
		return "", err
	}
	body := map[string]string{"phoneNumber": p}
	if a.cfg.Hashed {
		sum := sha256.Sum256([]byte(p))
		body = map[string]string{"hashedPhoneNumber": hex.EncodeToString(sum[:])}
	}
	var out struct {
		Verified *bool `json:"devicePhoneNumberVerified"`
	}
	if err := a.nv(ctx, http.MethodPost, "/verify", t.token, body, &out); err != nil {
		return "", err
	}
	if out.Verified == nil {
		return "", fmt.Errorf("%w: the verify answer has no devicePhoneNumberVerified", carrier.ErrFailed)
	}
	if *out.Verified {
		return carrier.Pass, nil
	}
	return carrier.Reject, nil
}

// Number returns the number the operator gave for the login's line.
func (a *Adapter) Number(ctx context.Context, ticketStr string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	t, err := a.openTicket(ctx, ticketStr, carrier.KindLogin)
	if err != nil {
		return "", err
	}
	return t.phone, nil
}

// MatchMask checks the digits against the login line's number.
func (a *Adapter) MatchMask(ctx context.Context, ticketStr, digits string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	t, err := a.openTicket(ctx, ticketStr, carrier.KindLogin)
	if err != nil {
		return false, err
	}
	return carrier.MatchMaskDigits(t.phone, digits)
}

// devicePhoneNumber asks the operator for the line's number (GET
// /device-phone-number).
func (a *Adapter) devicePhoneNumber(ctx context.Context, token string) (string, error) {
	var out struct {
		Phone string `json:"devicePhoneNumber"`
	}
	if err := a.nv(ctx, http.MethodGet, "/device-phone-number", token, nil, &out); err != nil {
		return "", err
	}
	p, err := carrier.ParseE164(out.Phone)
	if err != nil || p != out.Phone {
		return "", fmt.Errorf("%w: the operator's devicePhoneNumber is not an E.164 number", carrier.ErrFailed)
	}
	return p, nil
}

// nv calls the NV API and decodes a 200 answer into out.
func (a *Adapter) nv(ctx context.Context, method, path, token string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	cctx, cancel := a.callCtx(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, method, a.cfg.APIRoot+"/number-verification/v2"+path, rd)
	if err != nil {
		return fmt.Errorf("%w: %w", carrier.ErrFailed, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("x-correlator", correlator(ctx))
	res, err := a.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s %s: %w", carrier.ErrFailed, method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s %s: read the answer: %w", carrier.ErrFailed, method, path, err)
	}
	if res.StatusCode != http.StatusOK {
		return nvError(method, path, res.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: %s %s: the answer is not the API's JSON", carrier.ErrFailed, method, path)
	}
	return nil
}

// nvError maps an NV API error answer: its ErrorInfo code first, then its
// status.
func nvError(method, path string, status int, raw []byte) error {
	var info struct {
		Code string `json:"code"`
	}
	json.Unmarshal(raw, &info)
	if err, ok := nvErrors[info.Code]; ok {
		return fmt.Errorf("camara: %s %s answered %d %s: %w", method, path, status, safeCode(info.Code), err)
	}
	if status == http.StatusUnauthorized {
		return fmt.Errorf("camara: %s %s answered 401: %w", method, path, carrier.ErrTicketInvalid)
	}
	return fmt.Errorf("camara: %s %s answered %d %s: %w", method, path, status, safeCode(info.Code), statusError(status))
}

// correlator is the x-correlator of an NV call: the request id numauth
// answers its own caller with, where it fits the API's pattern, so one id
// follows a flow from the integrator to the operator; else a fresh UUID.
func correlator(ctx context.Context) string {
	if id := obs.RequestID(ctx); id != "" && len(id) <= 256 && strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:;./<>{}") == "" {
		return id
	}
	return uuid.NewString()
}
