package admin

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/store"
)

// AccountJSON is one account as the console lists it: what it owns.
// numauth has no account records of their own: an account is the owner
// named by its AccessKeys, schemes and CAMARA clients ("default" always
// exists).
type AccountJSON struct {
	AccountID     string `json:"accountId"`
	Keys          int    `json:"keys"`
	ActiveKeys    int    `json:"activeKeys"`
	Schemes       int    `json:"schemes"`
	CamaraClients int    `json:"camaraClients"`
}

// listAccounts: GET /admin/v1/accounts — every account with the number of
// its AccessKeys (and active ones), schemes and CAMARA clients, by id.
func (a *API) listAccounts(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	ctx := r.Context()
	ks, err := a.cfg.Service.ListAccessKeys(ctx)
	if err != nil {
		return err
	}
	ss, err := a.cfg.Service.ListSchemes(ctx, "")
	if err != nil {
		return err
	}
	cs, err := a.cfg.Service.ListOAuthClients(ctx, "")
	if err != nil {
		return err
	}
	byID := map[string]*AccountJSON{auth.DefaultAccount: {AccountID: auth.DefaultAccount}}
	of := func(id string) *AccountJSON {
		if byID[id] == nil {
			byID[id] = &AccountJSON{AccountID: id}
		}
		return byID[id]
	}
	for _, k := range ks {
		acc := of(k.AccountID)
		acc.Keys++
		if k.Status == store.KeyActive {
			acc.ActiveKeys++
		}
	}
	for _, s := range ss {
		of(s.AccountID).Schemes++
	}
	for _, c := range cs {
		of(c.AccountID).CamaraClients++
	}
	out := make([]AccountJSON, 0, len(byID))
	for _, acc := range byID {
		out = append(out, *acc)
	}
	slices.SortFunc(out, func(x, y AccountJSON) int { return cmp.Compare(x.AccountID, y.AccountID) })
	writeJSON(w, http.StatusOK, map[string]any{"accounts": out})
	return nil
}
