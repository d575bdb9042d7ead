// src/core.ts
var VERSION = "1.0.0";
var DEFAULT_TIMEOUT = 10;
var scriptOrigin = originOfScript();
function originOfScript() {
  try {
    const s = document.currentScript;
    if (s && s.src) return new URL(s.src).origin;
  } catch (e) {
  }
  try {
    return location.origin;
  } catch (e) {
    return "";
  }
}
var ENDPOINT_GLOBAL = "NUMAUTH_ENDPOINT";
var ENDPOINT_META = "numauth-endpoint";
function endpointOf(option) {
  if (nonEmpty(option)) return option;
  try {
    const g = globalThis[ENDPOINT_GLOBAL];
    if (nonEmpty(g)) return g;
  } catch (e) {
  }
  try {
    const m = document.querySelector('meta[name="' + ENDPOINT_META + '"]');
    if (m && nonEmpty(m.content)) return m.content;
  } catch (e) {
  }
  return scriptOrigin;
}
function result(code, msg, extra) {
  return Object.assign({ code, msg }, extra);
}
function now(r) {
  return () => Promise.resolve(() => r);
}
function newFlow() {
  return { session: "", checks: 0, masked: false };
}
function nonEmpty(v) {
  return typeof v == "string" && v != "";
}
function badCheck(o) {
  return !nonEmpty(o.accessToken) ? "accessToken" : !nonEmpty(o.jwtToken) ? "jwtToken" : o.phoneNumber != null && typeof o.phoneNumber != "string" ? "phoneNumber" : "";
}
function fail(msg) {
  return { code: "", msg };
}
function post(url, body, signal) {
  return new Promise(
    (ok) => ok(
      fetch(url, {
        method: "POST",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        body: JSON.stringify(body),
        credentials: "omit",
        signal
      })
    )
  ).then(
    (res) => res.text().then((text) => {
      const a = JSON.parse(text);
      return a && typeof a.code == "string" ? a : fail("unreadable answer");
    }).catch(() => fail("unreadable answer")),
    () => fail("network error")
  );
}
function originOf(u) {
  try {
    return new URL(u, location.href).origin;
  } catch (e) {
    return "";
  }
}
var popups = 0;
function visit(url, window, from, signal) {
  return new Promise((resolve) => {
    if (!/^https?:\/\//i.test(url) || !from) return resolve(fail("unreadable answer"));
    if (signal && signal.aborted) return resolve(fail("aborted"));
    let frame;
    let popup = null;
    let poll = 0;
    let closedAt = 0;
    const end = (a) => {
      removeEventListener("message", onMessage);
      if (signal) signal.removeEventListener("abort", onAbort);
      clearInterval(poll);
      if (frame && frame.parentNode) frame.parentNode.removeChild(frame);
      if (popup && !popup.closed) popup.close();
      resolve(a);
    };
    const onAbort = () => end(fail("aborted"));
    const onMessage = (e) => {
      const d = e.data;
      const source = frame ? frame.contentWindow : popup;
      if (e.origin != from || !source || e.source != source || !d || d.numauth != "redirect") return;
      end(
        typeof d.query == "string" && d.query ? { code: "OK", query: d.query } : { code: d.error == "unavailable" ? "UNAVAILABLE" : "SESSION_INVALID", msg: "the operator's answer came back to an expired flow" }
      );
    };
    addEventListener("message", onMessage);
    if (signal) signal.addEventListener("abort", onAbort);
    if (window == "popup") {
      popup = open(url, "numauth-operator-" + ++popups, "popup,width=480,height=640");
      if (!popup) return end({ code: "CARRIER_ERROR", msg: "the browser blocked the operator's window" });
      poll = setInterval(() => {
        if (!popup || !popup.closed) return;
        if (!closedAt) closedAt = Date.now();
        else if (Date.now() - closedAt >= 1e3) end({ code: "CARRIER_ERROR", msg: "the operator's window was closed" });
      }, 250);
    } else {
      frame = document.createElement("iframe");
      frame.style.display = "none";
      frame.setAttribute("aria-hidden", "true");
      frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms");
      frame.setAttribute("referrerpolicy", "no-referrer");
      frame.src = url;
      (document.body || document.documentElement).appendChild(frame);
    }
  });
}
function maskToken(v) {
  return (v.length > 8 ? v.slice(0, 4) : "") + "\u2026(" + v.length + ")";
}
function maskPhone(v) {
  return v.length >= 11 ? v.slice(0, 3) + "****" + v.slice(-4) : "****";
}
function redact(o) {
  const out = {};
  for (const k in o) {
    const v = o[k];
    if (typeof v == "function") continue;
    out[k] = typeof v != "string" ? v : k == "phoneNumber" ? maskPhone(v) : k == "mask" ? "****" : /token|session|content/i.test(k) ? maskToken(v) : v;
  }
  return out;
}
var Client = class {
  constructor(name, options) {
    this.name = name;
    this.endpoint = endpointOf(options && options.endpoint).replace(/\/+$/, "");
    this.logging = false;
    this.verify = newFlow();
  }
  /** Turns logging of calls and result codes (console.debug, secrets masked) on or off. */
  setLoggerEnable(isEnabled) {
    this.logging = !!isEnabled;
  }
  getVersion() {
    return VERSION;
  }
  log(what, o) {
    if (this.logging) console.debug("[numauth] " + this.name + "." + what, redact(o));
  }
  /**
   * Runs one call: settles it with the Step's result, or with 600015 when `seconds` run out
   * (then aborts the fetch; whatever comes later is dropped). deliver and the returned
   * Promise get the same result, once.
   */
  exec(method, args, seconds2, deliver, step) {
    this.log(method, args);
    return new Promise((resolve) => {
      let done2 = false;
      const ctl = typeof AbortController == "function" ? new AbortController() : void 0;
      const finish = (r) => {
        if (done2) return;
        done2 = true;
        clearTimeout(timer);
        this.log(method + " -> " + r.code, r);
        resolve(r);
        try {
          deliver(r);
        } catch (e) {
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
        Math.min(seconds2 * 1e3, 2147483647)
      );
      step(ctl && ctl.signal).then(
        (make) => {
          if (!done2) finish(make());
        },
        () => finish(result(600010, "unknown error"))
      );
    });
  }
  /** A gateway call whose OK answer `ok` turns into the result's extra fields (undefined: malformed). */
  ask(op, body, flow, ok) {
    return (signal) => post(this.endpoint + "/h5/v1/" + op, body, signal).then((a) => a.code == "REDIRECT" ? this.redirect(a, body, signal) : a).then((a) => () => {
      const code = this.codeOf(a.code, op);
      const msg = typeof a.msg == "string" ? a.msg : a.code;
      if ((a.code == "SESSION_INVALID" || a.code == "MASK_LOCKED") && flow.session == body.session) {
        flow.session = "";
      }
      if (code != 6e5) {
        return result(code, msg, typeof a.triesLeft == "number" ? { triesLeft: a.triesLeft } : void 0);
      }
      const extra = ok(a);
      return extra ? result(code, msg, extra) : result(600010, "unreadable answer");
    });
  }
  /**
   * A front leg answered REDIRECT: the browser visits the operator, and the operator's answer
   * completes the call (redirect-complete), whose answer is the call's.
   */
  redirect(a, body, signal) {
    const r = a.redirect;
    if (!r || !nonEmpty(r.url)) return Promise.resolve(fail("unreadable answer"));
    const session = body.session || "";
    const from = nonEmpty(r.origin) ? originOf(r.origin) : originOf(this.endpoint);
    this.log("redirect", { window: r.window });
    return visit(r.url, r.window, from, signal).then(
      (v) => v.code != "OK" ? v : post(this.endpoint + "/h5/v1/redirect-complete", { session, query: v.query }, signal)
    );
  }
  /** The gateway's check: starts the flow anew; a session from the latest check's OK answer is kept. */
  check(o, kind, flow) {
    const n = ++flow.checks;
    flow.session = "";
    flow.masked = false;
    const body = { accessToken: o.accessToken, jwtToken: o.jwtToken, kind };
    if (nonEmpty(o.phoneNumber)) body.phoneNumber = o.phoneNumber;
    return this.ask("check", body, flow, (a) => {
      if (!nonEmpty(a.session)) return void 0;
      if (n == flow.checks) flow.session = a.session;
      return {};
    });
  }
  /** A token request (verify-token, login-token): OK carries spToken and, where known, carrier. */
  token(op, body, flow, content) {
    return this.ask(
      op,
      body,
      flow,
      (a) => nonEmpty(a.spToken) ? withCarrier(a, content ? { spToken: a.spToken, content: a.spToken } : { spToken: a.spToken }) : void 0
    );
  }
};
function withCarrier(a, fields) {
  return nonEmpty(a.carrier) ? Object.assign(fields, { carrier: a.carrier }) : fields;
}
function lookup(table, gatewayCode) {
  const c = Object.prototype.hasOwnProperty.call(table, gatewayCode) ? table[gatewayCode] : 0;
  return c || 600010;
}

// src/number-server.ts
var CODES = {
  OK: 6e5,
  IDENTITY_FAILED: 600025,
  SCHEME_NOT_FOUND: 600025,
  SESSION_INVALID: 600025,
  BIZ_TYPE_MISMATCH: 600032,
  NOT_CELLULAR: 600008,
  CARRIER_MAINTENANCE: 600013,
  CARRIER_QUOTA: 600014,
  CARRIER_ERROR: 600011
};
function split(o) {
  return (r) => {
    const f = r.code == 6e5 ? o.success : o.error;
    if (typeof f == "function") f(r);
  };
}
var PhoneNumberServer = class extends Client {
  constructor(options) {
    super("PhoneNumberServer", options);
  }
  codeOf(gatewayCode) {
    return lookup(CODES, gatewayCode);
  }
  /** Identity check: the tokens from GetAuthToken, bound to this page's origin. */
  checkAuthAvailable(options) {
    const o = options || {};
    const bad2 = badCheck(o);
    return this.exec(
      "checkAuthAvailable",
      o,
      DEFAULT_TIMEOUT,
      split(o),
      bad2 ? now(result(600010, "bad argument: " + bad2)) : this.check(o, "verify", this.verify)
    );
  }
  /** The carrier leg, over the cellular data session: spToken for VerifyPhoneWithToken. */
  getVerifyToken(options) {
    const o = options || {};
    const session = this.verify.session;
    return this.exec(
      "getVerifyToken",
      o,
      DEFAULT_TIMEOUT,
      split(o),
      session ? this.token("verify-token", { session }, this.verify, true) : now(result(600025, "call checkAuthAvailable first"))
    );
  }
};

// src/customization.ts
var CODES2 = {
  OK: 6e5,
  BAD_ARGUMENT: 600028,
  IDENTITY_FAILED: 600025,
  SCHEME_NOT_FOUND: 600004,
  BIZ_TYPE_MISMATCH: 600032,
  SESSION_INVALID: 600013,
  NOT_CELLULAR: 600008,
  MASK_NOT_REQUESTED: 600014,
  MASK_WRONG: 600011,
  MASK_LOCKED: 600011
};
function seconds(t) {
  return t == null ? DEFAULT_TIMEOUT : typeof t == "number" && t > 0 && t < Infinity ? t : 0;
}
function bad(field) {
  return result(600028, "bad argument: " + field);
}
function callback(o) {
  return (r) => {
    if (typeof o.callback == "function") o.callback(r);
  };
}
var PhoneServerCustomization = class extends Client {
  constructor(options) {
    super("PhoneServerCustomization", options);
    this.login = newFlow();
  }
  codeOf(gatewayCode, op) {
    return /^CARRIER_/.test(gatewayCode) ? op == "login-mask" ? 600012 : 600011 : lookup(CODES2, gatewayCode);
  }
  /** The connection type the browser reports (Network Information API); "unknown" where it reports none. */
  getConnection() {
    try {
      const t = navigator.connection.type;
      if (t == "wifi" || t == "cellular") return t;
    } catch (e) {
    }
    return "unknown";
  }
  /**
   * Runs a call after the checks every method shares: a bad timeout is 600028, a flow
   * with no session from a successful check is 600013.
   */
  run(method, o, flow, err, step) {
    const t = seconds(o.timeout);
    const e = !t ? bad("timeout") : err || (flow && !flow.session ? result(600013, "call " + (flow == this.login ? "checkLoginAvailable" : "checkAuthAvailable") + " first") : void 0);
    return this.exec(method, o, t || DEFAULT_TIMEOUT, callback(o), e ? now(e) : step());
  }
  /** One-click login, step 1: the tokens from GetAuthToken (BizType 1 or none). */
  checkLoginAvailable(options) {
    const o = options || {};
    const b = badCheck(o);
    const tokens = { accessToken: o.accessToken, jwtToken: o.jwtToken };
    return this.run("checkLoginAvailable", o, void 0, b ? bad(b) : void 0, () => this.check(tokens, "login", this.login));
  }
  /** One-click login, step 2: the line's number, masked (e.g. "138****5678"), to show the user. */
  getLoginMaskPhone(options) {
    const o = options || {};
    const flow = this.login;
    const session = flow.session;
    return this.run(
      "getLoginMaskPhone",
      o,
      flow,
      void 0,
      () => this.ask("login-mask", { session }, flow, (a) => {
        if (!nonEmpty(a.maskedPhone)) return void 0;
        if (flow.session == session) flow.masked = true;
        return withCarrier(a, { maskedPhone: a.maskedPhone });
      })
    );
  }
  /** One-click login, step 3: the four middle digits the user typed buy the login spToken. */
  getLoginToken(options) {
    const o = options || {};
    const flow = this.login;
    const session = flow.session;
    const mask = o.mask;
    return this.run(
      "getLoginToken",
      o,
      flow,
      typeof mask == "string" && /^\d{4}$/.test(mask) ? void 0 : bad("mask"),
      () => flow.masked ? this.token("login-token", { session, mask }, flow) : now(result(600014, "call getLoginMaskPhone first"))
    );
  }
  /** Verification, step 1: the tokens from GetAuthToken (BizType 0 or none). */
  checkAuthAvailable(options) {
    const o = options || {};
    const b = badCheck(o);
    return this.run("checkAuthAvailable", o, void 0, b ? bad(b) : void 0, () => this.check(o, "verify", this.verify));
  }
  /** Verification, step 2: the carrier leg, over the cellular data session: spToken for VerifyPhoneWithToken. */
  getVerifyToken(options) {
    const o = options || {};
    const flow = this.verify;
    const session = flow.session;
    return this.run("getVerifyToken", o, flow, void 0, () => this.token("verify-token", { session }, flow));
  }
};

// src/fusion.ts
var CODES3 = {
  OK: 6e5,
  BAD_ARGUMENT: 600028,
  IDENTITY_FAILED: 600025,
  SCHEME_NOT_FOUND: 600004,
  SESSION_INVALID: 600013,
  NOT_CELLULAR: 600008,
  MASK_WRONG: 600011,
  MASK_LOCKED: 600011,
  SMS_CODE_WRONG: 600040,
  SMS_FREQUENCY: 600041,
  SMS_LIMIT: 600042,
  SMS_COUNTRY: 600043,
  SMS_UNAVAILABLE: 600044
};
var FALLBACK = [600008, 600012, 600015];
var FusionAuth = class extends Client {
  constructor(options) {
    super("FusionAuth", options);
  }
  codeOf(gatewayCode, op) {
    return /^CARRIER_/.test(gatewayCode) ? op == "login-mask" ? 600012 : 600011 : lookup(CODES3, gatewayCode);
  }
  /** One gateway call within the timeout; the answer's fields pass through. */
  call(op, body, seconds2) {
    return this.exec(op, body, seconds2, () => void 0, this.ask(op, body, this.verify, (a) => {
      const out = {};
      for (const k of ["session", "strategy", "maskedPhone", "spToken", "carrier"]) if (nonEmpty(a[k])) out[k] = a[k];
      if (typeof a.triesLeft == "number") out.triesLeft = a.triesLeft;
      return out;
    }));
  }
  /** Runs the whole flow; the callback and the Promise get the one result. */
  start(options) {
    const o = options || {};
    const t = o.timeout == null ? DEFAULT_TIMEOUT : typeof o.timeout == "number" && o.timeout > 0 && o.timeout < Infinity ? o.timeout : 0;
    const bad2 = !t ? "timeout" : !nonEmpty(o.fusionToken) ? "fusionToken" : ["onMaskPhone", "onPhoneNumber", "onSmsCode"].find((k) => typeof o[k] != "function");
    const run = bad2 ? Promise.resolve(result(600028, "bad argument: " + bad2)) : this.flow(o, t);
    return run.then(
      (r) => r,
      () => result(600010, "unknown error")
    ).then((r) => {
      this.log("start -> " + r.code, r);
      if (typeof o.callback == "function") o.callback(r);
      return r;
    });
  }
  flow(o, t) {
    return this.call("fusion-check", { fusionToken: o.fusionToken }, t).then((c) => {
      if (c.code != 6e5 || !c.session) return c.code != 6e5 ? c : result(600010, "unreadable answer");
      const session = c.session;
      return c.strategy == "sms" ? this.sms(o, t, session) : this.carrier(o, t, session);
    });
  }
  carrier(o, t, session) {
    return this.call("login-mask", { session }, t).then((m) => {
      if (m.code != 6e5) return FALLBACK.indexOf(m.code) >= 0 ? this.sms(o, t, session) : m;
      const ask = (info2) => Promise.resolve(o.onMaskPhone(info2)).then((mask) => {
        if (!nonEmpty(mask)) return this.sms(o, t, session);
        if (!/^\d{4}$/.test(mask)) return ask(Object.assign({}, info2, { triesLeft: void 0 }));
        return this.call("login-token", { session, mask }, t).then((r) => {
          if (r.code == 6e5 && nonEmpty(r.spToken)) return done(r, "carrier");
          if (r.code == 600011 && typeof r.triesLeft == "number" && r.triesLeft > 0) return ask(Object.assign({}, info2, { triesLeft: r.triesLeft }));
          return r.code == 600011 || FALLBACK.indexOf(r.code) >= 0 ? this.sms(o, t, session) : r;
        });
      });
      const info = { maskedPhone: m.maskedPhone || "" };
      if (nonEmpty(m.carrier)) info.carrier = m.carrier;
      return ask(info);
    });
  }
  sms(o, t, session) {
    return Promise.resolve(o.onPhoneNumber()).then((phone) => {
      if (!nonEmpty(phone)) return result(600028, "bad argument: phoneNumber");
      const phoneNumber = phone;
      return this.call("fusion-sms-send", { session, phoneNumber }, t).then((s) => {
        if (s.code != 6e5) return s;
        const ask = (wrong) => Promise.resolve(o.onSmsCode({ phoneNumber, wrong })).then((code) => {
          if (!nonEmpty(code)) return result(600028, "bad argument: code");
          return this.call("fusion-sms-check", { session, phoneNumber, code }, t).then(
            (r) => r.code == 6e5 && nonEmpty(r.spToken) ? done(r, "sms") : r.code == 600040 ? ask(true) : r
          );
        });
        return ask(false);
      });
    });
  }
};
function done(r, method) {
  const out = result(6e5, r.msg, { verifyToken: r.spToken, method });
  if (method == "carrier" && nonEmpty(r.carrier)) out.carrier = r.carrier;
  return out;
}
export {
  FusionAuth,
  PhoneNumberServer,
  PhoneServerCustomization
};
