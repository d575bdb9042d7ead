package smpp_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	fpdu "github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
	"github.com/fiorix/go-smpp/smpp/smpptest"

	"github.com/numauth/numauth/internal/sms/smstest"
)

// TestMain quiets smpptest, which logs every connection the tests close
// to the standard logger.
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// SMPP 3.4 command_status values the test SMSC answers with.
const (
	statusOK         fpdu.Status = 0x00
	statusSysErr     fpdu.Status = 0x08
	statusInvSrcAdr  fpdu.Status = 0x0A
	statusInvDstAdr  fpdu.Status = 0x0B
	statusBindFail   fpdu.Status = 0x0D
	statusInvPaswd   fpdu.Status = 0x0E
	statusMsgQFul    fpdu.Status = 0x14
	statusThrottled  fpdu.Status = 0x58
	statusPermAppErr fpdu.Status = 0x65
	statusInvCmdID   fpdu.Status = 0x03
	statusNone       fpdu.Status = 0xFFFFFFFF // not answered
)

// testSMSC is the peer of the provider's tests: the SMSC of
// github.com/fiorix/go-smpp (package smpptest: its listener, its bind
// check against a user and password, its PDU codec), with a handler that
// answers like an SMSC: submit_sm_resp with a message_id or a chosen
// status, a delivery receipt for every accepted submit_sm that asks for
// one, enquire_link_resp, unbind_resp.
//
// In front of it stands a front door, a loopback TCP forwarder at an
// address fixed for the test, so that the SMSC can be down (nothing
// listens), come up at the same address, drop every connection, or be
// swapped for one with another password. The front door can also answer
// the bind itself with a refusal status (fiorix's smpptest closes the
// connection on a wrong password without a bind_resp).
type testSMSC struct {
	t    *testing.T
	addr string
	tls  *tls.Config // the front door's, when the SMSC speaks TLS

	mu        sync.Mutex
	srv       *smpptest.Server
	ln        net.Listener // nil while down
	conns     map[net.Conn]bool
	accepted  int
	bindReply bindReply

	refused   map[string]fpdu.Status // destination digits → status
	answer    fpdu.Status            // status for every other submit_sm
	silent    bool                   // answer no submit_sm
	mute      bool                   // answer nothing at all
	receipt   string                 // stat of the receipts sent (DELIVRD)
	receipts  bool
	nextID    int
	subs      []submitted
	enquiries int
	respHdrs  []fpdu.Header // deliver_sm_resp and enquire_link_resp seen
	writers   map[smpptest.Conn]*sync.Mutex
	last      smpptest.Conn
}

// bindReply is how the front door answers a bind on its own.
type bindReply int

const (
	bindPass       bindReply = iota // to the SMSC
	bindRefuseBody                  // bind_transceiver_resp with a status and system_id
	bindRefuseBare                  // the header alone, as SMPP 3.4 §4.1 says of a refusal
)

// submitted is one submit_sm as the SMSC decoded it.
type submitted struct {
	seq                 uint32
	srcTON, srcNPI      byte
	src                 string
	dstTON, dstNPI      byte
	dst                 string
	esm, coding, regDel byte
	udh, body           []byte
	status              fpdu.Status
	id                  string
}

// newTestSMSC starts an SMSC (user smpptest.DefaultUser, password
// smpptest.DefaultPasswd) and its front door at a fresh loopback address;
// up says whether the front door listens from the start.
func newTestSMSC(t *testing.T, up bool) *testSMSC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testSMSC{
		t: t, addr: ln.Addr().String(), conns: map[net.Conn]bool{},
		refused: map[string]fpdu.Status{}, receipt: "DELIVRD", receipts: true,
		writers: map[smpptest.Conn]*sync.Mutex{},
	}
	ln.Close()
	s.setServer(smpptest.DefaultUser, smpptest.DefaultPasswd)
	if up {
		s.up()
	}
	t.Cleanup(func() {
		s.down()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.srv.Close()
	})
	return s
}

// setServer replaces the SMSC with a fresh one that accepts user and
// passwd; the front door sends new connections to it.
func (s *testSMSC) setServer(user, passwd string) {
	srv := smpptest.NewUnstartedServer()
	srv.User, srv.Passwd = user, passwd
	srv.Handler = s.handle
	srv.Start()
	s.mu.Lock()
	old := s.srv
	s.srv = srv
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// up makes the front door listen at s.addr.
func (s *testSMSC) up() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port was ours a moment ago
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("test SMSC: listen again on %s: %v", s.addr, err)
	}
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	go s.accept(ln)
}

// down closes the listener and every connection: the SMSC is unreachable.
func (s *testSMSC) down() {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.drop()
}

// drop closes every connection and keeps listening.
func (s *testSMSC) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
	clear(s.conns)
	clear(s.writers)
	s.last = nil
}

func (s *testSMSC) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.ln != ln { // went down meanwhile
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.accepted++
		s.mu.Unlock()
		go s.forward(c)
	}
}

// forward answers the bind itself when told to, else pipes the connection
// to the SMSC.
func (s *testSMSC) forward(c net.Conn) {
	defer s.forget(c)
	r := bufio.NewReader(c)
	s.mu.Lock()
	reply, upstream := s.bindReply, s.srv.Addr()
	s.mu.Unlock()
	if reply != bindPass {
		bind, err := fpdu.Decode(r)
		if err != nil {
			return
		}
		status := statusBindFail
		if f := bind.Fields()[pdufield.Password]; f != nil && f.String() != smpptest.DefaultPasswd {
			status = statusInvPaswd
		}
		var out bytes.Buffer
		if reply == bindRefuseBare {
			h := fpdu.Header{Len: fpdu.HeaderLen, ID: bind.Header().ID | 0x80000000, Status: status, Seq: bind.Header().Seq}
			err = h.SerializeTo(&out)
		} else {
			resp := fpdu.NewBindTransceiverResp()
			resp.Header().Status, resp.Header().Seq = status, bind.Header().Seq
			err = resp.SerializeTo(&out)
		}
		if err == nil {
			c.Write(out.Bytes())
		}
		return
	}
	up, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, r); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}

func (s *testSMSC) forget(c net.Conn) {
	c.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// write sends p on c, one writer at a time (the smpptest connection does
// not serialise writers itself).
func (s *testSMSC) write(c smpptest.Conn, p fpdu.Body) error {
	s.mu.Lock()
	w := s.writers[c]
	if w == nil {
		w = &sync.Mutex{}
		s.writers[c] = w
	}
	s.mu.Unlock()
	w.Lock()
	defer w.Unlock()
	return c.Write(p)
}

// handle is the SMSC's handler for every PDU after the bind.
func (s *testSMSC) handle(c smpptest.Conn, m fpdu.Body) {
	s.mu.Lock()
	s.last = c
	mute := s.mute
	s.mu.Unlock()
	if mute {
		return
	}
	h := m.Header()
	switch h.ID {
	case fpdu.SubmitSMID:
		s.submit(c, m)
	case fpdu.EnquireLinkID:
		s.mu.Lock()
		s.enquiries++
		s.mu.Unlock()
		s.write(c, fpdu.NewEnquireLinkRespSeq(h.Seq))
	case fpdu.EnquireLinkRespID, fpdu.DeliverSMRespID:
		s.mu.Lock()
		s.respHdrs = append(s.respHdrs, *h)
		s.mu.Unlock()
	case fpdu.UnbindID:
		resp := fpdu.NewUnbindResp()
		resp.Header().Seq = h.Seq
		s.write(c, resp)
		c.Close()
	default:
		nack := fpdu.NewGenericNACK()
		nack.Header().Seq, nack.Header().Status = h.Seq, statusInvCmdID
		s.write(c, nack)
	}
}

func (s *testSMSC) submit(c smpptest.Conn, m fpdu.Body) {
	f := m.Fields()
	byteOf := func(n pdufield.Name) byte {
		if v := f[n]; v != nil && len(v.Bytes()) > 0 {
			return v.Bytes()[0]
		}
		return 0
	}
	strOf := func(n pdufield.Name) string {
		if v := f[n]; v != nil {
			return v.String()
		}
		return ""
	}
	sub := submitted{
		seq:    m.Header().Seq,
		srcTON: byteOf(pdufield.SourceAddrTON), srcNPI: byteOf(pdufield.SourceAddrNPI), src: strOf(pdufield.SourceAddr),
		dstTON: byteOf(pdufield.DestAddrTON), dstNPI: byteOf(pdufield.DestAddrNPI), dst: strOf(pdufield.DestinationAddr),
		esm: byteOf(pdufield.ESMClass), coding: byteOf(pdufield.DataCoding), regDel: byteOf(pdufield.RegisteredDelivery),
	}
	if sm := f[pdufield.ShortMessage]; sm != nil {
		sub.body = append([]byte(nil), sm.Bytes()...)
	}
	if sub.esm&0x40 != 0 && len(sub.body) > 0 { // UDH indicator: the UDH leads the short message
		n := int(sub.body[0]) + 1
		if n > len(sub.body) {
			n = len(sub.body)
		}
		sub.udh, sub.body = sub.body[:n], sub.body[n:]
	}
	s.mu.Lock()
	if s.silent {
		sub.status = statusNone
		s.subs = append(s.subs, sub)
		s.mu.Unlock()
		return
	}
	status, refused := s.refused[sub.dst]
	if !refused {
		status = s.answer
	}
	sub.status = status
	if status == statusOK {
		s.nextID++
		sub.id = fmt.Sprintf("%08X", 0x5A000000+s.nextID)
	}
	s.subs = append(s.subs, sub)
	stat, receipts, n := s.receipt, s.receipts, s.nextID
	s.mu.Unlock()

	resp := fpdu.NewSubmitSMResp()
	resp.Header().Seq, resp.Header().Status = sub.seq, status
	resp.Fields().Set(pdufield.MessageID, sub.id)
	if err := s.write(c, resp); err != nil || status != statusOK || !receipts || sub.regDel&0x01 == 0 {
		return
	}
	s.write(c, receiptPDU(sub, stat, n%2 == 0))
}

// receiptPDU is the SMSC's delivery receipt for sub: the standard text,
// and with tlvs also the receipted_message_id and message_state TLVs.
//
// It is written through fiorix's SubmitSM codec under the deliver_sm
// command id: the two bodies have the same fields (SMPP 3.4 §4.4.1,
// §4.6.1), and fiorix's DeliverSM writes a stray UDH length octet into
// every deliver_sm without a UDH.
func receiptPDU(sub submitted, stat string, tlvs bool) fpdu.Body {
	fields := pdutlv.Fields{}
	if tlvs {
		states := map[string]uint8{"DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "ACCEPTD": 6, "UNKNOWN": 7, "REJECTD": 8}
		fields[pdutlv.TagReceiptedMessageID] = pdutlv.CString(sub.id)
		fields[pdutlv.TagMessageStateOption] = states[stat]
	}
	d := fpdu.NewSubmitSM(fields)
	d.Header().ID = fpdu.DeliverSMID
	f := d.Fields()
	f.Set(pdufield.SourceAddrTON, sub.dstTON)
	f.Set(pdufield.SourceAddrNPI, sub.dstNPI)
	f.Set(pdufield.SourceAddr, sub.dst)
	f.Set(pdufield.DestAddrTON, sub.srcTON)
	f.Set(pdufield.DestAddrNPI, sub.srcNPI)
	f.Set(pdufield.DestinationAddr, sub.src)
	f.Set(pdufield.ESMClass, uint8(0x04)) // SMSC delivery receipt
	now := time.Now().UTC().Format("0601021504")
	err := "000"
	if stat != "DELIVRD" {
		err = "001"
	}
	f.Set(pdufield.ShortMessage, fmt.Sprintf("id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:%s err:%s text:", sub.id, now, now, stat, err))
	return d
}

// --- what the tests look at and switch ---

func (s *testSMSC) set(fn func(s *testSMSC)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func (s *testSMSC) submits() []submitted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]submitted(nil), s.subs...)
}

func (s *testSMSC) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// received reassembles what the SMSC accepted for one E.164 number, one
// entry per message, segments joined by their UDH concatenation header.
func (s *testSMSC) received(t *testing.T, to string) []smstest.Delivered {
	t.Helper()
	msgs, err := reassemble(s.submits(), strings.TrimPrefix(to, "+"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]smstest.Delivered, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, smstest.Delivered{Text: m.text})
	}
	return out
}

// message is one whole message the SMSC accepted.
type message struct {
	text  string
	parts []submitted
}

// reassemble joins the accepted submit_sm to dst into messages: a
// submit_sm without a concatenation header is a message, the others are
// joined by reference number in segment order once every segment is in.
func reassemble(subs []submitted, dst string) ([]message, error) {
	var out []message
	type key struct{ ref, total byte }
	parts := map[key][]submitted{}
	var order []key
	for _, sub := range subs {
		if sub.dst != dst || sub.status != statusOK {
			continue
		}
		ref, total, seq, ok := concat(sub.udh)
		if !ok {
			text, err := decode(sub.coding, sub.body)
			if err != nil {
				return nil, err
			}
			out = append(out, message{text: text, parts: []submitted{sub}})
			continue
		}
		k := key{ref, total}
		if parts[k] == nil {
			parts[k] = make([]submitted, total)
			order = append(order, k)
		}
		if seq == 0 || seq > total {
			return nil, fmt.Errorf("segment %d of %d", seq, total)
		}
		parts[k][seq-1] = sub
	}
	for _, k := range order {
		var body []byte
		complete := true
		for _, p := range parts[k] {
			if p.id == "" {
				complete = false
				break
			}
			if p.coding != parts[k][0].coding {
				return nil, fmt.Errorf("segments of one message in data_coding %d and %d", parts[k][0].coding, p.coding)
			}
			body = append(body, p.body...)
		}
		if !complete {
			continue
		}
		text, err := decode(parts[k][0].coding, body)
		if err != nil {
			return nil, err
		}
		out = append(out, message{text: text, parts: parts[k]})
	}
	return out, nil
}

// concat reads a UDH's concatenation element (8- or 16-bit reference).
func concat(udh []byte) (ref, total, seq byte, ok bool) {
	if len(udh) == 0 {
		return 0, 0, 0, false
	}
	ies := udh[1:]
	for len(ies) >= 2 {
		id, n := ies[0], int(ies[1])
		if len(ies) < 2+n {
			break
		}
		v := ies[2 : 2+n]
		switch {
		case id == 0x00 && n == 3:
			return v[0], v[1], v[2], true
		case id == 0x08 && n == 4:
			return v[1], v[2], v[3], true
		}
		ies = ies[2+n:]
	}
	return 0, 0, 0, false
}

// decode is fiorix's text codec for a data_coding.
func decode(coding byte, b []byte) (string, error) {
	switch pdutext.DataCoding(coding) {
	case pdutext.DefaultType:
		return string(pdutext.GSM7(b).Decode()), nil
	case pdutext.UCS2Type:
		return string(pdutext.UCS2(b).Decode()), nil
	}
	return "", fmt.Errorf("data_coding %#x", coding)
}

// sendEnquireLink sends an enquire_link from the SMSC on the last
// connection that spoke, and returns its sequence number.
func (s *testSMSC) sendEnquireLink(t *testing.T) uint32 {
	t.Helper()
	s.mu.Lock()
	c := s.last
	s.mu.Unlock()
	if c == nil {
		t.Fatal("test SMSC: no connection has spoken yet")
	}
	p := fpdu.NewEnquireLink()
	if err := s.write(c, p); err != nil {
		t.Fatal(err)
	}
	return p.Header().Seq
}

// sendDeliver sends a deliver_sm from the SMSC on the last connection
// that spoke.
func (s *testSMSC) sendDeliver(t *testing.T, p fpdu.Body) {
	t.Helper()
	s.mu.Lock()
	c := s.last
	s.mu.Unlock()
	if c == nil {
		t.Fatal("test SMSC: no connection has spoken yet")
	}
	if err := s.write(c, p); err != nil {
		t.Fatal(err)
	}
}

// answered reports whether the provider answered the SMSC's request seq
// with response id.
func (s *testSMSC) answered(id fpdu.ID, seq uint32) (fpdu.Header, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.respHdrs {
		if h.ID == id && h.Seq == seq {
			return h, true
		}
	}
	return fpdu.Header{}, false
}
