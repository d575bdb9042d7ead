// Package sms is numauth's SMS delivery contract: what a provider does, how
// providers register under a name and are built from their own flags, and
// (in package smstest) the conformance suite every provider passes.
//
// The rules about codes (how they are made, hashed, checked and budgeted)
// live in package auth; a provider only delivers a text it is given and
// reports what became of it. Providers know their outside system and
// nothing about each other, about numauth's stores or about HTTP APIs.
package sms

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Message is one text to deliver.
type Message struct {
	// ID is numauth's id of this send (the BizId the integrator sees). It is
	// unique per send, and it is the idempotency key: a provider that can
	// tell its peer about it (webhook) does, so that a retried Send never
	// delivers two messages.
	ID string
	// To is the recipient in E.164 form, e.g. "+8613800138000".
	To string
	// SignName and TemplateCode name the sign and the template the text was
	// rendered from. Providers that render on their own side (aliyun) send
	// these with Params instead of Text.
	SignName     string
	TemplateCode string
	// Params are the template's variables with the code filled in.
	Params map[string]string
	// Text is the whole rendered message, sign included, e.g.
	// "【numauth】验证码1234，5分钟内有效，请勿泄露。". It holds the code:
	// providers must never log it.
	Text string
}

// Status is a message's delivery state; the values are QuerySendDetails'
// SendStatus.
type Status int

const (
	// StatusPending: the provider accepted the message and a delivery
	// receipt is awaited.
	StatusPending Status = 1
	// StatusFailed: the message could not be delivered.
	StatusFailed Status = 2
	// StatusDelivered: the message reached the handset.
	StatusDelivered Status = 3
)

// Valid reports whether s is one of the three states.
func (s Status) Valid() bool { return s >= StatusPending && s <= StatusDelivered }

// Accepted is a provider's answer to a successful Send.
type Accepted struct {
	// ProviderID is the provider's id of the message (for a message sent in
	// several segments, the first segment's). Receipts name it.
	ProviderID string
	// Status is StatusPending, or StatusDelivered when the provider knows of
	// delivery at once (the sandbox).
	Status Status
}

// Receipt reports what became of a message after Send accepted it.
type Receipt struct {
	ProviderID string
	Status     Status // StatusDelivered or StatusFailed
	// ErrCode is "DELIVERED" for a delivered message, else the network's
	// status or error code (e.g. SMPP's "UNDELIV").
	ErrCode string
	At      time.Time // when the network reported it (UTC)
}

// Receipts is where a provider hands delivery receipts. Providers call it
// from their own goroutines, possibly concurrently, and must not block on
// it for long; it must be safe for concurrent use.
type Receipts func(ctx context.Context, r Receipt)

// Provider delivers texts. Implementations are safe for concurrent use.
type Provider interface {
	// Send hands m to the delivery network and returns once the network has
	// accepted it (or refused it, or ctx ended). It returns an error
	// wrapping ErrRejected or ErrUnavailable when the message was not
	// accepted; a message for which Send returned an error must not count as
	// sent. Send never logs m.Text or an unmasked m.To.
	Send(ctx context.Context, m Message) (Accepted, error)
	// Close releases connections and stops background work. Receipts
	// arriving after Close are dropped.
	Close() error
}

var (
	// ErrRejected: the network refused this message (an invalid number, a
	// sign or template it does not accept, content it blocks). Sending the
	// same message again will not help.
	ErrRejected = errors.New("sms: the provider rejected the message")
	// ErrUnavailable: the network could not be reached, did not answer in
	// time, or is throttling; the message was not accepted and may be tried
	// again later.
	ErrUnavailable = errors.New("sms: the provider is unavailable")
)

// Mask is how providers name a recipient in logs and errors: an E.164
// number with its last four digits and its country code's part shown and at
// least four digits starred ("+8613812345678" → "+86138****5678"); a short
// number keeps only its last two digits; anything else is "+***".
func Mask(to string) string {
	d, ok := strings.CutPrefix(to, "+")
	if !ok || len(d) < 7 || len(d) > 15 || strings.Trim(d, "0123456789") != "" {
		return "+***"
	}
	if len(d) < 9 { // too short to keep four digits on each side of the mask
		return "+" + strings.Repeat("*", len(d)-2) + d[len(d)-2:]
	}
	return "+" + d[:len(d)-8] + "****" + d[len(d)-4:]
}
