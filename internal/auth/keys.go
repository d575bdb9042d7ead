package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"

	"github.com/numauth/numauth/internal/store"
)

// ErrKeyNotFound and ErrKeyInactive are returned by ResolveKey
// (InvalidAccessKeyId.NotFound / InvalidAccessKeyId.Inactive).
var (
	ErrKeyNotFound = errors.New("access key not found")
	ErrKeyInactive = errors.New("access key is disabled")
)

// Credential is an AccessKey opened for signature checks.
type Credential struct {
	AccessKeyID string
	AccountID   string
	Secret      string
	Active      bool
}

// DefaultAccount owns keys created without an explicit account.
const DefaultAccount = "default"

var (
	keyIDPattern   = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)
	secretPattern  = regexp.MustCompile(`^[\x21-\x7e]{16,128}$`)
	accountPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

func keyAAD(id string) []byte { return []byte("access-key/" + id) }

// CreateAccessKey creates an AccessKey. Empty id and secret are generated
// ("LTAI" + 20 characters, and 30 characters, as Alibaba's look).
func (s *Service) CreateAccessKey(ctx context.Context, accountID, id, secret, description string) (Credential, error) {
	if accountID == "" {
		accountID = DefaultAccount
	}
	if id == "" {
		id = "LTAI" + randomAlnum(20)
	}
	if secret == "" {
		secret = randomAlnum(30)
	}
	switch {
	case !accountPattern.MatchString(accountID):
		return Credential{}, hint(ErrInvalidParameters, "account must be 1-64 of [A-Za-z0-9._-]")
	case !keyIDPattern.MatchString(id):
		return Credential{}, hint(ErrInvalidParameters, "AccessKeyId must be 8-64 of [A-Za-z0-9._-]")
	case !secretPattern.MatchString(secret):
		return Credential{}, hint(ErrInvalidParameters, "AccessKeySecret must be 16-128 printable ASCII characters without spaces")
	}
	k := store.AccessKey{
		ID: id, AccountID: accountID, SealedSecret: s.box.Seal([]byte(secret), keyAAD(id)),
		Status: store.KeyActive, Description: description, CreatedAt: s.cfg.Now().UTC(),
	}
	if err := s.durable.CreateAccessKey(ctx, k); err != nil {
		return Credential{}, storeErr("create access key", err)
	}
	return Credential{AccessKeyID: id, AccountID: accountID, Secret: secret, Active: true}, nil
}

// EnsureAccessKey makes sure the AccessKey exists with this secret (the
// bootstrap key). It is idempotent; an existing key with another secret is
// an error, never silently replaced.
func (s *Service) EnsureAccessKey(ctx context.Context, id, secret string) error {
	c, err := s.ResolveKey(ctx, id)
	switch {
	case err == nil && c.Secret == secret:
		return nil
	case err == nil || errors.Is(err, ErrKeyInactive):
		return fmt.Errorf("bootstrap access key %s exists with another secret or is disabled", id)
	case !errors.Is(err, ErrKeyNotFound):
		return err
	}
	_, err = s.CreateAccessKey(ctx, DefaultAccount, id, secret, "bootstrap")
	if errors.Is(err, store.ErrConflict) { // another instance created it at the same moment
		return s.EnsureAccessKey(ctx, id, secret)
	}
	return err
}

// ResolveKey returns the AccessKey's credential for a signature check.
// ErrKeyNotFound / ErrKeyInactive when it cannot sign.
func (s *Service) ResolveKey(ctx context.Context, id string) (Credential, error) {
	now := s.cfg.Now()
	if c, ok := s.keyCache.get(id, now); ok {
		return c, activeErr(c)
	}
	gen := s.keyCache.begin()
	k, err := s.durable.GetAccessKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Credential{}, ErrKeyNotFound
	}
	if err != nil {
		return Credential{}, storeErr("get access key", err)
	}
	sec, err := s.box.Open(k.SealedSecret, keyAAD(k.ID))
	if err != nil {
		return Credential{}, fmt.Errorf("open access key %s (wrong master key?): %w", k.ID, err)
	}
	c := Credential{AccessKeyID: k.ID, AccountID: k.AccountID, Secret: string(sec), Active: k.Status == store.KeyActive}
	s.keyCache.put(id, c, now, gen)
	return c, activeErr(c)
}

func activeErr(c Credential) error {
	if !c.Active {
		return ErrKeyInactive
	}
	return nil
}

// ListAccessKeys lists every AccessKey (secrets are not returned).
func (s *Service) ListAccessKeys(ctx context.Context) ([]store.AccessKey, error) {
	ks, err := s.durable.ListAccessKeys(ctx)
	if err != nil {
		return nil, storeErr("list access keys", err)
	}
	return ks, nil
}

// SetAccessKeyActive enables or disables an AccessKey.
func (s *Service) SetAccessKeyActive(ctx context.Context, id string, active bool) error {
	st := store.KeyInactive
	if active {
		st = store.KeyActive
	}
	err := s.durable.SetAccessKeyStatus(ctx, id, st)
	s.keyCache.drop(id)
	return notFoundAs(ErrKeyNotFound, "set access key status", err)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomAlnum draws n characters uniformly (rejection sampling: bytes at or
// above 248 = 4*62 are dropped, so there is no modulo bias in secrets).
func randomAlnum(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		if _, err := rand.Read(buf[:]); err != nil {
			panic(err)
		}
		for _, c := range buf {
			if c < 248 && len(out) < n {
				out = append(out, alnum[int(c)%len(alnum)])
			}
		}
	}
	return string(out)
}
