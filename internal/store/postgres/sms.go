package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/store"
)

const smsSendCols = `id, account_id, scheme_name, phone_hash, masked_phone, country_code, sign_name, template,
	content, out_id, provider, provider_id, status, err_code, billable, sent_at, received_at`

var smsSendTypes = []string{"text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "text",
	"smallint", "text", "boolean", "timestamptz", "timestamptz"}

// RecordSmsSends implements store.Durable with one multi-row INSERT (one
// round trip, one commit) per call.
func (s *Store) RecordSmsSends(ctx context.Context, ms []store.SmsSend) error {
	return s.WriteBatch(ctx, store.Batch{SmsSends: ms})
}

// smsSendArgs are the unnest arrays of SMS send records, in smsSendCols' order.
func smsSendArgs(ms []store.SmsSend) []any {
	n := len(ms)
	cols := make([][]string, 12)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	status, errCodes, billable := make([]int16, n), make([]string, n), make([]bool, n)
	sent, recv := make([]time.Time, n), make([]*time.Time, n)
	for i := range ms {
		m := &ms[i]
		for j, v := range []string{m.ID, m.AccountID, m.SchemeName, m.PhoneHash, m.MaskedPhone, m.CountryCode,
			m.SignName, m.Template, m.Content, m.OutID, m.Provider, m.ProviderID} {
			cols[j][i] = v
		}
		status[i], errCodes[i], billable[i], sent[i] = int16(m.Status), m.ErrCode, m.Billable, m.SentAt
		if !m.ReceivedAt.IsZero() {
			r := m.ReceivedAt
			recv[i] = &r
		}
	}
	args := make([]any, 0, 17)
	for _, c := range cols {
		args = append(args, c)
	}
	return append(args, status, errCodes, billable, sent, recv)
}

// SetSmsStatus implements store.Durable.
func (s *Store) SetSmsStatus(ctx context.Context, provider, providerID string, status int, errCode string, at time.Time) error {
	if providerID == "" {
		return store.ErrNotFound
	}
	if status != 2 && status != 3 {
		return fmt.Errorf("%s: a receipt settles a send as failed (2) or delivered (3), not %d", "postgres", status)
	}
	var when *time.Time
	if !at.IsZero() {
		when = &at
	}
	// One statement: settle a pending record (and move it from status 1 in
	// the hourly rollup), or report whether a settled one exists. A retry
	// after a lost reply finds the record settled and changes nothing.
	var updated, exists bool
	err := s.read(ctx, func() error {
		return s.pool.QueryRow(ctx, settleSQL, provider, providerID, int16(status), errCode, when).Scan(&updated, &exists)
	})
	if err != nil {
		return err
	}
	if !updated && !exists {
		return store.ErrNotFound
	}
	return nil
}

// smsWhere is the WHERE clause of an SmsFilter.
func smsWhere(f store.SmsFilter) (string, []any) {
	where := []string{"true"}
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.AccountID != "" {
		add("account_id = $%d", f.AccountID)
	}
	if f.PhoneHash != "" {
		add("phone_hash = $%d", f.PhoneHash)
	}
	if f.ID != "" {
		add("id = $%d", f.ID)
	}
	if !f.From.IsZero() {
		add("sent_at >= $%d", f.From)
	}
	if !f.To.IsZero() {
		add("sent_at < $%d", f.To)
	}
	return strings.Join(where, " AND "), args
}

// ListSmsSends implements store.Durable: the page and the total come from
// one statement, so they agree.
func (s *Store) ListSmsSends(ctx context.Context, f store.SmsFilter) ([]store.SmsSend, int64, error) {
	if f.Offset < 0 || f.Limit < 0 {
		return nil, 0, errors.New("postgres: negative offset or limit")
	}
	where, args := smsWhere(f)
	n := len(args)
	q := `SELECT ` + smsSendCols + `, count(*) OVER () FROM sms_sends WHERE ` + where +
		fmt.Sprintf(` ORDER BY sent_at DESC, id DESC LIMIT $%d OFFSET $%d`, n+1, n+2)
	var total int64
	out, err := list(s, ctx, func(r pgx.Row) (store.SmsSend, error) {
		var m store.SmsSend
		var st int16
		var recv *time.Time
		err := r.Scan(&m.ID, &m.AccountID, &m.SchemeName, &m.PhoneHash, &m.MaskedPhone, &m.CountryCode,
			&m.SignName, &m.Template, &m.Content, &m.OutID, &m.Provider, &m.ProviderID, &st, &m.ErrCode,
			&m.Billable, &m.SentAt, &recv, &total)
		m.Status, m.SentAt = int(st), utc(m.SentAt)
		if recv != nil {
			m.ReceivedAt = recv.UTC()
		}
		return m, err
	}, q, append(args, max(f.Limit, 1), f.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	if len(out) == 0 || f.Limit == 0 {
		// Past the last page (or no rows wanted): count on their own.
		err = s.read(ctx, func() error {
			return s.pool.QueryRow(ctx, `SELECT count(*) FROM sms_sends WHERE `+where, args...).Scan(&total)
		})
		return nil, total, err
	}
	return out, total, nil
}

const outboxCols = `id, provider_id, recipient, sign_name, template_code, text, created_at`

var outboxTypes = []string{"text", "text", "text", "text", "text", "text", "timestamptz"}

// PutOutbox implements store.Durable (sms.Outbox) with one multi-row INSERT.
func (s *Store) PutOutbox(ctx context.Context, es ...sms.OutboxEntry) error {
	return s.WriteBatch(ctx, store.Batch{Outbox: es})
}

func outboxArgs(es []sms.OutboxEntry) []any {
	n := len(es)
	ids, pids, to, signs, tpls, texts := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	at := make([]time.Time, n)
	for i, e := range es {
		ids[i], pids[i], to[i], signs[i], tpls[i], texts[i], at[i] = e.ID, e.ProviderID, e.To, e.SignName, e.TemplateCode, e.Text, e.CreatedAt
	}
	return []any{ids, pids, to, signs, tpls, texts, at}
}

// ListOutbox implements store.Durable (sms.Outbox).
func (s *Store) ListOutbox(ctx context.Context, to string, limit int) ([]sms.OutboxEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	q := `SELECT ` + outboxCols + ` FROM sms_outbox`
	args := []any{limit}
	if to != "" {
		q += ` WHERE recipient = $2`
		args = append(args, to)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT $1`
	return list(s, ctx, func(r pgx.Row) (sms.OutboxEntry, error) {
		var e sms.OutboxEntry
		err := r.Scan(&e.ID, &e.ProviderID, &e.To, &e.SignName, &e.TemplateCode, &e.Text, &e.CreatedAt)
		e.CreatedAt = utc(e.CreatedAt)
		return e, err
	}, q, args...)
}
