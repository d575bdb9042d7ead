package smpp_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	fpdu "github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/smpptest"

	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/sms/smpp"
	"github.com/numauth/numauth/internal/sms/smstest"
)

// config is the provider's configuration for s, with timings short enough
// for tests.
func config(s *testSMSC, env sms.Env) smpp.Config {
	return smpp.Config{
		Addr: s.addr, SystemID: smpptest.DefaultUser, Password: smpptest.DefaultPasswd,
		SourceAddr:  "numauth",
		EnquireLink: 2 * time.Second, SubmitTimeout: 2 * time.Second,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 300 * time.Millisecond,
		Logger: env.Logger, Receipts: env.Receipts, Now: env.Now,
	}
}

func start(t *testing.T, cfg smpp.Config) *smpp.Provider {
	t.Helper()
	p, err := smpp.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestConformance(t *testing.T) {
	smstest.Run(t, smstest.Harness{New: func(t *testing.T, env sms.Env) smstest.World {
		s := newTestSMSC(t, true)
		p := start(t, config(s, env))
		return smstest.World{
			Provider: p,
			Received: s.received,
			Reject: func(t *testing.T, to string) {
				s.set(func(s *testSMSC) { s.refused[strings.TrimPrefix(to, "+")] = statusInvDstAdr })
			},
			// An outage is the SMSC unreachable: listener and connections closed.
			Outage: func(t *testing.T, on bool) {
				if on {
					s.down()
				} else {
					s.up()
				}
			},
			Receipts: true,
		}
	}})
}

// logBuffer collects a provider's log for the tests that read it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// receiptLog collects receipts.
type receiptLog struct {
	mu sync.Mutex
	rs []sms.Receipt
}

func (r *receiptLog) add(_ context.Context, x sms.Receipt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rs = append(r.rs, x)
}

func (r *receiptLog) all() []sms.Receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sms.Receipt(nil), r.rs...)
}

// newProvider starts a provider for s, its configuration changed by tune
// (when not nil), and returns it with its log and its receipts.
func newProvider(t *testing.T, s *testSMSC, tune func(*smpp.Config)) (*smpp.Provider, *logBuffer, *receiptLog) {
	t.Helper()
	env, logs, rl := testEnv()
	cfg := config(s, env)
	if tune != nil {
		tune(&cfg)
	}
	return start(t, cfg), logs, rl
}

func testEnv() (sms.Env, *logBuffer, *receiptLog) {
	logs, rl := &logBuffer{}, &receiptLog{}
	return sms.Env{
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Receipts: rl.add,
		Now:      time.Now,
	}, logs, rl
}

var numbers struct {
	sync.Mutex
	n int
}

func msg(text string) sms.Message {
	numbers.Lock()
	defer numbers.Unlock()
	numbers.n++
	return sms.Message{ID: fmt.Sprintf("smpp-test-%d", numbers.n), To: fmt.Sprintf("+8617100%06d", numbers.n), Text: text}
}

func send(t *testing.T, p sms.Provider, m sms.Message) (sms.Accepted, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Send(ctx, m)
}

// eventually polls cond for up to d.
func eventually(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sendsAgain polls Send until it succeeds; every failure must be
// ErrUnavailable.
func sendsAgain(t *testing.T, p sms.Provider, within time.Duration) sms.Message {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m := msg("验证码2468")
		_, err := send(t, p, m)
		if err == nil {
			return m
		}
		if !errors.Is(err, sms.ErrUnavailable) {
			t.Fatalf("Send while recovering: %v, want ErrUnavailable", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the provider did not recover within %v: %v", within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSMSCDownAtStart(t *testing.T) {
	s := newTestSMSC(t, false)
	p, logs, _ := newProvider(t, s, nil)

	begin := time.Now()
	_, err := send(t, p, msg("验证码1357"))
	if !errors.Is(err, sms.ErrUnavailable) {
		t.Fatalf("Send with the SMSC down: %v, want ErrUnavailable", err)
	}
	if took := time.Since(begin); took > time.Second {
		t.Fatalf("Send with the SMSC down took %v; it should fail at once", took)
	}
	if !strings.Contains(logs.String(), "SMPP connect failed") {
		t.Errorf("the log does not say the connect failed:\n%s", logs)
	}

	s.up()
	m := sendsAgain(t, p, 10*time.Second)
	if got := s.received(t, m.To); len(got) != 1 || got[0].Text != m.Text {
		t.Fatalf("after the SMSC came up it received %+v, want %q", got, m.Text)
	}
}

func TestConnectionDropped(t *testing.T) {
	s := newTestSMSC(t, true)
	p, logs, _ := newProvider(t, s, nil)
	if _, err := send(t, p, msg("验证码1111")); err != nil {
		t.Fatal(err)
	}
	conns := s.connections()

	s.drop()
	m := sendsAgain(t, p, 10*time.Second)
	if got := s.received(t, m.To); len(got) != 1 {
		t.Fatalf("after the drop the SMSC received %d messages, want 1", len(got))
	}
	if s.connections() <= conns {
		t.Fatal("the provider sent again without a new connection")
	}
	if !strings.Contains(logs.String(), "SMPP link lost") {
		t.Errorf("the log does not say the link was lost:\n%s", logs)
	}

	// A Send waiting for its submit_sm_resp when the link drops fails at
	// once, not at the submit timeout.
	s.set(func(s *testSMSC) { s.silent = true })
	cfgTimeout := 2 * time.Second
	errc := make(chan error, 1)
	go func() {
		_, err := send(t, p, msg("验证码2222"))
		errc <- err
	}()
	eventually(t, "the SMSC sees the submit_sm", 5*time.Second, func() bool {
		subs := s.submits()
		return len(subs) > 0 && subs[len(subs)-1].status == statusNone
	})
	begin := time.Now()
	s.drop()
	err := <-errc
	if !errors.Is(err, sms.ErrUnavailable) {
		t.Fatalf("Send across a drop: %v, want ErrUnavailable", err)
	}
	if took := time.Since(begin); took >= cfgTimeout {
		t.Fatalf("Send across a drop waited %v, the whole submit timeout", took)
	}
	s.set(func(s *testSMSC) { s.silent = false })
	sendsAgain(t, p, 10*time.Second)
}

func TestSubmitTimeout(t *testing.T) {
	s := newTestSMSC(t, true)
	p, _, _ := newProvider(t, s, func(c *smpp.Config) { c.SubmitTimeout = 300 * time.Millisecond })
	sendsAgain(t, p, 10*time.Second) // bound (a slow machine may need a second bind)
	s.set(func(s *testSMSC) { s.silent = true })
	begin := time.Now()
	_, err := send(t, p, msg("验证码3690"))
	if !errors.Is(err, sms.ErrUnavailable) || !strings.Contains(err.Error(), "no submit_sm_resp") {
		t.Fatalf("Send to a silent SMSC: %v, want ErrUnavailable for the missing submit_sm_resp", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Fatalf("Send to a silent SMSC took %v, the submit timeout is 300ms", took)
	}
}

// TestCommandStatus: the SMSC's answers to submit_sm and what Send makes
// of them.
func TestCommandStatus(t *testing.T) {
	s := newTestSMSC(t, true)
	p, _, _ := newProvider(t, s, nil)
	cases := []struct {
		name   string
		status fpdu.Status
		want   error
	}{
		{"ESME_RTHROTTLED", statusThrottled, sms.ErrUnavailable},
		{"ESME_RMSGQFUL", statusMsgQFul, sms.ErrUnavailable},
		{"ESME_RSYSERR", statusSysErr, sms.ErrUnavailable},
		{"ESME_RINVDSTADR", statusInvDstAdr, sms.ErrRejected},
		{"ESME_RINVSRCADR", statusInvSrcAdr, sms.ErrRejected},
		{"ESME_RX_P_APPN", statusPermAppErr, sms.ErrRejected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.set(func(s *testSMSC) { s.answer = tc.status })
			m := msg("Your code is 8642")
			_, err := send(t, p, m)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Send answered %s: %v, want %v", tc.name, err, tc.want)
			}
			other := sms.ErrRejected
			if tc.want == sms.ErrRejected {
				other = sms.ErrUnavailable
			}
			if errors.Is(err, other) {
				t.Fatalf("Send answered %s: %v is also %v", tc.name, err, other)
			}
			if !strings.Contains(err.Error(), tc.name) {
				t.Errorf("the error %q does not name %s", err, tc.name)
			}
			if got := s.received(t, m.To); len(got) != 0 {
				t.Fatalf("a message answered %s counts as received: %+v", tc.name, got)
			}
		})
	}
	s.set(func(s *testSMSC) { s.answer = statusOK })
	if _, err := send(t, p, msg("Your code is 8642")); err != nil {
		t.Fatalf("after the SMSC stopped throttling: %v", err)
	}
}

func TestBindRefused(t *testing.T) {
	t.Run("smpptest closes on a wrong password", func(t *testing.T) {
		s := newTestSMSC(t, true)
		s.setServer(smpptest.DefaultUser, "other-secret")
		p, logs, _ := newProvider(t, s, nil)
		if _, err := send(t, p, msg("验证码5555")); !errors.Is(err, sms.ErrUnavailable) {
			t.Fatalf("Send with the bind refused: %v, want ErrUnavailable", err)
		}
		if strings.Contains(logs.String(), smpptest.DefaultPasswd) {
			t.Fatalf("the log holds the password:\n%s", logs)
		}
		// The SMSC's side takes the provider's password: it binds again by itself.
		s.setServer(smpptest.DefaultUser, smpptest.DefaultPasswd)
		sendsAgain(t, p, 10*time.Second)
	})
	for _, tc := range []struct {
		name   string
		reply  bindReply
		passwd string
		status string
	}{
		{"ESME_RINVPASWD with a body", bindRefuseBody, "wrong", "ESME_RINVPASWD"},
		{"ESME_RINVPASWD header only", bindRefuseBare, "wrong", "ESME_RINVPASWD"},
		{"ESME_RBINDFAIL header only", bindRefuseBare, smpptest.DefaultPasswd, "ESME_RBINDFAIL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSMSC(t, true)
			s.set(func(s *testSMSC) { s.bindReply = tc.reply })
			p, logs, _ := newProvider(t, s, func(c *smpp.Config) { c.Password = tc.passwd })
			_, err := send(t, p, msg("验证码5555"))
			if !errors.Is(err, sms.ErrUnavailable) || !strings.Contains(err.Error(), tc.status) {
				t.Fatalf("Send with the bind refused: %v, want ErrUnavailable naming %s", err, tc.status)
			}
			eventually(t, "an error log naming the status", 5*time.Second, func() bool {
				for _, line := range strings.Split(logs.String(), "\n") {
					if strings.Contains(line, "level=ERROR") && strings.Contains(line, "bind refused") && strings.Contains(line, tc.status) {
						return true
					}
				}
				return false
			})
			// It keeps trying: once the SMSC binds it, it sends.
			tries := s.connections()
			eventually(t, "another bind attempt", 5*time.Second, func() bool { return s.connections() > tries })
			s.set(func(s *testSMSC) { s.bindReply = bindPass })
			if tc.passwd != smpptest.DefaultPasswd {
				s.setServer(smpptest.DefaultUser, tc.passwd)
			}
			sendsAgain(t, p, 10*time.Second)
		})
	}
}

// TestSegments: a long text goes as several submit_sm with UDH
// concatenation, each segment within one SMS and decodable on its own,
// and the SMSC's reassembly is the text exactly.
func TestSegments(t *testing.T) {
	s := newTestSMSC(t, true)
	p, _, rl := newProvider(t, s, nil)
	chinese := strings.Repeat("验证码20250101，五分钟内有效，请勿泄露给他人。", 12)
	cases := []struct {
		name     string
		text     string
		coding   byte
		segments int
		limit    int // octets of user data a segment, UDH aside
	}{
		{"short chinese", "验证码4821，5分钟内有效。", 0x08, 1, 140},
		{"70 UCS-2 characters are one SMS", strings.Repeat("码", 70), 0x08, 1, 140},
		{"71 UCS-2 characters are two", strings.Repeat("码", 71), 0x08, 2, 134},
		{"long chinese", chinese, 0x08, (len(utf16.Encode([]rune(chinese)))*2 + 133) / 134, 134},
		// 66 characters then an emoji across the 67th/68th UTF-16 unit: it moves whole to segment 2.
		{"surrogate pair at the cut", strings.Repeat("码", 66) + "😀" + strings.Repeat("码", 10), 0x08, 2, 134},
		{"160 GSM characters are one SMS", strings.Repeat("a", 160), 0x00, 1, 160},
		{"161 are two", strings.Repeat("a", 161), 0x00, 2, 153},
		// An escape (€ is 1B 65) across the 153rd septet moves whole to segment 2.
		{"escape at the cut", strings.Repeat("a", 152) + "€" + strings.Repeat("b", 20), 0x00, 2, 153},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := msg(tc.text)
			acc, err := send(t, p, m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := reassemble(s.submits(), strings.TrimPrefix(m.To, "+"))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("the SMSC has %d messages, want 1", len(got))
			}
			if got[0].text != tc.text {
				t.Fatalf("reassembled %q, want %q", got[0].text, tc.text)
			}
			parts := got[0].parts
			if len(parts) != tc.segments {
				t.Fatalf("%d segments, want %d", len(parts), tc.segments)
			}
			if acc.ProviderID != parts[0].id {
				t.Errorf("ProviderID %q, want the first segment's message_id %q", acc.ProviderID, parts[0].id)
			}
			var joined strings.Builder
			for i, part := range parts {
				if part.coding != tc.coding {
					t.Errorf("segment %d: data_coding %#x, want %#x", i+1, part.coding, tc.coding)
				}
				if len(part.body) > tc.limit {
					t.Errorf("segment %d: %d octets, more than %d", i+1, len(part.body), tc.limit)
				}
				if part.regDel&0x01 == 0 {
					t.Errorf("segment %d: registered_delivery %#x asks for no receipt", i+1, part.regDel)
				}
				if multi := len(parts) > 1; multi != (part.esm&0x40 != 0) {
					t.Errorf("segment %d: esm_class %#x, UDHI should be %v", i+1, part.esm, multi)
				}
				if part.dstTON != 0x01 || part.dstNPI != 0x01 || "+"+part.dst != m.To {
					t.Errorf("segment %d: destination TON %d NPI %d %q, want 1 1 %q", i+1, part.dstTON, part.dstNPI, part.dst, strings.TrimPrefix(m.To, "+"))
				}
				if part.srcTON != 0x05 || part.src != "numauth" {
					t.Errorf("segment %d: source TON %d %q, want alphanumeric numauth", i+1, part.srcTON, part.src)
				}
				alone, err := decode(part.coding, part.body)
				if err != nil || strings.ContainsRune(alone, '\uFFFD') {
					t.Errorf("segment %d does not decode on its own: %q %v", i+1, alone, err)
				}
				joined.WriteString(alone)
			}
			if joined.String() != tc.text {
				t.Errorf("the segments decoded one by one give %q", joined.String())
			}
			// Every segment's receipt arrives; the message has exactly one, under the first id.
			eventually(t, "the receipt", 5*time.Second, func() bool {
				for _, r := range rl.all() {
					if r.ProviderID == acc.ProviderID {
						return true
					}
				}
				return false
			})
			time.Sleep(50 * time.Millisecond)
			for _, r := range rl.all() {
				for _, part := range parts[1:] {
					if r.ProviderID == part.id {
						t.Errorf("a later segment's delivery was reported: %+v", r)
					}
				}
			}
		})
	}
}

func TestEnquireLink(t *testing.T) {
	s := newTestSMSC(t, true)
	p, _, _ := newProvider(t, s, func(c *smpp.Config) { c.EnquireLink = 100 * time.Millisecond })
	// The provider sends enquire_link on its interval (the SMSC answers).
	eventually(t, "three enquire_link from the provider", 5*time.Second, func() bool {
		var n int
		s.set(func(s *testSMSC) { n = s.enquiries })
		return n >= 3
	})
	// It answers the SMSC's.
	seq := s.sendEnquireLink(t)
	eventually(t, "enquire_link_resp", 5*time.Second, func() bool {
		h, ok := s.answered(fpdu.EnquireLinkRespID, seq)
		return ok && h.Status == statusOK
	})
	// The link stayed up all along.
	if n := s.connections(); n != 1 {
		t.Fatalf("%d connections, want the one", n)
	}
	if _, err := send(t, p, msg("验证码1212")); err != nil {
		t.Fatal(err)
	}
}

// TestDeadLink: an SMSC that stops answering (not even enquire_link) on
// an open connection is left, and bound again, once the read timeout
// (enquire-link interval plus submit timeout) passes.
func TestDeadLink(t *testing.T) {
	s := newTestSMSC(t, true)
	p, logs, _ := newProvider(t, s, func(c *smpp.Config) { c.EnquireLink, c.SubmitTimeout = 100*time.Millisecond, 200*time.Millisecond })
	eventually(t, "the first enquire_link", 5*time.Second, func() bool {
		var n int
		s.set(func(s *testSMSC) { n = s.enquiries })
		return n >= 1
	})
	s.set(func(s *testSMSC) { s.mute = true })
	eventually(t, "a new connection after the dead link", 10*time.Second, func() bool { return s.connections() >= 2 })
	if !strings.Contains(logs.String(), "SMPP link lost") {
		t.Errorf("the log does not say the link was lost:\n%s", logs)
	}
	s.set(func(s *testSMSC) { s.mute = false })
	sendsAgain(t, p, 10*time.Second)
}

func TestReceipts(t *testing.T) {
	for _, stat := range []string{"DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "DELETED", "UNKNOWN"} {
		t.Run(stat, func(t *testing.T) {
			s := newTestSMSC(t, true)
			s.set(func(s *testSMSC) { s.receipt = stat })
			p, _, rl := newProvider(t, s, nil)
			want := map[string]sms.Receipt{}
			for i := 0; i < 2; i++ { // one receipt with the TLVs, one with the text alone
				acc, err := send(t, p, msg("验证码7777"))
				if err != nil {
					t.Fatal(err)
				}
				r := sms.Receipt{ProviderID: acc.ProviderID, Status: sms.StatusFailed, ErrCode: stat}
				if stat == "DELIVRD" {
					r.Status, r.ErrCode = sms.StatusDelivered, "DELIVERED"
				}
				want[acc.ProviderID] = r
			}
			eventually(t, "both receipts", 5*time.Second, func() bool { return len(rl.all()) >= 2 })
			for _, r := range rl.all() {
				w, ok := want[r.ProviderID]
				if !ok || r.Status != w.Status || r.ErrCode != w.ErrCode || r.At.IsZero() || r.At.Location() != time.UTC {
					t.Errorf("receipt %+v, want %+v with a UTC time", r, w)
				}
			}
			// Every deliver_sm was answered with deliver_sm_resp ESME_ROK.
			eventually(t, "deliver_sm_resp for both receipts", 5*time.Second, func() bool {
				var n int
				s.set(func(s *testSMSC) {
					for _, h := range s.respHdrs {
						if h.ID == fpdu.DeliverSMRespID && h.Status == statusOK {
							n++
						}
					}
				})
				return n >= 2
			})
		})
	}
	t.Run("not final or not a receipt", func(t *testing.T) {
		s := newTestSMSC(t, true)
		s.set(func(s *testSMSC) { s.receipt = "ENROUTE" })
		p, _, rl := newProvider(t, s, nil)
		if _, err := send(t, p, msg("验证码7777")); err != nil {
			t.Fatal(err)
		}
		mo := fpdu.NewSubmitSM(nil)
		mo.Header().ID = fpdu.DeliverSMID
		mo.Fields().Set(pdufield.SourceAddr, "8613800138000")
		mo.Fields().Set(pdufield.ShortMessage, "id:1 stat:DELIVRD a mobile-originated text")
		s.sendDeliver(t, mo)
		eventually(t, "deliver_sm_resp for both", 5*time.Second, func() bool {
			_, ok := s.answered(fpdu.DeliverSMRespID, mo.Header().Seq)
			var n int
			s.set(func(s *testSMSC) { n = len(s.respHdrs) })
			return ok && n >= 2
		})
		if got := rl.all(); len(got) != 0 {
			t.Fatalf("reported %+v for an ENROUTE receipt and a mobile-originated message", got)
		}
	})
}

func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	s := newTestSMSC(t, false)
	s.tls = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.up()
	p, _, _ := newProvider(t, s, func(c *smpp.Config) { c.TLS = &tls.Config{RootCAs: pool} })
	m := msg("验证码4321")
	if _, err := send(t, p, m); err != nil {
		t.Fatal(err)
	}
	if got := s.received(t, m.To); len(got) != 1 || got[0].Text != m.Text {
		t.Fatalf("over TLS the SMSC received %+v", got)
	}

	// --sms-smpp-tls-ca trusts the roots in a PEM file.
	ca := t.TempDir() + "/smsc-ca.pem"
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	build := sms.Flags(fs)
	if err := fs.Parse([]string{"--sms-smpp-addr", s.addr, "--sms-smpp-system-id", smpptest.DefaultUser, "--sms-smpp-password", smpptest.DefaultPasswd, "--sms-smpp-tls-ca", ca}); err != nil {
		t.Fatal(err)
	}
	env, _, _ := testEnv()
	pf, err := build(context.Background(), "smpp", env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pf.Close() })
	if _, err := send(t, pf, msg("验证码4321")); err != nil {
		t.Fatalf("Send with --sms-smpp-tls-ca: %v", err)
	}

	// A provider that does not trust the certificate does not bind.
	p2, _, _ := newProvider(t, s, func(c *smpp.Config) { c.TLS = &tls.Config{} })
	if _, err := send(t, p2, msg("验证码4321")); !errors.Is(err, sms.ErrUnavailable) || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("Send through an untrusted certificate: %v, want ErrUnavailable for TLS", err)
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test SMSC"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestFlags: the registration's flags build a provider, the password
// from the environment when the flag is empty.
func TestFlags(t *testing.T) {
	s := newTestSMSC(t, true)
	t.Setenv(smpp.PasswordEnv, smpptest.DefaultPasswd)
	env, _, _ := testEnv()

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	build := sms.Flags(fs)
	if err := fs.Parse([]string{"--sms-smpp-addr", s.addr, "--sms-smpp-system-id", smpptest.DefaultUser, "--sms-smpp-source-addr", "+8610086", "--sms-smpp-submit-timeout", "3s"}); err != nil {
		t.Fatal(err)
	}
	p, err := build(context.Background(), "smpp", env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	m := msg("Your code is 9090")
	if _, err := send(t, p, m); err != nil {
		t.Fatalf("Send with the password from $%s: %v", smpp.PasswordEnv, err)
	}
	subs := s.submits()
	if last := subs[len(subs)-1]; last.srcTON != 0x01 || last.srcNPI != 0x01 || last.src != "8610086" || last.coding != 0x00 {
		t.Fatalf("source TON %d NPI %d %q, data_coding %#x; want 1 1 8610086, GSM 7-bit", last.srcTON, last.srcNPI, last.src, last.coding)
	}

	for _, args := range [][]string{
		{},                            // no address
		{"--sms-smpp-addr", "nohost"}, // no port
		{"--sms-smpp-addr", s.addr, "--sms-smpp-source-addr", "a sender id that is too long"},
		{"--sms-smpp-addr", s.addr, "--sms-smpp-tls-ca", t.TempDir() + "/missing.pem"},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		build := sms.Flags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if p, err := build(context.Background(), "smpp", env); err == nil {
			p.Close()
			t.Errorf("flags %q built a provider", args)
		}
	}
}

// TestClose: Send after Close fails as unavailable, and Close returns
// even while the SMSC is unreachable.
func TestClose(t *testing.T) {
	s := newTestSMSC(t, false)
	env, _, _ := testEnv()
	p, err := smpp.New(context.Background(), config(s, env))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
	if _, err := send(t, p, msg("验证码0000")); !errors.Is(err, sms.ErrUnavailable) {
		t.Fatalf("Send after Close: %v, want ErrUnavailable", err)
	}
}
