package token

import (
	"errors"
	"testing"
	"time"
)

func TestFusionTokens(t *testing.T) {
	s, _ := NewSealer(box(t, 1))
	other, _ := NewSealer(box(t, 2))
	exp := time.Now().Add(time.Hour).UnixMilli()
	f := Fusion{ID: "f1", AccountID: "acct", Scheme: "FC1", Platform: "H5", App: "", Issued: 1, Expires: exp}
	ft, err := s.SealFusion(f)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.OpenFusion(ft); err != nil || got != f {
		t.Fatalf("OpenFusion = %+v, %v; want %+v", got, err, f)
	}
	sp := SP{ID: "v1", AccountID: "acct", Scheme: "FC1", Kind: "fusion", Operator: "SMS", Ticket: "+8613800138000", Issued: 1, Expires: exp}
	vt, err := s.SealFusionVerify(sp)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.OpenFusionVerify(vt); err != nil || got != sp {
		t.Fatalf("OpenFusionVerify = %+v, %v; want %+v", got, err, sp)
	}
	spTok, _ := s.SealSP(sp)
	// Each kind opens as itself only, and only under its own key.
	for name, err := range map[string]error{
		"spToken as a VerifyToken":      second(s.OpenFusionVerify(spTok)),
		"VerifyToken as an spToken":     second(s.OpenSP(vt)),
		"fusion token as a VerifyToken": second(s.OpenFusionVerify(ft)),
		"VerifyToken as a fusion token": second(s.OpenFusion(vt)),
		"another key's fusion token":    second(other.OpenFusion(ft)),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	f.Expires = time.Now().Add(-time.Second).UnixMilli()
	old, _ := s.SealFusion(f)
	if _, err := s.OpenFusion(old); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired fusion token: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func FuzzOpenFusion(f *testing.F) {
	s, _ := NewSealer(box(f, 1))
	tok, _ := s.SealFusion(Fusion{ID: "x", Expires: time.Now().Add(time.Hour).UnixMilli()})
	f.Add(tok)
	f.Add("")
	f.Add("B")
	f.Fuzz(func(t *testing.T, in string) {
		if p, err := s.OpenFusion(in); err == nil && in != tok && p.ID != "x" {
			t.Fatalf("forged fusion token opened: %q", in)
		}
		if _, err := s.OpenFusionVerify(in); err == nil {
			t.Fatalf("a fusion token or garbage opened as a VerifyToken: %q", in)
		}
	})
}
