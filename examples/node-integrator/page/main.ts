// The integrator's page script, written as a page for Alibaba Cloud's two H5 packages is: the
// imports and the argument-less constructors are the seeds' own lines. package.json aliases
// both package names to numauth's web SDK; numauth's address comes from the page's
// <meta name="numauth-endpoint">. Bundled with esbuild (../build).

import { PhoneNumberServer } from "aliyun_numberauthsdk_web";
import { PhoneServerCustomization } from "aliyun_numberauth_customization_web";
import type { Result } from "aliyun_numberauthsdk_web";

/** What one flow ended with: the step that decided it and its code, plus the server's answer. */
export interface Outcome {
  step: string;
  code: string;
  verifyResult?: string;
  mobile?: string;
  maskedPhone?: string;
}

interface Answer {
  code: string;
  message?: string;
  accessToken?: string;
  jwtToken?: string;
  verifyResult?: string;
  mobile?: string;
}

async function server(path: string, body?: object): Promise<Answer> {
  const res = await fetch(path, body ? { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) } : {});
  return (await res.json()) as Answer;
}

const pns = new PhoneNumberServer();
const psc = new PhoneServerCustomization();

const failed = (step: string, r: Result | Answer): Outcome => ({ step, code: String(r.code) });

/** Local-number verification: GetAuthToken, checkAuthAvailable, getVerifyToken, VerifyPhoneWithToken. */
async function verify(phoneNumber: string): Promise<Outcome> {
  const t = await server("/api/tokens?biz=verify");
  if (t.code != "OK") return failed("GetAuthToken", t);
  const check = await pns.checkAuthAvailable({ phoneNumber, accessToken: t.accessToken!, jwtToken: t.jwtToken! });
  if (check.code != 600000) return failed("checkAuthAvailable", check);
  const token = await pns.getVerifyToken();
  if (token.code != 600000) return failed("getVerifyToken", token);
  const v = await server("/api/verify", { spToken: token.spToken, phoneNumber });
  return { step: "VerifyPhoneWithToken", code: v.code, verifyResult: v.verifyResult };
}

/** One-click login, first half: GetAuthToken, checkLoginAvailable, getLoginMaskPhone. */
async function startLogin(): Promise<Outcome> {
  const t = await server("/api/tokens?biz=login");
  if (t.code != "OK") return failed("GetAuthToken", t);
  const check = await psc.checkLoginAvailable({ accessToken: t.accessToken!, jwtToken: t.jwtToken!, timeout: 5 });
  if (check.code != 600000) return failed("checkLoginAvailable", check);
  const m = await psc.getLoginMaskPhone({ timeout: 5 });
  if (m.code != 600000) return failed("getLoginMaskPhone", m);
  return { step: "getLoginMaskPhone", code: String(m.code), maskedPhone: m.maskedPhone };
}

/** One-click login, second half: getLoginToken with the four digits, GetPhoneWithToken. */
async function finishLogin(mask: string): Promise<Outcome> {
  const token = await psc.getLoginToken({ mask, timeout: 5 });
  if (token.code != 600000) return failed("getLoginToken", token);
  const r = await server("/api/login", { spToken: token.spToken });
  return { step: "GetPhoneWithToken", code: r.code, mobile: r.mobile };
}

// For a browser test to drive the flows without the form.
(window as unknown as { integrator: object }).integrator = { verify, startLogin, finishLogin };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const show = (id: string, o: Outcome) => ($(id).textContent = JSON.stringify(o, null, 2));

$<HTMLFormElement>("verify-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  show("verify-out", await verify($<HTMLInputElement>("verify-phone").value.trim()));
});
$<HTMLButtonElement>("login-go").addEventListener("click", async () => {
  const o = await startLogin();
  show("login-out", o);
  $("login-masked").textContent = o.maskedPhone || "";
  $("login-form").hidden = !o.maskedPhone;
});
$<HTMLFormElement>("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  show("login-out", await finishLogin($<HTMLInputElement>("login-mask").value.trim()));
});
