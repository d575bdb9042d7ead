// PhoneNumberServer: local-number verification, the class of seed 000 and its code table.

import { badCheck, Client, DEFAULT_TIMEOUT, lookup, now, result, type Table } from "./core";
import type { ClientOptions, PnsCheckOptions, PnsTokenOptions, Result, SuccessError, VerifyTokenResult } from "./types";

// docs/h5-protocol.md, column "PhoneNumberServer". BAD_ARGUMENT, INTERNAL and anything
// else (network failure, unreadable answer) are 600010.
const CODES: Table = {
  OK: 600000,
  IDENTITY_FAILED: 600025,
  SCHEME_NOT_FOUND: 600025,
  SESSION_INVALID: 600025,
  BIZ_TYPE_MISMATCH: 600032,
  NOT_CELLULAR: 600008,
  CARRIER_MAINTENANCE: 600013,
  CARRIER_QUOTA: 600014,
  CARRIER_ERROR: 600011,
};

/** success gets 600000, error every other code. */
function split<R extends Result>(o: SuccessError<R>): (r: R) => void {
  return (r) => {
    const f = r.code == 600000 ? o.success : o.error;
    if (typeof f == "function") f(r);
  };
}

export class PhoneNumberServer extends Client {
  constructor(options?: ClientOptions) {
    super("PhoneNumberServer", options);
  }

  protected codeOf(gatewayCode: string): number {
    return lookup(CODES, gatewayCode);
  }

  /** Identity check: the tokens from GetAuthToken, bound to this page's origin. */
  checkAuthAvailable(options: PnsCheckOptions): Promise<Result> {
    const o = options || ({} as PnsCheckOptions);
    const bad = badCheck(o);
    return this.exec(
      "checkAuthAvailable",
      o,
      DEFAULT_TIMEOUT,
      split(o),
      bad ? now(result(600010, "bad argument: " + bad)) : this.check(o, "verify", this.verify),
    );
  }

  /** The carrier leg, over the cellular data session: spToken for VerifyPhoneWithToken. */
  getVerifyToken(options?: PnsTokenOptions): Promise<VerifyTokenResult> {
    const o = options || {};
    const session = this.verify.session;
    return this.exec(
      "getVerifyToken",
      o,
      DEFAULT_TIMEOUT,
      split(o),
      session
        ? this.token<VerifyTokenResult>("verify-token", { session }, this.verify, true)
        : now(result(600025, "call checkAuthAvailable first")),
    );
  }
}
