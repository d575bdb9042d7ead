// PhoneServerCustomization: one-click login and verification, the class of seed 002 and
// its own code table (600013 and 600014 do not mean what they mean in PhoneNumberServer).

import {
  badCheck,
  Client,
  DEFAULT_TIMEOUT,
  type Flow,
  lookup,
  newFlow,
  nonEmpty,
  now,
  result,
  type Step,
  type Table,
  withCarrier,
} from "./core";
import type {
  ClientOptions,
  Connection,
  LoginCheckOptions,
  LoginTokenOptions,
  MaskResult,
  PscCheckOptions,
  Result,
  Timed,
  TokenResult,
} from "./types";

// docs/h5-protocol.md, column "PhoneServerCustomization". CARRIER_* are 600012 for the
// mask and 600011 for a token; INTERNAL and anything else are 600010.
const CODES: Table = {
  OK: 600000,
  BAD_ARGUMENT: 600028,
  IDENTITY_FAILED: 600025,
  SCHEME_NOT_FOUND: 600004,
  BIZ_TYPE_MISMATCH: 600032,
  SESSION_INVALID: 600013,
  NOT_CELLULAR: 600008,
  MASK_NOT_REQUESTED: 600014,
  MASK_WRONG: 600011,
  MASK_LOCKED: 600011,
};

/** The call's timeout in seconds: the default when absent, 0 when not a positive number. */
function seconds(t: unknown): number {
  return t == null ? DEFAULT_TIMEOUT : typeof t == "number" && t > 0 && t < Infinity ? t : 0;
}

function bad(field: string): Result {
  return result(600028, "bad argument: " + field);
}

function callback<R>(o: Timed<R>): (r: R) => void {
  return (r) => {
    if (typeof o.callback == "function") o.callback(r);
  };
}

export class PhoneServerCustomization extends Client {
  protected login: Flow;

  constructor(options?: ClientOptions) {
    super("PhoneServerCustomization", options);
    this.login = newFlow();
  }

  protected codeOf(gatewayCode: string, op: string): number {
    return /^CARRIER_/.test(gatewayCode) ? (op == "login-mask" ? 600012 : 600011) : lookup(CODES, gatewayCode);
  }

  /** The connection type the browser reports (Network Information API); "unknown" where it reports none. */
  getConnection(): Connection {
    try {
      const t = (navigator as unknown as { connection: { type: string } }).connection.type;
      if (t == "wifi" || t == "cellular") return t;
    } catch (e) {
      // no Network Information API
    }
    return "unknown";
  }

  /**
   * Runs a call after the checks every method shares: a bad timeout is 600028, a flow
   * with no session from a successful check is 600013.
   */
  private run<R extends Result>(
    method: string,
    o: Timed<R>,
    flow: Flow | undefined,
    err: Result | undefined,
    step: () => Step<R>,
  ): Promise<R> {
    const t = seconds(o.timeout);
    const e = !t
      ? bad("timeout")
      : err || (flow && !flow.session ? result(600013, "call " + (flow == this.login ? "checkLoginAvailable" : "checkAuthAvailable") + " first") : undefined);
    return this.exec(method, o, t || DEFAULT_TIMEOUT, callback(o), e ? now<R>(e) : step());
  }

  /** One-click login, step 1: the tokens from GetAuthToken (BizType 1 or none). */
  checkLoginAvailable(options: LoginCheckOptions): Promise<Result> {
    const o = options || ({} as LoginCheckOptions);
    const b = badCheck(o);
    // The login check carries no phone number.
    const tokens = { accessToken: o.accessToken, jwtToken: o.jwtToken };
    return this.run("checkLoginAvailable", o, undefined, b ? bad(b) : undefined, () => this.check(tokens, "login", this.login));
  }

  /** One-click login, step 2: the line's number, masked (e.g. "138****5678"), to show the user. */
  getLoginMaskPhone(options?: Timed<MaskResult>): Promise<MaskResult> {
    const o = options || {};
    const flow = this.login;
    const session = flow.session;
    return this.run("getLoginMaskPhone", o, flow, undefined, () =>
      this.ask<MaskResult>("login-mask", { session }, flow, (a) => {
        if (!nonEmpty(a.maskedPhone)) return undefined;
        if (flow.session == session) flow.masked = true;
        return withCarrier(a, { maskedPhone: a.maskedPhone });
      }),
    );
  }

  /** One-click login, step 3: the four middle digits the user typed buy the login spToken. */
  getLoginToken(options: LoginTokenOptions): Promise<TokenResult> {
    const o = options || ({} as LoginTokenOptions);
    const flow = this.login;
    const session = flow.session;
    const mask = o.mask;
    return this.run("getLoginToken", o, flow, typeof mask == "string" && /^\d{4}$/.test(mask) ? undefined : bad("mask"), () =>
      flow.masked
        ? this.token<TokenResult>("login-token", { session, mask }, flow)
        : now(result(600014, "call getLoginMaskPhone first")),
    );
  }

  /** Verification, step 1: the tokens from GetAuthToken (BizType 0 or none). */
  checkAuthAvailable(options: PscCheckOptions): Promise<Result> {
    const o = options || ({} as PscCheckOptions);
    const b = badCheck(o);
    return this.run("checkAuthAvailable", o, undefined, b ? bad(b) : undefined, () => this.check(o, "verify", this.verify));
  }

  /** Verification, step 2: the carrier leg, over the cellular data session: spToken for VerifyPhoneWithToken. */
  getVerifyToken(options?: Timed<TokenResult>): Promise<TokenResult> {
    const o = options || {};
    const flow = this.verify;
    const session = flow.session;
    return this.run("getVerifyToken", o, flow, undefined, () => this.token<TokenResult>("verify-token", { session }, flow));
  }
}
