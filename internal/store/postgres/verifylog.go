package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/numauth/numauth/internal/store"
)

func scanVerification(r pgx.Row) (store.Verification, error) {
	var v store.Verification
	err := r.Scan(&v.ID, &v.AccountID, &v.SchemeCode, &v.Kind, &v.Carrier, &v.Result, &v.MaskedPhone, &v.PhoneHash,
		&v.Billable, &v.LatencyUS, &v.CreatedAt)
	v.CreatedAt = utc(v.CreatedAt)
	return v, err
}

// ListVerifications implements store.Durable.
func (s *Store) ListVerifications(ctx context.Context, q store.VerificationQuery) ([]store.Verification, error) {
	sql := `SELECT ` + verificationCols + ` FROM verifications WHERE true`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	for _, c := range []struct {
		col, v string
	}{{"account_id", q.AccountID}, {"id", q.ID}, {"masked_phone", q.MaskedPhone}, {"scheme_code", q.SchemeCode}, {"kind", q.Kind}, {"result", q.Result}} {
		if c.v != "" {
			sql += ` AND ` + c.col + ` = ` + arg(c.v)
		}
	}
	if !q.From.IsZero() {
		sql += ` AND created_at >= ` + arg(q.From)
	}
	if !q.To.IsZero() {
		sql += ` AND created_at < ` + arg(q.To)
	}
	if !q.BeforeAt.IsZero() {
		sql += ` AND (created_at, id) < (` + arg(q.BeforeAt) + `, ` + arg(q.BeforeID) + `)`
	}
	sql += ` ORDER BY created_at DESC, id DESC LIMIT ` + arg(q.QueryLimit())
	return list(s, ctx, scanVerification, sql, args...)
}
