package sqlite

import (
	"context"

	"github.com/numauth/numauth/internal/store"
)

func scanVerification(r scanner) (store.Verification, error) {
	var v store.Verification
	var at int64
	err := r.Scan(&v.ID, &v.AccountID, &v.SchemeCode, &v.Kind, &v.Carrier, &v.Result, &v.MaskedPhone, &v.PhoneHash,
		&v.Billable, &v.LatencyUS, &at)
	v.CreatedAt = fromMicros(at)
	return v, err
}

// ListVerifications implements store.Durable.
func (s *Store) ListVerifications(ctx context.Context, q store.VerificationQuery) ([]store.Verification, error) {
	sql := `SELECT ` + verificationCols + ` FROM verifications WHERE 1=1`
	var args []any
	for _, c := range []struct {
		col, v string
	}{{"account_id", q.AccountID}, {"id", q.ID}, {"masked_phone", q.MaskedPhone}, {"scheme_code", q.SchemeCode}, {"kind", q.Kind}, {"result", q.Result}} {
		if c.v != "" {
			sql += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	if !q.From.IsZero() {
		sql += ` AND created_at >= ?`
		args = append(args, micros(q.From))
	}
	if !q.To.IsZero() {
		sql += ` AND created_at < ?`
		args = append(args, micros(q.To))
	}
	if !q.BeforeAt.IsZero() {
		sql += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, micros(q.BeforeAt), micros(q.BeforeAt), q.BeforeID)
	}
	sql += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, q.QueryLimit())
	return list(s, ctx, scanVerification, sql, args...)
}
