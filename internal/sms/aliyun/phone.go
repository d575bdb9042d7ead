package aliyun

import (
	"errors"
	"strings"
)

// errBadNumber: the recipient is not an E.164 number Alibaba can send to.
// Errors that wrap it never repeat the number.
var errBadNumber = errors.New("not an E.164 mobile number Alibaba can send to")

// phoneNumbers returns the recipient as SendSms's PhoneNumbers wants it: a
// mainland number (+86) as its 11 national digits ("+8613800138000" →
// "13800138000"), any other as country code and national number without
// the "+" ("+85212345678" → "85212345678"), as Alibaba's international SMS
// expects. to must be E.164: "+", then 7 to 15 digits not starting with 0;
// a +86 number must be a mobile one (11 digits starting with 1), since
// Alibaba sends nothing to mainland landlines.
func phoneNumbers(to string) (string, error) {
	d, ok := strings.CutPrefix(to, "+")
	if !ok || len(d) < 7 || len(d) > 15 || d[0] == '0' || !digits(d) {
		return "", errBadNumber
	}
	if national, ok := strings.CutPrefix(d, "86"); ok {
		if len(national) != 11 || national[0] != '1' {
			return "", errBadNumber
		}
		return national, nil
	}
	return d, nil
}

// digits reports whether s is ASCII digits only.
func digits(s string) bool { return strings.Trim(s, "0123456789") == "" }
