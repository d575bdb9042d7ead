package smpp

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"github.com/numauth/numauth/internal/sms"
)

func TestParseReceipt(t *testing.T) {
	done := time.Date(2025, 3, 14, 15, 9, 0, 0, time.UTC)
	cases := []struct {
		name, in string
		want     receiptText
		err      bool
	}{
		{"standard", "id:0123456789 sub:001 dlvrd:001 submit date:2503141508 done date:2503141509 stat:DELIVRD err:000 text:验证码1234",
			receiptText{ID: "0123456789", Stat: "DELIVRD", Err: "000", Done: done}, false},
		{"capital Text and seconds", "id:5A00 sub:001 dlvrd:000 submit date:250314150800 done date:250314150900 stat:UNDELIV err:013 Text:stat:DELIVRD id:forged",
			receiptText{ID: "5A00", Stat: "UNDELIV", Err: "013", Done: done}, false},
		{"any case and order", "STAT:expired ID:abc", receiptText{ID: "abc", Stat: "EXPIRED"}, false},
		{"unknown fields skipped", "id:1 foo:bar baz stat:REJECTD", receiptText{ID: "1", Stat: "REJECTD"}, false},
		{"unreadable date", "id:1 done date:25031415 stat:DELIVRD", receiptText{ID: "1", Stat: "DELIVRD"}, false},
		{"impossible date", "id:1 done date:2513991599 stat:DELIVRD", receiptText{ID: "1", Stat: "DELIVRD"}, false},
		{"extra spaces", "  id:1\t\tstat:DELIVRD\r\n", receiptText{ID: "1", Stat: "DELIVRD"}, false},
		{"no id", "sub:001 stat:DELIVRD", receiptText{}, true},
		{"empty id", "id: stat:DELIVRD", receiptText{}, true},
		{"no stat", "id:1 err:000", receiptText{}, true},
		{"stat only in the text", "id:1 text:stat:DELIVRD", receiptText{}, true},
		{"id twice", "id:1 id:2 stat:DELIVRD", receiptText{}, true},
		{"not a receipt", "hello, this is a message from a phone", receiptText{}, true},
		{"empty", "", receiptText{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseReceipt(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("parseReceipt(%q) error %v, want error %v", tc.in, err, tc.err)
			}
			if got != tc.want {
				t.Fatalf("parseReceipt(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzParseReceipt(f *testing.F) {
	for _, s := range []string{
		"id:0123456789 sub:001 dlvrd:001 submit date:2503141508 done date:2503141509 stat:DELIVRD err:000 text:hi",
		"id:1 stat:UNDELIV", "ID:x STAT:x DONE DATE:250314150900", "submit date:", "id:", "text:", "id:1 id:1",
		"stat:\xff id:\x00", "done date:9999999999 id:a stat:b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseReceipt(s)
		if err != nil {
			if r != (receiptText{}) {
				t.Fatalf("an error with a result: %+v", r)
			}
			return
		}
		if r.ID == "" || r.Stat == "" {
			t.Fatalf("no error without id or stat: %+v", r)
		}
		if strings.ContainsAny(r.ID+r.Stat+r.Err, " \t\r\n") {
			t.Fatalf("a value holds white space: %+v", r)
		}
		if !strings.Contains(strings.ToUpper(s), r.Stat) || !strings.Contains(s, r.ID) {
			t.Fatalf("values not from the input: %+v", r)
		}
		if !r.Done.IsZero() && r.Done.Location() != time.UTC {
			t.Fatalf("done date not in UTC: %v", r.Done)
		}
	})
}

// deliverSM builds a deliver_sm as an SMSC sends it, through gosmpp's
// encoder and parser.
func deliverSM(t testing.TB, esm byte, text string, tlvs map[pdu.Tag][]byte) *pdu.DeliverSM {
	t.Helper()
	d := pdu.NewDeliverSM().(*pdu.DeliverSM)
	d.EsmClass = esm
	sm, err := pdu.NewBinaryShortMessageWithEncoding([]byte(text), data.GSM7BIT)
	if err != nil {
		t.Fatal(err)
	}
	d.Message = sm
	for tag, v := range tlvs {
		d.RegisterOptionalParam(pdu.Field{Tag: tag, Data: v})
	}
	buf := pdu.NewBuffer(nil)
	d.Marshal(buf)
	p, err := pdu.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return p.(*pdu.DeliverSM)
}

func TestReceiptOf(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("CST", 8*3600))
	text := "id:AAA sub:001 dlvrd:001 submit date:2503141508 done date:2503141509 stat:DELIVRD err:000 text:"
	done := time.Date(2025, 3, 14, 15, 9, 0, 0, time.UTC)
	cases := []struct {
		name string
		esm  byte
		text string
		tlvs map[pdu.Tag][]byte
		want sms.Receipt
		ok   bool
		err  bool
	}{
		{"text", 0x04, text, nil, sms.Receipt{ProviderID: "AAA", Status: sms.StatusDelivered, ErrCode: "DELIVERED", At: done}, true, false},
		{"the TLVs win", 0x04, text, map[pdu.Tag][]byte{pdu.TagReceiptedMessageID: []byte("BBB\x00"), pdu.TagMessageStateOption: {5}},
			sms.Receipt{ProviderID: "BBB", Status: sms.StatusFailed, ErrCode: "UNDELIV", At: done}, true, false},
		{"TLVs alone, time of arrival", 0x04, "", map[pdu.Tag][]byte{pdu.TagReceiptedMessageID: []byte("CCC\x00"), pdu.TagMessageStateOption: {3}},
			sms.Receipt{ProviderID: "CCC", Status: sms.StatusFailed, ErrCode: "EXPIRED", At: now.UTC()}, true, false},
		{"text in message_payload", 0x04, "", map[pdu.Tag][]byte{pdu.TagMessagePayload: []byte("id:DDD stat:REJECTD")},
			sms.Receipt{ProviderID: "DDD", Status: sms.StatusFailed, ErrCode: "REJECTD", At: now.UTC()}, true, false},
		{"other esm_class bits kept", 0x84, "id:E stat:DELETED", nil, sms.Receipt{ProviderID: "E", Status: sms.StatusFailed, ErrCode: "DELETED", At: now.UTC()}, true, false},
		{"UNKNOWN is a failure", 0x04, "id:F stat:UNKNOWN", nil, sms.Receipt{ProviderID: "F", Status: sms.StatusFailed, ErrCode: "UNKNOWN", At: now.UTC()}, true, false},
		{"ENROUTE is not final", 0x04, "id:G stat:ENROUTE", nil, sms.Receipt{}, false, false},
		{"ACCEPTD state TLV is not final", 0x04, text, map[pdu.Tag][]byte{pdu.TagMessageStateOption: {6}}, sms.Receipt{}, false, false},
		{"an unknown stat is not reported", 0x04, "id:H stat:WHATEVR", nil, sms.Receipt{}, false, false},
		{"mobile originated", 0x00, "id:I stat:DELIVRD", nil, sms.Receipt{}, false, true},
		{"no text, no TLVs", 0x04, "", nil, sms.Receipt{}, false, true},
		{"unreadable text", 0x04, "hello", nil, sms.Receipt{}, false, true},
		{"message_state out of range", 0x04, text, map[pdu.Tag][]byte{pdu.TagMessageStateOption: {42}}, sms.Receipt{}, false, true},
		{"an id TLV without a state", 0x04, "", map[pdu.Tag][]byte{pdu.TagReceiptedMessageID: []byte("J\x00")}, sms.Receipt{}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := receiptOf(deliverSM(t, tc.esm, tc.text, tc.tlvs), now)
			if (err != nil) != tc.err || ok != tc.ok {
				t.Fatalf("receiptOf: ok %v, err %v; want ok %v, error %v", ok, err, tc.ok, tc.err)
			}
			if got != tc.want {
				t.Fatalf("receiptOf = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzReceiptOf feeds whole PDUs off the wire through gosmpp's parser to
// the receipt reader.
func FuzzReceiptOf(f *testing.F) {
	seed := func(esm byte, text string, tlvs map[pdu.Tag][]byte) {
		buf := pdu.NewBuffer(nil)
		deliverSM(f, esm, text, tlvs).Marshal(buf)
		f.Add(buf.Bytes())
	}
	seed(0x04, "id:AAA stat:DELIVRD done date:2503141509", nil)
	seed(0x04, "", map[pdu.Tag][]byte{pdu.TagReceiptedMessageID: []byte("B\x00"), pdu.TagMessageStateOption: {2}})
	seed(0x04, "", map[pdu.Tag][]byte{pdu.TagMessagePayload: []byte("id:C stat:UNDELIV")})
	seed(0x00, "hello", nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := pdu.Parse(bytes.NewReader(b))
		if err != nil {
			return
		}
		d, isDeliver := p.(*pdu.DeliverSM)
		if !isDeliver {
			return
		}
		r, ok, err := receiptOf(d, time.Now())
		if !ok {
			return
		}
		if err != nil || r.ProviderID == "" || (r.Status != sms.StatusDelivered && r.Status != sms.StatusFailed) ||
			r.ErrCode == "" || r.At.IsZero() || r.At.Location() != time.UTC {
			t.Fatalf("receiptOf = %+v, %v, %v", r, ok, err)
		}
	})
}

func TestBindRefusal(t *testing.T) {
	hdr := func(id data.CommandIDType, st data.CommandStatusType) []byte {
		b := pdu.NewBuffer(nil)
		h := pdu.Header{CommandLength: 16, CommandID: id, CommandStatus: st, SequenceNumber: 1}
		h.Marshal(b)
		return b.Bytes()
	}
	cases := []struct {
		name string
		in   []byte
		want data.CommandStatusType
		ok   bool
	}{
		{"transceiver refused", hdr(data.BIND_TRANSCEIVER_RESP, data.ESME_RINVPASWD), data.ESME_RINVPASWD, true},
		{"transmitter refused", hdr(data.BIND_TRANSMITTER_RESP, data.ESME_RBINDFAIL), data.ESME_RBINDFAIL, true},
		{"receiver refused", hdr(data.BIND_RECEIVER_RESP, data.ESME_RALYBND), data.ESME_RALYBND, true},
		{"bound", hdr(data.BIND_TRANSCEIVER_RESP, data.ESME_ROK), 0, false},
		{"not a bind_resp", hdr(data.GENERIC_NACK, data.ESME_RINVCMDID), 0, false},
		{"short", hdr(data.BIND_TRANSCEIVER_RESP, data.ESME_RINVPASWD)[:15], 0, false},
		{"nothing", nil, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := bindRefusal(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("bindRefusal = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzBindRefusal(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x10\x80\x00\x00\x09\x00\x00\x00\x0e\x00\x00\x00\x01"))
	f.Add([]byte("\x00\x00\x00\x10\x80\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, ok := bindRefusal(b)
		if ok && (st == data.ESME_ROK || len(b) < 16) {
			t.Fatalf("bindRefusal(%x) = %v, true", b, st)
		}
		if !ok && st != 0 {
			t.Fatalf("bindRefusal(%x) = %v without ok", b, st)
		}
	})
}

func TestStatusError(t *testing.T) {
	cases := []struct {
		st   data.CommandStatusType
		want error
	}{
		{data.ESME_ROK, nil},
		{data.ESME_RTHROTTLED, sms.ErrUnavailable},
		{data.ESME_RMSGQFUL, sms.ErrUnavailable},
		{data.ESME_RSYSERR, sms.ErrUnavailable},
		{data.ESME_RX_T_APPN, sms.ErrUnavailable},
		{data.ESME_RSUBMITFAIL, sms.ErrUnavailable},
		{data.ESME_RINVBNDSTS, sms.ErrUnavailable},
		{data.ESME_RUNKNOWNERR, sms.ErrUnavailable},
		{data.ESME_RINVDSTADR, sms.ErrRejected},
		{data.ESME_RINVSRCADR, sms.ErrRejected},
		{data.ESME_RINVMSGLEN, sms.ErrRejected},
		{data.ESME_RX_P_APPN, sms.ErrRejected},
		{data.ESME_RX_R_APPN, sms.ErrRejected},
		{data.CommandStatusType(0x0400), sms.ErrRejected}, // vendor specific
	}
	for _, tc := range cases {
		if got := statusError(tc.st); got != tc.want {
			t.Errorf("statusError(%s) = %v, want %v", statusName(tc.st), got, tc.want)
		}
	}
}

func TestSegmentIndex(t *testing.T) {
	s := segmentIndex{max: 2}
	s.add("first", "a")
	s.add("first", "b")
	s.add("other", "c") // forgets a
	delivered := sms.Receipt{ProviderID: "b", Status: sms.StatusDelivered}
	if _, report := s.resolve(delivered); report {
		t.Error("a later segment's delivery is reported")
	}
	failed := sms.Receipt{ProviderID: "c", Status: sms.StatusFailed, ErrCode: "UNDELIV"}
	if r, report := s.resolve(failed); !report || r.ProviderID != "other" {
		t.Errorf("a later segment's failure: %+v, %v; want it under the first id", r, report)
	}
	if r, report := s.resolve(sms.Receipt{ProviderID: "a", Status: sms.StatusDelivered}); !report || r.ProviderID != "a" {
		t.Errorf("a forgotten segment: %+v, %v; want it reported as it is", r, report)
	}
	if len(s.first) != 2 || len(s.order) != 2 {
		t.Errorf("the index holds %d ids (%d in order), max 2", len(s.first), len(s.order))
	}
}
