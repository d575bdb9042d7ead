// FusionAuth: numauth's own class for H5 fusion authentication (docs/web-sdk.md). It runs the
// strategy numauth names (one-click login through the carrier first, an SMS code when the
// carrier cannot answer) and hands the page its questions through callbacks.

import { Client, DEFAULT_TIMEOUT, lookup, nonEmpty, result, type Table } from "./core";
import type { ClientOptions, FusionMask, FusionOptions, FusionResult, Result } from "./types";

// docs/h5-protocol.md, column "FusionAuth": the seed 002 codes for the carrier legs, numauth's
// own 60004x for the SMS path.
const CODES: Table = {
  OK: 600000,
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
  SMS_UNAVAILABLE: 600044,
};

/** Codes of the carrier's mask leg after which the SMS path runs: not cellular, carrier errors, timeout. */
const FALLBACK = [600008, 600012, 600015];

/** A gateway call's result with the answer's fields. */
type Reply = FusionResult & { session?: string; strategy?: string; maskedPhone?: string; spToken?: string; triesLeft?: number };

export class FusionAuth extends Client {
  constructor(options?: ClientOptions) {
    super("FusionAuth", options);
  }

  protected codeOf(gatewayCode: string, op: string): number {
    return /^CARRIER_/.test(gatewayCode) ? (op == "login-mask" ? 600012 : 600011) : lookup(CODES, gatewayCode);
  }

  /** One gateway call within the timeout; the answer's fields pass through. */
  private call(op: string, body: object, seconds: number): Promise<Reply> {
    return this.exec<Reply>(op, body, seconds, () => undefined, this.ask(op, body, this.verify, (a) => {
      const out: Record<string, unknown> = {};
      for (const k of ["session", "strategy", "maskedPhone", "spToken", "carrier"]) if (nonEmpty(a[k])) out[k] = a[k];
      if (typeof a.triesLeft == "number") out.triesLeft = a.triesLeft;
      return out;
    }));
  }

  /** Runs the whole flow; the callback and the Promise get the one result. */
  start(options: FusionOptions): Promise<FusionResult> {
    const o = options || ({} as FusionOptions);
    const t = o.timeout == null ? DEFAULT_TIMEOUT : typeof o.timeout == "number" && o.timeout > 0 && o.timeout < Infinity ? o.timeout : 0;
    const bad = !t
      ? "timeout"
      : !nonEmpty(o.fusionToken)
        ? "fusionToken"
        : ["onMaskPhone", "onPhoneNumber", "onSmsCode"].find((k) => typeof (o as unknown as Record<string, unknown>)[k] != "function");
    const run = bad ? Promise.resolve(result<FusionResult>(600028, "bad argument: " + bad)) : this.flow(o, t);
    return run.then(
      (r) => r,
      () => result<FusionResult>(600010, "unknown error"),
    ).then((r) => {
      this.log("start -> " + r.code, r);
      if (typeof o.callback == "function") o.callback(r);
      return r;
    });
  }

  private flow(o: FusionOptions, t: number): Promise<FusionResult> {
    return this.call("fusion-check", { fusionToken: o.fusionToken }, t).then((c) => {
      if (c.code != 600000 || !c.session) return c.code != 600000 ? c : result<FusionResult>(600010, "unreadable answer");
      const session = c.session;
      return c.strategy == "sms" ? this.sms(o, t, session) : this.carrier(o, t, session);
    });
  }

  private carrier(o: FusionOptions, t: number, session: string): Promise<FusionResult> {
    return this.call("login-mask", { session }, t).then((m) => {
      if (m.code != 600000) return FALLBACK.indexOf(m.code) >= 0 ? this.sms(o, t, session) : m;
      const ask = (info: FusionMask): Promise<FusionResult> =>
        Promise.resolve(o.onMaskPhone(info)).then((mask) => {
          if (!nonEmpty(mask)) return this.sms(o, t, session);
          if (!/^\d{4}$/.test(mask as string)) return ask(Object.assign({}, info, { triesLeft: undefined }));
          return this.call("login-token", { session, mask }, t).then((r) => {
            if (r.code == 600000 && nonEmpty(r.spToken)) return done(r, "carrier");
            // A wrong mask with tries left asks again; a locked number or a dead carrier goes to SMS.
            if (r.code == 600011 && typeof r.triesLeft == "number" && r.triesLeft > 0) return ask(Object.assign({}, info, { triesLeft: r.triesLeft }));
            return r.code == 600011 || FALLBACK.indexOf(r.code) >= 0 ? this.sms(o, t, session) : r;
          });
        });
      const info: FusionMask = { maskedPhone: m.maskedPhone || "" };
      if (nonEmpty(m.carrier)) info.carrier = m.carrier;
      return ask(info);
    });
  }

  private sms(o: FusionOptions, t: number, session: string): Promise<FusionResult> {
    return Promise.resolve(o.onPhoneNumber()).then((phone) => {
      if (!nonEmpty(phone)) return result<FusionResult>(600028, "bad argument: phoneNumber");
      const phoneNumber = phone as string;
      return this.call("fusion-sms-send", { session, phoneNumber }, t).then((s) => {
        if (s.code != 600000) return s;
        const ask = (wrong: boolean): Promise<FusionResult> =>
          Promise.resolve(o.onSmsCode({ phoneNumber, wrong })).then((code) => {
            if (!nonEmpty(code)) return result<FusionResult>(600028, "bad argument: code");
            return this.call("fusion-sms-check", { session, phoneNumber, code }, t).then((r) =>
              r.code == 600000 && nonEmpty(r.spToken) ? done(r, "sms") : r.code == 600040 ? ask(true) : r,
            );
          });
        return ask(false);
      });
    });
  }
}

function done(r: Result & { spToken?: string; carrier?: string }, method: "carrier" | "sms"): FusionResult {
  const out: FusionResult = result<FusionResult>(600000, r.msg, { verifyToken: r.spToken, method });
  if (method == "carrier" && nonEmpty(r.carrier)) out.carrier = r.carrier;
  return out;
}
