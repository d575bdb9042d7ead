package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

// ResealSecrets re-seals every secret the durable store keeps sealed
// (AccessKey secrets, signing keys, the derivation root) under the current
// master key, in one transaction, and returns how many it changed. Values
// sealed under the current key already are left as they are, so running
// it again changes nothing. If a value opens under none of the configured
// keys, nothing changes and the error names the record (never the value).
func (s *Service) ResealSecrets(ctx context.Context) (int, error) {
	n, err := s.durable.ResealSecrets(ctx, func(sec store.SealedSecret) ([]byte, bool, error) {
		var aad []byte
		switch sec.Kind {
		case store.SealedAccessKey:
			aad = keyAAD(sec.ID)
		case store.SealedSigningKey:
			aad = token.SigningKeyAAD(sec.ID)
		default:
			return nil, false, fmt.Errorf("unknown kind of sealed secret %q", sec.Kind)
		}
		out, changed, err := s.box.Reseal(sec.Sealed, aad)
		if errors.Is(err, secret.ErrOpen) {
			ids := s.box.KeyIDs()
			return nil, false, fmt.Errorf("%w: it opens under none of the master keys configured (current %s, previous [%s]); add the key it was sealed under to NUMAUTH_MASTER_KEY_PREVIOUS",
				err, ids[0], strings.Join(ids[1:], " "))
		}
		return out, changed, err
	})
	if err != nil {
		return 0, storeErr("re-seal secrets", err)
	}
	return n, nil
}

// MasterKeyIDs returns the ids of the master keys the service opens with,
// the current one (the one it seals under) first.
func (s *Service) MasterKeyIDs() []string { return s.box.KeyIDs() }
