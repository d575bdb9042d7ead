// The demo page's script: both H5 flows with the numauth web SDK
// (window.PhoneNumberServer, window.PhoneServerCustomization), fusion
// authentication with numauth's window.FusionAuth (api/fusion/token,
// api/fusion/verify), and this
// page's own server (api/tokens, api/verify, api/login), and verification's
// fallback to a code by SMS (api/sms/send, api/sms/check) when the carrier
// cannot answer.
"use strict";

(function () {
  var $ = function (id) {
    return document.getElementById(id);
  };

  if (typeof window.PhoneNumberServer != "function" || typeof window.PhoneServerCustomization != "function" || typeof window.FusionAuth != "function") {
    $("sdk-missing").hidden = false;
    ["verify-go", "login-go", "fusion-go"].forEach(function (id) {
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
    SENT: "In the sandbox, the text lands in numauth's outbox: numauth sms outbox --phone <the number>.",
    BUSINESS_LIMIT_CONTROL: "numauth serve --sms-per-hour, --sms-per-day, --sms-per-day-global and --sms-account-per-day set the limits.",
    PROVIDER_REJECTED: "In the sandbox, numauth serve --sms-sandbox-reject <prefix> makes the provider refuse numbers.",
    FUNCTION_NOT_OPENED: "numauth serve --sms-country <code> opens a country.",
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
  // outcome (PASS/REJECT/UNKNOWN, OK, SENT, or the failing code) and data-run counts runs.
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
    for (var k in r.dataset) delete r.dataset[k];
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
    this.show(ok ? "pass" : "fail", code, text, data);
  };

  // A result that is neither a pass nor a failure: a step the user takes next.
  View.prototype.note = function (code, text, data) {
    this.show("info", code, text, data);
  };

  // kind: pass, fail or info; a hint for the code goes with the last two.
  View.prototype.show = function (kind, code, text, data) {
    var r = this.result;
    r.className = "result " + kind;
    r.textContent = text;
    var hint = HINTS[code];
    if (kind != "pass" && hint) {
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

  // ask shows a form, and empties and focuses its input.
  function ask(form, input) {
    $(input).value = "";
    $(form).hidden = false;
    $(input).focus();
  }

  function busy(ids, on) {
    ids.forEach(function (id) {
      $(id).disabled = on;
    });
  }

  // ---- Local-number verification ------------------------------------------------

  var V = new View("verify");
  var lastVerify = null; // {spToken, phoneNumber} of the last token, for the replay button
  // The verification card's buttons: one request at a time.
  var VERIFY_BUTTONS = ["verify-go", "verify-replay", "sms-send", "sms-check", "sms-resend"];

  async function verify(phone) {
    V.begin(true);
    $("verify-replay").hidden = true;
    closeSms();
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
      V.fail(r.code, r.msg);
      if (NO_CARRIER[r.code]) offerSms(phone);
      return;
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
    var data = { via: "carrier" };
    if (tokenMs !== undefined) data.tokenMs = tokenMs;
    var took = tokenMs === undefined ? "" : " (spToken " + tokenMs + " ms after checkAuthAvailable)";
    var texts = {
      PASS: "PASS — " + req.phoneNumber + " is the number of this phone's data connection." + took,
      REJECT: "REJECT — " + req.phoneNumber + " is not the number of this connection." + took,
    };
    V.finish(v.verifyResult === "PASS", v.verifyResult, texts[v.verifyResult] || v.verifyResult + " — the carrier could not tell.", data);
  }

  // runVerify runs one step of the verification card with its buttons disabled.
  function runVerify(f) {
    busy(VERIFY_BUTTONS, true);
    f().finally(function () {
      busy(VERIFY_BUTTONS, false);
    });
  }

  $("verify-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    runVerify(function () {
      return verify($("verify-phone").value.trim());
    });
  });

  // An spToken is single-use: sending it again shows numauth's answer to a replay.
  $("verify-replay").addEventListener("click", function () {
    if (!lastVerify) return;
    V.begin(false);
    runVerify(function () {
      return serverVerify(lastVerify);
    });
  });

  // ---- The SMS fallback -------------------------------------------------------------

  // After these getVerifyToken codes the carrier cannot vouch for the number here
  // (no cellular line, as on Wi-Fi; the carrier failed, is under maintenance, out of
  // calls, or too slow): the page offers a code by SMS to the typed number. Its steps
  // and result join the verification's.
  var NO_CARRIER = { 600008: true, 600011: true, 600013: true, 600014: true, 600015: true };

  // What the user is told for the SMS actions' answers (else numauth's message).
  var SMS_TEXTS = {
    FREQUENCY_FAIL: "A code went to this number less than a minute ago. Use that one, or wait a minute and ask again.",
    BUSINESS_LIMIT_CONTROL: "This number has been sent too many codes for now. Try again later.",
    PROVIDER_REJECTED: "The SMS provider refused to send to this number: nothing was sent.",
    PROVIDER_UNAVAILABLE: "The SMS provider could not be reached: nothing was sent. Try again in a moment.",
    MOBILE_NUMBER_ILLEGAL: "This is not a mobile number: check it and press Verify again.",
    FUNCTION_NOT_OPENED: "Codes are not sent to this number's country.",
    UNKNOWN: "wrong code, or it has expired or had too many wrong tries. Type the code from the SMS again, or send a new code.",
  };

  var smsPhone = ""; // the number the verification was for, which the code goes to

  function offerSms(phone) {
    smsPhone = phone;
    $("sms-phone").textContent = phone;
    $("sms-send-form").hidden = false;
    $("sms-check-form").hidden = true;
    $("sms").hidden = false;
  }

  function closeSms() {
    smsPhone = "";
    $("sms").hidden = true;
  }

  async function smsSend() {
    V.begin(false);
    var t = performance.now();
    var s = await api("api/sms/send", { phoneNumber: smsPhone });
    if (!V.step("SendSmsVerifyCode", "server", s.code, s.code == "OK" ? "a code by SMS to " + smsPhone : s.message, since(t))) {
      // The form the user came from stays: a new try, or the code already sent.
      return V.fail(s.code, SMS_TEXTS[s.code] || s.message);
    }
    V.note("SENT", "A code is on its way to " + smsPhone + " by SMS. Type it below.", { bizId: s.bizId });
    $("sms-send-form").hidden = true;
    $("sms-phone-sent").textContent = smsPhone;
    ask("sms-check-form", "sms-code");
  }

  async function smsCheck(code) {
    V.begin(false);
    var t = performance.now();
    var c = await api("api/sms/check", { phoneNumber: smsPhone, verifyCode: code });
    if (!V.step("CheckSmsVerifyCode", "server", c.code, c.code == "OK" ? c.verifyResult : c.message, since(t))) {
      return V.fail(c.code, SMS_TEXTS[c.code] || c.message);
    }
    if (c.verifyResult === "PASS") {
      V.finish(true, "PASS", "PASS — " + smsPhone + " is confirmed by the code sent to it by SMS.", { via: "sms" });
      return closeSms(); // the code is spent
    }
    ask("sms-check-form", "sms-code");
    V.finish(false, c.verifyResult, c.verifyResult + " — " + SMS_TEXTS.UNKNOWN);
  }

  $("sms-send-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    runVerify(smsSend);
  });

  $("sms-resend").addEventListener("click", function () {
    runVerify(smsSend);
  });

  $("sms-check-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    runVerify(function () {
      return smsCheck($("sms-code").value.trim());
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
    ask("login-mask-form", "login-mask");
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
  // Fusion authentication: FusionAuth runs the strategy; each callback shows
  // one of this page's forms and resolves with what the user typed.
  var F = new View("fusion");
  var fusionForms = ["fusion-mask-form", "fusion-phone-form", "fusion-code-form"];

  function answer(form, input) {
    fusionForms.forEach(function (id) {
      $(id).hidden = id != form;
    });
    ask(form, input);
    return new Promise(function (resolve) {
      var f = $(form);
      f.onsubmit = function (ev) {
        ev.preventDefault();
        f.onsubmit = null;
        f.hidden = true;
        resolve($(input).value.trim());
      };
    });
  }

  async function fusion() {
    F.begin(true);
    var t = performance.now();
    var tok = await api("api/fusion/token");
    if (!F.step("GetFusionAuthToken", "server", tok.code, tok.code == "OK" ? "a fusion token" : tok.message, since(t))) {
      return F.fail(tok.code, tok.message);
    }
    t = performance.now();
    var r = await new window.FusionAuth().start({
      fusionToken: tok.fusionToken,
      timeout: 5,
      onMaskPhone: function (m) {
        F.step("onMaskPhone", "sdk", 600000, m.maskedPhone + (m.triesLeft ? " (" + m.triesLeft + " tries left)" : ""), since(t));
        $("fusion-masked").textContent = m.maskedPhone;
        return answer("fusion-mask-form", "fusion-mask");
      },
      onPhoneNumber: function () {
        F.step("onPhoneNumber", "sdk", 600000, "the carrier cannot answer: SMS", since(t));
        return answer("fusion-phone-form", "fusion-phone");
      },
      onSmsCode: function (s) {
        F.step("onSmsCode", "sdk", 600000, "code sent to " + s.phoneNumber, since(t));
        $("fusion-code-wrong").hidden = !s.wrong;
        return answer("fusion-code-form", "fusion-code");
      },
    });
    fusionForms.forEach(function (id) {
      $(id).hidden = true;
    });
    if (!F.step("start", "sdk", r.code, r.code === 600000 ? "VerifyToken by " + r.method : r.msg, since(t))) return F.fail(r.code, r.msg);
    var method = r.method;
    t = performance.now();
    var v = await api("api/fusion/verify", { spToken: r.verifyToken });
    if (!F.step("VerifyWithFusionAuthToken", "server", v.code, v.code == "OK" ? v.verifyResult : v.message, since(t))) {
      return F.fail(v.code, v.message);
    }
    F.finish(v.verifyResult == "PASS", v.verifyResult, v.verifyResult == "PASS" ? "Signed in as " + v.mobile + " (by " + method + ", score " + v.phoneScore + ")." : "The carrier could not tell.",
      { mobile: v.mobile || "", via: method, score: v.phoneScore });
  }

  $("fusion-go").addEventListener("click", function () {
    busy(["fusion-go"], true);
    fusion().finally(function () {
      busy(["fusion-go"], false);
    });
  });
})();
