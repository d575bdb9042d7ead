// The demo page's script: both H5 flows with the numauth web SDK
// (window.PhoneNumberServer, window.PhoneServerCustomization) and this
// page's own server (api/tokens, api/verify, api/login).
"use strict";

(function () {
  var $ = function (id) {
    return document.getElementById(id);
  };

  if (typeof window.PhoneNumberServer != "function" || typeof window.PhoneServerCustomization != "function") {
    $("sdk-missing").hidden = false;
    ["verify-go", "login-go"].forEach(function (id) {
      $(id).disabled = true;
    });
    return;
  }

  // Verification uses the class of seed 000, login the class of seed 002; each
  // has its own table of result codes.
  var pns = new window.PhoneNumberServer();
  var psc = new window.PhoneServerCustomization();
  $("connection").textContent = psc.getConnection();

  // What a newcomer most likely needs to do about a code.
  var HINTS = {
    600008: "No cellular line here. In the sandbox, start numauth with --sandbox-subscriber <this browser's address>=<number>.",
    600025: "The tokens are not for this page: its origin must be the one GetAuthToken was called with.",
    600015: "The SDK call took longer than its timeout.",
    "isv.SCENE_QUERY_FAIL": "No H5 scheme of this AccessKey allows this page's origin and URL.",
    "isv.TOKEN_INVALID": "An spToken works once, and only until it expires.",
    NumauthUnreachable: "This page's server could not reach numauth.",
  };

  // POSTs body as JSON (GET without one); always resolves to an answer with a code.
  function api(path, body) {
    var init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    return fetch(path, init).then(
      function (res) {
        return res.json().catch(function () {
          return { code: "DemoServerError", message: "HTTP " + res.status + " without a JSON answer" };
        });
      },
      function (e) {
        return { code: "DemoServerUnreachable", message: String(e) };
      },
    );
  }

  function since(t) {
    return Math.round(performance.now() - t);
  }

  // View shows one flow: its steps, and its result in a box whose data-code is the
  // outcome (PASS/REJECT/UNKNOWN, OK, or the failing code) and data-run counts runs.
  function View(name) {
    this.steps = $(name + "-steps");
    this.result = $(name + "-result");
    this.runs = 0;
  }

  View.prototype.begin = function (clear) {
    if (clear) this.steps.textContent = "";
    var r = this.result;
    r.hidden = true;
    r.className = "result";
    r.textContent = "";
    delete r.dataset.code;
    delete r.dataset.triesLeft;
    delete r.dataset.tokenMs;
    r.dataset.run = String(++this.runs);
  };

  // where: "sdk" (page → numauth) or "server" (this page's server → numauth).
  View.prototype.step = function (name, where, code, text, ms) {
    var ok = code === 600000 || code === "OK";
    var li = document.createElement("li");
    li.className = ok ? "ok" : "fail";
    li.dataset.step = name;
    li.dataset.code = String(code);
    var parts = [
      ["where " + where, where == "sdk" ? "page → numauth" : "server → numauth"],
      ["name", name],
      ["code", String(code)],
      ["text", text || ""],
      ["ms", ms + " ms"],
    ];
    parts.forEach(function (p) {
      var s = document.createElement("span");
      s.className = p[0];
      s.textContent = p[1];
      li.appendChild(s);
    });
    this.steps.appendChild(li);
    return ok;
  };

  View.prototype.finish = function (ok, code, text, data) {
    var r = this.result;
    r.className = "result " + (ok ? "pass" : "fail");
    r.textContent = text;
    var hint = HINTS[code];
    if (!ok && hint) {
      var h = document.createElement("span");
      h.className = "hint";
      h.textContent = hint;
      r.appendChild(h);
    }
    for (var k in data || {}) r.dataset[k] = String(data[k]);
    r.dataset.code = String(code);
    r.hidden = false;
  };

  // A failed step's result line: "600025 identity check failed: …".
  View.prototype.fail = function (code, msg, data) {
    this.finish(false, code, code + " — " + (msg || "failed"), data);
  };

  function busy(ids, on) {
    ids.forEach(function (id) {
      $(id).disabled = on;
    });
  }

  // ---- Local-number verification ------------------------------------------------

  var V = new View("verify");
  var lastVerify = null; // {spToken, phoneNumber} of the last token, for the replay button

  async function verify(phone) {
    V.begin(true);
    $("verify-replay").hidden = true;
    var t = performance.now();
    var tok = await api("api/tokens?biz=verify");
    if (!V.step("GetAuthToken", "server", tok.code, tok.code == "OK" ? "tokens for this page" : tok.message, since(t))) {
      return V.fail(tok.code, tok.message);
    }
    // The time from here to the spToken is what the user waits for the carrier leg.
    var t0 = performance.now();
    var r = await pns.checkAuthAvailable({ phoneNumber: phone, accessToken: tok.accessToken, jwtToken: tok.jwtToken });
    if (!V.step("checkAuthAvailable", "sdk", r.code, r.msg, since(t0))) return V.fail(r.code, r.msg);
    t = performance.now();
    r = await pns.getVerifyToken();
    if (!V.step("getVerifyToken", "sdk", r.code, r.code === 600000 ? "spToken from carrier " + (r.carrier || "?") : r.msg, since(t))) {
      return V.fail(r.code, r.msg);
    }
    var tokenMs = since(t0);
    lastVerify = { spToken: r.spToken, phoneNumber: phone };
    await serverVerify(lastVerify, tokenMs);
    $("verify-replay").hidden = false;
  }

  async function serverVerify(req, tokenMs) {
    var t = performance.now();
    var v = await api("api/verify", req);
    if (!V.step("VerifyPhoneWithToken", "server", v.code, v.code == "OK" ? v.verifyResult : v.message, since(t))) {
      return V.fail(v.code, v.message);
    }
    var data = tokenMs === undefined ? {} : { tokenMs: tokenMs };
    var took = tokenMs === undefined ? "" : " (spToken " + tokenMs + " ms after checkAuthAvailable)";
    var texts = {
      PASS: "PASS — " + req.phoneNumber + " is the number of this phone's data connection." + took,
      REJECT: "REJECT — " + req.phoneNumber + " is not the number of this connection." + took,
    };
    V.finish(v.verifyResult === "PASS", v.verifyResult, texts[v.verifyResult] || v.verifyResult + " — the carrier could not tell.", data);
  }

  $("verify-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    busy(["verify-go", "verify-replay"], true);
    verify($("verify-phone").value.trim()).finally(function () {
      busy(["verify-go", "verify-replay"], false);
    });
  });

  // An spToken is single-use: sending it again shows numauth's answer to a replay.
  $("verify-replay").addEventListener("click", function () {
    if (!lastVerify) return;
    V.begin(false);
    busy(["verify-go", "verify-replay"], true);
    serverVerify(lastVerify).finally(function () {
      busy(["verify-go", "verify-replay"], false);
    });
  });

  // ---- One-click login --------------------------------------------------------------

  var L = new View("login");

  function timeout() {
    var n = Number($("login-timeout").value);
    return n > 0 ? n : 5;
  }

  async function login() {
    L.begin(true);
    $("login-mask-form").hidden = true;
    var t = performance.now();
    var tok = await api("api/tokens?biz=login");
    if (!L.step("GetAuthToken", "server", tok.code, tok.code == "OK" ? "tokens for this page" : tok.message, since(t))) {
      return L.fail(tok.code, tok.message);
    }
    t = performance.now();
    var r = await psc.checkLoginAvailable({ accessToken: tok.accessToken, jwtToken: tok.jwtToken, timeout: timeout() });
    if (!L.step("checkLoginAvailable", "sdk", r.code, r.msg, since(t))) return L.fail(r.code, r.msg);
    t = performance.now();
    r = await psc.getLoginMaskPhone({ timeout: timeout() });
    if (!L.step("getLoginMaskPhone", "sdk", r.code, r.code === 600000 ? r.maskedPhone + " (" + r.carrier + ")" : r.msg, since(t))) {
      return L.fail(r.code, r.msg);
    }
    $("login-masked").textContent = r.maskedPhone;
    $("login-mask").value = "";
    $("login-mask-form").hidden = false;
    $("login-mask").focus();
  }

  async function confirmMask(mask) {
    L.begin(false);
    var t = performance.now();
    var r = await psc.getLoginToken({ mask: mask, timeout: timeout() });
    if (!L.step("getLoginToken", "sdk", r.code, r.code === 600000 ? "spToken from carrier " + r.carrier : r.msg, since(t))) {
      if (typeof r.triesLeft == "number") {
        $("login-mask").value = "";
        return L.fail(r.code, r.msg + " (" + r.triesLeft + (r.triesLeft == 1 ? " try" : " tries") + " left)", { triesLeft: r.triesLeft });
      }
      $("login-mask-form").hidden = true;
      return L.fail(r.code, r.msg);
    }
    $("login-mask-form").hidden = true;
    t = performance.now();
    var s = await api("api/login", { spToken: r.spToken });
    if (!L.step("GetPhoneWithToken", "server", s.code, s.code == "OK" ? "the full number" : s.message, since(t))) {
      return L.fail(s.code, s.message);
    }
    L.finish(true, "OK", "Logged in as " + s.mobile + ".", { mobile: s.mobile });
  }

  $("login-go").addEventListener("click", function () {
    busy(["login-go", "login-confirm"], true);
    login().finally(function () {
      busy(["login-go", "login-confirm"], false);
    });
  });

  $("login-mask-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    busy(["login-go", "login-confirm"], true);
    confirmMask($("login-mask").value.trim()).finally(function () {
      busy(["login-go", "login-confirm"], false);
    });
  });
})();
