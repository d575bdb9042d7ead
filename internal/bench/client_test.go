package bench

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func TestMaskDigits(t *testing.T) {
	for _, tc := range []struct {
		masked, phone, want string
		ok                  bool
	}{
		{"138****8000", "13800138000", "0013", true},
		{"1380013****", "13800138000", "8000", true},
		{"13800138000", "13800138000", "", false}, // nothing hidden
		{"139****8000", "13800138000", "", false}, // another number
		{"138****8001", "13800138000", "", false},
		{"138***8000", "13800138000", "", false},  // lengths differ
		{"138****8000", "138ab138000", "", false}, // hidden part not digits
		{"", "", "", false},
		{"*", "5", "5", true},
		{"1*3*5", "12345", "", false}, // two runs: the second does not match
	} {
		got, ok := maskDigits(tc.masked, tc.phone)
		if got != tc.want || ok != tc.ok {
			t.Errorf("maskDigits(%q, %q) = %q, %v; want %q, %v", tc.masked, tc.phone, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzMaskDigits(f *testing.F) {
	f.Add("138****8000", "13800138000")
	f.Add("***", "123")
	f.Fuzz(func(t *testing.T, masked, phone string) {
		d, ok := maskDigits(masked, phone)
		if !ok {
			return
		}
		// What is returned, put back in place of the stars, gives the phone.
		i := strings.IndexByte(masked, '*')
		if i < 0 || len(d) == 0 || masked[:i]+d+masked[i+len(d):] != phone {
			t.Fatalf("maskDigits(%q, %q) = %q: does not fill the mask to the phone", masked, phone, d)
		}
		for _, c := range d {
			if c < '0' || c > '9' {
				t.Fatalf("maskDigits(%q, %q) = %q: not digits", masked, phone, d)
			}
		}
	})
}

func TestDecodeAnswer(t *testing.T) {
	for _, tc := range []struct {
		status   int
		body     string
		wantCode string // "" for a decoded answer
		want     string // the decoded Code
	}{
		{200, `{"Code":"OK","TokenInfo":{"AccessToken":"a","JwtToken":"j"}}`, "", "OK"},
		{400, ` {"Code":"SignatureDoesNotMatch","Message":"bad"}`, "", "SignatureDoesNotMatch"},
		{502, `<html>bad gateway</html>`, "HTTP_502", ""},
		{200, ``, "HTTP_200", ""},
		{200, `{"Code":`, "HTTP_200", ""},
		{200, `{"Code":1}`, "HTTP_200", ""}, // wrong type
		{200, `["OK"]`, "HTTP_200", ""},
	} {
		var a rpcAnswer
		err := decodeAnswer(tc.status, []byte(tc.body), &a)
		if tc.wantCode == "" {
			if err != nil || a.Code != tc.want {
				t.Errorf("decodeAnswer(%d, %q) = %v, code %q; want code %q", tc.status, tc.body, err, a.Code, tc.want)
			}
			continue
		}
		if codeOf(err) != tc.wantCode {
			t.Errorf("decodeAnswer(%d, %q) = %v; want %s", tc.status, tc.body, err, tc.wantCode)
		}
	}
}

func FuzzDecodeAnswer(f *testing.F) {
	f.Add(200, []byte(`{"Code":"OK","GateVerify":{"VerifyResult":"PASS"}}`))
	f.Add(200, []byte(`{"code":"OK","session":"s","maskedPhone":"138****8000"}`))
	f.Add(500, []byte(`oops`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		var r rpcAnswer
		var g gatewayAnswer
		for _, v := range []any{&r, &g} {
			err := decodeAnswer(status, body, v)
			var ce *CallError
			if err != nil && (!errors.As(err, &ce) || !strings.HasPrefix(ce.Code, "HTTP_") || len(ce.Detail) > 300) {
				t.Fatalf("decodeAnswer error %v is not a bounded HTTP_ CallError", err)
			}
		}
	})
}

func TestPickSubscriber(t *testing.T) {
	table := []byte(`{"subscribers":[
		{"prefix":"127.0.0.0/8","phone":"18600000000","operator":"CU"},
		{"prefix":"127.0.0.1/32","phone":"13800138000","operator":"CM"},
		{"prefix":"10.0.0.7","phone":"13900000000"},
		{"prefix":"not a prefix","phone":"13300000000"},
		{"prefix":"::1/128","phone":"18900000000"}]}`)
	for _, tc := range []struct {
		src, want string
	}{
		{"127.0.0.1", "13800138000"}, // longest prefix wins
		{"127.0.0.2", "18600000000"},
		{"10.0.0.7", "13900000000"}, // a bare address
		{"::1", "18900000000"},
		{"192.168.1.1", ""},
	} {
		got, err := pickSubscriber(table, netip.MustParseAddr(tc.src))
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("pickSubscriber(%s) = %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
	if _, err := pickSubscriber([]byte(`nope`), netip.MustParseAddr("127.0.0.1")); err == nil {
		t.Error("pickSubscriber accepted a body that is not JSON")
	}
	_, err := pickSubscriber([]byte(`{"subscribers":[]}`), netip.MustParseAddr("127.0.0.1"))
	if err == nil || !strings.Contains(err.Error(), "--sandbox-subscriber 127.0.0.1=PHONE") {
		t.Errorf("no subscriber: error %v should say how to add one", err)
	}
}

func FuzzPickSubscriber(f *testing.F) {
	f.Add([]byte(`{"subscribers":[{"prefix":"127.0.0.1/32","phone":"13800138000"}]}`), "127.0.0.1")
	f.Add([]byte(`{"subscribers":[{"prefix":"::/0","phone":"1"}]}`), "::1")
	f.Fuzz(func(t *testing.T, body []byte, src string) {
		a, err := netip.ParseAddr(src)
		if err != nil {
			return
		}
		phone, err := pickSubscriber(body, a)
		if (err == nil) == (phone == "") {
			t.Fatalf("pickSubscriber = %q, %v: want a phone or an error", phone, err)
		}
	})
}

func TestTransportFailure(t *testing.T) {
	live := context.Background()
	if got := codeOf(transportFailure(live, errors.New("connection refused"))); got != "TRANSPORT" {
		t.Errorf("refused: %s", got)
	}
	if got := codeOf(transportFailure(live, context.DeadlineExceeded)); got != "TIMEOUT" {
		t.Errorf("deadline: %s", got)
	}
	if got := codeOf(transportFailure(live, os.ErrDeadlineExceeded)); got != "TIMEOUT" {
		t.Errorf("net timeout: %s", got)
	}
	done, cancel := context.WithCancel(live)
	cancel()
	if err := transportFailure(done, context.Canceled); !errors.Is(err, errAborted) {
		t.Errorf("a call of an interrupted run is %v, want aborted", err)
	}
}
