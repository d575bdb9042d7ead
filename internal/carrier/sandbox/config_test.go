package sandbox

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/carrier"
)

const exampleConfig = `{
  "subscribers": [
    {"prefix": "10.0.0.0/24", "phone": "13800138000"},
    {"prefix": "2001:db8::1", "phone": "+86 186-0000-1111"},
    {"prefix": "::ffff:192.0.2.0/120", "phone": "18900001111"}
  ],
  "trustedProxies": ["192.0.2.10", "2001:db8:aaaa::/48"],
  "enrichmentHeader": "x-msisdn",
  "ticketTTL": "30m",
  "faults": {
    "CM": {"latency": "200ms", "errorRate": 0.1, "maintenance": false, "quotaExhausted": false},
    "CT": {"maintenance": true}
  }
}`

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.json")
	if err := os.WriteFile(path, []byte(exampleConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Subscribers: []Subscriber{
			{Prefix: pfx("10.0.0.0/24"), Phone: "+8613800138000", Operator: "CM"},
			{Prefix: pfx("2001:db8::1/128"), Phone: "+8618600001111", Operator: "CU"},
			{Prefix: pfx("192.0.2.0/24"), Phone: "+8618900001111", Operator: "CT"},
		},
		TrustedProxies:   []netip.Prefix{pfx("192.0.2.10/32"), pfx("2001:db8:aaaa::/48")},
		EnrichmentHeader: "X-Msisdn",
		TicketTTL:        30 * time.Minute,
		Faults: map[carrier.Operator]Fault{
			carrier.ChinaMobile:  {Latency: 200 * time.Millisecond, ErrorRate: 0.1},
			carrier.ChinaTelecom: {Maintenance: true},
		},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("LoadFile =\n%+v\nwant\n%+v", cfg, want)
	}
	s := mustNew(t, cfg)
	if got := s.Faults(); !reflect.DeepEqual(got, want.Faults) {
		t.Errorf("Faults() = %+v", got)
	}
	if n, err := numberOf(t, s, "2001:db8::1", nil); err != nil || n != "18600001111" {
		t.Errorf("subscriber from the file: %s, %v", n, err)
	}
	if _, err := numberOf(t, s, "192.0.2.77", nil); !errors.Is(err, carrier.ErrMaintenance) {
		t.Errorf("CT under maintenance from the file: %v", err)
	}

	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.json")
	_ = os.WriteFile(empty, []byte(`{}`), 0o600)
	if cfg, err := LoadFile(empty); err != nil || !reflect.DeepEqual(cfg, Config{EnrichmentHeader: DefaultEnrichmentHeader}) {
		t.Errorf("empty object: %+v, %v", cfg, err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{``, "EOF"},
		{`[]`, "cannot unmarshal"},
		{`{} {}`, "after the JSON value"},
		{`{"subscriber": []}`, "unknown field"},
		{`{"subscribers": [{"prefix": "10.0.0.0/24", "phone": "13800138000", "extra": 1}]}`, "unknown field"},
		{`{"subscribers": [{"prefix": "10.0.0.0/33", "phone": "13800138000"}]}`, "subscribers[0]: prefix"},
		{`{"subscribers": [{"prefix": "", "phone": "13800138000"}]}`, "subscribers[0]: prefix"},
		{`{"subscribers": [{"prefix": "fe80::1%eth0", "phone": "13800138000"}]}`, "zones"},
		{`{"subscribers": [{"prefix": "10.0.0.1", "phone": "1380013800"}]}`, "subscribers[0]: phone"},
		{`{"subscribers": [{"prefix": "10.0.0.1", "phone": "14000138000"}]}`, "no operator"},
		{`{"subscribers": [{"prefix": "10.0.0.1", "phone": "13800138000"}, {"prefix": "10.0.0.1/32", "phone": "13900139000"}]}`, "subscribers[1]: prefix 10.0.0.1/32 is listed twice"},
		{`{"trustedProxies": ["nope"]}`, "trustedProxies[0]"},
		{`{"enrichmentHeader": "X MSISDN"}`, "enrichmentHeader"},
		{`{"ticketTTL": "soon"}`, "ticketTTL"},
		{`{"ticketTTL": "-1m"}`, "ticketTTL"},
		{`{"faults": {"X1!": {}}}`, "unknown operator"},
		{`{"faults": {"CM": {"latency": "fast"}}}`, "faults.CM: latency"},
		{`{"faults": {"CM": {"latency": "-1s"}}}`, "negative"},
		{`{"faults": {"CM": {"errorRate": 2}}}`, "errorRate"},
		{`{"faults": {"CM": {"errorRate": -0.1}}}`, "errorRate"},
		{`{"faults": {"CM": {"errorRate": "0.1"}}}`, "cannot unmarshal"},
	} {
		_, err := ParseConfig([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseConfig(%s) = %v, want an error containing %q", c.in, err, c.want)
		}
	}
}

func TestParseSubscriber(t *testing.T) {
	for in, want := range map[string]Subscriber{
		"10.0.0.0/24=13800138000":         {Prefix: pfx("10.0.0.0/24"), Phone: "+8613800138000", Operator: "CM"},
		"10.0.0.9/24=13800138000":         {Prefix: pfx("10.0.0.0/24"), Phone: "+8613800138000", Operator: "CM"},
		"10.0.0.9=13800138000":            {Prefix: pfx("10.0.0.9/32"), Phone: "+8613800138000", Operator: "CM"},
		" 10.0.0.9 = +86 138 0013 8000":   {Prefix: pfx("10.0.0.9/32"), Phone: "+8613800138000", Operator: "CM"},
		"2001:db8::1=18600001111":         {Prefix: pfx("2001:db8::1/128"), Phone: "+8618600001111", Operator: "CU"},
		"2001:db8::/32=18600001111":       {Prefix: pfx("2001:db8::/32"), Phone: "+8618600001111", Operator: "CU"},
		"::ffff:10.0.0.9=13800138000":     {Prefix: pfx("10.0.0.9/32"), Phone: "+8613800138000", Operator: "CM"},
		"::ffff:10.0.0.0/104=13800138000": {Prefix: pfx("10.0.0.0/8"), Phone: "+8613800138000", Operator: "CM"},
		"0.0.0.0/0=13800138000":           {Prefix: pfx("0.0.0.0/0"), Phone: "+8613800138000", Operator: "CM"},
	} {
		got, err := ParseSubscriber(in)
		if err != nil || got != want {
			t.Errorf("ParseSubscriber(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "=", "10.0.0.1", "10.0.0.1=", "=13800138000", "10.0.0.1=138", "10.0.0.1=13800138000=1",
		"10.0.0.256=13800138000", "10.0.0.0/33=13800138000", "fe80::1%eth0=13800138000",
		"host.example=13800138000", "10.0.0.1=14000138000", "::ffff:0:0/90=13800138000",
	} {
		_, err := ParseSubscriber(in)
		if err == nil {
			t.Errorf("ParseSubscriber(%q) succeeded", in)
			continue
		}
		if regexp.MustCompile(`1[3-9]\d{9}`).MatchString(err.Error()) {
			t.Errorf("ParseSubscriber(%q) error shows a number: %v", in, err)
		}
	}
}

func FuzzParseSubscriber(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/24=13800138000", "2001:db8::1=+86 186 0000 1111", "::ffff:10.0.0.0/104=13800138000",
		"=", "a=b", "fe80::1%x=13800138000", "1.2.3.4/0=008613800138000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sub, err := ParseSubscriber(in)
		if err != nil {
			return
		}
		c, l, err := checkSubscriber(sub)
		if err != nil {
			t.Fatalf("ParseSubscriber(%q) = %v, which AddSubscriber rejects: %v", in, sub, err)
		}
		if c != sub {
			t.Fatalf("ParseSubscriber(%q) = %v, not canonical (%v)", in, sub, c)
		}
		if op, ok := carrier.OperatorOf(sub.Phone); carrier.IsMainland(sub.Phone) && (!ok || op != l.op) {
			t.Fatalf("operator of %s: %s", carrier.Mask(sub.Phone), l.op)
		}
		if !carrier.IsMainland(sub.Phone) && (!carrier.ValidOperator(l.op) || v1Code(l.op) != 0) {
			t.Fatalf("operator of %s: %s, a mainland operator or none", carrier.Mask(sub.Phone), l.op)
		}
		again, err := ParseSubscriber(sub.Prefix.String() + "=" + sub.Phone + "@" + string(l.op))
		if err != nil || again != sub {
			t.Fatalf("round trip of %v: %v, %v", sub, again, err)
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(exampleConfig))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"faults":{"CU":{"latency":"1h","errorRate":1}}}`))
	f.Add([]byte(`{"subscribers":[{"prefix":"::/0","phone":"19912345678"}],"trustedProxies":["0.0.0.0/0"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		if _, err := New(cfg); err != nil {
			t.Fatalf("ParseConfig accepted a config New rejects: %v", err)
		}
	})
}
