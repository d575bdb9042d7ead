package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/groupcommit"
	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/store"
)

// smsFlags are serve's SMS flags; each provider's own flags are declared
// by its registration (sms.Flags).
type smsFlags struct {
	provider                    string
	signs, templates            multiFlag
	countries, testNumbers      multiFlag
	checkTries, perHour, perDay int
	perDayGlobal, accountPerDay int
	build                       func(ctx context.Context, name string, env sms.Env) (sms.Provider, error)
}

func (f *smsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.provider, "sms-provider", envOr("NUMAUTH_SMS_PROVIDER", "sandbox"), "SMS provider: "+strings.Join(sms.Names(), ", ")+" [NUMAUTH_SMS_PROVIDER]")
	fs.Var(&f.signs, "sms-sign", "an accepted SignName (repeatable; default numauth)")
	fs.Var(&f.templates, "sms-template", "an SMS template CODE=TEXT with ${code} and other ${name} variables (repeatable; default 100001="+auth.DefaultSmsTemplateTxt+")")
	fs.Var(&f.countries, "sms-country", "a country code SMS codes may be sent to (repeatable; default 86)")
	fs.Var(&f.testNumbers, "sms-test-number", "a test number E164=CODE: never sent to a provider, never limited, CODE always checks (repeatable)")
	fs.IntVar(&f.checkTries, "sms-check-tries", 5, "checks one SMS code takes; a PASS or the last wrong check spends it")
	fs.IntVar(&f.perHour, "sms-per-hour", 5, "codes one account may send to one number per hour (-1: no limit)")
	fs.IntVar(&f.perDay, "sms-per-day", 10, "codes one account may send to one number per day (-1: no limit)")
	fs.IntVar(&f.perDayGlobal, "sms-per-day-global", 20, "codes one number may be sent per day by all accounts together (-1: no limit)")
	fs.IntVar(&f.accountPerDay, "sms-account-per-day", 10000, "codes one account may send per day to all numbers (-1: no limit)")
	f.build = sms.Flags(fs)
}

// config is the service's SMS configuration from the flags.
func (f *smsFlags) config() (auth.SMSConfig, error) {
	c := auth.SMSConfig{
		Signs: f.signs, Countries: nil, CheckTries: f.checkTries, PerHour: f.perHour, PerDay: f.perDay,
		PerDayGlobal: f.perDayGlobal, AccountPerDay: f.accountPerDay, ProviderName: f.provider,
	}
	if f.checkTries < 1 {
		return c, fmt.Errorf("--sms-check-tries %d: a code takes at least one check", f.checkTries)
	}
	for _, s := range f.signs {
		if strings.TrimSpace(s) == "" || len(s) > 64 {
			return c, fmt.Errorf("--sms-sign %q: want a name of at most 64 bytes", s)
		}
	}
	if len(f.templates) > 0 {
		c.Templates = map[string]string{}
	}
	for _, t := range f.templates {
		code, text, ok := strings.Cut(t, "=")
		if !ok || code == "" || text == "" {
			return c, fmt.Errorf("--sms-template %q: want CODE=TEXT", t)
		}
		c.Templates[code] = text
	}
	for _, cc := range f.countries {
		cc = strings.TrimPrefix(cc, "+")
		if !auth.ValidCountryCode(cc) {
			return c, fmt.Errorf("--sms-country %q: want a country code such as 86 or 44", cc)
		}
		c.Countries = append(c.Countries, cc)
	}
	if len(f.testNumbers) > 0 {
		c.TestNumbers = map[string]string{}
	}
	for _, tn := range f.testNumbers {
		num, code, ok := strings.Cut(tn, "=")
		e164, err := auth.NormalizeE164(num)
		if !ok || err != nil || code == "" || len(code) > 8 {
			return c, fmt.Errorf("--sms-test-number %q: want E164=CODE (code of 1 to 8 characters)", tn)
		}
		c.TestNumbers[e164] = code
	}
	return c, nil
}

// queuedOutbox is the sandbox SMS provider's outbox in serve: entries go
// into the writer of every durable record, queued ahead of the send's own
// record, so they share its transaction (or an earlier one) without a
// commit of their own: an SMS send that was answered has its outbox entry
// stored, and a send costs one durable commit, not two.
type queuedOutbox struct {
	records *groupcommit.Writer[store.Batch]
	store.Durable
}

func (q queuedOutbox) PutOutbox(ctx context.Context, es ...sms.OutboxEntry) error {
	// The entries are stored after this returns, so the queue keeps its
	// own copy of the caller's slice.
	return q.records.Enqueue(ctx, store.Batch{Outbox: slices.Clone(es)})
}

// outboxHandler serves GET /admin/v1/sms/outbox: the sandbox provider's
// outbox, newest first (?phone= narrows it to one number, ?limit= bounds it).
func outboxHandler(ob sms.Outbox) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		to, limit, err := outboxQuery(r.URL.Query().Get("phone"), r.URL.Query().Get("limit"))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"code": "InvalidParameter", "message": err.Error()})
			return
		}
		es, err := ob.ListOutbox(r.Context(), to, limit)
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, store.ErrUnavailable) {
				status = http.StatusServiceUnavailable
			}
			w.WriteHeader(status)
			code, msg := "InternalError", "outbox: internal error"
			if status == http.StatusServiceUnavailable {
				code, msg = "ServiceUnavailable", "outbox: store unavailable"
			}
			json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"messages": outboxJSON(es)})
	}
}

type outboxMessage struct {
	ID           string `json:"id"`
	To           string `json:"to"`
	SignName     string `json:"signName"`
	TemplateCode string `json:"templateCode"`
	Text         string `json:"text"`
	CreatedAt    string `json:"createdAt"`
}

func outboxJSON(es []sms.OutboxEntry) []outboxMessage {
	out := make([]outboxMessage, 0, len(es))
	for _, e := range es {
		out = append(out, outboxMessage{e.ID, e.To, e.SignName, e.TemplateCode, e.Text, e.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")})
	}
	return out
}

func outboxQuery(phone, limit string) (string, int, error) {
	n := 50
	if limit != "" {
		v, err := strconv.Atoi(limit)
		if err != nil || v < 1 || v > 1000 {
			return "", 0, errors.New("limit must be 1 to 1000")
		}
		n = v
	}
	if phone == "" {
		return "", n, nil
	}
	e164, err := auth.NormalizeE164(phone)
	if err != nil {
		return "", 0, errors.New("phone must be an E.164 number or a mainland mobile number")
	}
	return e164, n, nil
}

// smsCmd is `numauth sms outbox [--phone P] [--limit N]`: the sandbox
// provider's outbox, read from the durable store.
func smsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "outbox" {
		return errors.New("sms: want 'outbox [--phone P] [--limit N]'")
	}
	var sf storeFlags
	fs := flag.NewFlagSet("numauth sms outbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf.register(fs)
	phone := fs.String("phone", "", "only messages to this number (E.164, or a mainland number)")
	limit := fs.String("limit", "50", "at most this many messages (1 to 1000)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	to, n, err := outboxQuery(*phone, *limit)
	if err != nil {
		return fmt.Errorf("sms outbox: %w", err)
	}
	d, err := sf.openDurable(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	es, err := d.ListOutbox(ctx, to, n)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(es))
	for _, e := range es {
		rows = append(rows, []string{e.CreatedAt.UTC().Format("2006-01-02 15:04:05"), e.To, e.Text})
	}
	return printList(stdout, *asJSON, outboxJSON(es), "SENT (UTC)\tTO\tTEXT", rows)
}
