package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/store"
)

func (a *API) routes() {
	m := a.mux
	m.Handle("POST /admin/v1/session", a.guard(anyone, "session.create", a.signIn))
	m.Handle("GET /admin/v1/session", a.guard(viewer, "", a.getSession))
	m.Handle("DELETE /admin/v1/session", a.guard(viewer, "session.delete", a.signOut))
	m.Handle("POST /admin/v1/session/everywhere", a.guard(viewer, "session.delete-all", a.signOutEverywhere))

	m.Handle("GET /admin/v1/users", a.guard(viewer, "", a.listUsers))
	m.Handle("POST /admin/v1/users", a.guard(admin, "users.create", a.createUser))
	m.Handle("PATCH /admin/v1/users/{name}", a.guard(admin, "users.update", a.updateUser))
	m.Handle("POST /admin/v1/users/{name}/password", a.guard(admin, "users.password", a.resetPassword))
	m.Handle("DELETE /admin/v1/users/{name}", a.guard(admin, "users.delete", a.deleteUser))

	m.Handle("GET /admin/v1/accounts", a.guard(viewer, "", a.listAccounts))
	m.Handle("GET /admin/v1/keys", a.guard(viewer, "", a.listKeys))
	m.Handle("POST /admin/v1/keys", a.guard(admin, "keys.create", a.createKey))
	m.Handle("POST /admin/v1/keys/{id}/disable", a.guard(admin, "keys.disable", a.setKey(false)))
	m.Handle("POST /admin/v1/keys/{id}/enable", a.guard(admin, "keys.enable", a.setKey(true)))

	m.Handle("GET /admin/v1/schemes", a.guard(viewer, "", a.listSchemes))
	m.Handle("POST /admin/v1/schemes", a.guard(admin, "schemes.create", a.createScheme))
	m.Handle("DELETE /admin/v1/schemes/{code}", a.guard(admin, "schemes.delete", a.deleteScheme))

	m.Handle("GET /admin/v1/camara/clients", a.guard(viewer, "", a.listClients))
	m.Handle("POST /admin/v1/camara/clients", a.guard(admin, "camara-clients.create", a.createClient))
	m.Handle("POST /admin/v1/camara/clients/{id}/disable", a.guard(admin, "camara-clients.disable", a.setClient(false)))
	m.Handle("POST /admin/v1/camara/clients/{id}/enable", a.guard(admin, "camara-clients.enable", a.setClient(true)))

	m.Handle("GET /admin/v1/sms/sends", a.guard(viewer, "", a.listSmsSends))

	m.Handle("GET /admin/v1/stats/daily", a.guard(viewer, "", a.dailyStats))
	m.Handle("GET /admin/v1/stats/hourly", a.guard(viewer, "", a.hourlyStats))
	m.Handle("GET /admin/v1/stats/live", a.guard(viewer, "", a.liveStats))
	m.Handle("GET /admin/v1/billing", a.guard(viewer, "", a.billing))
	m.Handle("GET /admin/v1/audit", a.guard(viewer, "", a.listAudit))
	m.Handle("GET /admin/v1/verifications", a.guard(viewer, "", a.listVerifications))
}

const maxUserName = 64

// UserJSON is a console user as the API shows it (never the hash).
type UserJSON struct {
	Name      string            `json:"name"`
	Role      store.ConsoleRole `json:"role"`
	Disabled  bool              `json:"disabled"`
	CreatedAt time.Time         `json:"createdAt"`
}

func userJSON(u store.ConsoleUser) UserJSON {
	return UserJSON{Name: u.Name, Role: u.Role, Disabled: u.Disabled, CreatedAt: u.CreatedAt}
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	us, err := a.cfg.Durable.ListConsoleUsers(r.Context())
	if err != nil {
		return err
	}
	out := make([]UserJSON, 0, len(us))
	for _, u := range us {
		out = append(out, userJSON(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
	return nil
}

// checkUserName: 1–64 bytes of printable UTF-8, no spaces at either end.
func checkUserName(name string) error {
	if name == "" || len(name) > maxUserName || !utf8.ValidString(name) {
		return bad("a user name has 1 to %d bytes of UTF-8", maxUserName)
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return bad("a user name has no control characters")
		}
	}
	if name[0] == ' ' || name[len(name)-1] == ' ' {
		return bad("a user name does not start or end with a space")
	}
	return nil
}

// CreateUser creates a console user; an empty password gets a generated
// one, which is returned (and shown once). For the CLI and the bootstrap
// user as for the API.
func CreateUser(ctx context.Context, d store.Durable, name string, role store.ConsoleRole, password string, now time.Time) (string, error) {
	if err := checkUserName(name); err != nil {
		return "", err
	}
	if !role.Valid() {
		return "", bad("role must be admin or viewer")
	}
	if password == "" {
		password = NewPassword()
	}
	hash, err := HashPassword(ctx, password)
	if err != nil {
		return "", err
	}
	err = d.CreateConsoleUser(ctx, store.ConsoleUser{Name: name, Role: role, PasswordHash: hash, Generation: 1, CreatedAt: now.UTC().Truncate(time.Microsecond)})
	if errors.Is(err, store.ErrConflict) {
		return "", &hintError{err: errConflict, hint: "a user of that name exists"}
	}
	return password, err
}

// IsBadInput reports whether err is the API's refusal of a parameter (a
// user name, a role, a password), for the CLI's messages.
func IsBadInput(err error) bool { return errors.Is(err, errBadInput) }

type createUserRequest struct {
	Name     string            `json:"name"`
	Role     store.ConsoleRole `json:"role"`
	Password string            `json:"password"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	var in createUserRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Role == "" {
		in.Role = store.RoleViewer
	}
	setAuditTarget(r.Context(), in.Name)
	setAuditDetail(r.Context(), "role", in.Role)
	generated := in.Password == ""
	pw, err := CreateUser(r.Context(), a.cfg.Durable, in.Name, in.Role, in.Password, a.cfg.Now())
	if err != nil {
		return err
	}
	out := map[string]any{"name": in.Name, "role": in.Role}
	if generated {
		out["password"] = pw
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

type updateUserRequest struct {
	Role     *store.ConsoleRole `json:"role"`
	Disabled *bool              `json:"disabled"`
	// SignOut ends the user's sessions (any update does; this asks for
	// nothing else).
	SignOut bool `json:"signOut"`
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	name := r.PathValue("name")
	setAuditTarget(r.Context(), name)
	var in updateUserRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Role != nil && !in.Role.Valid() {
		return bad("role must be admin or viewer")
	}
	if in.Role == nil && in.Disabled == nil && !in.SignOut {
		return bad("give role, disabled or signOut")
	}
	if (in.Role != nil && *in.Role != store.RoleAdmin) || (in.Disabled != nil && *in.Disabled) {
		if err := a.keepAnAdmin(r.Context(), name); err != nil {
			return err
		}
	}
	if in.Role != nil {
		setAuditDetail(r.Context(), "role", *in.Role)
	}
	if in.Disabled != nil {
		setAuditDetail(r.Context(), "disabled", *in.Disabled)
	}
	u, err := a.cfg.Durable.UpdateConsoleUser(r.Context(), name, store.ConsoleUserChange{Role: in.Role, Disabled: in.Disabled})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}

// keepAnAdmin refuses a change that would leave no enabled admin but name.
func (a *API) keepAnAdmin(ctx context.Context, name string) error {
	us, err := a.cfg.Durable.ListConsoleUsers(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(us, func(u store.ConsoleUser) bool { return u.Name == name })
	if i < 0 || us[i].Role != store.RoleAdmin || us[i].Disabled {
		return nil
	}
	for _, u := range us {
		if u.Name != name && u.Role == store.RoleAdmin && !u.Disabled {
			return nil
		}
	}
	return errLastAdmin
}

type passwordRequest struct {
	Password string `json:"password"`
}

func (a *API) resetPassword(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	name := r.PathValue("name")
	setAuditTarget(r.Context(), name)
	var in passwordRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	pw := in.Password
	if pw == "" {
		pw = NewPassword()
	}
	hash, err := HashPassword(r.Context(), pw)
	if err != nil {
		return err
	}
	if _, err := a.cfg.Durable.UpdateConsoleUser(r.Context(), name, store.ConsoleUserChange{PasswordHash: &hash}); err != nil {
		return err
	}
	out := map[string]any{"name": name}
	if in.Password == "" {
		out["password"] = pw
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	name := r.PathValue("name")
	setAuditTarget(r.Context(), name)
	if err := a.keepAnAdmin(r.Context(), name); err != nil {
		return err
	}
	if err := a.cfg.Durable.DeleteConsoleUser(r.Context(), name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// EnsureUser makes the bootstrap admin exist: created with password if
// absent, left as it is if present. It reports whether it created it.
func EnsureUser(ctx context.Context, d store.Durable, name, password string, now time.Time) (bool, error) {
	if _, err := d.GetConsoleUser(ctx, name); err == nil {
		return false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if password == "" {
		return false, bad("the bootstrap console user needs a password")
	}
	_, err := CreateUser(ctx, d, name, store.RoleAdmin, password, now)
	if errors.Is(err, errConflict) {
		return false, nil // another instance made it first
	}
	return err == nil, err
}

// KeyJSON is an AccessKey as the API lists it; the secret only in the
// answer to its creation.
type KeyJSON struct {
	AccessKeyID     string    `json:"accessKeyId"`
	AccountID       string    `json:"accountId"`
	Status          string    `json:"status"`
	Description     string    `json:"description"`
	CreatedAt       time.Time `json:"createdAt,omitzero"`
	AccessKeySecret string    `json:"accessKeySecret,omitempty"`
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	ks, err := a.cfg.Service.ListAccessKeys(r.Context())
	if err != nil {
		return err
	}
	out := make([]KeyJSON, 0, len(ks))
	for _, k := range ks {
		out = append(out, KeyJSON{AccessKeyID: k.ID, AccountID: k.AccountID, Status: string(k.Status), Description: k.Description, CreatedAt: k.CreatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out})
	return nil
}

type createKeyRequest struct {
	Account     string `json:"account"`
	Description string `json:"description"`
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	var in createKeyRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Account == "" {
		in.Account = auth.DefaultAccount
	}
	if len(in.Description) > 256 || !utf8.ValidString(in.Description) {
		return bad("description has at most 256 bytes of UTF-8")
	}
	setAuditDetail(r.Context(), "account", in.Account)
	c, err := a.cfg.Service.CreateAccessKey(r.Context(), in.Account, "", "", in.Description)
	if err != nil {
		return err
	}
	setAuditTarget(r.Context(), c.AccessKeyID)
	writeJSON(w, http.StatusCreated, KeyJSON{AccessKeyID: c.AccessKeyID, AccountID: c.AccountID, Status: string(store.KeyActive),
		Description: in.Description, AccessKeySecret: c.Secret})
	return nil
}

func (a *API) setKey(active bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *Principal) error {
		id := r.PathValue("id")
		setAuditTarget(r.Context(), id)
		if err := a.cfg.Service.SetAccessKeyActive(r.Context(), id, active); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// SchemeJSON is a scheme as the API shows it.
type SchemeJSON struct {
	SchemeCode     string    `json:"schemeCode"`
	AccountID      string    `json:"accountId"`
	SchemeName     string    `json:"schemeName"`
	AppName        string    `json:"appName"`
	OsType         string    `json:"osType"`
	Origin         string    `json:"origin,omitempty"`
	URL            string    `json:"url,omitempty"`
	PackName       string    `json:"packName,omitempty"`
	PackSign       string    `json:"packSign,omitempty"`
	BundleID       string    `json:"bundleId,omitempty"`
	SmsSignName    string    `json:"smsSignName,omitempty"`
	IPWhiteList    string    `json:"ipWhiteList,omitempty"`
	Email          string    `json:"email,omitempty"`
	FusionStrategy string    `json:"fusionStrategy,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
}

func schemeJSON(s store.Scheme) SchemeJSON {
	return SchemeJSON{s.Code, s.AccountID, s.Name, s.AppName, s.OsType, s.Origin, s.URL, s.PackName, s.PackSign,
		s.BundleID, s.SmsSignName, s.IPWhiteList, s.Email, s.FusionStrategy, s.CreatedAt}
}

func (a *API) listSchemes(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	ss, err := a.cfg.Service.ListSchemes(r.Context(), r.URL.Query().Get("account"))
	if err != nil {
		return err
	}
	out := make([]SchemeJSON, 0, len(ss))
	for _, s := range ss {
		out = append(out, schemeJSON(s))
	}
	writeJSON(w, http.StatusOK, map[string]any{"schemes": out})
	return nil
}

type createSchemeRequest struct {
	Account        string `json:"account"`
	SchemeName     string `json:"schemeName"`
	AppName        string `json:"appName"`
	OsType         string `json:"osType"`
	Origin         string `json:"origin"`
	URL            string `json:"url"`
	PackName       string `json:"packName"`
	PackSign       string `json:"packSign"`
	BundleID       string `json:"bundleId"`
	SmsSignName    string `json:"smsSignName"`
	IPWhiteList    string `json:"ipWhiteList"`
	Email          string `json:"email"`
	FusionStrategy string `json:"fusionStrategy"`
}

// operator is the Caller the admin API acts as: an account's owner,
// calling from nowhere in particular.
func operator(account string) auth.Caller {
	if account == "" {
		account = auth.DefaultAccount
	}
	return auth.Caller{AccountID: account, SourceIP: netip.Addr{}}
}

func (a *API) createScheme(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	var in createSchemeRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	setAuditDetail(r.Context(), "schemeName", in.SchemeName)
	setAuditDetail(r.Context(), "osType", in.OsType)
	s, err := a.cfg.Service.CreateScheme(r.Context(), operator(in.Account), auth.SchemeInput{
		Name: in.SchemeName, AppName: in.AppName, OsType: in.OsType, Origin: in.Origin, URL: in.URL,
		PackName: in.PackName, PackSign: in.PackSign, BundleID: in.BundleID, SmsSignName: in.SmsSignName,
		IPWhiteList: in.IPWhiteList, Email: in.Email, FusionStrategy: in.FusionStrategy,
	})
	if err != nil {
		return err
	}
	setAuditTarget(r.Context(), s.Code)
	writeJSON(w, http.StatusCreated, schemeJSON(s))
	return nil
}

func (a *API) deleteScheme(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	code := r.PathValue("code")
	setAuditTarget(r.Context(), code)
	ss, err := a.cfg.Service.ListSchemes(r.Context(), "")
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ss, func(s store.Scheme) bool { return s.Code == code })
	if i < 0 {
		return errNotFound
	}
	if err := a.cfg.Service.DeleteScheme(r.Context(), operator(ss[i].AccountID), code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ClientJSON is a CAMARA OAuth client as the API lists it.
type ClientJSON struct {
	ClientID     string    `json:"clientId"`
	AccountID    string    `json:"accountId"`
	Name         string    `json:"name"`
	RedirectURIs []string  `json:"redirectUris"`
	AuthMethod   string    `json:"authMethod"`
	Scopes       []string  `json:"scopes"`
	Status       string    `json:"status"`
	CreatedAt    time.Time `json:"createdAt"`
}

func (a *API) listClients(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	cs, err := a.cfg.Service.ListOAuthClients(r.Context(), r.URL.Query().Get("account"))
	if err != nil {
		return err
	}
	out := make([]ClientJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, clientJSON(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": out})
	return nil
}

func clientJSON(c auth.OAuthClient) ClientJSON {
	return ClientJSON{c.ID, c.AccountID, c.Name, nonNil(c.RedirectURIs), c.AuthMethod, nonNil(c.Scopes), string(c.Status), c.CreatedAt}
}

type createClientRequest struct {
	Account      string          `json:"account"`
	Name         string          `json:"name"`
	RedirectURIs []string        `json:"redirectUris"`
	Scopes       []string        `json:"scopes"`
	AuthMethod   string          `json:"authMethod"`
	JWKS         json.RawMessage `json:"jwks"`
}

// CreatedClientJSON is the answer to a create: the client and, for
// client_secret_basic, its secret, shown this once (numauth keeps a hash).
type CreatedClientJSON struct {
	ClientJSON
	ClientSecret string `json:"clientSecret,omitempty"`
}

// createClient registers a CAMARA client as `numauth camara clients
// create` does: client_secret_basic (a secret is made) or private_key_jwt
// (jwks, the client's public keys).
func (a *API) createClient(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	var in createClientRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Account == "" {
		in.Account = auth.DefaultAccount
	}
	setAuditDetail(r.Context(), "account", in.Account)
	setAuditDetail(r.Context(), "name", in.Name)
	setAuditDetail(r.Context(), "authMethod", in.AuthMethod)
	setAuditDetail(r.Context(), "redirectUris", in.RedirectURIs)
	setAuditDetail(r.Context(), "scopes", in.Scopes)
	switch in.AuthMethod {
	case auth.AuthClientSecretBasic:
		if len(in.JWKS) > 0 && string(in.JWKS) != "null" {
			return bad("jwks is for private_key_jwt; client_secret_basic gets a generated secret")
		}
		in.JWKS = nil
	case auth.AuthPrivateKeyJWT:
		if len(in.JWKS) == 0 || string(in.JWKS) == "null" {
			return bad("private_key_jwt needs jwks, the client's public keys (a JWK Set)")
		}
	default:
		return bad("authMethod is %s or %s", auth.AuthClientSecretBasic, auth.AuthPrivateKeyJWT)
	}
	if len(in.RedirectURIs) == 0 {
		return bad("redirectUris needs at least one URI")
	}
	c, secret, err := a.cfg.Service.CreateOAuthClient(r.Context(), auth.OAuthClientInput{AccountID: in.Account, Name: in.Name,
		RedirectURIs: in.RedirectURIs, AuthMethod: in.AuthMethod, JWKS: in.JWKS, Scopes: in.Scopes})
	if err != nil {
		return err
	}
	setAuditTarget(r.Context(), c.ID)
	writeJSON(w, http.StatusCreated, CreatedClientJSON{clientJSON(c), secret})
	return nil
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func (a *API) setClient(active bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *Principal) error {
		id := r.PathValue("id")
		setAuditTarget(r.Context(), id)
		if err := a.cfg.Service.SetOAuthClientActive(r.Context(), id, active); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// dailyStats: ?account=&type=1|2|3&from=yyyyMMdd&to=yyyyMMdd&scheme=&os=
// — the same sums as QueryGateVerifyStatisticPublic.
func (a *API) dailyStats(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	q := r.URL.Query()
	typ := 2
	switch q.Get("type") {
	case "", "2":
	case "1":
		typ = 1
	case "3":
		typ = 3
	default:
		return bad("type is 1 (login), 2 (verification) or 3 (SMS)")
	}
	// Default: the last 30 days (UTC, as the records are counted).
	from, to := q.Get("from"), q.Get("to")
	if to == "" {
		to = a.cfg.Now().UTC().Format("20060102")
	}
	if from == "" {
		if end, err := time.Parse("20060102", to); err == nil {
			from = end.AddDate(0, 0, -29).Format("20060102")
		}
	}
	st, err := a.cfg.Service.Statistics(r.Context(), operator(q.Get("account")), auth.StatsInput{
		AuthenticationType: typ, StartDate: from, EndDate: to, SceneCode: q.Get("scheme"), OsType: q.Get("os"),
	})
	if err != nil {
		return err
	}
	days := make([]map[string]any, 0, len(st.Days))
	for _, d := range st.Days {
		days = append(days, map[string]any{"day": d.Day, "pass": d.Pass, "reject": d.Reject, "unknown": d.Unknown})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"total": st.Total, "pass": st.TotalSuccess, "reject": st.TotalFail, "unknown": st.TotalUnknown, "days": days,
	})
	return nil
}

// billing: ?account=&month=yyyyMM&type=0|1|2|4, priced as
// QueryGateVerifyBillingPublic.
func (a *API) billing(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	q := r.URL.Query()
	typ := 2
	if v := q.Get("type"); v != "" {
		n, err := strconv.Atoi(v)
		if typ = n; err != nil || !slices.Contains([]int{0, 1, 2, 4}, typ) {
			return bad("type is 0 (verification), 1 (login), 2 (all) or 4 (SMS)")
		}
	}
	month := q.Get("month")
	if month == "" {
		month = a.cfg.Now().In(chinaTime).Format("200601")
	}
	b, err := a.cfg.Service.Billing(r.Context(), operator(q.Get("account")), auth.BillingInput{AuthenticationType: typ, Month: month})
	if err != nil {
		return err
	}
	lines := make([]map[string]any, 0, len(b.Lines))
	for _, l := range b.Lines {
		lines = append(lines, map[string]any{"schemeCode": l.SceneCode, "schemeName": l.SceneName, "appName": l.AppName,
			"item": l.ItemName, "count": l.Count, "priceFen": l.PriceFen, "amountFen": l.AmountFen})
	}
	writeJSON(w, http.StatusOK, map[string]any{"month": month, "amountFen": b.AmountFen, "lines": lines})
	return nil
}

var chinaTime = time.FixedZone("CST", 8*3600)
