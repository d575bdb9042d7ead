// Compile-time check (tsc -p web/sdk, optional: run by the Go test when tsc is installed)
// that the hand-written dist/numberauth-web-sdk.d.ts says what web/sdk/src does.

import * as decl from "../dist/numberauth-web-sdk";
import * as impl from "../src/index";
import type * as implTypes from "../src/types";

// Assignability alone misses a renamed optional member ({a?: 1} and {b?: 1}
// are assignable both ways), so the member names must be the same too.
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Same<A, B> = Mutual<A, B> extends true ? Mutual<keyof A, keyof B> : false;
function same<T extends true>(): T | undefined {
  return undefined;
}

// The public members of a class (keyof leaves out private and protected ones).
type Public<T> = Pick<T, keyof T>;

// The same exported values, and classes with the same public members and signatures...
same<Same<keyof typeof decl, keyof typeof impl>>();
same<Same<decl.PhoneNumberServer, Public<impl.PhoneNumberServer>>>();
same<Same<decl.PhoneServerCustomization, Public<impl.PhoneServerCustomization>>>();
same<Same<decl.FusionAuth, Public<impl.FusionAuth>>>();
// ...and constructors...
export const pns: typeof decl.PhoneNumberServer = impl.PhoneNumberServer;
export const psc: typeof decl.PhoneServerCustomization = impl.PhoneServerCustomization;
export const fus: typeof decl.FusionAuth = impl.FusionAuth;
// ...and the same argument and result shapes.
same<Same<decl.ClientOptions, implTypes.ClientOptions>>();
same<Same<decl.Result, implTypes.Result>>();
same<Same<decl.TokenResult, implTypes.TokenResult>>();
same<Same<decl.VerifyTokenResult, implTypes.VerifyTokenResult>>();
same<Same<decl.MaskResult, implTypes.MaskResult>>();
same<Same<decl.Connection, implTypes.Connection>>();
same<Same<decl.PnsCheckOptions, implTypes.PnsCheckOptions>>();
same<Same<decl.PnsTokenOptions, implTypes.PnsTokenOptions>>();
same<Same<decl.LoginCheckOptions, implTypes.LoginCheckOptions>>();
same<Same<decl.PscCheckOptions, implTypes.PscCheckOptions>>();
same<Same<decl.LoginTokenOptions, implTypes.LoginTokenOptions>>();
same<Same<decl.Timed<decl.Result>, implTypes.Timed<implTypes.Result>>>();
same<Same<decl.SuccessError<decl.Result>, implTypes.SuccessError<implTypes.Result>>>();
same<Same<decl.FusionMask, implTypes.FusionMask>>();
same<Same<decl.FusionSms, implTypes.FusionSms>>();
same<Same<decl.FusionResult, implTypes.FusionResult>>();
same<Same<decl.FusionOptions, implTypes.FusionOptions>>();
