package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// Every route that changes state carries an action name ("keys.create");
// guard writes one audit entry per call to it, after the outcome is known:
// who (the session's user, or the admin token), from where, what (the
// action, its target, its parameters without secrets), when, and how it
// ended ("ok" or the error code: refused attempts are recorded too). If
// the audit write itself fails, the entry goes to the log at error level,
// whole, so that it is not lost.

type auditKey struct{}

// auditRecord is what a route adds to its call's entry.
type auditRecord struct {
	actor  string // who, when the call itself decides it (a sign-in)
	action string
	target string
	detail map[string]any
}

func recordOf(ctx context.Context) *auditRecord {
	r, _ := ctx.Value(auditKey{}).(*auditRecord)
	return r
}

// setAuditTarget names what the call acts on.
func setAuditTarget(ctx context.Context, target string) {
	if r := recordOf(ctx); r != nil {
		r.target = target
	}
}

// setAuditDetail adds a parameter of the change (never a secret).
func setAuditDetail(ctx context.Context, key string, v any) {
	if r := recordOf(ctx); r != nil {
		if r.detail == nil {
			r.detail = map[string]any{}
		}
		r.detail[key] = v
	}
}

// NewAuditID is a time-ordered unique id: the time in microseconds (16 hex
// digits), then 8 random hex digits.
func NewAuditID(at time.Time) string {
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%016x%s", at.UnixMicro(), hex.EncodeToString(b))
}

func (a *API) audit(r *http.Request, p *Principal, rec *auditRecord, err error) {
	at := a.cfg.Now().UTC()
	e := store.AuditEntry{
		ID: NewAuditID(at), At: at, Actor: "anonymous", Source: a.cfg.ClientAddr(r).String(),
		Action: rec.action, Target: rec.target, Outcome: "ok", Detail: "{}",
	}
	if p != nil {
		e.Actor = p.Actor
	}
	if rec.actor != "" {
		e.Actor = rec.actor
	}
	if err != nil {
		_, e.Outcome, _ = errorCode(err)
	}
	if len(rec.detail) > 0 {
		if b, jerr := json.Marshal(rec.detail); jerr == nil {
			e.Detail = string(b)
		}
	}
	ctx := context.WithoutCancel(r.Context())
	if werr := a.cfg.Durable.AppendAudit(ctx, e); werr != nil {
		a.log.ErrorContext(ctx, "audit entry not stored", "err", werr, "id", e.ID, "at", e.At, "actor", e.Actor,
			"source", e.Source, "action", e.Action, "target", e.Target, "outcome", e.Outcome, "detail", e.Detail)
	}
}

// AuditEntryJSON is one entry as the API lists it.
type AuditEntryJSON struct {
	ID      string          `json:"id"`
	At      time.Time       `json:"at"`
	Actor   string          `json:"actor"`
	Source  string          `json:"source"`
	Action  string          `json:"action"`
	Target  string          `json:"target"`
	Outcome string          `json:"outcome"`
	Detail  json.RawMessage `json:"detail"`
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	q := r.URL.Query()
	f := store.AuditFilter{Before: q.Get("before"), Actor: q.Get("actor"), Action: q.Get("action")}
	if err := intParam(q, "limit", 1, 1000, &f.Limit); err != nil {
		return err
	}
	es, err := a.cfg.Durable.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]AuditEntryJSON, 0, len(es))
	for _, e := range es {
		d := json.RawMessage(e.Detail)
		if !json.Valid(d) {
			d = json.RawMessage("{}")
		}
		out = append(out, AuditEntryJSON{e.ID, e.At, e.Actor, e.Source, e.Action, e.Target, e.Outcome, d})
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
	return nil
}
