package auth

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
)

// Billing items: what `numauth serve --price ITEM=AMOUNT` prices.
const (
	ItemVerify = "verify" // a local-number verification answered PASS or REJECT (H5, app, CAMARA)
	ItemLogin  = "login"  // a one-click login that returned a number (H5, app, CAMARA)
	ItemSms    = "sms"    // an SMS code the provider accepted
	ItemFusion = "fusion" // a fusion authentication answered PASS (VerifyWithFusionAuthToken)
)

// billingItems are the items in bill order, with the ItemName Alibaba's
// bills give them.
var billingItems = []struct{ item, kind, name string }{
	{ItemVerify, string(carrier.KindVerify), "本机号码校验"},
	{ItemLogin, string(carrier.KindLogin), "一键登录"},
	{ItemSms, "sms", "短信认证"},
	{ItemFusion, kindFusion, "融合认证"},
}

// maxPriceFen bounds a unit price (1000 yuan): with it, no bill of fewer
// than 2^43 calls overflows.
const maxPriceFen = 100000

// ParsePrice parses ITEM=AMOUNT, AMOUNT in yuan with at most two
// decimals ("0.04"), and returns the item and the price in fen.
func ParsePrice(s string) (string, int64, error) {
	item, amount, ok := strings.Cut(s, "=")
	if !ok || !slices.ContainsFunc(billingItems, func(b struct{ item, kind, name string }) bool { return b.item == item }) {
		return "", 0, fmt.Errorf("want ITEM=AMOUNT with ITEM one of %s, %s, %s", ItemVerify, ItemLogin, ItemSms)
	}
	fen, err := parseYuan(amount)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", item, err)
	}
	return item, fen, nil
}

// parseYuan parses a non-negative amount in yuan, exact to the fen.
func parseYuan(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" || len(whole) > 4 {
		return 0, fmt.Errorf("amount %q: want yuan with at most two decimals, e.g. 0.04", s)
	}
	y, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 2-len(frac)), 10, 64)
	}
	fen := y*100 + f
	if fen > maxPriceFen {
		return 0, fmt.Errorf("amount %q: at most %d yuan", s, maxPriceFen/100)
	}
	return fen, nil
}

// FormatFen writes an amount in fen as Alibaba's bills write yuan: "1.48".
func FormatFen(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// billingZone is the clock bills follow: Alibaba Cloud bills by the
// calendar month in China Standard Time (UTC+8, no daylight saving), so
// 16:00 UTC on a month's last day already belongs to the next month.
var billingZone = time.FixedZone("CST", 8*3600)

// BillingInput is QueryGateVerifyBillingPublic's request.
type BillingInput struct {
	// AuthenticationType, numbered as Alibaba's billing numbers it: 0
	// number verification, 1 one-click login, 2 all, 3 face (numauth has
	// none), 4 SMS.
	AuthenticationType int
	Month              string // yyyyMM, a month in China time
}

// BillLine is one scheme's billable item.
type BillLine struct {
	SceneCode, SceneName, AppName, ItemName string
	Count, PriceFen, AmountFen              int64
}

// Bill is the answer.
type Bill struct {
	AmountFen int64
	Lines     []BillLine
}

// Billing prices the caller's billable records of a month.
func (s *Service) Billing(ctx context.Context, c Caller, in BillingInput) (Bill, error) {
	var want []string
	switch in.AuthenticationType {
	case 0:
		want = []string{ItemVerify}
	case 1:
		want = []string{ItemLogin}
	case 2: // all, fusion authentication among them (it has no type of its own)
		want = []string{ItemVerify, ItemLogin, ItemSms, ItemFusion}
	case 3: // face: none
	case 4:
		want = []string{ItemSms}
	default:
		return Bill{}, hint(ErrInvalidParameters, "AuthenticationType must be 0 (verification), 1 (login), 2 (all), 3 (face) or 4 (SMS)")
	}
	from, err := parseMonth(in.Month)
	if err != nil {
		return Bill{}, err
	}
	to := from.AddDate(0, 1, 0)
	var counts []store.BillCount
	if slices.Contains(want, ItemVerify) || slices.Contains(want, ItemLogin) || slices.Contains(want, ItemFusion) {
		vc, err := s.durable.BillableCounts(ctx, store.VerificationFilter{AccountID: c.AccountID, From: from, To: to})
		if err != nil {
			return Bill{}, storeErr("billing", err)
		}
		counts = append(counts, vc...)
	}
	if slices.Contains(want, ItemSms) {
		sc, err := s.durable.SmsBillableCounts(ctx, store.SmsFilter{AccountID: c.AccountID, From: from, To: to})
		if err != nil {
			return Bill{}, storeErr("billing", err)
		}
		counts = append(counts, sc...)
	}
	schemes := map[string]store.Scheme{}
	if len(counts) > 0 {
		list, err := s.schemes(ctx, c.AccountID, false)
		if err != nil {
			return Bill{}, err
		}
		for _, sc := range list {
			schemes[sc.Code] = sc
		}
	}
	var bill Bill
	for _, it := range billingItems {
		if !slices.Contains(want, it.item) {
			continue
		}
		price := s.cfg.Prices[it.item]
		for _, n := range counts {
			if n.Kind != it.kind || n.Count == 0 {
				continue
			}
			line := BillLine{ItemName: it.name, Count: n.Count, PriceFen: price, AmountFen: n.Count * price}
			if it.item == ItemSms {
				line.SceneName = n.Scheme // SMS schemes are names
			} else {
				// A deleted scheme, or a CAMARA client, keeps its code only.
				sc := schemes[n.Scheme]
				line.SceneCode, line.SceneName, line.AppName = n.Scheme, sc.Name, sc.AppName
			}
			bill.Lines = append(bill.Lines, line)
			bill.AmountFen += line.AmountFen
		}
	}
	return bill, nil
}

// parseMonth parses yyyyMM as the month's first instant in China time.
func parseMonth(m string) (time.Time, error) {
	bad := hint(ErrInvalidParameters, "Month must be yyyyMM, e.g. 202111")
	if len(m) != 6 || strings.Trim(m, "0123456789") != "" {
		return time.Time{}, bad
	}
	y, _ := strconv.Atoi(m[:4])
	mo, _ := strconv.Atoi(m[4:])
	if y < 1970 || mo < 1 || mo > 12 {
		return time.Time{}, bad
	}
	return time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, billingZone), nil
}
