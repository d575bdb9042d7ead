// Package smpp is numauth's SMPP 3.4 SMS provider (--sms-provider smpp): it
// binds to an SMSC as a transceiver, submits each text with submit_sm and
// reports the SMSC's delivery receipts. It is built on the SMPP client
// library github.com/linxGnu/gosmpp.
//
// # Flags
//
//	--sms-smpp-addr HOST:PORT   the SMSC (required)
//	--sms-smpp-system-id ID     bind system_id
//	--sms-smpp-password PW      bind password; when empty, the environment
//	                            variable NUMAUTH_SMS_SMPP_PASSWORD, so that
//	                            the password need not be on the command line
//	--sms-smpp-system-type T    bind system_type (default empty)
//	--sms-smpp-source-addr A    the sender: "+8613800138000" (TON
//	                            international, NPI ISDN), bare digits such as
//	                            a short code (TON unknown, NPI ISDN), or an
//	                            alphanumeric sender id of at most 11 ASCII
//	                            characters (TON alphanumeric); empty lets the
//	                            SMSC choose
//	--sms-smpp-enquire-link D   enquire_link interval (default 30s); a link
//	                            silent for this interval plus the submit
//	                            timeout counts as dropped
//	--sms-smpp-submit-timeout D how long one submit_sm waits for its
//	                            submit_sm_resp (default 10s); it also bounds
//	                            connecting and binding
//	--sms-smpp-window N         submit_sm awaiting their response at once
//	                            (default 10)
//	--sms-smpp-tls              connect with TLS (system roots)
//	--sms-smpp-tls-ca FILE      PEM roots to trust for the SMSC instead of the
//	                            system's (implies --sms-smpp-tls)
//
// # Sending
//
// The destination goes as TON international, NPI ISDN, the E.164 digits
// without "+". Text in the GSM 7-bit default alphabet and its extension
// table goes as data_coding 0 (one septet per octet; the SMSC packs it),
// any other text as UCS-2 (data_coding 8, UTF-16 so that emoji survive).
// Longer texts go as several submit_sm with a UDH concatenation header
// (153 septets or 134 octets a segment), one after the other; the message's
// ProviderID is the SMSC's message_id of the first segment. Every segment
// asks for a delivery receipt (registered_delivery 1).
//
// # Errors
//
// Send's error wraps sms.ErrUnavailable when the SMSC answered
// ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR, ESME_RX_T_APPN,
// ESME_RSUBMITFAIL, ESME_RINVBNDSTS or ESME_RUNKNOWNERR, when no
// submit_sm_resp came within the submit timeout, when the link dropped
// while waiting, when the window stayed full for the submit timeout, and at
// once (without waiting) while the provider is not bound: the SMSC
// unreachable, the link dropped, or the bind refused; also for an
// ESME_ROK without a message_id, which no receipt could be matched to. Every other
// command_status (ESME_RINVDSTADR, ESME_RINVSRCADR, ESME_RX_P_APPN, ESME_RX_R_APPN, vendor
// codes, …) wraps sms.ErrRejected, as do a recipient that is not E.164 and a
// text too long for 255 segments. The error names the status, e.g.
// "ESME_RTHROTTLED (0x58)".
//
// # Connection
//
// The provider binds in the background: New waits for the first attempt
// only, and a provider whose SMSC is down at start is built anyway and
// answers ErrUnavailable until it is bound. After a failed attempt or a
// dropped link it binds again after 0.5 s, doubling up to 30 s (±20 %). A
// refused bind (ESME_RINVPASWD, ESME_RBINDFAIL, …) is logged as an error
// naming the status and retried on the same schedule, so that a password
// fixed on the SMSC's side is picked up without a restart. enquire_link is
// sent on the interval and the SMSC's enquire_link and unbind are answered.
//
// # Receipts
//
// A deliver_sm whose esm_class marks an SMSC delivery receipt is read from
// its receipted_message_id and message_state TLVs when present, else from
// the standard receipt text ("id:… stat:DELIVRD … done date:YYMMDDhhmm …",
// dates read as UTC); DELIVRD is reported as sms.StatusDelivered with
// ErrCode "DELIVERED", UNDELIV, EXPIRED, REJECTD, DELETED and UNKNOWN as
// sms.StatusFailed with the stat as ErrCode; ENROUTE and ACCEPTD are not
// final and not reported. A receipt for a later segment of a long message
// is reported under the first segment's id when it reports a failure and
// dropped otherwise. Every deliver_sm is answered with deliver_sm_resp:
// ESME_ROK, or ESME_RX_T_APPN (the SMSC retries) when the provider's
// receipt queue is full; mobile-originated messages are acknowledged and
// ignored.
//
// # Limits
//
// One transceiver bind (no separate transmitter and receiver binds); no
// submit rate limit beyond the window (throttling answers count as
// ErrUnavailable); a submit_sm_resp that comes after the submit timeout is
// ignored, though the SMSC may still deliver that message; receipt ids are
// matched as the SMSC writes them (no hexadecimal/decimal reconciliation);
// data_sm receipts are not read; Message.ID is not sent, so a retried Send
// delivers again; a segment refused after earlier ones were accepted
// leaves those with the SMSC. Send never logs the text, and logs numbers
// masked ("+86138****5678").
package smpp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"github.com/numauth/numauth/internal/sms"
)

// Name is the provider's registered name.
const Name = "smpp"

// PasswordEnv is the environment variable the bind password is read from
// when --sms-smpp-password is empty.
const PasswordEnv = "NUMAUTH_SMS_SMPP_PASSWORD"

func init() {
	sms.Register(sms.Registration{Name: Name, Flags: func(fs *flag.FlagSet) sms.Builder {
		var cfg Config
		var useTLS bool
		var caFile string
		fs.StringVar(&cfg.Addr, "sms-smpp-addr", "", "SMPP: the SMSC's HOST:PORT (required with --sms-provider smpp)")
		fs.StringVar(&cfg.SystemID, "sms-smpp-system-id", "", "SMPP: bind system_id")
		fs.StringVar(&cfg.Password, "sms-smpp-password", "", "SMPP: bind password (default $"+PasswordEnv+")")
		fs.StringVar(&cfg.SystemType, "sms-smpp-system-type", "", "SMPP: bind system_type")
		fs.StringVar(&cfg.SourceAddr, "sms-smpp-source-addr", "", "SMPP: the sender: +E.164 number, digits (short code) or an alphanumeric id of up to 11 characters")
		fs.DurationVar(&cfg.EnquireLink, "sms-smpp-enquire-link", 30*time.Second, "SMPP: enquire_link interval")
		fs.DurationVar(&cfg.SubmitTimeout, "sms-smpp-submit-timeout", 10*time.Second, "SMPP: how long a submit_sm waits for its submit_sm_resp (also bounds connecting and binding)")
		fs.IntVar(&cfg.Window, "sms-smpp-window", 10, "SMPP: submit_sm awaiting their response at once")
		fs.BoolVar(&useTLS, "sms-smpp-tls", false, "SMPP: connect to the SMSC with TLS")
		fs.StringVar(&caFile, "sms-smpp-tls-ca", "", "SMPP: PEM file of the roots to trust for the SMSC's certificate (implies --sms-smpp-tls)")
		return func(ctx context.Context, env sms.Env) (sms.Provider, error) {
			if cfg.Password == "" {
				cfg.Password = os.Getenv(PasswordEnv)
			}
			if useTLS || caFile != "" {
				tc, err := tlsConfig(caFile)
				if err != nil {
					return nil, err
				}
				cfg.TLS = tc
			}
			cfg.Logger, cfg.Receipts, cfg.Now = env.Logger, env.Receipts, env.Now
			return New(ctx, cfg)
		}
	}})
}

func tlsConfig(caFile string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--sms-smpp-tls-ca: %w", err)
	}
	tc.RootCAs = x509.NewCertPool()
	if !tc.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--sms-smpp-tls-ca: %s holds no PEM certificate", caFile)
	}
	return tc, nil
}

// Config configures the provider; zero durations and sizes take the flags'
// defaults.
type Config struct {
	Addr                           string // HOST:PORT, required
	SystemID, Password, SystemType string
	SourceAddr                     string
	EnquireLink                    time.Duration
	SubmitTimeout                  time.Duration
	Window                         int
	// TLS, when set, connects with TLS; an empty ServerName is the host of
	// Addr.
	TLS *tls.Config
	// ReconnectMin and ReconnectMax bound the backoff between bind
	// attempts (0.5 s and 30 s).
	ReconnectMin, ReconnectMax time.Duration
	Logger                     *slog.Logger
	Receipts                   sms.Receipts
	Now                        func() time.Time
}

// Provider is the SMPP provider. It is safe for concurrent use.
type Provider struct {
	cfg    Config
	src    pdu.Address
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closer sync.Once

	mu   sync.Mutex
	link *link // nil while not bound
	down error // why not bound

	window   chan struct{}
	receipts chan sms.Receipt
	segs     segmentIndex
	ref      atomic.Uint32 // concatenation references
}

// receiptQueue bounds the receipts waiting for cfg.Receipts.
const receiptQueue = 1024

// New returns a provider for cfg and starts binding to the SMSC. It waits
// for the first bind attempt (or ctx), not for its success: when the SMSC
// is down, the provider is returned anyway and binds later.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Addr == "" {
		return nil, errors.New("--sms-smpp-addr is required")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("--sms-smpp-addr %q: %w", cfg.Addr, err)
	}
	src, err := source(cfg.SourceAddr)
	if err != nil {
		return nil, fmt.Errorf("--sms-smpp-source-addr: %w", err)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.EnquireLink, 30*time.Second)
	def(&cfg.SubmitTimeout, 10*time.Second)
	def(&cfg.ReconnectMin, 500*time.Millisecond)
	def(&cfg.ReconnectMax, 30*time.Second)
	if cfg.EnquireLink < 0 || cfg.SubmitTimeout < 0 || cfg.ReconnectMin < 0 || cfg.ReconnectMax < cfg.ReconnectMin {
		return nil, errors.New("SMPP durations must be positive, and the reconnect maximum at least its minimum")
	}
	if cfg.Window == 0 {
		cfg.Window = 10
	}
	if cfg.Window < 1 {
		return nil, errors.New("--sms-smpp-window must be at least 1")
	}
	if cfg.TLS != nil && cfg.TLS.ServerName == "" {
		host, _, _ := net.SplitHostPort(cfg.Addr)
		cfg.TLS = cfg.TLS.Clone()
		cfg.TLS.ServerName = host
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Receipts == nil {
		cfg.Receipts = func(context.Context, sms.Receipt) {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Provider{
		cfg:      cfg,
		src:      src,
		log:      cfg.Logger.With("sms_provider", Name, "smsc", cfg.Addr),
		down:     errors.New("not bound yet"),
		window:   make(chan struct{}, cfg.Window),
		receipts: make(chan sms.Receipt, receiptQueue),
		segs:     segmentIndex{max: 4096},
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	first := make(chan struct{})
	p.wg.Add(2)
	go p.run(first)
	go p.deliverReceipts()
	select {
	case <-first:
	case <-ctx.Done():
	}
	return p, nil
}

// Close unbinds, closes the connection and stops the provider's
// goroutines; receipts still queued are dropped.
func (p *Provider) Close() error {
	p.closer.Do(func() {
		p.cancel()
		p.wg.Wait()
	})
	return nil
}

// current returns the bound link, or nil and why there is none.
func (p *Provider) current() (*link, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.link, p.down
}

func (p *Provider) setLink(l *link, down error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.link, p.down = l, down
}

// run binds, waits for the link to drop, and binds again with backoff,
// until Close. The backoff starts again from its minimum after a link that
// lasted at least the maximum, so that a link that drops at once is not
// rebound in a tight loop.
func (p *Provider) run(first chan struct{}) {
	defer p.wg.Done()
	started := func() {
		if first != nil {
			close(first)
			first = nil
		}
	}
	defer started()
	closed := errors.New("the provider is closed")
	backoff := p.cfg.ReconnectMin
	for {
		wait := jitter(backoff)
		l, err := p.bind()
		var refused *bindRefused
		switch {
		case err == nil:
			p.setLink(l, nil)
			p.log.Info("SMPP bound", "system_id", p.cfg.SystemID, "smsc_system_id", l.sess.Transceiver().SystemID())
			started()
			bound := time.Now()
			select {
			case <-l.lost:
				p.setLink(nil, l.why)
				p.log.Warn("SMPP link lost; binding again", "err", l.why, "retry_in", wait.Round(time.Millisecond))
			case <-p.ctx.Done():
				p.setLink(nil, closed)
				l.fail(closed)
			}
			_ = l.sess.Close()
			l.stop()
			if time.Since(bound) >= p.cfg.ReconnectMax {
				backoff, wait = p.cfg.ReconnectMin, jitter(p.cfg.ReconnectMin)
			}
		case errors.As(err, &refused):
			p.setLink(nil, err)
			p.log.Error("SMPP bind refused; retrying", "status", refused.status.String(), "code", fmt.Sprintf("0x%02X", uint32(refused.status)), "system_id", p.cfg.SystemID, "retry_in", wait.Round(time.Millisecond))
		default:
			p.setLink(nil, err)
			if p.ctx.Err() == nil {
				p.log.Warn("SMPP connect failed; retrying", "err", err, "retry_in", wait.Round(time.Millisecond))
			}
		}
		started()
		select {
		case <-time.After(wait):
		case <-p.ctx.Done():
			p.setLink(nil, closed)
			return
		}
		backoff = min(2*backoff, p.cfg.ReconnectMax)
	}
}

// jitter spreads d by ±20 %.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}

// link is one bound session and the submit_sm awaiting their response.
type link struct {
	sess *gosmpp.Session
	stop func() bool // stops closing the connection when the provider closes

	mu    sync.Mutex
	waits map[int32]waiter

	lost chan struct{}
	once sync.Once
	why  error // set before lost is closed
}

// reply is the SMSC's answer to one submit_sm: its response PDU, or why
// it could not be sent.
type reply struct {
	resp pdu.PDU
	err  error
}

func newLink() *link {
	return &link{waits: map[int32]waiter{}, lost: make(chan struct{})}
}

func (l *link) fail(err error) {
	l.once.Do(func() {
		l.why = err
		close(l.lost)
	})
}

// waiter is a submit_sm awaiting its response: where the response goes,
// and for a later segment of a long message the first segment's
// message_id.
type waiter struct {
	ch    chan reply
	first string
}

func (l *link) expect(seq int32, first string) chan reply {
	ch := make(chan reply, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits[seq] = waiter{ch: ch, first: first}
	return ch
}

func (l *link) forget(seq int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.waits, seq)
}

// take removes and returns the submit_sm with sequence number seq.
func (l *link) take(seq int32) (waiter, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.waits[seq]
	delete(l.waits, seq)
	return w, ok
}

// bind connects and binds one transceiver session.
func (p *Provider) bind() (*link, error) {
	l := newLink()
	watch := &headWatch{}
	l.stop = func() bool { return false }
	dial := func(addr string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.SubmitTimeout)
		defer cancel()
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		if p.cfg.TLS != nil {
			tc := tls.Client(c, p.cfg.TLS)
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = c.Close()
				return nil, fmt.Errorf("TLS: %w", err)
			}
			c = tc
		}
		// Bounds the bind: the session sets its own deadlines after it.
		_ = c.SetDeadline(time.Now().Add(p.cfg.SubmitTimeout))
		watch.Conn = c
		// Close ends a bind that is under way.
		l.stop = context.AfterFunc(p.ctx, func() { _ = c.Close() })
		return watch, nil
	}
	auth := gosmpp.Auth{SMSC: p.cfg.Addr, SystemID: p.cfg.SystemID, Password: p.cfg.Password, SystemType: p.cfg.SystemType}
	settings := gosmpp.Settings{
		// A link silent past an enquire_link and its answer is dead.
		ReadTimeout:  p.cfg.EnquireLink + p.cfg.SubmitTimeout,
		WriteTimeout: p.cfg.SubmitTimeout,
		EnquireLink:  p.cfg.EnquireLink,
		OnAllPDU:     func(x pdu.PDU) (pdu.PDU, bool) { return p.handle(l, x) },
		OnReceivingError: func(err error) {
			l.fail(fmt.Errorf("reading from the SMSC: %w", err))
		},
		OnSubmitError: func(x pdu.PDU, err error) {
			if w, ok := l.take(x.GetSequenceNumber()); ok {
				w.ch <- reply{err: fmt.Errorf("writing to the SMSC: %w", err)}
			}
		},
		OnClosed: func(s gosmpp.State) {
			if s != gosmpp.ExplicitClosing {
				l.fail(fmt.Errorf("the connection closed (%s)", s.String()))
			}
		},
	}
	sess, err := gosmpp.NewSession(gosmpp.TRXConnector(dial, auth), settings, 0)
	if err != nil {
		l.stop()
		var be gosmpp.BindError
		if errors.As(err, &be) {
			return nil, &bindRefused{status: be.CommandStatus}
		}
		if st, ok := bindRefusal(watch.head()); ok {
			return nil, &bindRefused{status: st}
		}
		return nil, fmt.Errorf("connecting to %s: %w", p.cfg.Addr, err)
	}
	l.sess = sess
	return l, nil
}

// bindRefused is a bind_resp with an error status.
type bindRefused struct{ status data.CommandStatusType }

func (e *bindRefused) Error() string {
	return fmt.Sprintf("the SMSC refused the bind: %s", statusName(e.status))
}

func statusName(st data.CommandStatusType) string {
	return fmt.Sprintf("%s (0x%02X)", st.String(), uint32(st))
}

// handle answers what the SMSC sends on a bound link; it runs on the
// session's reading goroutine.
func (p *Provider) handle(l *link, x pdu.PDU) (pdu.PDU, bool) {
	switch q := x.(type) {
	case *pdu.SubmitSMResp, *pdu.GenericNack:
		w, ok := l.take(x.GetSequenceNumber())
		if !ok {
			p.log.Debug("SMPP response for no waiting submit_sm (after its timeout?)", "seq", x.GetSequenceNumber())
			return nil, false
		}
		// A later segment's id is known before its receipt, which the SMSC
		// may send right after this response on this same goroutine.
		if r, isResp := x.(*pdu.SubmitSMResp); isResp && w.first != "" && r.IsOk() && r.MessageID != "" {
			p.segs.add(w.first, r.MessageID)
		}
		w.ch <- reply{resp: x} // buffered, and answered once
		return nil, false
	case *pdu.DeliverSM:
		return p.deliver(q), false
	case *pdu.EnquireLink:
		return q.GetResponse(), false
	case *pdu.Unbind: // the session closes after answering, and OnClosed says so
		return q.GetResponse(), true
	}
	if x.CanResponse() {
		return x.GetResponse(), false
	}
	return nil, false
}

// deliver reads a deliver_sm and answers it.
func (p *Provider) deliver(d *pdu.DeliverSM) pdu.PDU {
	resp := d.GetResponse()
	r, ok, err := receiptOf(d, p.cfg.Now())
	switch {
	case errors.Is(err, errNotReceipt):
		p.log.Debug("SMPP deliver_sm that is not a receipt ignored", "esm_class", d.EsmClass)
	case err != nil:
		p.log.Warn("SMPP delivery receipt unreadable", "err", err)
	case !ok:
		// not final yet
	default:
		r, ok = p.segs.resolve(r)
		if !ok {
			break
		}
		select {
		case p.receipts <- r:
		default:
			p.log.Warn("SMPP receipt queue full; the SMSC will send the receipt again", "provider_id", r.ProviderID)
			if dr, isResp := resp.(*pdu.DeliverSMResp); isResp {
				dr.CommandStatus = data.ESME_RX_T_APPN
			}
		}
	}
	return resp
}

func (p *Provider) deliverReceipts() {
	defer p.wg.Done()
	for {
		select {
		case r := <-p.receipts:
			if p.ctx.Err() == nil {
				p.cfg.Receipts(p.ctx, r)
			}
		case <-p.ctx.Done():
			return
		}
	}
}

// Send submits m's text to the SMSC, one submit_sm per segment, and returns
// once the SMSC accepted every segment.
func (p *Provider) Send(ctx context.Context, m sms.Message) (sms.Accepted, error) {
	if err := ctx.Err(); err != nil {
		return sms.Accepted{}, fmt.Errorf("%w: %w", sms.ErrUnavailable, err)
	}
	dest, err := destination(m.To)
	if err != nil {
		return sms.Accepted{}, fmt.Errorf("%w: %w", sms.ErrRejected, err)
	}
	enc, segs, err := encodeText(m.Text)
	if err != nil {
		return sms.Accepted{}, fmt.Errorf("%w: %w", sms.ErrRejected, err)
	}
	l, down := p.current()
	if l == nil {
		p.log.Warn("SMS not sent: the SMSC is not bound", "id", m.ID, "to", sms.Mask(m.To), "err", down)
		return sms.Accepted{}, fmt.Errorf("%w: SMPP not bound: %w", sms.ErrUnavailable, down)
	}
	parts, err := shortMessages(enc, segs, byte(p.ref.Add(1)))
	if err != nil {
		return sms.Accepted{}, fmt.Errorf("%w: %w", sms.ErrRejected, err)
	}
	ids := make([]string, 0, len(parts))
	for i, msg := range parts {
		sub := pdu.NewSubmitSM().(*pdu.SubmitSM)
		sub.SourceAddr = p.src
		sub.DestAddr = dest
		sub.RegisteredDelivery = data.SM_SMSC_RECEIPT_REQUESTED
		sub.Message = msg
		if len(parts) > 1 {
			sub.EsmClass |= data.SM_UDH_GSM
		}
		first := ""
		if i > 0 {
			first = ids[0]
		}
		id, err := p.submit(ctx, l, sub, first)
		if err != nil {
			p.log.Warn("SMS not sent", "id", m.ID, "to", sms.Mask(m.To), "segment", i+1, "segments", len(parts), "err", err)
			return sms.Accepted{}, err
		}
		ids = append(ids, id)
	}
	p.log.Debug("SMS accepted by the SMSC", "id", m.ID, "to", sms.Mask(m.To), "provider_id", ids[0], "segments", len(ids), "data_coding", enc.DataCoding())
	return sms.Accepted{ProviderID: ids[0], Status: sms.StatusPending}, nil
}

// submit sends one submit_sm on l and waits, at most the submit timeout,
// for its response; it returns the SMSC's message_id.
func (p *Provider) submit(ctx context.Context, l *link, sub *pdu.SubmitSM, first string) (string, error) {
	timer := time.NewTimer(p.cfg.SubmitTimeout)
	defer timer.Stop()
	select {
	case p.window <- struct{}{}:
		defer func() { <-p.window }()
	case <-l.lost:
		return "", fmt.Errorf("%w: SMPP link lost: %w", sms.ErrUnavailable, l.why)
	case <-timer.C:
		return "", fmt.Errorf("%w: the SMPP window of %d stayed full for %v", sms.ErrUnavailable, p.cfg.Window, p.cfg.SubmitTimeout)
	case <-ctx.Done():
		return "", fmt.Errorf("%w: %w", sms.ErrUnavailable, ctx.Err())
	}
	seq := sub.GetSequenceNumber()
	ch := l.expect(seq, first)
	defer l.forget(seq)
	if err := l.sess.Transceiver().Submit(sub); err != nil {
		return "", fmt.Errorf("%w: submit_sm: %w", sms.ErrUnavailable, err)
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return "", fmt.Errorf("%w: submit_sm: %w", sms.ErrUnavailable, r.err)
		}
		return submitResult(r.resp)
	case <-l.lost:
		return "", fmt.Errorf("%w: SMPP link lost waiting for submit_sm_resp: %w", sms.ErrUnavailable, l.why)
	case <-timer.C:
		return "", fmt.Errorf("%w: no submit_sm_resp within %v", sms.ErrUnavailable, p.cfg.SubmitTimeout)
	case <-ctx.Done():
		return "", fmt.Errorf("%w: waiting for submit_sm_resp: %w", sms.ErrUnavailable, ctx.Err())
	}
}

// submitResult reads the SMSC's answer to a submit_sm.
func submitResult(resp pdu.PDU) (string, error) {
	st := resp.GetHeader().CommandStatus
	if err := statusError(st); err != nil {
		return "", fmt.Errorf("%w: the SMSC answered submit_sm with %s", err, statusName(st))
	}
	if _, nack := resp.(*pdu.GenericNack); nack {
		return "", fmt.Errorf("%w: the SMSC answered submit_sm with generic_nack", sms.ErrRejected)
	}
	r, _ := resp.(*pdu.SubmitSMResp)
	if r == nil || r.MessageID == "" {
		return "", fmt.Errorf("%w: the SMSC accepted submit_sm without a message_id", sms.ErrUnavailable)
	}
	return r.MessageID, nil
}

// statusError maps a submit_sm_resp's command_status: nil for ESME_ROK,
// sms.ErrUnavailable for a status that may pass, sms.ErrRejected for the
// rest.
func statusError(st data.CommandStatusType) error {
	switch st {
	case data.ESME_ROK:
		return nil
	case data.ESME_RTHROTTLED, data.ESME_RMSGQFUL, data.ESME_RSYSERR, data.ESME_RX_T_APPN,
		data.ESME_RSUBMITFAIL, data.ESME_RINVBNDSTS, data.ESME_RUNKNOWNERR:
		return sms.ErrUnavailable
	}
	return sms.ErrRejected
}

// segmentIndex maps the message_id of a long message's later segments to
// its first segment's, for the receipts; it forgets the oldest past max.
type segmentIndex struct {
	mu    sync.Mutex
	max   int
	first map[string]string
	order []string
}

func (s *segmentIndex) add(first, later string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first == nil {
		s.first = map[string]string{}
	}
	if _, dup := s.first[later]; !dup {
		s.order = append(s.order, later)
	}
	s.first[later] = first
	for len(s.order) > s.max {
		delete(s.first, s.order[0])
		s.order = s.order[1:]
	}
}

// resolve maps a later segment's receipt to the message: a failure is
// reported under the first segment's id, a delivery not at all (the first
// segment's receipt reports it).
func (s *segmentIndex) resolve(r sms.Receipt) (sms.Receipt, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, later := s.first[r.ProviderID]
	if !later {
		return r, true
	}
	if r.Status == sms.StatusDelivered {
		return r, false
	}
	r.ProviderID = first
	return r, true
}

// headWatch keeps the first PDU header the SMSC sends, so that a bind_resp
// gosmpp cannot read (SMPP 3.4 §4.1 omits the body of a refusal, and
// gosmpp then fails on a transceiver's missing system_id) still tells the
// refusal's status.
type headWatch struct {
	net.Conn
	mu  sync.Mutex
	got []byte
}

func (w *headWatch) Read(b []byte) (int, error) {
	n, err := w.Conn.Read(b)
	w.mu.Lock()
	if k := min(n, pduHeaderLen-len(w.got)); k > 0 {
		w.got = append(w.got, b[:k]...)
	}
	w.mu.Unlock()
	return n, err
}

func (w *headWatch) head() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]byte(nil), w.got...)
}

const pduHeaderLen = 16

// bindRefusal reads a PDU header: the status of a bind_resp that refuses.
func bindRefusal(h []byte) (data.CommandStatusType, bool) {
	if len(h) < pduHeaderLen {
		return 0, false
	}
	id := data.CommandIDType(binary.BigEndian.Uint32(h[4:8]))
	st := data.CommandStatusType(binary.BigEndian.Uint32(h[8:12]))
	switch id {
	case data.BIND_TRANSCEIVER_RESP, data.BIND_TRANSMITTER_RESP, data.BIND_RECEIVER_RESP:
		return st, st != data.ESME_ROK
	}
	return 0, false
}
