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

// ---- pages

type Page = (main: HTMLElement) => Promise<void>;

interface Stats { total: number; pass: number; reject: number; unknown: number; days: { day: string; pass: number; reject: number; unknown: number }[] }
const types: [string, string][] = [["2", "verification"], ["1", "login"], ["3", "SMS"]];

function chart(box: HTMLElement, all: Stats[]): void {
  const days = all[0].days.map((d) => d.day);
  const xs = days.map((d) => Date.parse(d + "T00:00:00Z") / 1000);
  const series = all.map((s) => { const m = new Map(s.days.map((d) => [d.day, d.pass + d.reject + d.unknown])); return days.map((d) => m.get(d) ?? 0); });
  box.replaceChildren();
  const width = Math.max(240, box.clientWidth || 600);
  new uPlot({
    width, height: 240,
    series: [{}, ...types.map(([, name], i) => ({ label: name, stroke: ["#24509b", "#1a7a32", "#c46a00"][i], width: 2 }))],
    axes: [{}, {}],
    scales: { x: { time: true } },
  }, [xs, ...series], box);
}

const overview: Page = async (main) => {
  const cards = h("div", { class: "cards" });
  const box = h("div", { class: "chart", id: "chart" });
  main.append(h("h1", {}, "Overview"), h("p", { class: "muted" }, "The last 30 days; refreshes every 10 s."), cards, h("div", { class: "panel" }, h("h2", {}, "Requests per day"), box));
  const load = async (): Promise<void> => {
    const all = await Promise.all(types.map(([t]) => api<Stats>("GET", "stats/daily?type=" + t)));
    cards.replaceChildren(...all.flatMap((s, i) => [
      h("div", { class: "card" }, h("div", { class: "l" }, types[i][1] + " pass"), h("div", { class: "n" }, s.pass)),
      h("div", { class: "card" }, h("div", { class: "l" }, types[i][1] + " reject"), h("div", { class: "n" }, s.reject)),
      h("div", { class: "card" }, h("div", { class: "l" }, types[i][1] + " unknown"), h("div", { class: "n" }, s.unknown)),
    ]));
    chart(box, all);
  };
  await load();
  timer = window.setInterval(() => { load().catch(() => undefined); }, 10000);
};

const statistics: Page = async (main) => {
  const to = new Date(), from = new Date(Date.now() - 29 * 864e5);
  const f = input("from", { type: "date", value: from.toISOString().slice(0, 10) });
  const t = input("to", { type: "date", value: to.toISOString().slice(0, 10) });
  const ty = select("type", types);
  const out = h("div");
  const run = async (): Promise<void> => {
    try {
      const s = await api<Stats>("GET", `stats/daily?type=${ty.value}&from=${f.value.replace(/-/g, "")}&to=${t.value.replace(/-/g, "")}`);
      out.replaceChildren(h("p", {}, `total ${s.total}, pass ${s.pass}, reject ${s.reject}, unknown ${s.unknown}`),
        table(["day", "pass", "reject", "unknown"], s.days.map((d) => [d.day, d.pass, d.reject, d.unknown])));
    } catch (e) { out.replaceChildren(errBox(e)); }
  };
  main.append(h("h1", {}, "Statistics"), h("form", { class: "row", onsubmit: (e: Event) => { e.preventDefault(); void run(); } },
    field("from", f), field("to", t), field("type", ty), h("button", { type: "submit" }, "Show")), out);
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
    isAdmin() ? h("button", { class: "danger", onclick: async () => {
      if (!confirm("Delete scheme " + s.schemeCode + "?")) return;
      try { await api("DELETE", "schemes/" + encodeURIComponent(s.schemeCode)); void route(); } catch (err) { msg.replaceChildren(errBox(err)); }
    } }, "Delete") : null,
  ])));
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
    return [h("span", { class: "user-name" }, u.name), u.role, h("span", { class: u.disabled ? "status-disabled" : "status-enabled" }, u.disabled ? "disabled" : "enabled"), when(u.createdAt),
      isAdmin() ? h("span", {},
        h("button", { class: "secondary", onclick: act(() => api("PATCH", p, { role: u.role === "admin" ? "viewer" : "admin" })) }, u.role === "admin" ? "Make viewer" : "Make admin"),
        h("button", { class: "secondary", onclick: act(() => api("PATCH", p, { disabled: !u.disabled })) }, u.disabled ? "Enable" : "Disable"),
        h("button", { class: "danger", onclick: act(async () => { if (confirm("Delete user " + u.name + "?")) await api("DELETE", p); }) }, "Delete")) : null];
  })));
};

interface Audit { id: string; at: string; actor: string; source: string; action: string; target: string; outcome: string; detail: unknown }
const audit: Page = async (main) => {
  const out = h("div");
  main.append(h("h1", {}, "Audit log"), out);
  const load = async (before: string): Promise<void> => {
    const { entries } = await api<{ entries: Audit[] }>("GET", "audit?limit=50" + (before ? "&before=" + encodeURIComponent(before) : ""));
    const last = entries.length ? entries[entries.length - 1].id : "";
    out.replaceChildren(table(["time", "actor", "source", "action", "target", "outcome", "detail"], entries.map((e) => [when(e.at), e.actor, e.source, e.action, e.target, e.outcome, JSON.stringify(e.detail)])),
      h("p", {}, before ? h("button", { class: "secondary", onclick: () => { void load(""); } }, "Newest") : null, " ",
        entries.length === 50 ? h("button", { class: "secondary", onclick: () => { void load(last).catch((err) => out.append(errBox(err))); } }, "Older") : null));
  };
  await load("");
};

const outbox: Page = async (main) => {
  const { messages } = await api<{ messages: { id: string; to: string; signName: string; templateCode: string; text: string; createdAt: string }[] }>("GET", "sms/outbox?limit=100");
  main.append(h("h1", {}, "SMS outbox"), h("p", { class: "muted" }, "Messages the sandbox SMS provider would have sent."),
    table(["time", "to", "sign", "template", "text"], messages.map((m) => [when(m.createdAt), m.to, m.signName, m.templateCode, h("span", {}, m.text)])));
};

const sandbox: Page = async (main) => {
  main.append(h("h1", {}, "Sandbox subscribers"));
  let subs: { prefix: string; phone: string; operator?: string }[];
  try { subs = (await api<{ subscribers: typeof subs }>("GET", "sandbox/subscribers")).subscribers; } catch (e) {
    if (e instanceof APIError && e.status === 404) { main.append(h("p", { class: "note" }, "This server does not run the sandbox carrier.")); return; }
    throw e;
  }
  const msg = h("div");
  main.append(msg);
  if (isAdmin()) {
    const prefix = input("prefix", { required: true, placeholder: "10.0.0.0/24" }), phone = input("phone", { required: true, placeholder: "13800138000" });
    main.append(h("form", { class: "row", onsubmit: async (e: Event) => {
      e.preventDefault();
      try { await api("POST", "sandbox/subscribers", { prefix: prefix.value, phone: phone.value }); void route(); } catch (err) { msg.replaceChildren(errBox(err)); }
    } }, field("address or prefix", prefix), field("phone", phone), h("button", { type: "submit" }, "Add subscriber")));
  }
  main.append(table(["prefix", "phone", "operator", ""], subs.map((s) => [s.prefix, s.phone, s.operator ?? "",
    isAdmin() ? h("button", { class: "danger", onclick: async () => {
      try { await api("DELETE", "sandbox/subscribers?prefix=" + encodeURIComponent(s.prefix)); void route(); } catch (err) { msg.replaceChildren(errBox(err)); }
    } }, "Remove") : null])));
};

const pages: [string, string, Page][] = [
  ["overview", "Overview", overview], ["stats", "Statistics", statistics], ["billing", "Billing", billing],
  ["keys", "AccessKeys", keys], ["schemes", "Schemes", schemes], ["users", "Users", users],
  ["audit", "Audit log", audit], ["outbox", "SMS outbox", outbox], ["sandbox", "Sandbox", sandbox],
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
