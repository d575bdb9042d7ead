package compat

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/numauth/numauth/test/harness"
)

// TestNewSchemeUsableAtOnce: a scheme is usable on the instance that
// created it as soon as CreateVerifyScheme has answered (internal/auth
// promises "at once on the instance that made the change"), even while
// other clients of the same account create schemes and ask for tokens.
func TestNewSchemeUsableAtOnce(t *testing.T) {
	in := start(t)
	const clients, rounds = 8, 40
	var refused atomic.Int32
	t.Run("clients", func(t *testing.T) {
		for c := range clients {
			t.Run(fmt.Sprint(c), func(t *testing.T) {
				t.Parallel()
				s := newV3(t, in.Addr, harness.AccessKeyID, harness.AccessKeySecret)
				for i := range rounds {
					origin := fmt.Sprintf("https://fresh-%d-%d.example.com", c, i)
					_, o := s.CreateH5Scheme(t, fmt.Sprintf("fresh %d %d", c, i), origin, origin+"/login")
					o.ok(t, "CreateVerifyScheme")
					if _, o := s.GetAuthToken(t, origin+"/login", origin, "", ""); o.Status != http.StatusOK || o.Code != "OK" {
						refused.Add(1)
					}
				}
			})
		}
	})
	if n := refused.Load(); n > 0 {
		t.Errorf("%d of %d new schemes were refused by GetAuthToken right after CreateVerifyScheme answered (isv.SCENE_QUERY_FAIL)", n, clients*rounds)
	}
}
