// A fake page for the built SDK: window, document, location, navigator, fetch and timers,
// all driven by the test. The SDK runs in a vm context of its own, as a <script> would.

import assert from "node:assert/strict";
import fs from "node:fs";
import vm from "node:vm";

const here = new URL(".", import.meta.url);

/** The files under test: the Go test passes freshly built ones; by default, the committed ones. */
export const files = {
  umd: process.env.NUMAUTH_SDK_UMD || new URL("../../../internal/h5/sdkasset/numberauth-web-sdk.js", here).pathname,
  esm: process.env.NUMAUTH_SDK_ESM || new URL("../dist/numberauth-web-sdk.mjs", here).pathname,
  dts: new URL("../dist/numberauth-web-sdk.d.ts", here).pathname,
  sdkasset: new URL("../../../internal/h5/sdkasset/sdkasset.go", here).pathname,
};

const umdSource = fs.readFileSync(files.umd, "utf8");

export const GATEWAY = "https://auth.example.com";
export const PAGE = "https://shop.example.com";

/** Lets every pending promise callback run. */
export function flush() {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Timers that move only when the test says so. */
export class Clock {
  constructor() {
    this.now = 0;
    this.seq = 0;
    this.timers = new Map();
    this.thrown = []; // errors thrown by timer callbacks (the SDK rethrows a page callback's error this way)
    this.setTimeout = (fn, ms) => {
      const id = ++this.seq;
      this.timers.set(id, { fn, ms: ms === undefined ? 0 : ms, at: this.now + (ms || 0) });
      return id;
    };
    this.clearTimeout = (id) => {
      this.timers.delete(id);
    };
  }

  /** The delays (ms) of the timers now pending. */
  pending() {
    return [...this.timers.values()].map((t) => t.ms);
  }

  /** Advances time by ms, firing each timer that comes due, in order. */
  async tick(ms) {
    const end = this.now + ms;
    for (;;) {
      await flush();
      let next;
      for (const [id, t] of this.timers) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
      if (!next) break;
      this.timers.delete(next[0]);
      this.now = next[1].at;
      try {
        next[1].fn();
      } catch (e) {
        this.thrown.push(e);
      }
    }
    this.now = end;
    await flush();
  }
}

/** A fetch whose every request waits for the test to answer it. */
export class Network {
  constructor({ honourAbort = true } = {}) {
    this.requests = [];
    this.taken = 0;
    this.fetch = (url, init) => {
      const req = { url, init, body: JSON.parse(init.body), signal: init.signal, settled: false };
      const answer = new Promise((resolve, reject) => {
        req.resolve = resolve;
        req.reject = reject;
      });
      if (honourAbort && init.signal) {
        init.signal.addEventListener("abort", () => req.reject(new DOMException("The operation was aborted.", "AbortError")));
      }
      req.replyText = (text, status = 200) => req.resolve({ status, ok: status < 300, text: async () => text });
      req.reply = (json, status = 200) => req.replyText(JSON.stringify(json), status);
      req.fail = () => req.reject(new TypeError("Failed to fetch"));
      this.requests.push(req);
      return answer;
    };
  }

  /** The next request the SDK made, not yet taken by the test. */
  next() {
    assert.ok(this.taken < this.requests.length, "the SDK made no gateway request");
    return this.requests[this.taken++];
  }

  /** Asserts that the SDK made no request the test has not taken. */
  none() {
    assert.equal(this.requests.length, this.taken, "the SDK made an unexpected gateway request");
  }
}

function show(x) {
  return typeof x == "string" ? x : JSON.stringify(x);
}

/**
 * Evaluates the UMD file in a fresh fake page and returns its globals and fakes.
 * options: scriptSrc (null: no document.currentScript), connection (navigator.connection),
 * honourAbort (the fake fetch rejects when aborted), globals (extra or overridden globals),
 * meta (the page's <meta> elements: {name: content}).
 */
export function loadPage(options = {}) {
  const { scriptSrc = GATEWAY + "/sdk/numberauth-web-sdk.js", connection, honourAbort = true, globals = {}, meta = {} } = options;
  const clock = new Clock();
  const net = new Network({ honourAbort });
  const logs = [];
  const g = {
    document: {
      currentScript: scriptSrc === null ? null : { src: scriptSrc },
      querySelector: (sel) => {
        const m = /^meta\[name="([^"]*)"\]$/.exec(sel);
        return m && Object.hasOwn(meta, m[1]) ? { content: meta[m[1]] } : null;
      },
    },
    location: { origin: PAGE, href: PAGE + "/login.html" },
    navigator: connection === undefined ? {} : { connection },
    fetch: net.fetch,
    AbortController,
    URL,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    console: {
      debug: (...a) => logs.push(a.map(show).join(" ")),
      log: (...a) => logs.push("log: " + a.map(show).join(" ")),
      info: (...a) => logs.push("info: " + a.map(show).join(" ")),
      warn: (...a) => logs.push("warn: " + a.map(show).join(" ")),
      error: (...a) => logs.push("error: " + a.map(show).join(" ")),
    },
    ...globals,
  };
  g.window = g;
  g.self = g;
  vm.createContext(g);
  vm.runInContext(umdSource, g, { filename: "numberauth-web-sdk.js" });
  return {
    g,
    clock,
    net,
    logs,
    PhoneNumberServer: g.PhoneNumberServer,
    PhoneServerCustomization: g.PhoneServerCustomization,
    FusionAuth: g.FusionAuth,
  };
}

/** Evaluates the UMD file in a context of the given globals only (a CommonJS or AMD host). */
export function loadBare(globals) {
  const g = { ...globals };
  vm.createContext(g);
  vm.runInContext(umdSource, g, { filename: "numberauth-web-sdk.js" });
  return g;
}

/** A callback that records the results it gets (copied into this realm). */
export function spy() {
  const f = (r) => {
    f.calls.push({ ...r });
  };
  f.calls = [];
  return f;
}

/** A result from the SDK's realm as a plain object of this one, for deepEqual. */
export function plain(r) {
  return { ...r };
}
