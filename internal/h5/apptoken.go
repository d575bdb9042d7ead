package h5

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/ipset"
)

// AppTokenIssuer is what the sandbox's app-token endpoint needs of the
// service.
type AppTokenIssuer interface {
	IssueAppToken(ctx context.Context, schemeCode string, kind carrier.Kind, front carrier.FrontRequest) (string, error)
}

// App token result codes: those of Alibaba's app SDK for the same cases
// (docs/api.md, "App one-click").
const (
	appOK          = 600000 // a token
	appNotCellular = 600008 // the address is no line the carrier knows (Wi-Fi)
	appFailed      = 600011 // the carrier failed, or the request was malformed
	appMaintenance = 600013 // the carrier is under maintenance
	appQuota       = 600014 // the carrier's call limit is reached
	appBadScheme   = 600017 // no app (Android/iOS) scheme has that code
)

type appTokenReply struct {
	Code  int    `json:"code"`
	Msg   string `json:"msg"`
	Token string `json:"token,omitempty"`
}

// AppTokenHandler serves POST /sandbox/v1/app-token: the token a native
// app's carrier SDK would get over cellular data, for GetMobile ("login")
// or VerifyMobile ("verify"). The line is identified by the carrier
// adapter's network-identified front leg from the TCP peer (and, through a
// trusted proxy, whatever the adapter trusts), as the H5 gateway's is.
func AppTokenHandler(svc AppTokenIssuer, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			SchemeCode string `json:"schemeCode"`
			Kind       string `json:"kind"`
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
		if err != nil || json.Unmarshal(body, &req) != nil {
			writeJSON(w, http.StatusBadRequest, appTokenReply{Code: appFailed, Msg: "the body must be JSON {\"schemeCode\", \"kind\"}"})
			return
		}
		if req.Kind != string(carrier.KindLogin) && req.Kind != string(carrier.KindVerify) {
			writeJSON(w, http.StatusBadRequest, appTokenReply{Code: appFailed, Msg: "kind must be login or verify"})
			return
		}
		front := carrier.FrontRequest{Source: ipset.PeerAddr(r.RemoteAddr), Header: r.Header}
		tok, err := svc.IssueAppToken(r.Context(), req.SchemeCode, carrier.Kind(req.Kind), front)
		res := appTokenReply{Code: appOK, Msg: "ok", Token: tok}
		switch {
		case err == nil:
		case errors.Is(err, auth.ErrNotAppScheme):
			res = appTokenReply{Code: appBadScheme, Msg: "no app scheme has that code"}
		case errors.Is(err, auth.ErrNotNetworkAuthenticated):
			res = appTokenReply{Code: appNotCellular, Msg: "not on cellular data of a line the carrier knows"}
		case errors.Is(err, auth.ErrCarrierMaintenance):
			res = appTokenReply{Code: appMaintenance, Msg: "the carrier is under maintenance"}
		case errors.Is(err, auth.ErrCarrierQuota):
			res = appTokenReply{Code: appQuota, Msg: "the carrier's call limit is reached"}
		default:
			log.WarnContext(r.Context(), "app token failed", "err", err)
			res = appTokenReply{Code: appFailed, Msg: "the token could not be issued"}
		}
		writeJSON(w, http.StatusOK, res)
	})
}
