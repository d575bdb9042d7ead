package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/store"
)

const smsSendCols = `id, account_id, scheme_name, phone_hash, masked_phone, country_code, sign_name, template,
	content, out_id, provider, provider_id, status, err_code, billable, sent_at, received_at`

// RecordSmsSends implements store.Durable.
func (s *Store) RecordSmsSends(ctx context.Context, ms []store.SmsSend) error {
	return s.WriteBatch(ctx, store.Batch{SmsSends: ms})
}

func smsSendRow(m *store.SmsSend) (string, []any) {
	return "SMS send " + strconv.Quote(m.ID), []any{m.ID, m.AccountID, m.SchemeName, m.PhoneHash, m.MaskedPhone,
		m.CountryCode, m.SignName, m.Template, m.Content, m.OutID, m.Provider, m.ProviderID, m.Status, m.ErrCode,
		m.Billable, micros(m.SentAt), nullMicros(m.ReceivedAt)}
}

// SetSmsStatus implements store.Durable.
func (s *Store) SetSmsStatus(ctx context.Context, provider, providerID string, status int, errCode string, at time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	if providerID == "" {
		return store.ErrNotFound
	}
	if status != 2 && status != 3 {
		return fmt.Errorf("%s: a receipt settles a send as failed (2) or delivered (3), not %d", "sqlite", status)
	}
	// One transaction: settle the pending record(s) and move them from
	// status 1 to status in the hourly rollup, or find that the record is
	// settled already (or absent).
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `UPDATE sms_sends SET status = ?, err_code = ?, received_at = ?
		WHERE provider = ? AND provider_id = ? AND provider_id <> '' AND status = 1
		RETURNING account_id, scheme_name, sent_at, billable`,
		status, errCode, nullMicros(at), provider, providerID)
	if err != nil {
		return mapErr(err)
	}
	type settled struct {
		account, scheme string
		sentAt          int64
		billable        bool
	}
	var done []settled
	for rows.Next() {
		var x settled
		if err := rows.Scan(&x.account, &x.scheme, &x.sentAt, &x.billable); err != nil {
			rows.Close()
			return mapErr(err)
		}
		done = append(done, x)
	}
	if err := rows.Close(); err != nil {
		return mapErr(err)
	}
	if err := rows.Err(); err != nil {
		return mapErr(err)
	}
	if len(done) == 0 {
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM sms_sends WHERE provider = ? AND provider_id = ? AND provider_id <> '' LIMIT 1`,
			provider, providerID).Scan(&one)
		return mapErr(err) // sql.ErrNoRows maps to store.ErrNotFound; a settled record is nil
	}
	for _, x := range done {
		if err := settleHourly(ctx, tx, x.account, x.scheme, provider, x.sentAt, x.billable, status); err != nil {
			return err
		}
	}
	return mapErr(tx.Commit())
}

// smsWhere is the WHERE clause of an SmsFilter.
func smsWhere(f store.SmsFilter) (string, []any) {
	where := []string{"1 = 1"}
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.AccountID != "" {
		add("account_id = ?", f.AccountID)
	}
	if f.PhoneHash != "" {
		add("phone_hash = ?", f.PhoneHash)
	}
	if f.ID != "" {
		add("id = ?", f.ID)
	}
	if !f.From.IsZero() {
		add("sent_at >= ?", micros(f.From))
	}
	if !f.To.IsZero() {
		add("sent_at < ?", micros(f.To))
	}
	return strings.Join(where, " AND "), args
}

// ListSmsSends implements store.Durable. The page and the total are read
// in one read transaction, so they agree.
func (s *Store) ListSmsSends(ctx context.Context, f store.SmsFilter) ([]store.SmsSend, int64, error) {
	if err := s.check(); err != nil {
		return nil, 0, err
	}
	if f.Offset < 0 || f.Limit < 0 {
		return nil, 0, fmt.Errorf("sqlite: negative offset or limit")
	}
	where, args := smsWhere(f)
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, mapErr(err)
	}
	defer tx.Rollback()
	var total int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sms_sends WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, mapErr(err)
	}
	if f.Limit == 0 || total == 0 {
		return nil, total, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+smsSendCols+` FROM sms_sends WHERE `+where+
		` ORDER BY sent_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	defer rows.Close()
	var out []store.SmsSend
	for rows.Next() {
		var m store.SmsSend
		var sent int64
		var recv sql.NullInt64
		if err := rows.Scan(&m.ID, &m.AccountID, &m.SchemeName, &m.PhoneHash, &m.MaskedPhone, &m.CountryCode,
			&m.SignName, &m.Template, &m.Content, &m.OutID, &m.Provider, &m.ProviderID, &m.Status, &m.ErrCode,
			&m.Billable, &sent, &recv); err != nil {
			return nil, 0, mapErr(err)
		}
		m.SentAt = fromMicros(sent)
		if recv.Valid {
			m.ReceivedAt = fromMicros(recv.Int64)
		}
		out = append(out, m)
	}
	return out, total, mapErr(rows.Err())
}

// PutOutbox implements store.Durable (sms.Outbox).
func (s *Store) PutOutbox(ctx context.Context, es ...sms.OutboxEntry) error {
	return s.WriteBatch(ctx, store.Batch{Outbox: es})
}

func outboxRow(e *sms.OutboxEntry) (string, []any) {
	return "outbox entry " + strconv.Quote(e.ID), []any{e.ID, e.ProviderID, e.To, e.SignName, e.TemplateCode, e.Text, micros(e.CreatedAt)}
}

// ListOutbox implements store.Durable (sms.Outbox).
func (s *Store) ListOutbox(ctx context.Context, to string, limit int) ([]sms.OutboxEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	q := `SELECT id, provider_id, recipient, sign_name, template_code, text, created_at FROM sms_outbox`
	args := []any{}
	if to != "" {
		q += ` WHERE recipient = ?`
		args = append(args, to)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	return list(s, ctx, func(r scanner) (sms.OutboxEntry, error) {
		var e sms.OutboxEntry
		var at int64
		err := r.Scan(&e.ID, &e.ProviderID, &e.To, &e.SignName, &e.TemplateCode, &e.Text, &at)
		e.CreatedAt = fromMicros(at)
		return e, err
	}, q, append(args, limit)...)
}
