// Public argument and result shapes. dist/numberauth-web-sdk.d.ts declares the same
// shapes by hand for users of the ES module; test/types-check.ts (run when tsc is
// installed) and test/sdk.test.mjs keep the two in step.

/** Optional constructor argument. */
export interface ClientOptions {
  /**
   * Base URL of numauth, e.g. "https://auth.example.com". Default: the global NUMAUTH_ENDPOINT,
   * else <meta name="numauth-endpoint" content="...">, else the origin the SDK script was served
   * from (a bundle is served from the page's own origin: set one of the two there).
   */
  endpoint?: string;
}

/** Every result carries a numeric code and a message. */
export interface Result {
  code: number;
  msg: string;
}

/** Result of a token request (600000 carries spToken). */
export interface TokenResult extends Result {
  spToken?: string;
  /** Carrier of the line: "CM", "CU" or "CT". */
  carrier?: string;
  /** After a wrong mask (600011): how many tries are left before the number is locked. */
  triesLeft?: number;
}

/** Result of PhoneNumberServer.getVerifyToken: content repeats spToken, as the seed's result does. */
export interface VerifyTokenResult extends TokenResult {
  content?: string;
}

/** Result of getLoginMaskPhone (600000 carries maskedPhone, e.g. "138****5678", and carrier). */
export interface MaskResult extends Result {
  maskedPhone?: string;
  carrier?: string;
}

export type Connection = "wifi" | "cellular" | "unknown";

/** PhoneNumberServer (seed 000) passes 600000 to success and every other code to error. */
export interface SuccessError<R> {
  success?: (result: R) => void;
  error?: (result: R) => void;
}

export interface AuthCheck {
  phoneNumber?: string;
  accessToken: string;
  jwtToken: string;
}

export type PnsCheckOptions = AuthCheck & SuccessError<Result>;
export type PnsTokenOptions = SuccessError<VerifyTokenResult>;

/** PhoneServerCustomization (seed 002): timeout in seconds (default 10) and one callback. */
export interface Timed<R> {
  timeout?: number;
  callback?: (result: R) => void;
}

export interface LoginCheckOptions extends Timed<Result> {
  accessToken: string;
  jwtToken: string;
}

export type PscCheckOptions = AuthCheck & Timed<Result>;

export interface LoginTokenOptions extends Timed<TokenResult> {
  /** The four middle digits of the masked number. */
  mask: string;
}

/** What FusionAuth.onMaskPhone is told: the line's masked number, and the tries left after a wrong mask. */
export interface FusionMask {
  maskedPhone: string;
  carrier?: string;
  triesLeft?: number;
}

/** What FusionAuth.onSmsCode is told: the number the code went to, and whether the last code was wrong. */
export interface FusionSms {
  phoneNumber: string;
  wrong: boolean;
}

/** FusionAuth.start's result: 600000 carries verifyToken (for VerifyWithFusionAuthToken) and the method that confirmed the number. */
export interface FusionResult extends Result {
  verifyToken?: string;
  method?: "carrier" | "sms";
  carrier?: string;
}

/**
 * FusionAuth.start's argument. The page draws its own UI: each on* callback asks the user and
 * resolves with the answer, or with "" (or null) to decline (a declined mask goes on to SMS; a
 * declined number or code ends the flow with 600028). timeout (seconds, default 10) bounds each
 * call to numauth, not the user's typing.
 */
export interface FusionOptions extends Timed<FusionResult> {
  fusionToken: string;
  onMaskPhone: (m: FusionMask) => string | null | Promise<string | null>;
  onPhoneNumber: () => string | null | Promise<string | null>;
  onSmsCode: (s: FusionSms) => string | null | Promise<string | null>;
}
