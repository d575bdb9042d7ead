package main

import (
	"reflect"
	"testing"
)

func TestFusionStrategyFlag(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want map[string]string
		ok   bool
	}{
		{nil, map[string]string{}, true},
		{[]string{"H5=sms", "android=carrier"}, map[string]string{"H5": "sms", "Android": "carrier"}, true},
		{[]string{"iOS=sms", "iOS=carrier"}, map[string]string{"iOS": "carrier"}, true},
		{[]string{"H5"}, nil, false},
		{[]string{"H5=voice"}, nil, false},
		{[]string{"Symbian=sms"}, nil, false},
	} {
		got, err := fusionStrategy(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("fusionStrategy(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
