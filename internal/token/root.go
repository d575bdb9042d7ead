package token

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/store"
)

// The derivation root is kept in the durable store as a signing-key record
// of its own use, sealed like the others (and so re-sealed with them).
const (
	useRoot   = "root"
	rootKeyID = "derivation-root"
)

// SigningKeyAAD is the associated data a signing key's private half (and
// the derivation root) is sealed with.
func SigningKeyAAD(id string) []byte { return []byte("signing-key/" + id) }

// PinDerivationRoot returns box with its derivation root pinned to the one
// in the store, so that every key derived from the master key (phone-number
// hashes, token sealing, SMS code hashes, tickets) stays the same when the
// master key is rotated. A store without one gets box's current master key
// as its root: what numauth derived everything from before rotation
// existed, so nothing derived changes. Instances starting at once agree on
// one root (the first PutSigningKey wins).
//
// Every instance must have pinned the root before any switches to a new
// master key: step 1 of the rotation (restart every instance with the new
// key as a previous key) does that.
func PinDerivationRoot(ctx context.Context, ks KeyStore, box *secret.Box) (*secret.Box, error) {
	for attempt := 0; attempt < 2; attempt++ {
		sks, err := ks.ListSigningKeys(ctx, useRoot)
		if err != nil {
			return nil, fmt.Errorf("token: load derivation root: %w", err)
		}
		for _, sk := range sks {
			if sk.ID != rootKeyID {
				continue
			}
			root, err := box.Open(sk.Sealed, SigningKeyAAD(sk.ID))
			if err != nil {
				return nil, fmt.Errorf("token: derivation root: %w (is NUMAUTH_MASTER_KEY, or NUMAUTH_MASTER_KEY_PREVIOUS, the key the store was created with?)", err)
			}
			return box.WithRoot(root)
		}
		sk := store.SigningKey{ID: rootKeyID, Use: useRoot, Alg: "HKDF-SHA256",
			Sealed: box.Seal(box.Root(), SigningKeyAAD(rootKeyID)), CreatedAt: time.Now().UTC()}
		if err := ks.PutSigningKey(ctx, sk); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("token: store derivation root: %w", err)
		}
	}
	return nil, errors.New("token: derivation root vanished while it was stored")
}
