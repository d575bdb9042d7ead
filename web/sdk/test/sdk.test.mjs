// Unit tests of the built SDK (node --test; the Go test web/sdk/sdkbuild runs them on a
// fresh build): gateway-to-SDK code mapping per class, timeouts, promises and callbacks,
// client-side argument checks, flow state, logging, module formats, declared types.

import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { files, flush, GATEWAY, loadBare, loadPage, PAGE, plain, spy } from "./harness.mjs";

const TOKENS = { accessToken: "AT-0123456789abcdef-secret", jwtToken: "eyJhbGciOiJIUzI1NiJ9.payload-secret.sig" };
const PHONE = "13812345678";

// OK answers per op (beyond code and msg).
const OK_FIELDS = {
  check: { session: "sess-0123456789abcdef", expiresIn: 600 },
  "verify-token": { spToken: "sp-verify-0123456789abcdef", carrier: "CM" },
  "login-mask": { maskedPhone: "138****5678", carrier: "CM" },
  "login-token": { spToken: "sp-login-0123456789abcdef", carrier: "CM" },
};

// docs/h5-protocol.md, "Gateway codes and the SDK codes they become". A code the protocol
// does not give a class (—) or does not know at all is 600010 (unknown).
const PNS_CODES = {
  OK: 600000,
  BAD_ARGUMENT: 600010,
  IDENTITY_FAILED: 600025,
  SCHEME_NOT_FOUND: 600025,
  BIZ_TYPE_MISMATCH: 600032,
  SESSION_INVALID: 600025,
  NOT_CELLULAR: 600008,
  CARRIER_MAINTENANCE: 600013,
  CARRIER_QUOTA: 600014,
  CARRIER_ERROR: 600011,
  MASK_NOT_REQUESTED: 600010,
  MASK_WRONG: 600010,
  MASK_LOCKED: 600010,
  INTERNAL: 600010,
  SOMETHING_NEW: 600010,
  constructor: 600010, // not a table lookup through Object.prototype
};

function pscCodes(op) {
  const carrier = op == "login-mask" ? 600012 : 600011;
  return {
    OK: 600000,
    BAD_ARGUMENT: 600028,
    IDENTITY_FAILED: 600025,
    SCHEME_NOT_FOUND: 600004,
    BIZ_TYPE_MISMATCH: 600032,
    SESSION_INVALID: 600013,
    NOT_CELLULAR: 600008,
    CARRIER_MAINTENANCE: carrier,
    CARRIER_QUOTA: carrier,
    CARRIER_ERROR: carrier,
    MASK_NOT_REQUESTED: 600014,
    MASK_WRONG: 600011,
    MASK_LOCKED: 600011,
    INTERNAL: 600010,
    SOMETHING_NEW: 600010,
    constructor: 600010,
  };
}

/** Answers the next request with OK (op's fields) and waits for the call to settle. */
async function answerOK(page, op, promise) {
  const req = page.net.next();
  assert.equal(req.url, GATEWAY + "/h5/v1/" + op);
  req.reply({ code: "OK", msg: "ok", ...OK_FIELDS[op] });
  const r = await promise;
  assert.equal(r.code, 600000, `${op}: ${r.msg}`);
  return req;
}

// Brings a fresh instance to the point where `method` may call the gateway.
const pnsSetup = {
  checkAuthAvailable: async () => {},
  getVerifyToken: async (page, sdk) => answerOK(page, "check", sdk.checkAuthAvailable({ ...TOKENS })),
};
const pscSetup = {
  checkLoginAvailable: async () => {},
  checkAuthAvailable: async () => {},
  getLoginMaskPhone: async (page, sdk) => answerOK(page, "check", sdk.checkLoginAvailable({ ...TOKENS })),
  getLoginToken: async (page, sdk) => {
    await answerOK(page, "check", sdk.checkLoginAvailable({ ...TOKENS }));
    await answerOK(page, "login-mask", sdk.getLoginMaskPhone({}));
  },
  getVerifyToken: async (page, sdk) => answerOK(page, "check", sdk.checkAuthAvailable({ ...TOKENS })),
};

const pnsCalls = {
  checkAuthAvailable: ["check", (sdk, cb) => sdk.checkAuthAvailable({ ...TOKENS, phoneNumber: PHONE, ...cb })],
  getVerifyToken: ["verify-token", (sdk, cb) => sdk.getVerifyToken({ ...cb })],
};
const pscCalls = {
  checkLoginAvailable: ["check", (sdk, cb) => sdk.checkLoginAvailable({ ...TOKENS, timeout: 5, ...cb })],
  checkAuthAvailable: ["check", (sdk, cb) => sdk.checkAuthAvailable({ ...TOKENS, phoneNumber: PHONE, timeout: 5, ...cb })],
  getLoginMaskPhone: ["login-mask", (sdk, cb) => sdk.getLoginMaskPhone({ timeout: 5, ...cb })],
  getLoginToken: ["login-token", (sdk, cb) => sdk.getLoginToken({ mask: "1234", timeout: 5, ...cb })],
  getVerifyToken: ["verify-token", (sdk, cb) => sdk.getVerifyToken({ timeout: 5, ...cb })],
};

/** Callbacks for a call and a check that they agree with its promise: called once, with the same result. */
function pnsCallbacks() {
  const success = spy();
  const error = spy();
  return {
    cb: { success, error },
    agree(r) {
      const want = r.code == 600000 ? success : error;
      const other = r.code == 600000 ? error : success;
      assert.deepEqual(want.calls, [plain(r)]);
      assert.deepEqual(other.calls, []);
    },
  };
}
function pscCallbacks() {
  const callback = spy();
  return {
    cb: { callback },
    agree(r) {
      assert.deepEqual(callback.calls, [plain(r)]);
    },
  };
}

const classes = [
  ["PhoneNumberServer", pnsSetup, pnsCalls, () => PNS_CODES, pnsCallbacks],
  ["PhoneServerCustomization", pscSetup, pscCalls, pscCodes, pscCallbacks],
];

for (const [cls, setup, calls, codes, callbacks] of classes) {
  describe(`${cls}: gateway codes`, () => {
    for (const [method, [op, invoke]] of Object.entries(calls)) {
      for (const [gw, want] of Object.entries(codes(op))) {
        test(`${method}: ${gw} -> ${want}`, async () => {
          const page = loadPage();
          const sdk = new page[cls]();
          await setup[method](page, sdk);
          const { cb, agree } = callbacks();
          const p = invoke(sdk, cb);
          const req = page.net.next();
          assert.equal(req.url, GATEWAY + "/h5/v1/" + op);
          const extra = gw == "OK" ? OK_FIELDS[op] : {};
          req.reply({ code: gw, msg: "gateway says " + gw, ...extra });
          const r = await p;
          assert.equal(r.code, want);
          assert.equal(r.msg, "gateway says " + gw);
          agree(r);
          page.net.none();
        });
      }
    }

    for (const [method, [, invoke]] of Object.entries(calls)) {
      for (const [what, answer] of [
        ["bad JSON", (req) => req.replyText("<html>502 Bad Gateway</html>", 502)],
        ["JSON without a code", (req) => req.reply({ msg: "no code" })],
        ["a network error", (req) => req.fail()],
        ["OK without its fields", (req) => req.reply({ code: "OK", msg: "ok" })],
      ]) {
        test(`${method}: ${what} -> 600010`, async () => {
          const page = loadPage();
          const sdk = new page[cls]();
          await setup[method](page, sdk);
          const { cb, agree } = callbacks();
          const p = invoke(sdk, cb);
          answer(page.net.next());
          const r = await p;
          assert.equal(r.code, 600010);
          agree(r);
          assert.equal(r.spToken, undefined);
        });
      }
    }

    test("an answer with HTTP 413 is read like any other", async () => {
      const page = loadPage();
      const sdk = new page[cls]();
      const p = calls.checkAuthAvailable[1](sdk, {});
      page.net.next().reply({ code: "BAD_ARGUMENT", msg: "body too large" }, 413);
      assert.equal((await p).code, codes("check").BAD_ARGUMENT);
    });

    test("no fetch at all -> 600010", async () => {
      const page = loadPage({ globals: { fetch: undefined } });
      const sdk = new page[cls]();
      const { cb, agree } = callbacks();
      const r = await calls.checkAuthAvailable[1](sdk, cb);
      assert.equal(r.code, 600010);
      agree(r);
    });
  });

  describe(`${cls}: timeouts`, () => {
    for (const [method, [, invoke]] of Object.entries(calls)) {
      test(`${method}: the callback fires once with 600015, the fetch is aborted, a late answer is dropped`, async () => {
        const page = loadPage({ honourAbort: false }); // the late answer does arrive
        const sdk = new page[cls]();
        await setup[method](page, sdk);
        const { cb, agree } = callbacks();
        const p = invoke(sdk, cb);
        const req = page.net.next();
        const seconds = cls == "PhoneNumberServer" ? 10 : 5;
        assert.deepEqual(page.clock.pending(), [seconds * 1000]);
        await page.clock.tick(seconds * 1000 - 1);
        assert.equal(Object.values(cb).reduce((n, f) => n + f.calls.length, 0), 0, "settled early");
        await page.clock.tick(1);
        assert.equal(req.signal.aborted, true);
        const r = await p;
        assert.deepEqual(plain(r), { code: 600015, msg: "timeout" });
        agree(r);
        req.reply({ code: "OK", msg: "ok", ...OK_FIELDS[req.url.split("/").pop()] });
        await page.clock.tick(60_000);
        agree(r);
        assert.deepEqual(page.clock.thrown, []);
      });
    }

    test("a fetch that never answers, without AbortController: 600015 once", async () => {
      const page = loadPage({ globals: { AbortController: undefined } });
      const sdk = new page[cls]();
      const { cb, agree } = callbacks();
      const p = calls.checkAuthAvailable[1](sdk, cb);
      const req = page.net.next();
      assert.equal(req.signal, undefined);
      await page.clock.tick(60_000);
      const r = await p;
      assert.equal(r.code, 600015);
      req.reply({ code: "OK", msg: "ok", ...OK_FIELDS.check });
      await flush();
      agree(r);
    });

    test("an answer in time clears the timer", async () => {
      const page = loadPage();
      const sdk = new page[cls]();
      const p = calls.checkAuthAvailable[1](sdk, {});
      assert.equal(page.clock.pending().length, 1);
      await answerOK(page, "check", p);
      assert.deepEqual(page.clock.pending(), []);
    });

    test("a check that timed out keeps no session from its late answer", async () => {
      const page = loadPage({ honourAbort: false });
      const sdk = new page[cls]();
      const p = calls.checkAuthAvailable[1](sdk, {});
      const req = page.net.next();
      await page.clock.tick(10_000);
      assert.equal((await p).code, 600015);
      req.reply({ code: "OK", msg: "ok", ...OK_FIELDS.check });
      await flush();
      const r = await calls.getVerifyToken[1](sdk, {});
      assert.equal(r.code, cls == "PhoneNumberServer" ? 600025 : 600013);
      page.net.none();
    });

    test("a callback that throws leaves the promise alone", async () => {
      const page = loadPage();
      const sdk = new page[cls]();
      const boom = () => {
        throw new Error("page bug");
      };
      const cb = cls == "PhoneNumberServer" ? { success: boom, error: boom } : { callback: boom };
      const p = calls.checkAuthAvailable[1](sdk, cb);
      page.net.next().reply({ code: "IDENTITY_FAILED", msg: "foreign origin" });
      assert.equal((await p).code, 600025);
      await page.clock.tick(0);
      assert.equal(page.clock.thrown.length, 1);
      assert.equal(page.clock.thrown[0].message, "page bug");
    });
  });
}

describe("PhoneServerCustomization: timeout argument", () => {
  for (const [given, ms] of [
    [undefined, 10_000],
    [null, 10_000],
    [3, 3000],
    [0.25, 250],
  ]) {
    test(`timeout ${given} waits exactly ${ms} ms`, async () => {
      const page = loadPage();
      const sdk = new page.PhoneServerCustomization();
      const { cb, agree } = pscCallbacks();
      const p = sdk.checkLoginAvailable({ ...TOKENS, timeout: given, ...cb });
      page.net.next();
      assert.deepEqual(page.clock.pending(), [ms]);
      await page.clock.tick(ms - 1);
      assert.equal(cb.callback.calls.length, 0);
      await page.clock.tick(1);
      const r = await p;
      assert.equal(r.code, 600015);
      agree(r);
    });
  }

  for (const bad of [0, -1, NaN, Infinity, "5", {}]) {
    test(`timeout ${String(bad)} -> 600028, no request`, async () => {
      const page = loadPage();
      const sdk = new page.PhoneServerCustomization();
      for (const call of Object.values(pscCalls)) {
        const { cb, agree } = pscCallbacks();
        const r = await call[1](sdk, { ...cb, timeout: bad });
        assert.equal(r.code, 600028);
        assert.match(r.msg, /timeout/);
        agree(r);
      }
      page.net.none();
    });
  }
});

describe("client-side argument checks", () => {
  const missing = [
    ["no arguments", undefined],
    ["no accessToken", { jwtToken: TOKENS.jwtToken }],
    ["no jwtToken", { accessToken: TOKENS.accessToken }],
    ["empty accessToken", { ...TOKENS, accessToken: "" }],
    ["a numeric phoneNumber", { ...TOKENS, phoneNumber: 13812345678 }],
  ];
  for (const [what, args] of missing) {
    test(`PhoneServerCustomization: ${what} -> 600028, no request`, async () => {
      const page = loadPage();
      const sdk = new page.PhoneServerCustomization();
      for (const m of ["checkAuthAvailable", "checkLoginAvailable"]) {
        if (m == "checkLoginAvailable" && what.includes("phoneNumber")) continue;
        const r = await sdk[m](args);
        assert.equal(r.code, 600028, m);
      }
      page.net.none();
    });
    test(`PhoneNumberServer: ${what} -> 600010 to error(), no request`, async () => {
      const page = loadPage();
      const sdk = new page.PhoneNumberServer();
      const { cb, agree } = pnsCallbacks();
      const r = await sdk.checkAuthAvailable(args && { ...args, ...cb });
      assert.equal(r.code, 600010);
      if (args) agree(r);
      page.net.none();
    });
  }

  for (const mask of ["123", "12345", "12a4", " 1234", "1234\n", 1234, undefined, ""]) {
    test(`getLoginToken mask ${JSON.stringify(mask)} -> 600028, no request`, async () => {
      const page = loadPage();
      const sdk = new page.PhoneServerCustomization();
      await pscSetup.getLoginToken(page, sdk);
      const { cb, agree } = pscCallbacks();
      const r = await sdk.getLoginToken({ mask, timeout: 5, ...cb });
      assert.equal(r.code, 600028);
      assert.match(r.msg, /mask/);
      agree(r);
      page.net.none();
    });
  }

  test("a bad mask is reported before a missing session", async () => {
    const page = loadPage();
    const sdk = new page.PhoneServerCustomization();
    assert.equal((await sdk.getLoginToken({ mask: "12" })).code, 600028);
    assert.equal((await sdk.getLoginToken({ mask: "1234" })).code, 600013);
    page.net.none();
  });
});

describe("flow state", () => {
  test("PhoneServerCustomization: mask or token before a successful check -> 600013, no request", async () => {
    const page = loadPage();
    const sdk = new page.PhoneServerCustomization();
    assert.equal((await sdk.getLoginMaskPhone()).code, 600013);
    assert.equal((await sdk.getLoginToken({ mask: "1234" })).code, 600013);
    assert.equal((await sdk.getVerifyToken()).code, 600013);
    page.net.none();
  });

  test("PhoneServerCustomization: token before the mask -> 600014, no request", async () => {
    const page = loadPage();
    const sdk = new page.PhoneServerCustomization();
    await pscSetup.getLoginMaskPhone(page, sdk);
    const { cb, agree } = pscCallbacks();
    const r = await sdk.getLoginToken({ mask: "1234", ...cb });
    assert.equal(r.code, 600014);
    agree(r);
    page.net.none();
  });

  test("PhoneServerCustomization: a failed mask request leaves no mask", async () => {
    const page = loadPage();
    const sdk = new page.PhoneServerCustomization();
    await pscSetup.getLoginMaskPhone(page, sdk);
    const p = sdk.getLoginMaskPhone();
    page.net.next().reply({ code: "NOT_CELLULAR", msg: "wifi" });
    assert.equal((await p).code, 600008);
    assert.equal((await sdk.getLoginToken({ mask: "1234" })).code, 600014);
    page.net.none();
  });

  test("PhoneNumberServer: token before a successful check -> 600025 to error(), no request", async () => {
    const page = loadPage();
    const sdk = new page.PhoneNumberServer();
    const { cb, agree } = pnsCallbacks();
    const r = await sdk.getVerifyToken(cb);
    assert.equal(r.code, 600025);
    agree(r);
    page.net.none();
  });

  test("PhoneServerCustomization: the verify and login flows keep separate sessions", async () => {
    const page = loadPage();
    const sdk = new page.PhoneServerCustomization();
    const login = sdk.checkLoginAvailable({ ...TOKENS });
    page.net.next().reply({ code: "OK", msg: "ok", session: "login-session" });
    await login;
    assert.equal((await sdk.getVerifyToken()).code, 600013);
    const verify = sdk.checkAuthAvailable({ ...TOKENS });
    page.net.next().reply({ code: "OK", msg: "ok", session: "verify-session" });
    await verify;
    page.net.none();

    const mask = sdk.getLoginMaskPhone();
    assert.deepEqual(page.net.next().body, { session: "login-session" });
    page.net.requests.at(-1).reply({ code: "OK", msg: "ok", maskedPhone: "138****5678", carrier: "CU" });
    assert.deepEqual(plain(await mask), { code: 600000, msg: "ok", maskedPhone: "138****5678", carrier: "CU" });

    const vt = sdk.getVerifyToken();
    assert.deepEqual(page.net.next().body, { session: "verify-session" });
    page.net.requests.at(-1).reply({ code: "OK", msg: "ok", spToken: "sp-v", carrier: "CU" });
    assert.deepEqual(plain(await vt), { code: 600000, msg: "ok", spToken: "sp-v", carrier: "CU" });

    const lt = sdk.getLoginToken({ mask: "1234" });
    assert.deepEqual(page.net.next().body, { session: "login-session", mask: "1234" });
    page.net.requests.at(-1).reply({ code: "OK", msg: "ok", spToken: "sp-l", carrier: "CU" });
    assert.deepEqual(plain(await lt), { code: 600000, msg: "ok", spToken: "sp-l", carrier: "CU" });
  });

  test("PhoneNumberServer: the whole verification", async () => {
    const page = loadPage();
    const sdk = new page.PhoneNumberServer();
    const { cb, agree } = pnsCallbacks();
    const check = sdk.checkAuthAvailable({ ...TOKENS, phoneNumber: PHONE, ...cb });
    const req = page.net.next();
    assert.equal(req.url, GATEWAY + "/h5/v1/check");
    assert.equal(req.init.method, "POST");
    assert.equal(req.init.credentials, "omit");
    assert.deepEqual({ ...req.init.headers }, { "Content-Type": "text/plain;charset=UTF-8" });
    assert.deepEqual(req.body, { ...TOKENS, kind: "verify", phoneNumber: PHONE });
    req.reply({ code: "OK", msg: "ok", session: "s1", expiresIn: 600 });
    const r = await check;
    assert.deepEqual(plain(r), { code: 600000, msg: "ok" });
    agree(r);

    const token = pnsCallbacks();
    const p = sdk.getVerifyToken(token.cb);
    assert.deepEqual(page.net.next().body, { session: "s1" });
    page.net.requests.at(-1).reply({ code: "OK", msg: "ok", spToken: "sp-1", carrier: "CT" });
    const t = await p;
    assert.deepEqual(plain(t), { code: 600000, msg: "ok", spToken: "sp-1", content: "sp-1", carrier: "CT" });
    token.agree(t);
  });

  test("checkLoginAvailable sends kind login and no phone number", async () => {
    const page = loadPage();
    const sdk = new page.PhoneServerCustomization();
    sdk.checkLoginAvailable({ ...TOKENS, phoneNumber: PHONE });
    assert.deepEqual(page.net.next().body, { ...TOKENS, kind: "login" });
  });

  test("a failed check ends the session of the one before", async () => {
    const page = loadPage();
    const sdk = new page.PhoneServerCustomization();
    await pscSetup.getLoginMaskPhone(page, sdk);
    const p = sdk.checkLoginAvailable({ ...TOKENS });
    page.net.next().reply({ code: "IDENTITY_FAILED", msg: "expired" });
    assert.equal((await p).code, 600025);
    assert.equal((await sdk.getLoginMaskPhone()).code, 600013);
    page.net.none();
  });

  test("only the latest check's answer sets the session", async () => {
    const page = loadPage();
    const sdk = new page.PhoneServerCustomization();
    const first = sdk.checkLoginAvailable({ ...TOKENS });
    const second = sdk.checkLoginAvailable({ ...TOKENS });
    const [r1, r2] = [page.net.next(), page.net.next()];
    r2.reply({ code: "OK", msg: "ok", session: "new" });
    await second;
    r1.reply({ code: "OK", msg: "ok", session: "old" });
    await first;
    sdk.getLoginMaskPhone();
    assert.deepEqual(page.net.next().body, { session: "new" });
  });

  for (const [gw, method] of [
    ["SESSION_INVALID", "getLoginMaskPhone"],
    ["MASK_LOCKED", "getLoginToken"],
  ]) {
    test(`${gw} ends the session: the next call is 600013 without a request`, async () => {
      const page = loadPage();
      const sdk = new page.PhoneServerCustomization();
      await pscSetup[method](page, sdk);
      const p = pscCalls[method][1](sdk, {});
      page.net.next().reply({ code: gw, msg: "dead" });
      await p;
      assert.equal((await pscCalls[method][1](sdk, {})).code, 600013);
      page.net.none();
    });
  }

  test("PhoneNumberServer: SESSION_INVALID ends the session", async () => {
    const page = loadPage();
    const sdk = new page.PhoneNumberServer();
    await pnsSetup.getVerifyToken(page, sdk);
    const p = sdk.getVerifyToken();
    page.net.next().reply({ code: "SESSION_INVALID", msg: "expired" });
    assert.equal((await p).code, 600025);
    assert.equal((await sdk.getVerifyToken()).code, 600025);
    page.net.none();
  });

  test("MASK_WRONG keeps the session and passes triesLeft on", async () => {
    const page = loadPage();
    const sdk = new page.PhoneServerCustomization();
    await pscSetup.getLoginToken(page, sdk);
    const { cb, agree } = pscCallbacks();
    const p = sdk.getLoginToken({ mask: "0000", ...cb });
    page.net.next().reply({ code: "MASK_WRONG", msg: "wrong mask, 2 tries left", triesLeft: 2 });
    const r = await p;
    assert.deepEqual(plain(r), { code: 600011, msg: "wrong mask, 2 tries left", triesLeft: 2 });
    agree(r);
    const again = sdk.getLoginToken({ mask: "5678" });
    assert.deepEqual(page.net.next().body, { session: OK_FIELDS.check.session, mask: "5678" });
    page.net.requests.at(-1).reply({ code: "OK", msg: "ok", spToken: "sp" });
    assert.deepEqual(plain(await again), { code: 600000, msg: "ok", spToken: "sp" });
  });
});

describe("endpoint", () => {
  test("the origin of the script's own URL, captured while the script ran", async () => {
    const page = loadPage({ scriptSrc: "https://numauth.example:8443/sdk/numberauth-web-sdk.js?v=1" });
    page.g.document.currentScript = null; // as it is once the script has run
    new page.PhoneServerCustomization().checkLoginAvailable({ ...TOKENS });
    assert.equal(page.net.next().url, "https://numauth.example:8443/h5/v1/check");
  });

  test("the page's origin when there is no current script", async () => {
    const page = loadPage({ scriptSrc: null });
    new page.PhoneNumberServer().checkAuthAvailable({ ...TOKENS });
    assert.equal(page.net.next().url, PAGE + "/h5/v1/check");
  });

  test("{endpoint} overrides it", async () => {
    const page = loadPage();
    new page.PhoneNumberServer({ endpoint: "https://other.example/numauth/" }).checkAuthAvailable({ ...TOKENS });
    assert.equal(page.net.next().url, "https://other.example/numauth/h5/v1/check");
    new page.PhoneServerCustomization({ endpoint: "" }).checkAuthAvailable({ ...TOKENS });
    assert.equal(page.net.next().url, GATEWAY + "/h5/v1/check");
  });

  // A bundled SDK is served from the page's origin: the page names numauth instead.
  const META = { "numauth-endpoint": "https://meta.example/" };
  test("<meta name=numauth-endpoint> overrides the script's origin", async () => {
    const page = loadPage({ meta: META });
    new page.PhoneNumberServer().checkAuthAvailable({ ...TOKENS });
    assert.equal(page.net.next().url, "https://meta.example/h5/v1/check");
  });

  test("the global NUMAUTH_ENDPOINT overrides the <meta>, read at construction", async () => {
    const page = loadPage({ meta: META });
    page.g.NUMAUTH_ENDPOINT = "https://global.example";
    new page.PhoneServerCustomization().checkLoginAvailable({ ...TOKENS });
    assert.equal(page.net.next().url, "https://global.example/h5/v1/check");
    new page.PhoneServerCustomization({ endpoint: "https://option.example" }).checkLoginAvailable({ ...TOKENS });
    assert.equal(page.net.next().url, "https://option.example/h5/v1/check");
    page.g.NUMAUTH_ENDPOINT = "";
    new page.PhoneNumberServer().checkAuthAvailable({ ...TOKENS });
    assert.equal(page.net.next().url, "https://meta.example/h5/v1/check");
  });
});

describe("logger", () => {
  const secrets = [TOKENS.accessToken, TOKENS.jwtToken, PHONE, "1234", OK_FIELDS.check.session, OK_FIELDS["login-token"].spToken, OK_FIELDS["verify-token"].spToken];

  async function everything(page, enable) {
    const psc = new page.PhoneServerCustomization();
    const pns = new page.PhoneNumberServer();
    psc.setLoggerEnable(enable);
    pns.setLoggerEnable(enable);
    await answerOK(page, "check", psc.checkLoginAvailable({ ...TOKENS, phoneNumber: PHONE }));
    await answerOK(page, "login-mask", psc.getLoginMaskPhone());
    await answerOK(page, "login-token", psc.getLoginToken({ mask: "1234" }));
    await answerOK(page, "check", psc.checkAuthAvailable({ ...TOKENS, phoneNumber: PHONE }));
    await answerOK(page, "verify-token", psc.getVerifyToken());
    await answerOK(page, "check", pns.checkAuthAvailable({ ...TOKENS, phoneNumber: PHONE }));
    await answerOK(page, "verify-token", pns.getVerifyToken());
    await psc.getLoginToken({ mask: "12" });
  }

  test("off by default", async () => {
    const page = loadPage();
    await everything(page, false);
    assert.deepEqual(page.logs, []);
  });

  test("logs calls and codes with console.debug, never a token, number or mask in full", async () => {
    const page = loadPage();
    await everything(page, true);
    const text = page.logs.join("\n");
    for (const m of ["checkLoginAvailable", "getLoginMaskPhone", "getLoginToken", "getVerifyToken"]) {
      assert.match(text, new RegExp("PhoneServerCustomization\\." + m));
    }
    assert.match(text, /PhoneNumberServer\.checkAuthAvailable -> 600000/);
    assert.match(text, /PhoneServerCustomization\.getLoginToken -> 600028/);
    assert.match(text, /138\*\*\*\*5678/);
    for (const s of secrets) assert.ok(!text.includes(s), `the log shows ${s}:\n${text}`);
    assert.ok(page.logs.every((l) => !/^(log|info|warn|error):/.test(l)), "only console.debug");
  });
});

describe("page API", () => {
  for (const [connection, want] of [
    [undefined, "unknown"],
    [{ type: "wifi" }, "wifi"],
    [{ type: "cellular" }, "cellular"],
    [{ type: "ethernet" }, "unknown"],
    [{ effectiveType: "4g" }, "unknown"],
  ]) {
    test(`getConnection with navigator.connection ${JSON.stringify(connection)} -> ${want}`, () => {
      const page = loadPage({ connection });
      assert.equal(new page.PhoneServerCustomization().getConnection(), want);
    });
  }

  test("getVersion is sdkasset.Version", () => {
    const m = /const Version = "([^"]+)"/.exec(fs.readFileSync(files.sdkasset, "utf8"));
    assert.ok(m, "no Version in sdkasset.go");
    const page = loadPage();
    assert.equal(new page.PhoneNumberServer().getVersion(), m[1]);
    assert.equal(new page.PhoneServerCustomization().getVersion(), m[1]);
  });

  test("constructors need no arguments, and methods no options object", async () => {
    const page = loadPage();
    const pns = new page.PhoneNumberServer();
    const psc = new page.PhoneServerCustomization();
    assert.equal((await pns.getVerifyToken()).code, 600025);
    assert.equal((await psc.getLoginMaskPhone()).code, 600013);
    assert.equal((await psc.getLoginToken()).code, 600028);
  });
});

describe("module formats and declared types", () => {
  const dts = fs.readFileSync(files.dts, "utf8");
  const declared = [...dts.matchAll(/^export declare (?:class|const|function) (\w+)/gm)].map((m) => m[1]).sort();

  /** The methods the .d.ts declares for a class. */
  function declaredMethods(cls) {
    const body = new RegExp("export declare class " + cls + " \\{([^}]*)\\}").exec(dts)[1];
    return [...body.matchAll(/^\s+(\w+)\(/gm)].map((m) => m[1]).filter((n) => n != "constructor").sort();
  }

  test("the .d.ts declares the seed classes and FusionAuth", () => {
    assert.deepEqual(declared, ["FusionAuth", "PhoneNumberServer", "PhoneServerCustomization"]);
  });

  test("the ES module exports what the .d.ts declares, with every declared method", async () => {
    const esm = await import(pathToFileURL(files.esm).href);
    assert.deepEqual(Object.keys(esm).sort(), declared);
    for (const cls of declared) {
      for (const m of declaredMethods(cls)) assert.equal(typeof esm[cls].prototype[m], "function", `${cls}.${m}`);
    }
    // Outside a page (no document, no location) it still loads and answers.
    assert.equal(new esm.PhoneServerCustomization().getConnection(), "unknown");
  });

  test("the UMD file sets the declared globals, with every declared method", () => {
    const page = loadPage();
    for (const cls of declared) {
      assert.equal(typeof page.g[cls], "function");
      for (const m of declaredMethods(cls)) assert.equal(typeof page.g[cls].prototype[m], "function", `${cls}.${m}`);
    }
    assert.equal(page.g.numauthSDK, undefined, "no stray global");
  });

  test("the UMD file works as CommonJS", () => {
    const module = { exports: {} };
    const g = loadBare({ module, exports: module.exports });
    assert.deepEqual(Object.keys(module.exports).sort(), declared);
    assert.equal(g.PhoneNumberServer, undefined);
  });

  test("the UMD file works as AMD", () => {
    const defined = [];
    const define = (deps, factory) => defined.push([deps, factory()]);
    define.amd = {};
    loadBare({ define });
    assert.equal(defined.length, 1);
    assert.deepEqual([...defined[0][0]], []);
    assert.deepEqual(Object.keys(defined[0][1]).sort(), declared);
  });
});
