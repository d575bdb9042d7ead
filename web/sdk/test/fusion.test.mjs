// Unit tests of FusionAuth, numauth's H5 fusion class (docs/web-sdk.md): the strategy's two
// paths, the fallback to SMS when the carrier cannot answer, retries, codes and arguments.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { flush, GATEWAY, loadPage, plain } from "./harness.mjs";

const FT = "fusion-token-0123456789abcdef";

/** The next gateway request, once the SDK has made it (callbacks resolve over a few turns). */
async function next(page) {
  for (let i = 0; i < 50 && page.net.requests.length <= page.net.taken; i++) await flush();
  return page.net.next();
}

/** Callbacks that answer from lists and record what they were told. */
function answers({ masks = [], phones = [], codes = [] } = {}) {
  const told = { mask: [], sms: [], phone: 0 };
  return {
    told,
    onMaskPhone: (m) => (told.mask.push(m), masks.shift() ?? ""),
    onPhoneNumber: () => (told.phone++, Promise.resolve(phones.shift() ?? "")),
    onSmsCode: (s) => (told.sms.push(s), codes.shift() ?? ""),
  };
}

describe("FusionAuth", () => {
  test("the carrier path: check, mask, the user's digits, a VerifyToken", async () => {
    const page = loadPage();
    const sdk = new page.FusionAuth();
    const a = answers({ masks: ["1234"] });
    let called = 0;
    const p = sdk.start({ fusionToken: FT, ...a, callback: () => called++ });
    let req = await next(page);
    assert.equal(req.url, GATEWAY + "/h5/v1/fusion-check");
    assert.deepEqual(req.body, { fusionToken: FT });
    req.reply({ code: "OK", msg: "ok", session: "s1", expiresIn: 600, strategy: "carrier" });
    req = await next(page);
    assert.equal(req.url, GATEWAY + "/h5/v1/login-mask");
    assert.deepEqual(req.body, { session: "s1" });
    req.reply({ code: "OK", msg: "ok", maskedPhone: "138****5678", carrier: "CM" });
    req = await next(page);
    assert.equal(req.url, GATEWAY + "/h5/v1/login-token");
    assert.deepEqual(req.body, { session: "s1", mask: "1234" });
    req.reply({ code: "OK", msg: "ok", spToken: "vt-1", carrier: "CM" });
    const r = await p;
    assert.deepEqual(plain(r), { code: 600000, msg: "ok", verifyToken: "vt-1", method: "carrier", carrier: "CM" });
    assert.deepEqual(a.told.mask.map(plain), [{ maskedPhone: "138****5678", carrier: "CM" }]);
    assert.equal(a.told.phone, 0);
    assert.equal(called, 1);
    page.net.none();
  });

  for (const [gateway, name] of [
    ["NOT_CELLULAR", "Wi-Fi"],
    ["CARRIER_MAINTENANCE", "maintenance"],
    ["CARRIER_QUOTA", "quota"],
    ["CARRIER_ERROR", "a carrier failure"],
  ]) {
    test(`falls back to SMS on ${name}, and asks again after a wrong code`, async () => {
      const page = loadPage();
      const sdk = new page.FusionAuth();
      const a = answers({ phones: ["13912345678"], codes: ["0000", "4321"] });
      const p = sdk.start({ fusionToken: FT, ...a });
      (await next(page)).reply({ code: "OK", msg: "ok", session: "s1", strategy: "carrier" });
      (await next(page)).reply({ code: gateway, msg: "no" });
      let req = await next(page);
      assert.equal(req.url, GATEWAY + "/h5/v1/fusion-sms-send");
      assert.deepEqual(req.body, { session: "s1", phoneNumber: "13912345678" });
      req.reply({ code: "OK", msg: "ok" });
      req = await next(page);
      assert.deepEqual(req.body, { session: "s1", phoneNumber: "13912345678", code: "0000" });
      req.reply({ code: "SMS_CODE_WRONG", msg: "wrong" });
      req = await next(page);
      assert.equal(req.url, GATEWAY + "/h5/v1/fusion-sms-check");
      assert.deepEqual(req.body, { session: "s1", phoneNumber: "13912345678", code: "4321" });
      req.reply({ code: "OK", msg: "ok", spToken: "vt-2", carrier: "SMS" });
      assert.deepEqual(plain(await p), { code: 600000, msg: "ok", verifyToken: "vt-2", method: "sms" });
      assert.deepEqual(a.told.sms.map(plain), [
        { phoneNumber: "13912345678", wrong: false },
        { phoneNumber: "13912345678", wrong: true },
      ]);
    });
  }

  test("strategy sms goes straight to the code; a refused send ends the flow with its code", async () => {
    const page = loadPage();
    const sdk = new page.FusionAuth();
    const p = sdk.start({ fusionToken: FT, ...answers({ phones: ["13912345678"] }) });
    (await next(page)).reply({ code: "OK", msg: "ok", session: "s1", strategy: "sms" });
    const req = await next(page);
    assert.equal(req.url, GATEWAY + "/h5/v1/fusion-sms-send");
    req.reply({ code: "SMS_FREQUENCY", msg: "too soon" });
    assert.deepEqual(plain(await p), { code: 600041, msg: "too soon" });
    page.net.none();
  });

  test("a wrong mask with tries left asks again; a declined mask goes to SMS", async () => {
    const page = loadPage();
    const sdk = new page.FusionAuth();
    const a = answers({ masks: ["9999", ""], phones: [""] });
    const p = sdk.start({ fusionToken: FT, ...a });
    (await next(page)).reply({ code: "OK", msg: "ok", session: "s1", strategy: "carrier" });
    (await next(page)).reply({ code: "OK", msg: "ok", maskedPhone: "138****5678", carrier: "CM" });
    (await next(page)).reply({ code: "MASK_WRONG", msg: "wrong", triesLeft: 2 });
    const r = await p;
    assert.equal(a.told.mask.length, 2);
    assert.equal(a.told.mask[1].triesLeft, 2);
    assert.equal(a.told.phone, 1);
    assert.deepEqual(plain(r), { code: 600028, msg: "bad argument: phoneNumber" });
    page.net.none();
  });

  test("identity failures end the flow; no SMS", async () => {
    const page = loadPage();
    const sdk = new page.FusionAuth();
    const p = sdk.start({ fusionToken: FT, ...answers() });
    (await next(page)).reply({ code: "IDENTITY_FAILED", msg: "no" });
    assert.deepEqual(plain(await p), { code: 600025, msg: "no" });
    page.net.none();
  });

  test("a carrier leg past the timeout is 600015 and the SMS path follows", async () => {
    const page = loadPage();
    const sdk = new page.FusionAuth();
    const a = answers({ phones: [""] });
    const p = sdk.start({ fusionToken: FT, timeout: 2, ...a });
    (await next(page)).reply({ code: "OK", msg: "ok", session: "s1", strategy: "carrier" });
    await next(page); // login-mask, never answered
    await page.clock.tick(2000);
    assert.deepEqual(plain(await p), { code: 600028, msg: "bad argument: phoneNumber" });
    assert.equal(a.told.phone, 1);
  });

  test("bad arguments are 600028 without a request, to the callback too", async () => {
    const page = loadPage();
    const sdk = new page.FusionAuth();
    for (const [o, field] of [
      [{ ...answers() }, "fusionToken"],
      [{ fusionToken: FT, ...answers(), timeout: -1 }, "timeout"],
      [{ fusionToken: FT, ...answers(), onSmsCode: undefined }, "onSmsCode"],
    ]) {
      let got;
      const r = await sdk.start({ ...o, callback: (x) => (got = x) });
      assert.deepEqual(plain(r), { code: 600028, msg: "bad argument: " + field });
      assert.equal(got, r);
    }
    page.net.none();
  });
});
