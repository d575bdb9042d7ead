package token

import "github.com/numauth/numauth/internal/wire"

// Fusion is the content of a fusion authentication token
// (GetFusionAuthToken's Model): the client's right to run a scheme's
// fusion strategy until Expires.
type Fusion struct {
	ID        string
	AccountID string
	Scheme    string
	Platform  string // "Android", "iOS" or "H5"
	// App is the package name (Android) or bundle id (iOS) the token was
	// asked for; empty for H5.
	App     string
	Issued  int64 // unix milliseconds
	Expires int64 // unix milliseconds
}

func (f *Fusion) encode(w *wire.Writer) {
	w.Strings(f.ID, f.AccountID, f.Scheme, f.Platform, f.App)
	w.Int(f.Issued)
	w.Int(f.Expires)
}

func (f *Fusion) decode(r *wire.Reader) {
	f.ID, f.AccountID, f.Scheme, f.Platform, f.App = r.String(), r.String(), r.String(), r.String(), r.String()
	f.Issued, f.Expires = r.Int(), r.Int()
}

// Sealed under associated data of their own, so that no other token
// (an AccessToken, an spToken) opens as one of these, nor the other way.
var (
	aadFusion       = []byte("numauth/fusion-token")
	aadFusionVerify = []byte("numauth/fusion-verify-token")
)

// SealFusion mints a fusion authentication token.
func (s *Sealer) SealFusion(f Fusion) (string, error) { return s.seal(&f, aadFusion) }

// OpenFusion opens a fusion authentication token and checks its expiry.
func (s *Sealer) OpenFusion(tok string) (Fusion, error) {
	var f Fusion
	if err := s.open(tok, aadFusion, &f); err != nil {
		return Fusion{}, err
	}
	if s.now().UnixMilli() >= f.Expires {
		return f, ErrExpired
	}
	return f, nil
}

// SealFusionVerify mints a fusion VerifyToken: the outcome of a fusion
// flow, with the SP layout (Kind "fusion"; Operator the carrier's or
// "SMS"; Ticket the carrier's ticket or, for the SMS path, the number the
// code confirmed).
func (s *Sealer) SealFusionVerify(p SP) (string, error) { return s.seal(&p, aadFusionVerify) }

// OpenFusionVerify opens a fusion VerifyToken and checks its expiry.
func (s *Sealer) OpenFusionVerify(tok string) (SP, error) {
	var p SP
	if err := s.open(tok, aadFusionVerify, &p); err != nil {
		return SP{}, err
	}
	if s.now().UnixMilli() >= p.Expires {
		return p, ErrExpired
	}
	return p, nil
}
