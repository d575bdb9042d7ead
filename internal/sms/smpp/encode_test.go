package smpp

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/linxGnu/gosmpp/data"
)

func TestEncodeText(t *testing.T) {
	cases := []struct {
		name     string
		text     string
		coding   byte
		segments []int // octets of each segment
		err      bool
	}{
		{"ascii", "Your code is 1234", data.GSM7BITCoding, []int{17}, false},
		{"gsm extension counts twice", "{1234}", data.GSM7BITCoding, []int{8}, false},
		{"chinese", "验证码1234", data.UCS2Coding, []int{14}, false},
		{"emoji is a surrogate pair", "😀", data.UCS2Coding, []int{4}, false},
		{"160 septets", strings.Repeat("x", 160), data.GSM7BITCoding, []int{160}, false},
		{"161 septets", strings.Repeat("x", 161), data.GSM7BITCoding, []int{153, 8}, false},
		{"escape kept whole", strings.Repeat("x", 152) + "^" + strings.Repeat("y", 10), data.GSM7BITCoding, []int{152, 12}, false},
		{"escape that fits", strings.Repeat("x", 151) + "^" + strings.Repeat("y", 9), data.GSM7BITCoding, []int{153, 9}, false},
		{"70 UCS-2", strings.Repeat("码", 70), data.UCS2Coding, []int{140}, false},
		{"71 UCS-2", strings.Repeat("码", 71), data.UCS2Coding, []int{134, 8}, false},
		{"surrogate pair kept whole", strings.Repeat("码", 66) + "😀" + "码码码", data.UCS2Coding, []int{132, 10}, false},
		{"one non-GSM character makes it UCS-2", strings.Repeat("x", 100) + "ç", data.UCS2Coding, []int{134, 68}, false},
		{"255 segments", strings.Repeat("x", 153*255), data.GSM7BITCoding, nil, false},
		{"256 segments", strings.Repeat("x", 153*255+1), 0, nil, true},
		{"empty", "", 0, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			enc, segs, err := encodeText(tc.text)
			if (err != nil) != tc.err {
				t.Fatalf("encodeText: %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if enc.DataCoding() != tc.coding {
				t.Errorf("data_coding %#x, want %#x", enc.DataCoding(), tc.coding)
			}
			if tc.segments != nil {
				var got []int
				for _, s := range segs {
					got = append(got, len(s))
				}
				if len(got) != len(tc.segments) || !equal(got, tc.segments) {
					t.Errorf("segments of %v octets, want %v", got, tc.segments)
				}
			}
		})
	}
}

func equal(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestShortMessages(t *testing.T) {
	enc, segs, err := encodeText(strings.Repeat("码", 150))
	if err != nil {
		t.Fatal(err)
	}
	sms, err := shortMessages(enc, segs, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(sms) != 3 {
		t.Fatalf("%d short messages, want 3", len(sms))
	}
	for i, sm := range sms {
		total, part, ref, ok := sm.UDH().GetConcatInfo()
		if !ok || total != 3 || part != byte(i+1) || ref != 7 {
			t.Errorf("segment %d: UDH %d/%d ref %d (%v), want %d/3 ref 7", i+1, part, total, ref, ok, i+1)
		}
	}
	if single, _ := shortMessages(data.GSM7BIT, [][]byte{[]byte("hi")}, 1); len(single) != 1 || single[0].UDH() != nil {
		t.Errorf("a one-segment message has a UDH: %+v", single)
	}
}

// FuzzEncodeText: every segment fits one SMS, decodes on its own, and the
// segments give the text back.
func FuzzEncodeText(f *testing.F) {
	for _, s := range []string{
		"验证码1234", "Code [7310] {valid} ~5 min | €", strings.Repeat("€", 100), strings.Repeat("码😀", 60),
		strings.Repeat("x", 152) + "€", "\n\r@£$¥", "\x00", "😀",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
			return
		}
		enc, segs, err := encodeText(s)
		if err != nil {
			if s != "" && len(s) < 153*255/4 {
				t.Fatalf("encodeText(%q): %v", s, err)
			}
			return
		}
		single, limit := ucsSingle, ucsSegment
		if enc == data.GSM7BIT {
			single, limit = gsmSingle, gsmSegment
		}
		if len(segs) == 1 {
			limit = single
		}
		var whole strings.Builder
		for i, seg := range segs {
			if len(seg) == 0 || len(seg) > limit {
				t.Fatalf("segment %d of %q: %d octets (limit %d)", i+1, s, len(seg), limit)
			}
			text, err := enc.Decode(seg)
			if err != nil || strings.ContainsRune(text, utf8.RuneError) {
				t.Fatalf("segment %d of %q does not decode alone: %q, %v", i+1, s, text, err)
			}
			whole.WriteString(text)
		}
		if whole.String() != s {
			t.Fatalf("the segments of %q decode to %q", s, whole.String())
		}
		if _, err := shortMessages(enc, segs, 1); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDestination(t *testing.T) {
	cases := []struct {
		in, want string
		err      bool
	}{
		{"+8613800138000", "8613800138000", false},
		{"+14155550123", "14155550123", false},
		{"8613800138000", "", true},
		{"+86 138", "", true},
		{"+", "", true},
		{"+1234567890123456", "", true},
		{"", "", true},
	}
	for _, tc := range cases {
		a, err := destination(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("destination(%q): %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), tc.in) && len(tc.in) > 8 {
				t.Errorf("destination(%q): the error shows the whole number: %v", tc.in, err)
			}
			continue
		}
		if a.Address() != tc.want || a.Ton() != tonInternational || a.Npi() != npiISDN {
			t.Errorf("destination(%q) = TON %d NPI %d %q, want 1 1 %q", tc.in, a.Ton(), a.Npi(), a.Address(), tc.want)
		}
	}
}

func TestSource(t *testing.T) {
	cases := []struct {
		in       string
		ton, npi byte
		addr     string
		err      bool
	}{
		{"", tonUnknown, npiUnknown, "", false},
		{"+8610086", tonInternational, npiISDN, "8610086", false},
		{"106900", tonUnknown, npiISDN, "106900", false},
		{"numauth", tonAlphanumeric, npiUnknown, "numauth", false},
		{"Numauth Ltd", tonAlphanumeric, npiUnknown, "Numauth Ltd", false},
		{"numauth-ltd!", 0, 0, "", true},
		{"验证", 0, 0, "", true},
		{"+86-10086", 0, 0, "", true},
		{strings.Repeat("1", 21), 0, 0, "", true},
	}
	for _, tc := range cases {
		a, err := source(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("source(%q): %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err == nil && (a.Ton() != tc.ton || a.Npi() != tc.npi || a.Address() != tc.addr) {
			t.Errorf("source(%q) = TON %d NPI %d %q, want %d %d %q", tc.in, a.Ton(), a.Npi(), a.Address(), tc.ton, tc.npi, tc.addr)
		}
	}
}
