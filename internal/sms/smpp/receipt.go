package smpp

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"github.com/numauth/numauth/internal/sms"
)

// receiptText is what the standard delivery receipt text (SMPP 3.4
// Appendix B) says:
//
//	id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...
type receiptText struct {
	ID   string
	Stat string // upper case, e.g. "DELIVRD"
	Err  string
	Done time.Time // zero when absent or unreadable
}

// receiptKeys are the receipt's fields before text:, in the usual order;
// the parser accepts them in any order and in any case.
var receiptKeys = []string{"id", "sub", "dlvrd", "submit date", "done date", "stat", "err"}

// parseReceipt reads a delivery receipt's text. It needs id and stat and
// stops at text: (the start of the message, which it ignores); unknown
// fields are skipped. Dates are read as UTC: the SMSC's time zone is not on
// the wire.
func parseReceipt(s string) (receiptText, error) {
	var r receiptText
	seen := map[string]bool{}
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" || hasPrefixFold(s, "text:") {
			break
		}
		key := ""
		for _, k := range receiptKeys {
			if hasPrefixFold(s, k+":") {
				key = k
				break
			}
		}
		if key == "" { // a field this parser does not know: skip the word
			s = s[wordEnd(s):]
			continue
		}
		rest := s[len(key)+1:]
		end := wordEnd(rest)
		val := rest[:end]
		s = rest[end:]
		if seen[key] {
			return receiptText{}, fmt.Errorf("receipt field %q given twice", key)
		}
		seen[key] = true
		switch key {
		case "id":
			r.ID = val
		case "stat":
			r.Stat = strings.ToUpper(val)
		case "err":
			r.Err = val
		case "done date":
			r.Done = parseReceiptDate(val)
		}
	}
	if r.ID == "" {
		return receiptText{}, errors.New("receipt has no id")
	}
	if r.Stat == "" {
		return receiptText{}, errors.New("receipt has no stat")
	}
	return r, nil
}

// wordEnd is the index of the first white space in s, or len(s).
func wordEnd(s string) int {
	if i := strings.IndexAny(s, " \t\r\n"); i >= 0 {
		return i
	}
	return len(s)
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// parseReceiptDate reads YYMMDDhhmm, or YYMMDDhhmmss as some SMSCs send it;
// anything else is the zero time.
func parseReceiptDate(v string) time.Time {
	layout := ""
	switch len(v) {
	case 10:
		layout = "0601021504"
	case 12:
		layout = "060102150405"
	default:
		return time.Time{}
	}
	t, err := time.ParseInLocation(layout, v, time.UTC)
	if err != nil {
		return time.Time{}
	}
	return t
}

// final maps a receipt's stat to what numauth records; ok is false for a
// state that is not final (ENROUTE, ACCEPTD) or one this provider does not
// know, which it does not report.
func final(stat string) (sms.Status, string, bool) {
	switch stat {
	case "DELIVRD":
		return sms.StatusDelivered, "DELIVERED", true
	case "UNDELIV", "EXPIRED", "REJECTD", "DELETED", "UNKNOWN":
		return sms.StatusFailed, stat, true
	}
	return 0, "", false
}

// messageStates are the message_state TLV's values (SMPP 3.4 §5.2.28) by
// the stat names receipts use.
var messageStates = map[byte]string{
	1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED",
	5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD",
}

// errNotReceipt: a deliver_sm that is not a delivery receipt (a mobile
// originated message), which this provider acknowledges and ignores.
var errNotReceipt = errors.New("not a delivery receipt")

// receiptOf reads the receipt in a deliver_sm: its text, and the
// receipted_message_id and message_state TLVs, which win over the text
// when present. ok is false for a receipt of a state that is not final.
func receiptOf(d *pdu.DeliverSM, now time.Time) (r sms.Receipt, ok bool, err error) {
	if d.EsmClass&data.SM_SMSC_DLV_RCPT_TYPE == 0 {
		return sms.Receipt{}, false, errNotReceipt
	}
	body, _ := d.Message.GetMessageData()
	if len(body) == 0 {
		if f, found := d.OptionalParameters[pdu.TagMessagePayload]; found {
			body = f.Data
		}
	}
	var rt receiptText
	var textErr error
	if len(body) > 0 {
		rt, textErr = parseReceipt(string(body))
	} else {
		textErr = errors.New("receipt has no text")
	}
	if f, found := d.OptionalParameters[pdu.TagReceiptedMessageID]; found {
		if id := strings.TrimRight(string(f.Data), "\x00"); id != "" {
			rt.ID = id
		}
	}
	if f, found := d.OptionalParameters[pdu.TagMessageStateOption]; found && len(f.Data) == 1 {
		st, known := messageStates[f.Data[0]]
		if !known {
			return sms.Receipt{}, false, fmt.Errorf("receipt message_state %d is not an SMPP 3.4 state", f.Data[0])
		}
		rt.Stat = st
	}
	if rt.ID == "" || rt.Stat == "" {
		if textErr == nil {
			textErr = errors.New("receipt has no id or stat")
		}
		return sms.Receipt{}, false, textErr
	}
	status, code, ok := final(rt.Stat)
	if !ok {
		return sms.Receipt{}, false, nil
	}
	at := rt.Done
	if at.IsZero() {
		at = now
	}
	return sms.Receipt{ProviderID: rt.ID, Status: status, ErrCode: code, At: at.UTC()}, true, nil
}
