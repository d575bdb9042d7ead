package camara

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/carrier"
)

// KeyPurpose is what the sealing key of states and tickets is derived for
// from numauth's master key: every instance sharing it opens the others'.
const KeyPurpose = "numauth camara adapter v1"

func init() {
	carrier.Register(carrier.Registration{Name: Name, Flags: flags})
}

// flags declares the adapter's flags (SPEC §4 names the first six).
func flags(fs *flag.FlagSet) carrier.Builder {
	var c Config
	var keyFile, op, verifyScope, loginScope string
	fs.StringVar(&c.Issuer, "camara-issuer", "", "camara carrier: the operator's OpenID issuer URL (discovery at URL/.well-known/openid-configuration)")
	fs.StringVar(&c.APIRoot, "camara-api-root", "", "camara carrier: the operator's API root (Number Verification at URL/number-verification/v2)")
	fs.StringVar(&c.ClientID, "camara-client-id", "", "camara carrier: numauth's client id at the operator")
	fs.StringVar(&keyFile, "camara-client-key", "", "camara carrier: PEM private key (RSA or EC P-256) signing private_key_jwt client assertions")
	fs.StringVar(&c.KeyID, "camara-client-key-id", "", "camara carrier: the kid the operator knows the client key by")
	fs.StringVar(&c.ClientSecret, "camara-client-secret", os.Getenv("NUMAUTH_CAMARA_CLIENT_SECRET"), "camara carrier: client secret for client_secret_basic, instead of a key [NUMAUTH_CAMARA_CLIENT_SECRET]")
	fs.StringVar(&c.RedirectURL, "camara-redirect-url", "", "camara carrier: numauth's callback as the operator knows it (default: /h5/v1/camara/callback on --public-url)")
	fs.StringVar(&op, "camara-operator", "CAMARA", "camara carrier: the operator code its lines carry in records and statistics")
	fs.StringVar(&c.Window, "camara-window", carrier.WindowFrame, "camara carrier: how the web SDK visits the operator: frame (a hidden iframe) or popup")
	fs.BoolVar(&c.Hashed, "camara-hashed", false, "camara carrier: verify with hashedPhoneNumber (SHA-256) instead of phoneNumber")
	fs.StringVar(&verifyScope, "camara-verify-scope", ScopeVerify, "camara carrier: scopes (space-separated) asked for a verification")
	fs.StringVar(&loginScope, "camara-login-scope", ScopeDevicePhone, "camara carrier: scopes (space-separated) asked for a one-click login")
	fs.DurationVar(&c.Timeout, "camara-timeout", 5*time.Second, "camara carrier: bound on each call to the operator")
	return func(ctx context.Context, env carrier.Env) (carrier.Adapter, error) {
		cfg := c
		if keyFile != "" {
			k, err := LoadKey(keyFile)
			if err != nil {
				return nil, err
			}
			cfg.ClientKey = k
		}
		if keyFile != "" && cfg.ClientSecret != "" {
			return nil, errors.New("give --camara-client-key or --camara-client-secret, not both")
		}
		cfg.Operator = carrier.Operator(op)
		cfg.VerifyScopes, cfg.LoginScopes = strings.Fields(verifyScope), strings.Fields(loginScope)
		if env.Secret == nil {
			return nil, errors.New("no master key to seal states and tickets with")
		}
		cfg.Key = env.Secret(KeyPurpose, 32)
		if cfg.RedirectURL == "" && env.PublicURL != "" {
			cfg.RedirectURL = env.PublicURL + "/h5/v1/" + Name + "/callback"
		}
		cfg.Shared, cfg.Logger, cfg.Now = env.Shared, env.Logger, env.Now
		return New(cfg)
	}
}

// LoadKey reads a PEM private key: PKCS #8, PKCS #1 (RSA) or SEC 1 (EC).
func LoadKey(file string) (crypto.Signer, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--camara-client-key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("--camara-client-key %s: no PEM block", file)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("--camara-client-key %s: a PEM %q block; want a private key", file, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("--camara-client-key %s: %w", file, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("--camara-client-key %s: not a signing key", file)
	}
	if _, err := assertionAlg(s); err != nil {
		return nil, err
	}
	return s, nil
}
