// numauth's operator console: one bundle, hash routing, on the admin API (/admin/v1/).
// Every string from the API reaches the page as a text node, never as markup.
import uPlot from "uplot";

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | boolean | ((e: Event) => void)>;

function h(tag: string, attrs: Attrs = {}, ...kids: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of kids) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
  return el;
}

interface Session { user: string; role: "admin" | "viewer"; csrfToken: string }
let session: Session | null = null;
let timer = 0;

class APIError extends Error {
  constructor(public status: number, public code: string, message: string) { super(message); }
}

const banner = h("div", { class: "banner", role: "alert", hidden: true });
const root = h("div");

function showBanner(text: string | null): void {
  banner.textContent = text ?? "";
  banner.hidden = text === null;
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session) headers["X-CSRF-Token"] = session.csrfToken;
  let res: Response;
  try {
    res = await fetch("/admin/v1/" + path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    showBanner("The server cannot be reached (network error); the store may be unavailable. Retrying on the next action.");
    throw new APIError(0, "NetworkError", "network error");
  }
  if (res.status === 503) {
    showBanner("The store is unavailable (503): numauth cannot reach its database. Try again shortly.");
  } else {
    showBanner(null);
  }
  const text = await res.text();
  let data: Record<string, unknown> = {};
  if (text) { try { data = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON */ } }
  if (!res.ok) {
    const code = typeof data.code === "string" ? data.code : String(res.status);
    const msg = typeof data.message === "string" ? data.message : typeof data.error === "string" ? data.error : res.statusText;
    if (res.status === 401 && path !== "session") {
      session = null;
      renderSignIn("Your session ended; please sign in again.");
    }
    throw new APIError(res.status, code, msg);
  }
  return data as T;
}

const isAdmin = (): boolean => session?.role === "admin";

function table(heads: string[], rows: Child[][]): HTMLElement {
  return h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, ...heads.map((x) => h("th", {}, x)))),
    h("tbody", {}, ...(rows.length ? rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))
      : [h("tr", {}, h("td", { colspan: String(heads.length), class: "muted" }, "nothing yet"))]))));
}

function errBox(e: unknown): HTMLElement {
  const msg = e instanceof APIError ? `${e.code}: ${e.message}` : String(e);
  return h("p", { class: "error", role: "alert" }, msg);
}

function dialog(title: string, ...body: Child[]): void {
  const d = h("dialog", {}, h("h2", {}, title), ...body,
    h("form", { method: "dialog" }, h("button", { type: "submit" }, "Close"))) as HTMLDialogElement;
  d.addEventListener("close", () => d.remove());
  document.body.append(d);
  d.showModal();
}

function field(label: string, input: HTMLElement): HTMLElement { return h("label", {}, label, input); }
function input(name: string, attrs: Attrs = {}): HTMLInputElement { return h("input", { name, ...attrs }) as HTMLInputElement; }
function select(name: string, opts: [string, string][], value = ""): HTMLSelectElement {
  const s = h("select", { name }, ...opts.map(([v, t]) => h("option", { value: v }, t))) as HTMLSelectElement;
  s.value = value || opts[0][0];
  return s;
}
function when(d: unknown): string { return typeof d === "string" && d ? d.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : ""; }

// confirmAction asks in the page (not window.confirm, so a script dialog
// on this page is always a fault) and resolves true on OK.
function confirmAction(text: string): Promise<boolean> {
  return new Promise((done) => {
    const d = h("dialog", { class: "confirm" }, h("p", {}, text),
      h("form", { method: "dialog", class: "row" },
        h("button", { type: "submit", value: "ok", id: "confirm-ok" }, "OK"),
        h("button", { type: "submit", value: "cancel", class: "secondary" }, "Cancel"))) as HTMLDialogElement;
    d.addEventListener("close", () => { d.remove(); done(d.returnValue === "ok"); });
    document.body.append(d);
    d.showModal();
  });
}

// latest makes a guard for a page's repeated loads: call it when a load
// starts; the check it returns is false once a newer load has started, so
// a slow answer never overwrites a newer one.
function latest(): () => () => boolean {
  let n = 0;
  return () => { const mine = ++n; return () => mine === n; };
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? "?" + s : "";
}
// localInput is a datetime-local value as RFC 3339 ("" stays "").
function localInput(v: string): string { return v ? new Date(v).toISOString().replace(/\.\d+Z$/, "Z") : ""; }
const ms = (v: number): string => (v ? v.toFixed(v < 10 ? 1 : 0) + " ms" : "—");

// ---- pages

type Page = (main: HTMLElement) => Promise<void>;

interface Counts { total: number; pass: number; reject: number; unknown: number }
interface Stats extends Counts { days: { day: string; pass: number; reject: number; unknown: number }[] }
interface Live extends Counts {
  from: string; to: string; p50Ms: number; p99Ms: number;
  minutes: (Counts & { minute: string; byCarrier: Record<string, number> })[];
  carriers: (Counts & { carrier: string; p50Ms: number; p99Ms: number })[];
}
interface Hour extends Counts { hour: string; billable: number; p50Ms: number; p99Ms: number }
const types: [string, string][] = [["2", "verification"], ["1", "login"], ["3", "SMS"]];
const colors = ["#24509b", "#1a7a32", "#c46a00", "#7a2a9b", "#a31515", "#2a8a8a", "#5a6475"];

// lineChart draws one uPlot line chart of series over xs (Unix seconds,
// a regular grid: a missing value is null, drawn as a gap).
function lineChart(box: HTMLElement, xs: number[], series: { label: string; values: (number | null)[] }[], yLabel: string): void {
  box.replaceChildren();
  const width = Math.max(240, box.clientWidth || 600);
  const lo = xs[0], hi = xs[xs.length - 1];
  new uPlot({
    width, height: 220,
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colors[i % colors.length], width: 2 }))],
    axes: [{}, { label: yLabel, size: 56 }],
    scales: { x: { time: true, range: (): uPlot.Range.MinMax => [lo, hi] }, y: { range: (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [0, Math.max(1, max) * 1.1] } },
  }, [xs, ...series.map((s) => s.values)], box);
}

const secs = (t: string): number => Date.parse(t) / 1000;

// grid is n points step seconds apart, the last at last.
function grid(last: number, step: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => last - (n - 1 - i) * step);
}

function dailyChart(box: HTMLElement, all: Stats[]): void {
  const today = Math.floor(Date.now() / 864e5) * 86400;
  const xs = grid(today, 86400, 30);
  lineChart(box, xs, all.map((s, i) => {
    const m = new Map(s.days.map((d) => [Date.parse(d.day + "T00:00:00Z") / 1000, d.pass + d.reject + d.unknown]));
    return { label: types[i][1], values: xs.map((x) => m.get(x) ?? 0) };
  }), "requests");
}

function liveChart(box: HTMLElement, l: Live): void {
  const xs = grid(secs(l.to) - 60, 60, Math.max(1, Math.round((secs(l.to) - secs(l.from)) / 60)));
  const at = new Map(l.minutes.map((m) => [secs(m.minute), m]));
  const carriers = l.carriers.map((c) => c.carrier);
  lineChart(box, xs, [
    { label: "all", values: xs.map((x) => at.get(x)?.total ?? 0) },
    { label: "REJECT", values: xs.map((x) => at.get(x)?.reject ?? 0) },
    ...carriers.map((c) => ({ label: c, values: xs.map((x) => at.get(x)?.byCarrier[c] ?? 0) })),
  ], "calls / min");
}

// latencyChart draws p50/p99 per hour over xs, hours without records as gaps.
function latencyChart(box: HTMLElement, hours: Hour[], xs: number[]): void {
  const at = new Map(hours.map((x) => [secs(x.hour), x]));
  lineChart(box, xs, [
    { label: "p50", values: xs.map((x) => at.get(x)?.p50Ms ?? null) }, { label: "p99", values: xs.map((x) => at.get(x)?.p99Ms ?? null) }], "ms");
}
const thisHour = (): number => Math.floor(Date.now() / 36e5) * 3600;

function card(label: string, value: string | number, id?: string): HTMLElement {
  return h("div", { class: "card" }, h("div", { class: "l" }, label), h("div", { class: "n", ...(id ? { id } : {}) }, value));
}

const overview: Page = async (main) => {
  const cards = h("div", { class: "cards", id: "live-cards" });
  const live = h("div", { class: "chart", id: "chart" }), byCarrier = h("div", { id: "by-carrier" });
  const lat = h("div", { class: "chart", id: "latency-chart" }), daily = h("div", { class: "chart", id: "daily-chart" });
  main.append(h("h1", {}, "Overview"), h("p", { class: "muted" }, "Live: the last 60 minutes, refreshed every 10 s."), cards,
    h("div", { class: "panel" }, h("h2", {}, "Calls per minute"), live),
    h("div", { class: "panel" }, h("h2", {}, "By carrier, the last 60 minutes"), byCarrier),
    h("div", { class: "panel" }, h("h2", {}, "Carrier latency per hour, the last 24 hours"), lat),
    h("div", { class: "panel" }, h("h2", {}, "Requests per day, the last 30 days"), daily));
  const load = async (): Promise<void> => {
    const [l, hourly, ...all] = await Promise.all([
      api<Live>("GET", "stats/live?minutes=60"), api<{ hours: Hour[] }>("GET", "stats/hourly"),
      ...types.map(([t]) => api<Stats>("GET", "stats/daily?type=" + t))]);
    cards.replaceChildren(card("calls, 60 min", l.total, "live-total"), card("pass", l.pass, "live-pass"),
      card("reject", l.reject, "live-reject"), card("unknown", l.unknown, "live-unknown"),
      card("p50", ms(l.p50Ms), "live-p50"), card("p99", ms(l.p99Ms), "live-p99"));
    liveChart(live, l);
    byCarrier.replaceChildren(table(["carrier", "calls", "pass", "reject", "unknown", "p50", "p99"],
      l.carriers.map((c) => [h("span", { class: "carrier" }, c.carrier), c.total, c.pass, c.reject, c.unknown, ms(c.p50Ms), ms(c.p99Ms)])));
    latencyChart(lat, hourly.hours, grid(thisHour(), 3600, 24));
    dailyChart(daily, all);
  };
  await load();
  timer = window.setInterval(() => { load().catch(() => undefined); }, 10000);
};

interface Account { accountId: string; keys: number; activeKeys: number; schemes: number; camaraClients: number }
const accounts: Page = async (main) => {
  const { accounts } = await api<{ accounts: Account[] }>("GET", "accounts");
  main.append(h("h1", {}, "Accounts"), h("p", { class: "muted" }, "An account owns AccessKeys, schemes and CAMARA clients; its calls are counted, billed and limited together. Create one by creating an AccessKey for it (numauth keys create --account NAME)."),
    table(["account", "AccessKeys (active)", "schemes", "CAMARA clients"], accounts.map((a) => [h("span", { class: "account" }, a.accountId), `${a.keys} (${a.activeKeys})`, a.schemes, a.camaraClients])));
};

const statistics: Page = async (main) => {
  const [{ accounts }, { schemes }] = await Promise.all([api<{ accounts: Account[] }>("GET", "accounts"), api<{ schemes: Scheme[] }>("GET", "schemes")]);
  const acct = select("account", [["", "all accounts"], ...accounts.map((a): [string, string] => [a.accountId, a.accountId])]);
  const scheme = select("scheme", [["", "all schemes"], ...schemes.map((x): [string, string] => [x.schemeCode, `${x.schemeCode} ${x.schemeName}`])]);
  const to = new Date(), from = new Date(Date.now() - 6 * 864e5);
  const f = input("from", { type: "date", value: from.toISOString().slice(0, 10) });
  const t = input("to", { type: "date", value: to.toISOString().slice(0, 10) });
  const ty = select("type", types);
  const by = select("by", [["day", "by day"], ["hour", "by hour"]]);
  const out = h("div");
  const fresh = latest();
  const run = async (): Promise<void> => {
    const current = fresh();
    try {
      if (by.value === "day") {
        const s = await api<Stats>("GET", "stats/daily" + query({ type: ty.value, from: f.value.replace(/-/g, ""), to: t.value.replace(/-/g, ""), account: acct.value, scheme: scheme.value }));
        if (!current()) return;
        out.replaceChildren(h("p", { id: "stats-total" }, `total ${s.total}, pass ${s.pass}, reject ${s.reject}, unknown ${s.unknown}`),
          table(["day", "pass", "reject", "unknown"], s.days.map((d) => [d.day, d.pass, d.reject, d.unknown])));
        return;
      }
      if (ty.value === "3") { out.replaceChildren(h("p", { class: "note" }, "SMS sends are counted by day.")); return; }
      const end = new Date(Date.parse(t.value + "T00:00:00Z") + 864e5).toISOString().replace(/\.\d+Z$/, "Z");
      const { hours } = await api<{ hours: Hour[] }>("GET", "stats/hourly" + query({ kind: ty.value === "1" ? "login" : "verify", from: f.value + "T00:00:00Z", to: end, account: acct.value, scheme: scheme.value }));
      if (!current()) return;
      const sum = hours.reduce((a, x) => ({ total: a.total + x.total, pass: a.pass + x.pass, reject: a.reject + x.reject, unknown: a.unknown + x.unknown }), { total: 0, pass: 0, reject: 0, unknown: 0 });
      const box = h("div", { class: "chart" });
      out.replaceChildren(h("p", { id: "stats-total" }, `total ${sum.total}, pass ${sum.pass}, reject ${sum.reject}, unknown ${sum.unknown}`),
        h("div", { class: "panel" }, h("h2", {}, "Carrier latency per hour"), box),
        table(["hour (UTC)", "total", "pass", "reject", "unknown", "billable", "p50", "p99"],
          hours.map((x) => [when(x.hour), x.total, x.pass, x.reject, x.unknown, x.billable, ms(x.p50Ms), ms(x.p99Ms)])));
      const first = Date.parse(f.value + "T00:00:00Z") / 1000, last = Math.min(thisHour(), Date.parse(end) / 1000 - 3600);
      if (hours.length && last >= first) latencyChart(box, hours, grid(last, 3600, Math.floor((last - first) / 3600) + 1));
      else box.append(h("p", { class: "muted" }, "no records in this range"));
    } catch (e) { if (current()) out.replaceChildren(errBox(e)); }
  };
  main.append(h("h1", {}, "Statistics"), h("form", { class: "row", id: "stats-form", onsubmit: (e: Event) => { e.preventDefault(); void run(); } },
    field("from", f), field("to", t), field("type", ty), field("granularity", by), field("account", acct), field("scheme", scheme), h("button", { type: "submit" }, "Show")), out);
  await run();
};

const billing: Page = async (main) => {
  const m = input("month", { type: "month", value: new Date().toISOString().slice(0, 7) });
  const out = h("div");
  const run = async (): Promise<void> => {
    try {
      const b = await api<{ month: string; amountFen: number; lines: Record<string, string | number>[] }>("GET", "billing?month=" + m.value.replace("-", ""));
      out.replaceChildren(h("p", {}, `${b.month}: ¥${(b.amountFen / 100).toFixed(2)}`),
        table(["scheme", "app", "item", "count", "price (fen)", "amount (fen)"], b.lines.map((l) => [String(l.schemeName || l.schemeCode), String(l.appName), String(l.item), l.count, l.priceFen, l.amountFen])));
    } catch (e) { out.replaceChildren(errBox(e)); }
  };
  main.append(h("h1", {}, "Billing"), h("form", { class: "row", onsubmit: (e: Event) => { e.preventDefault(); void run(); } }, field("month", m), h("button", { type: "submit" }, "Show")), out);
  await run();
};

interface Verification { verifyId: string; schemeCode: string; kind: string; carrier: string; result: string; maskedPhone: string; latencyMs: number; createdAt: string }
const verifications: Page = async (main) => {
  const phone = input("phone", { placeholder: "138****5678", maxlength: "24" }), id = input("verifyId", { maxlength: "64" });
  const scheme = input("scheme", { placeholder: "FC…", maxlength: "64" });
  const kind = select("kind", [["", "any"], ["verify", "verify"], ["login", "login"]]);
  const result = select("result", [["", "any"], ["PASS", "PASS"], ["REJECT", "REJECT"], ["UNKNOWN", "UNKNOWN"]]);
  const from = input("from", { type: "datetime-local" }), to = input("to", { type: "datetime-local" });
  const out = h("div");
  const fresh = latest();
  const load = async (before: string): Promise<void> => {
    const current = fresh();
    try {
      const r = await api<{ verifications: Verification[]; next?: string }>("GET", "verifications" + query({
        phone: phone.value.trim(), verifyId: id.value.trim(), scheme: scheme.value.trim(), kind: kind.value, result: result.value,
        from: localInput(from.value), to: localInput(to.value), before, limit: 50 }));
      if (!current()) return;
      out.replaceChildren(table(["time", "VerifyId", "kind", "scheme", "carrier", "result", "number", "latency"],
        r.verifications.map((v) => [when(v.createdAt), v.verifyId, v.kind, v.schemeCode, v.carrier, h("span", { class: "result-" + v.result }, v.result), h("span", { class: "masked" }, v.maskedPhone), ms(v.latencyMs)])),
      h("p", {}, before ? h("button", { class: "secondary", onclick: () => { void load(""); } }, "Newest") : null, " ",
        r.next ? h("button", { class: "secondary", id: "older", onclick: () => { void load(r.next ?? ""); } }, "Older") : null));
    } catch (e) { if (current()) out.replaceChildren(errBox(e)); }
  };
  main.append(h("h1", {}, "Verification log"), h("p", { class: "muted" }, "Numbers are shown and searched masked only, as 138****5678."),
    h("form", { class: "row", id: "log-search", onsubmit: (e: Event) => { e.preventDefault(); void load(""); } },
      field("masked number", phone), field("VerifyId", id), field("scheme", scheme), field("kind", kind), field("result", result),
      field("from (local)", from), field("to (local)", to), h("button", { type: "submit" }, "Search")), out);
  await load("");
};

interface Key { accessKeyId: string; accountId: string; status: string; description: string; createdAt?: string; accessKeySecret?: string }
const keys: Page = async (main) => {
  const { keys } = await api<{ keys: Key[] }>("GET", "keys");
  const msg = h("div");
  main.append(h("h1", {}, "AccessKeys"), msg);
  if (isAdmin()) {
    const desc = input("description", { maxlength: "256", placeholder: "what it is for" });
    main.append(h("form", { class: "row", id: "key-create", onsubmit: async (e: Event) => {
      e.preventDefault();
      try {
        const k = await api<Key>("POST", "keys", { description: desc.value });
        dialog("AccessKey created", h("p", {}, "The secret is shown only now. Copy it:"),
          h("p", {}, "AccessKeyId"), h("code", { id: "new-key-id" }, k.accessKeyId),
          h("p", {}, "AccessKeySecret"), h("code", { id: "new-key-secret" }, k.accessKeySecret ?? ""));
        void route();
      } catch (err) { msg.replaceChildren(errBox(err)); }
    } }, field("description", desc), h("button", { type: "submit" }, "Create AccessKey")));
  }
  main.append(table(["AccessKeyId", "account", "status", "description", "created", ""], keys.map((k) => [
    k.accessKeyId, k.accountId, h("span", { class: "status-" + k.status }, k.status), h("span", { class: "desc" }, k.description), when(k.createdAt),
    isAdmin() ? h("button", { class: "secondary", "data-key": k.accessKeyId, onclick: async () => {
      try { await api("POST", `keys/${encodeURIComponent(k.accessKeyId)}/${k.status === "Active" ? "disable" : "enable"}`); void route(); } catch (err) { msg.replaceChildren(errBox(err)); }
    } }, k.status === "Active" ? "Disable" : "Enable") : null,
  ])));
};

interface Scheme { schemeCode: string; accountId: string; schemeName: string; appName: string; osType: string; origin?: string; url?: string; createdAt: string }
const schemes: Page = async (main) => {
  const { schemes } = await api<{ schemes: Scheme[] }>("GET", "schemes");
  const msg = h("div");
  main.append(h("h1", {}, "Schemes"), msg);
  if (isAdmin()) {
    const name = input("schemeName", { required: true }), app = input("appName", { required: true }), origin = input("origin", { placeholder: "https://example.com" }), url = input("url", { placeholder: "https://example.com/login" });
    main.append(h("h2", {}, "New H5 scheme"), h("form", { class: "row", id: "scheme-create", onsubmit: async (e: Event) => {
      e.preventDefault();
      try { await api("POST", "schemes", { schemeName: name.value, appName: app.value, osType: "H5", origin: origin.value, url: url.value }); void route(); } catch (err) { msg.replaceChildren(errBox(err)); }
    } }, field("name", name), field("app", app), field("origin", origin), field("page URL", url), h("button", { type: "submit" }, "Create scheme")));
  }
  main.append(table(["code", "name", "app", "OS", "origin", "created", ""], schemes.map((s) => [
    s.schemeCode, h("span", { class: "scheme-name" }, s.schemeName), s.appName, s.osType, s.origin ?? "", when(s.createdAt),
    isAdmin() ? h("button", { class: "danger", "data-scheme": s.schemeCode, onclick: async () => {
      if (!(await confirmAction("Delete scheme " + s.schemeCode + "?"))) return;
      try { await api("DELETE", "schemes/" + encodeURIComponent(s.schemeCode)); void route(); } catch (err) { msg.replaceChildren(errBox(err)); }
    } }, "Delete") : null,
  ])));
};

interface Client { clientId: string; accountId: string; name: string; redirectUris: string[]; authMethod: string; scopes: string[]; status: string; createdAt: string }
const camara: Page = async (main) => {
  const { clients } = await api<{ clients: Client[] }>("GET", "camara/clients");
  const msg = h("div");
  main.append(h("h1", {}, "CAMARA clients"), h("p", { class: "muted" }, "Applications that call numauth's Number Verification API (OAuth clients)."), msg);
  if (isAdmin()) {
    const name = input("name", { maxlength: "128" }), uris = input("redirectUris", { required: true, placeholder: "https://app.example/callback", size: "32" });
    const scopes = input("scopes", { placeholder: "all (or a space-separated list)", size: "24" });
    const method = select("authMethod", [["client_secret_basic", "client_secret_basic (a secret)"], ["private_key_jwt", "private_key_jwt (a JWK Set)"]]);
    const jwks = h("textarea", { name: "jwks", rows: "3", cols: "40", placeholder: '{"keys": [ … public keys … ]}' }) as HTMLTextAreaElement;
    const jwksField = field("JWK Set (public keys)", jwks);
    jwksField.hidden = true;
    method.addEventListener("change", () => { jwksField.hidden = method.value !== "private_key_jwt"; });
    const words = (v: string): string[] => v.split(/\s+/).filter((x) => x);
    main.append(h("form", { class: "row", id: "client-create", onsubmit: async (e: Event) => {
      e.preventDefault();
      let keys: unknown;
      if (method.value === "private_key_jwt") {
        try { keys = JSON.parse(jwks.value); } catch { msg.replaceChildren(errBox(new Error("the JWK Set is not JSON"))); return; }
      }
      try {
        const c = await api<Client & { clientSecret?: string }>("POST", "camara/clients", { name: name.value, redirectUris: words(uris.value), scopes: words(scopes.value), authMethod: method.value, jwks: keys });
        dialog("CAMARA client created", h("p", {}, "client_id"), h("code", { id: "new-client-id" }, c.clientId),
          c.clientSecret ? h("p", {}, "client_secret (shown only now; numauth keeps its hash):") : null,
          c.clientSecret ? h("code", { id: "new-client-secret" }, c.clientSecret) : null);
        void route();
      } catch (err) { msg.replaceChildren(errBox(err)); }
    } }, field("name", name), field("redirect URIs", uris), field("scopes", scopes), field("authentication", method), jwksField, h("button", { type: "submit" }, "Create client")));
  }
  main.append(
    table(["client id", "name", "account", "auth method", "scopes", "redirect URIs", "status", "created", ""], clients.map((c) => [
      c.clientId, h("span", { class: "client-name" }, c.name), c.accountId, c.authMethod, c.scopes.join(" ") || "all", h("span", { class: "wrap" }, c.redirectUris.join(" ")),
      h("span", { class: "status-" + c.status }, c.status), when(c.createdAt),
      isAdmin() ? h("button", { class: "secondary", "data-client": c.clientId, onclick: async () => {
        try { await api("POST", `camara/clients/${encodeURIComponent(c.clientId)}/${c.status === "Active" ? "disable" : "enable"}`); void route(); } catch (err) { msg.replaceChildren(errBox(err)); }
      } }, c.status === "Active" ? "Disable" : "Enable") : null])));
};

interface User { name: string; role: string; disabled: boolean; createdAt: string }
const users: Page = async (main) => {
  const { users } = await api<{ users: User[] }>("GET", "users");
  const msg = h("div");
  main.append(h("h1", {}, "Console users"), msg);
  const act = (fn: () => Promise<unknown>) => async () => { try { await fn(); void route(); } catch (err) { msg.replaceChildren(errBox(err)); } };
  if (isAdmin()) {
    const name = input("name", { required: true, maxlength: "64" }), role = select("role", [["viewer", "viewer"], ["admin", "admin"]]);
    main.append(h("form", { class: "row", id: "user-create", onsubmit: async (e: Event) => {
      e.preventDefault();
      try {
        const u = await api<{ name: string; password?: string }>("POST", "users", { name: name.value, role: role.value });
        dialog("User created", h("p", {}, "User "), h("code", {}, u.name), h("p", {}, "Password (shown only now):"), h("code", { id: "new-password" }, u.password ?? ""));
        void route();
      } catch (err) { msg.replaceChildren(errBox(err)); }
    } }, field("name", name), field("role", role), h("button", { type: "submit" }, "Create user")));
  }
  main.append(table(["name", "role", "status", "created", ""], users.map((u) => {
    const p = "users/" + encodeURIComponent(u.name);
    return [h("span", { class: "user-name" }, u.name), h("span", { class: "role" }, u.role), h("span", { class: u.disabled ? "status-disabled" : "status-enabled" }, u.disabled ? "disabled" : "enabled"), when(u.createdAt),
      isAdmin() ? h("span", { "data-user": u.name },
        h("button", { class: "secondary role-toggle", onclick: act(() => api("PATCH", p, { role: u.role === "admin" ? "viewer" : "admin" })) }, u.role === "admin" ? "Make viewer" : "Make admin"),
        h("button", { class: "secondary", onclick: act(() => api("PATCH", p, { disabled: !u.disabled })) }, u.disabled ? "Enable" : "Disable"),
        h("button", { class: "danger user-delete", onclick: act(async () => { if (await confirmAction("Delete user " + u.name + "?")) await api("DELETE", p); }) }, "Delete")) : null];
  })));
};

interface Audit { id: string; at: string; actor: string; source: string; action: string; target: string; outcome: string; detail: unknown }
const audit: Page = async (main) => {
  const out = h("div");
  main.append(h("h1", {}, "Audit log"), out);
  const load = async (before: string): Promise<void> => {
    const { entries } = await api<{ entries: Audit[] }>("GET", "audit" + query({ limit: 50, before }));
    const last = entries.length ? entries[entries.length - 1].id : "";
    out.replaceChildren(table(["time", "actor", "source", "action", "target", "outcome", "detail"], entries.map((e) => [when(e.at), e.actor, e.source, e.action, e.target, e.outcome, JSON.stringify(e.detail)])),
      h("p", {}, before ? h("button", { class: "secondary", onclick: () => { void load(""); } }, "Newest") : null, " ",
        entries.length === 50 ? h("button", { class: "secondary", onclick: () => { void load(last).catch((err) => out.append(errBox(err))); } }, "Older") : null));
  };
  await load("");
};

interface Send { bizId: string; schemeName: string; maskedPhone: string; signName: string; templateCode: string; content: string; provider: string; status: string; errCode: string; sentAt: string; receivedAt?: string }
const sms: Page = async (main) => {
  main.append(h("h1", {}, "SMS"));
  const log = h("div");
  const loadLog = async (offset: number): Promise<void> => {
    try {
      const r = await api<{ sends: Send[]; total: number; offset: number }>("GET", "sms/sends" + query({ offset, limit: 50 }));
      log.replaceChildren(h("p", { class: "muted" }, `${r.total} sends` + (r.total > 50 ? `, ${offset + 1}–${offset + r.sends.length} shown` : "")),
        table(["sent", "BizId", "number", "sign", "template", "text", "provider", "status", "receipt"], r.sends.map((m) => [
          when(m.sentAt), m.bizId, m.maskedPhone, m.signName, m.templateCode, h("span", { class: "sms-text" }, m.content), m.provider,
          h("span", { class: "sms-" + m.status }, m.status + (m.errCode && m.status === "failed" ? " (" + m.errCode + ")" : "")), when(m.receivedAt)])),
        h("p", {}, offset > 0 ? h("button", { class: "secondary", onclick: () => { void loadLog(Math.max(0, offset - 50)); } }, "Newer") : null, " ",
          offset + r.sends.length < r.total ? h("button", { class: "secondary", onclick: () => { void loadLog(offset + 50); } }, "Older") : null));
    } catch (e) { log.replaceChildren(errBox(e)); }
  };
  main.append(h("h2", {}, "Send log"), log);
  await loadLog(0);
  main.append(h("h2", {}, "Sandbox provider's outbox"), h("p", { class: "muted" }, "Messages the sandbox SMS provider would have sent, codes included: sandbox only."));
  try {
    const { messages } = await api<{ messages: { id: string; to: string; signName: string; templateCode: string; text: string; createdAt: string }[] }>("GET", "sms/outbox?limit=100");
    main.append(table(["time", "to", "sign", "template", "text"], messages.map((m) => [when(m.createdAt), m.to, m.signName, m.templateCode, h("span", { class: "outbox-text" }, m.text)])));
  } catch (e) { main.append(errBox(e)); }
};

interface Fault { latency: string; errorRate: number; maintenance: boolean; quotaExhausted: boolean }
const sandbox: Page = async (main) => {
  main.append(h("h1", {}, "Sandbox"));
  let subs: { prefix: string; phone: string; operator?: string }[];
  try { subs = (await api<{ subscribers: typeof subs }>("GET", "sandbox/subscribers")).subscribers; } catch (e) {
    if (e instanceof APIError && e.status === 404) { main.append(h("p", { class: "note" }, "This server does not run the sandbox carrier.")); return; }
    throw e;
  }
  const faults = await api<Record<string, Fault>>("GET", "sandbox/faults");
  const msg = h("div");
  main.append(msg, h("h2", {}, "Subscribers"));
  if (isAdmin()) {
    const prefix = input("prefix", { required: true, placeholder: "10.0.0.0/24" }), phone = input("phone", { required: true, placeholder: "13800138000" });
    main.append(h("form", { class: "row", id: "subscriber-add", onsubmit: async (e: Event) => {
      e.preventDefault();
      try { await api("POST", "sandbox/subscribers", { prefix: prefix.value, phone: phone.value }); void route(); } catch (err) { msg.replaceChildren(errBox(err)); }
    } }, field("address or prefix", prefix), field("phone", phone), h("button", { type: "submit" }, "Add subscriber")));
  }
  main.append(table(["prefix", "phone", "operator", ""], subs.map((s) => [s.prefix, s.phone, s.operator ?? "",
    isAdmin() ? h("button", { class: "danger", onclick: async () => {
      try { await api("DELETE", "sandbox/subscribers" + query({ prefix: s.prefix })); void route(); } catch (err) { msg.replaceChildren(errBox(err)); }
    } }, "Remove") : null])));
  main.append(h("h2", {}, "Faults per operator"), h("p", { class: "muted" }, "Latency added to each carrier call, the share of calls that fail, maintenance and a spent quota."));
  main.append(table(["operator", "latency", "error rate", "maintenance", "quota exhausted", ""], Object.entries(faults).sort(([a], [b]) => a.localeCompare(b)).map(([op, f]) => {
    if (!isAdmin()) return [op, f.latency, f.errorRate, f.maintenance ? "yes" : "no", f.quotaExhausted ? "yes" : "no", null];
    const lat = input("latency", { value: f.latency, size: "6" }), rate = input("errorRate", { type: "number", min: "0", max: "1", step: "0.01", value: String(f.errorRate) });
    const maint = input("maintenance", { type: "checkbox", ...(f.maintenance ? { checked: true } : {}) }), quota = input("quotaExhausted", { type: "checkbox", ...(f.quotaExhausted ? { checked: true } : {}) });
    return [op, lat, rate, maint, quota, h("button", { class: "secondary", "data-fault": op, onclick: async () => {
      try {
        await api("PUT", "sandbox/faults/" + encodeURIComponent(op), { latency: lat.value || "0s", errorRate: Number(rate.value), maintenance: maint.checked, quotaExhausted: quota.checked });
        void route();
      } catch (err) { msg.replaceChildren(errBox(err)); }
    } }, "Set")];
  })));
};

const pages: [string, string, Page][] = [
  ["overview", "Overview", overview], ["stats", "Statistics", statistics], ["billing", "Billing", billing],
  ["log", "Verification log", verifications], ["accounts", "Accounts", accounts], ["keys", "AccessKeys", keys], ["schemes", "Schemes", schemes],
  ["camara", "CAMARA clients", camara], ["users", "Users", users], ["audit", "Audit log", audit],
  ["sms", "SMS", sms], ["sandbox", "Sandbox", sandbox],
];

async function route(): Promise<void> {
  window.clearInterval(timer);
  if (!session) { renderSignIn(null); return; }
  const name = location.hash.replace(/^#\/?/, "") || "overview";
  const page = pages.find((p) => p[0] === name) ?? pages[0];
  const main = h("main", { id: "page-" + page[0] });
  const s = session;
  root.replaceChildren(
    h("header", {}, h("strong", {}, "numauth console"),
      h("span", { class: "who" }, `${s.user} (${s.role})`),
      h("button", { class: "secondary", id: "signout", onclick: () => { void signOut("session"); } }, "Sign out"),
      h("button", { class: "secondary", onclick: () => { void signOut("session/everywhere"); } }, "Sign out everywhere")),
    h("nav", {}, ...pages.map(([id, title]) => h("a", { href: "#/" + id, class: id === page[0] ? "on" : "" }, title))),
    main);
  try { await page[2](main); } catch (e) { if (session) main.append(errBox(e)); }
}

async function signOut(path: string): Promise<void> {
  try { await api(path === "session" ? "DELETE" : "POST", path); } catch { /* ended anyway */ }
  session = null;
  renderSignIn("Signed out.");
}

function renderSignIn(note: string | null): void {
  window.clearInterval(timer);
  const user = input("user", { required: true, autocomplete: "username", id: "user" });
  const pw = input("password", { type: "password", required: true, autocomplete: "current-password", id: "password" });
  const err = h("div");
  root.replaceChildren(h("div", { class: "signin" }, h("h1", {}, "numauth console"),
    note ? h("p", { class: "note", id: "signin-note" }, note) : null, err,
    h("form", { id: "signin", onsubmit: async (e: Event) => {
      e.preventDefault();
      try {
        session = await api<Session>("POST", "session", { user: user.value, password: pw.value });
        if (!location.hash) location.hash = "#/overview";
        void route();
      } catch (x) { err.replaceChildren(errBox(x)); }
    } }, field("user", user), field("password", pw), h("button", { type: "submit" }, "Sign in"))));
}

async function start(): Promise<void> {
  document.body.append(banner, root);
  window.addEventListener("hashchange", () => { void route(); });
  try { session = await api<Session>("GET", "session"); } catch { session = null; }
  await route();
}

void start();
