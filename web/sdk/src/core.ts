// What both classes share: the endpoint, the gateway call (docs/h5-protocol.md), the
// deadline that makes a callback fire exactly once, per-flow session state, and the logger.

import type { AuthCheck, ClientOptions, Result } from "./types";

/** Also internal/h5/sdkasset.Version: a test checks the two agree. */
export const VERSION = "1.0.0";

/** Seconds allowed to a call that names no timeout. */
export const DEFAULT_TIMEOUT = 10;

/** A gateway answer: {"code": "OK" | "<GATEWAY_CODE>", "msg": "...", ...}. */
export interface Answer {
  code: string;
  msg?: unknown;
  [field: string]: unknown;
}

/** One flow's state (verify or login): the gateway session of the last successful check. */
export interface Flow {
  session: string;
  /** Number of checks started: only the answer to the latest one may set session. */
  checks: number;
  /** getLoginMaskPhone succeeded on this session. */
  masked: boolean;
}

/** What a call does once it may: resolves to a thunk run only while the call is not yet settled. */
export type Step<R> = (signal?: AbortSignal) => Promise<() => R>;

// Captured while the script is evaluated: later, document.currentScript is null.
const scriptOrigin = originOfScript();

function originOfScript(): string {
  try {
    const s = document.currentScript as HTMLScriptElement | null;
    if (s && s.src) return new URL(s.src).origin;
  } catch (e) {
    // no document: not a page
  }
  try {
    return location.origin;
  } catch (e) {
    return "";
  }
}

/** The global a page sets to name the gateway where the SDK cannot learn it (a bundle). */
const ENDPOINT_GLOBAL = "NUMAUTH_ENDPOINT";
/** The <meta name> that does the same from the page's HTML. */
const ENDPOINT_META = "numauth-endpoint";

/**
 * The gateway's base URL, read when a client is constructed: the {endpoint} option, else the
 * global NUMAUTH_ENDPOINT, else <meta name="numauth-endpoint" content="...">, else the origin
 * of the SDK's own script URL, else the page's origin.
 */
function endpointOf(option: unknown): string {
  if (nonEmpty(option)) return option as string;
  try {
    const g = (globalThis as unknown as Record<string, unknown>)[ENDPOINT_GLOBAL];
    if (nonEmpty(g)) return g as string;
  } catch (e) {
    // no globalThis
  }
  try {
    const m = document.querySelector('meta[name="' + ENDPOINT_META + '"]') as HTMLMetaElement | null;
    if (m && nonEmpty(m.content)) return m.content;
  } catch (e) {
    // no document
  }
  return scriptOrigin;
}

export function result<R extends Result>(code: number, msg: string, extra?: object): R {
  return Object.assign({ code, msg }, extra) as R;
}

/** A Step that settles at once, without a gateway call. */
export function now<R extends Result>(r: Result): Step<R> {
  return () => Promise.resolve(() => r as R);
}

export function newFlow(): Flow {
  return { session: "", checks: 0, masked: false };
}

export function nonEmpty(v: unknown): boolean {
  return typeof v == "string" && v != "";
}

/** Names the first bad field of a check's arguments, or "". */
export function badCheck(o: Partial<AuthCheck>): string {
  return !nonEmpty(o.accessToken)
    ? "accessToken"
    : !nonEmpty(o.jwtToken)
      ? "jwtToken"
      : o.phoneNumber != null && typeof o.phoneNumber != "string"
        ? "phoneNumber"
        : "";
}

function fail(msg: string): Answer {
  return { code: "", msg };
}

/** POSTs one gateway call. Never rejects: a network failure or an unreadable answer becomes an Answer with code "". */
function post(url: string, body: object, signal?: AbortSignal): Promise<Answer> {
  return new Promise<Response>((ok) =>
    ok(
      fetch(url, {
        method: "POST",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        body: JSON.stringify(body),
        credentials: "omit",
        signal,
      }),
    ),
  ).then(
    (res) =>
      res.text().then((text) => {
        const a = JSON.parse(text);
        return a && typeof a.code == "string" ? (a as Answer) : fail("unreadable answer");
      }).catch(() => fail("unreadable answer")),
    () => fail("network error"),
  );
}

/** The origin of a URL, or "" when it has none. */
function originOf(u: string): string {
  try {
    return new URL(u, location.href).origin;
  } catch (e) {
    return "";
  }
}

/** Names each popup apart, so that two calls never share a window. */
let popups = 0;

/**
 * Runs a redirect front leg (docs/h5-protocol.md, "Redirect front legs"): opens the operator's
 * URL in a hidden frame or a popup and resolves with the answer numauth's callback page posts
 * from `from` to this page. Never rejects; on abort it removes the window and resolves with code "".
 */
function visit(url: string, window: string, from: string, signal?: AbortSignal): Promise<Answer> {
  return new Promise<Answer>((resolve) => {
    if (!/^https?:\/\//i.test(url) || !from) return resolve(fail("unreadable answer"));
    if (signal && signal.aborted) return resolve(fail("aborted"));
    let frame: HTMLIFrameElement | undefined;
    let popup: Window | null = null;
    let poll = 0;
    let closedAt = 0;
    const end = (a: Answer) => {
      removeEventListener("message", onMessage);
      if (signal) signal.removeEventListener("abort", onAbort);
      clearInterval(poll);
      if (frame && frame.parentNode) frame.parentNode.removeChild(frame);
      if (popup && !popup.closed) popup.close();
      resolve(a);
    };
    const onAbort = () => end(fail("aborted"));
    const onMessage = (e: MessageEvent) => {
      const d = e.data as { numauth?: unknown; query?: unknown; error?: unknown } | null;
      const source = frame ? frame.contentWindow : popup;
      // Only numauth's callback page, in the window this call opened, is heard.
      if (e.origin != from || !source || e.source != source || !d || d.numauth != "redirect") return;
      end(
        typeof d.query == "string" && d.query
          ? { code: "OK", query: d.query }
          : { code: d.error == "unavailable" ? "UNAVAILABLE" : "SESSION_INVALID", msg: "the operator's answer came back to an expired flow" },
      );
    };
    addEventListener("message", onMessage);
    if (signal) signal.addEventListener("abort", onAbort);
    if (window == "popup") {
      popup = open(url, "numauth-operator-" + ++popups, "popup,width=480,height=640");
      if (!popup) return end({ code: "CARRIER_ERROR", msg: "the browser blocked the operator's window" });
      // The user closed it. The callback page closes it too, right after posting: a second's
      // grace lets that message arrive first.
      poll = setInterval(() => {
        if (!popup || !popup.closed) return;
        if (!closedAt) closedAt = Date.now();
        else if (Date.now() - closedAt >= 1000) end({ code: "CARRIER_ERROR", msg: "the operator's window was closed" });
      }, 250) as unknown as number;
    } else {
      frame = document.createElement("iframe");
      frame.style.display = "none";
      frame.setAttribute("aria-hidden", "true");
      // The operator's pages may run scripts and redirect, not navigate or open this page's windows.
      frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms");
      frame.setAttribute("referrerpolicy", "no-referrer");
      frame.src = url;
      (document.body || document.documentElement).appendChild(frame);
    }
  });
}

function maskToken(v: string): string {
  return (v.length > 8 ? v.slice(0, 4) : "") + "…(" + v.length + ")";
}

function maskPhone(v: string): string {
  return v.length >= 11 ? v.slice(0, 3) + "****" + v.slice(-4) : "****";
}

/** A copy of arguments or a result that is safe to log: no token, number or mask in full, no functions. */
function redact(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in o) {
    const v = (o as Record<string, unknown>)[k];
    if (typeof v == "function") continue;
    out[k] =
      typeof v != "string"
        ? v
        : k == "phoneNumber"
          ? maskPhone(v)
          : k == "mask"
            ? "****"
            : /token|session|content/i.test(k)
              ? maskToken(v)
              : v;
  }
  return out;
}

export abstract class Client {
  protected endpoint: string;
  protected logging: boolean;
  protected verify: Flow;
  private name: string;

  protected constructor(name: string, options?: ClientOptions) {
    this.name = name;
    this.endpoint = endpointOf(options && options.endpoint).replace(/\/+$/, "");
    this.logging = false;
    this.verify = newFlow();
  }

  /** Turns logging of calls and result codes (console.debug, secrets masked) on or off. */
  setLoggerEnable(isEnabled: boolean): void {
    this.logging = !!isEnabled;
  }

  getVersion(): string {
    return VERSION;
  }

  /** This class's SDK code for a gateway code answered to op. */
  protected abstract codeOf(gatewayCode: string, op: string): number;

  protected log(what: string, o: object): void {
    if (this.logging) console.debug("[numauth] " + this.name + "." + what, redact(o));
  }

  /**
   * Runs one call: settles it with the Step's result, or with 600015 when `seconds` run out
   * (then aborts the fetch; whatever comes later is dropped). deliver and the returned
   * Promise get the same result, once.
   */
  protected exec<R extends Result>(
    method: string,
    args: object,
    seconds: number,
    deliver: (r: R) => void,
    step: Step<R>,
  ): Promise<R> {
    this.log(method, args);
    return new Promise<R>((resolve) => {
      let done = false;
      const ctl = typeof AbortController == "function" ? new AbortController() : undefined;
      const finish = (r: R) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.log(method + " -> " + r.code, r);
        resolve(r);
        try {
          deliver(r);
        } catch (e) {
          // The page's callback threw: report it as uncaught, without touching the Promise.
          setTimeout(() => {
            throw e;
          });
        }
      };
      const timer = setTimeout(
        () => {
          finish(result(600015, "timeout"));
          if (ctl) ctl.abort();
        },
        Math.min(seconds * 1000, 2147483647),
      );
      step(ctl && ctl.signal).then(
        (make) => {
          if (!done) finish(make());
        },
        () => finish(result(600010, "unknown error")),
      );
    });
  }

  /** A gateway call whose OK answer `ok` turns into the result's extra fields (undefined: malformed). */
  protected ask<R extends Result>(
    op: string,
    body: object,
    flow: Flow,
    ok: (a: Answer) => object | undefined,
  ): Step<R> {
    return (signal) =>
      post(this.endpoint + "/h5/v1/" + op, body, signal)
        .then((a) => (a.code == "REDIRECT" ? this.redirect(a, body, signal) : a))
        .then((a) => () => {
        const code = this.codeOf(a.code, op);
        const msg = typeof a.msg == "string" ? a.msg : a.code;
        // The session is dead; a newer check's session stays.
        if ((a.code == "SESSION_INVALID" || a.code == "MASK_LOCKED") && flow.session == (body as { session?: string }).session) {
          flow.session = "";
        }
        if (code != 600000) {
          return result<R>(code, msg, typeof a.triesLeft == "number" ? { triesLeft: a.triesLeft } : undefined);
        }
        const extra = ok(a);
        return extra ? result<R>(code, msg, extra) : result<R>(600010, "unreadable answer");
        });
  }

  /**
   * A front leg answered REDIRECT: the browser visits the operator, and the operator's answer
   * completes the call (redirect-complete), whose answer is the call's.
   */
  private redirect(a: Answer, body: object, signal?: AbortSignal): Promise<Answer> {
    const r = a.redirect as { url?: unknown; window?: unknown; origin?: unknown } | undefined;
    if (!r || !nonEmpty(r.url)) return Promise.resolve(fail("unreadable answer"));
    const session = (body as { session?: string }).session || "";
    // The callback page posts from numauth's public origin, which the answer names.
    const from = nonEmpty(r.origin) ? originOf(r.origin as string) : originOf(this.endpoint);
    this.log("redirect", { window: r.window });
    return visit(r.url as string, r.window as string, from, signal).then((v) =>
      v.code != "OK" ? v : post(this.endpoint + "/h5/v1/redirect-complete", { session, query: v.query }, signal),
    );
  }

  /** The gateway's check: starts the flow anew; a session from the latest check's OK answer is kept. */
  protected check(o: AuthCheck, kind: "verify" | "login", flow: Flow): Step<Result> {
    const n = ++flow.checks;
    flow.session = "";
    flow.masked = false;
    const body: Record<string, string> = { accessToken: o.accessToken, jwtToken: o.jwtToken, kind };
    if (nonEmpty(o.phoneNumber)) body.phoneNumber = o.phoneNumber as string;
    return this.ask("check", body, flow, (a) => {
      if (!nonEmpty(a.session)) return undefined;
      if (n == flow.checks) flow.session = a.session as string;
      return {};
    });
  }

  /** A token request (verify-token, login-token): OK carries spToken and, where known, carrier. */
  protected token<R extends Result>(op: string, body: object, flow: Flow, content?: boolean): Step<R> {
    return this.ask<R>(op, body, flow, (a) =>
      nonEmpty(a.spToken) ? withCarrier(a, content ? { spToken: a.spToken, content: a.spToken } : { spToken: a.spToken }) : undefined,
    );
  }
}

/** fields, plus the answer's carrier where it names one. */
export function withCarrier(a: Answer, fields: object): object {
  return nonEmpty(a.carrier) ? Object.assign(fields, { carrier: a.carrier }) : fields;
}

/** A Table maps gateway codes to SDK codes; anything not in it is 600010 (unknown). */
export type Table = Record<string, number>;

export function lookup(table: Table, gatewayCode: string): number {
  const c = Object.prototype.hasOwnProperty.call(table, gatewayCode) ? table[gatewayCode] : 0;
  return c || 600010;
}
