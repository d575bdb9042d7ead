// Type declarations of the numauth web SDK (numberauth-web-sdk.mjs beside this file, and the
// UMD file numauth serves at /sdk/numberauth-web-sdk.js). Hand-written: keep in step with
// web/sdk/src (test/types-check.ts and test/sdk.test.mjs compare them). Guide: docs/web-sdk.md.

declare global {
  /** numauth's base URL for clients constructed without {endpoint} (a bundled SDK has no script URL of numauth's). */
  var NUMAUTH_ENDPOINT: string | undefined;
}

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

/** Result of PhoneNumberServer.getVerifyToken: content repeats spToken. */
export interface VerifyTokenResult extends TokenResult {
  content?: string;
}

/** Result of getLoginMaskPhone (600000 carries maskedPhone, e.g. "138****5678", and carrier). */
export interface MaskResult extends Result {
  maskedPhone?: string;
  carrier?: string;
}

export type Connection = "wifi" | "cellular" | "unknown";

/** PhoneNumberServer passes 600000 to success and every other code to error. */
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

/** PhoneServerCustomization: timeout in seconds (default 10) and one callback. */
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

/**
 * Local-number verification (seed 000). Codes: 600000 ok, 600008 wrong environment,
 * 600010 unknown, 600011 get token failed, 600013 carrier maintenance, 600014 carrier
 * call limit, 600015 timeout, 600025 identity check failed, 600032 biz type mismatch.
 * Every call allows 10 seconds.
 */
export declare class PhoneNumberServer {
  constructor(options?: ClientOptions);
  setLoggerEnable(isEnabled: boolean): void;
  getVersion(): string;
  checkAuthAvailable(options: PnsCheckOptions): Promise<Result>;
  getVerifyToken(options?: PnsTokenOptions): Promise<VerifyTokenResult>;
}

/**
 * One-click login and verification (seed 002). Codes: 600000 ok, 600004 scheme not found,
 * 600008 wrong environment, 600010 unknown, 600011 get token failed, 600012 get mask failed,
 * 600013 no successful check yet, 600014 no mask yet, 600015 timeout, 600025 identity check
 * failed, 600028 bad argument, 600032 biz type mismatch.
 */
export declare class PhoneServerCustomization {
  constructor(options?: ClientOptions);
  setLoggerEnable(isEnabled: boolean): void;
  getVersion(): string;
  getConnection(): Connection;
  checkLoginAvailable(options: LoginCheckOptions): Promise<Result>;
  getLoginMaskPhone(options?: Timed<MaskResult>): Promise<MaskResult>;
  getLoginToken(options: LoginTokenOptions): Promise<TokenResult>;
  checkAuthAvailable(options: PscCheckOptions): Promise<Result>;
  getVerifyToken(options?: Timed<TokenResult>): Promise<TokenResult>;
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
 * FusionAuth.start's argument. Each on* callback asks the user and resolves with the answer, or
 * with "" (or null) to decline: a declined mask goes on to SMS; a declined number or code ends the
 * flow with 600028. timeout (seconds, default 10) bounds each call to numauth.
 */
export interface FusionOptions extends Timed<FusionResult> {
  fusionToken: string;
  onMaskPhone: (m: FusionMask) => string | null | Promise<string | null>;
  onPhoneNumber: () => string | null | Promise<string | null>;
  onSmsCode: (s: FusionSms) => string | null | Promise<string | null>;
}

/**
 * numauth's H5 fusion authentication (not an Alibaba class): GetFusionAuthToken's token in, a
 * VerifyToken out, by the carrier's one-click login or, when the carrier cannot answer, an SMS
 * code. Codes: 600000 success, 600004 scheme gone, 600008 not cellular (SMS follows), 600010
 * unknown, 600011 token failed or wrong mask, 600013 session invalid, 600015 timeout, 600025
 * identity check failed, 600028 bad argument, 600040 wrong SMS code, 600041 SMS too frequent,
 * 600042 SMS limit, 600043 SMS country not enabled, 600044 SMS unavailable.
 */
export declare class FusionAuth {
  constructor(options?: ClientOptions);
  setLoggerEnable(isEnabled: boolean): void;
  getVersion(): string;
  start(options: FusionOptions): Promise<FusionResult>;
}
