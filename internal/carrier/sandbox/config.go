package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/carrier"
)

// File is the JSON form of a Config, as LoadFile reads it:
//
//	{
//	  "subscribers": [{"prefix": "10.0.0.0/24", "phone": "13800138000"},
//	                  {"prefix": "10.0.1.0/24", "phone": "+447700900123", "operator": "VF"}],
//	  "trustedProxies": ["192.0.2.10/32"],
//	  "enrichmentHeader": "X-MSISDN",
//	  "ticketTTL": "1h",
//	  "faults": {"CM": {"latency": "200ms", "errorRate": 0.1, "maintenance": false, "quotaExhausted": false}}
//	}
//
// Every field is optional. A prefix may be a bare address (/32 or /128). A
// phone is a mainland number in any form carrier.NormalizePhone reads or an
// E.164 number of any country; operator is optional (a mainland number's is
// its block's allocation; another's defaults to DefaultOperator).
// The ticket key is not part of the file: it is a secret, and comes from
// wherever numauth keeps its secrets.
type File struct {
	Subscribers      []SubscriberJSON     `json:"subscribers,omitempty"`
	TrustedProxies   []string             `json:"trustedProxies,omitempty"`
	EnrichmentHeader string               `json:"enrichmentHeader,omitempty"`
	TicketTTL        string               `json:"ticketTTL,omitempty"`
	Faults           map[string]FaultJSON `json:"faults,omitempty"`
}

// SubscriberJSON is a subscriber in the file and the admin API.
type SubscriberJSON struct {
	Prefix string `json:"prefix"`
	Phone  string `json:"phone"`
	// Operator: on input, optional (see File); on output, the line's.
	Operator string `json:"operator,omitempty"`
}

// FaultJSON is a Fault in the file and the admin API; Latency is a Go
// duration ("200ms", "1.5s"), empty for none.
type FaultJSON struct {
	Latency        string  `json:"latency"`
	ErrorRate      float64 `json:"errorRate"`
	Maintenance    bool    `json:"maintenance"`
	QuotaExhausted bool    `json:"quotaExhausted"`
}

// maxConfigSize bounds a config file: a big subscriber table fits.
const maxConfigSize = 16 << 20

// LoadFile reads a JSON config file (see File). The result has no Key,
// Logger or Now: set them before New.
func LoadFile(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return Config{}, err
	}
	if len(data) > maxConfigSize {
		return Config{}, fmt.Errorf("sandbox: %s: larger than %d bytes", path, maxConfigSize)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses the JSON form of a Config (see File). Unknown fields are
// errors, so that a misspelt setting is not silently ignored. Every value is
// checked as New checks it.
func ParseConfig(data []byte) (Config, error) {
	var f File
	if err := decodeStrict(bytes.NewReader(data), &f); err != nil {
		return Config{}, fmt.Errorf("sandbox: config: %w", err)
	}
	return f.Config()
}

// decodeStrict decodes exactly one JSON value with no unknown fields.
func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// Config returns the Config f describes, or the first error in it.
func (f File) Config() (Config, error) {
	var cfg Config
	var err error
	for i, sj := range f.Subscribers {
		sub, err := sj.subscriber()
		if err != nil {
			return Config{}, fmt.Errorf("sandbox: config: subscribers[%d]: %w", i, err)
		}
		cfg.Subscribers = append(cfg.Subscribers, sub)
	}
	if _, err := index(cfg.Subscribers); err != nil {
		return Config{}, err
	}
	for i, s := range f.TrustedProxies {
		p, err := ParsePrefix(s)
		if err != nil {
			return Config{}, fmt.Errorf("sandbox: config: trustedProxies[%d]: %w", i, err)
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, p)
	}
	if cfg.EnrichmentHeader, err = enrichmentHeader(f.EnrichmentHeader); err != nil {
		return Config{}, fmt.Errorf("sandbox: config: enrichmentHeader: %w", err)
	}
	if f.TicketTTL != "" {
		if cfg.TicketTTL, err = time.ParseDuration(f.TicketTTL); err != nil || cfg.TicketTTL <= 0 {
			return Config{}, fmt.Errorf("sandbox: config: ticketTTL %q is not a positive duration", f.TicketTTL)
		}
	}
	for name, fj := range f.Faults {
		op := carrier.Operator(name)
		if !carrier.ValidOperator(op) {
			return Config{}, fmt.Errorf("sandbox: config: faults: unknown operator %q (want CM, CU, CT, or a code of 2 to 8 of A-Z and 0-9)", name)
		}
		fault, err := fj.fault()
		if err != nil {
			return Config{}, fmt.Errorf("sandbox: config: faults.%s: %w", name, err)
		}
		if cfg.Faults == nil {
			cfg.Faults = map[carrier.Operator]Fault{}
		}
		cfg.Faults[op] = fault
	}
	return cfg, nil
}

func (sj SubscriberJSON) subscriber() (Subscriber, error) {
	p, err := ParsePrefix(sj.Prefix)
	if err != nil {
		// Not the parser's text: it repeats the input, which may be a
		// phone number put on the wrong side.
		if strings.Contains(sj.Prefix, "%") {
			return Subscriber{}, errors.New("prefix: IPv6 zones are not allowed")
		}
		return Subscriber{}, errors.New("prefix: not an IP address or CIDR prefix")
	}
	phone, op, err := checkPhone(sj.Phone, carrier.Operator(sj.Operator))
	if err != nil {
		return Subscriber{}, fmt.Errorf("phone: %w", err)
	}
	return Subscriber{Prefix: p, Phone: phone, Operator: op}, nil
}

func (fj FaultJSON) fault() (Fault, error) {
	var f Fault
	if fj.Latency != "" {
		d, err := time.ParseDuration(fj.Latency)
		if err != nil {
			return Fault{}, fmt.Errorf("latency %q is not a duration such as \"200ms\"", fj.Latency)
		}
		f.Latency = d
	}
	f.ErrorRate, f.Maintenance, f.QuotaExhausted = fj.ErrorRate, fj.Maintenance, fj.QuotaExhausted
	return f, f.validate()
}

func faultJSON(f Fault) FaultJSON {
	return FaultJSON{Latency: f.Latency.String(), ErrorRate: f.ErrorRate, Maintenance: f.Maintenance, QuotaExhausted: f.QuotaExhausted}
}

// ParseSubscriber parses the flag form of a subscriber,
// "ADDR_OR_CIDR=PHONE[@OPERATOR]" ("10.0.0.0/24=13800138000",
// "2001:db8::1=+86 186 0000 1111", "192.0.2.7=+447700900123@VF"); a bare
// address stands for itself alone (/32 or /128). OPERATOR is optional, as
// in the file (see File).
func ParseSubscriber(s string) (Subscriber, error) {
	prefix, phone, ok := strings.Cut(s, "=")
	if !ok {
		return Subscriber{}, errors.New("sandbox: subscriber: want ADDR_OR_CIDR=PHONE[@OPERATOR]")
	}
	phone, op, at := strings.Cut(phone, "@")
	if at && op == "" {
		return Subscriber{}, errors.New("sandbox: subscriber: an empty OPERATOR after '@'")
	}
	sub, err := SubscriberJSON{Prefix: prefix, Phone: phone, Operator: op}.subscriber()
	if err != nil {
		return Subscriber{}, fmt.Errorf("sandbox: subscriber: %w", err)
	}
	return sub, nil
}
