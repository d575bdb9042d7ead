// An integrator server in Node.js: what a customer's back end looks like when it calls
// numauth with the official Alibaba Cloud SDK (@alicloud/dypnsapi20170525), pointed at
// numauth instead of Alibaba Cloud. It serves one page (public/index.html and the bundle
// public/app.js, built from page/ with the packed web SDK) and three endpoints:
//
//   GET  /api/tokens?biz=verify|login  GetAuthToken for this page
//   POST /api/verify {spToken, phoneNumber}  VerifyPhoneWithToken
//   POST /api/login  {spToken}  GetPhoneWithToken
//
// Environment: NUMAUTH_URL (default http://127.0.0.1:8080), NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID
// and _SECRET (or ALIBABA_CLOUD_ACCESS_KEY_ID and _SECRET), ADDR (default 127.0.0.1:8091;
// port 0 picks a free one), PUBLIC_DIR (default ./public beside this file).

import fs from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Dypnsapi, * as $Dypnsapi from "@alicloud/dypnsapi20170525";
import { $OpenApiUtil } from "@alicloud/openapi-core";

const Client = Dypnsapi.default || Dypnsapi; // a CommonJS module's default export

const env = process.env;
const numauth = new URL(env.NUMAUTH_URL || "http://127.0.0.1:8080");
const [keyId, keySecret] = ["NUMAUTH_BOOTSTRAP_ACCESS_KEY", "ALIBABA_CLOUD_ACCESS_KEY"]
  .map((p) => [env[p + "_ID"], env[p + "_SECRET"]])
  .find(([id, secret]) => id && secret) || [];
if (!keyId) {
  console.error("set NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID and NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET to an AccessKey of numauth");
  process.exit(2);
}
const publicDir = env.PUBLIC_DIR || path.join(path.dirname(fileURLToPath(import.meta.url)), "public");
const [host, port] = (env.ADDR || "127.0.0.1:8091").split(/:(?=\d+$)/);

// The SDK's endpoint is a host[:port]; protocol "HTTP" for a numauth on a laptop.
const api = new Client(
  new $OpenApiUtil.Config({
    accessKeyId: keyId,
    accessKeySecret: keySecret,
    endpoint: numauth.host,
    protocol: numauth.protocol.replace(":", "").toUpperCase(),
    regionId: "cn-hangzhou",
    readTimeout: 10000,
    connectTimeout: 5000,
  }),
);

/** Runs one API call: its body, or {code, message} of a refusal (a business code or a gateway error). */
async function call(fn) {
  try {
    const body = (await fn()).body;
    return body.code == "OK" ? body : { code: body.code, message: body.message };
  } catch (e) {
    return { code: e.code || "NumauthUnreachable", message: e.data?.Message || e.message };
  }
}

let pageURL, origin, sceneCode;

/** Registers an H5 scheme for this page unless GetAuthToken already works for it. */
async function ensureScheme() {
  const r = await call(() => api.getAuthToken(new $Dypnsapi.GetAuthTokenRequest({ url: pageURL, origin })));
  if (r.code == "OK") return;
  if (r.code != "isv.SCENE_QUERY_FAIL") throw new Error("GetAuthToken: " + r.code + ": " + r.message);
  const s = await call(() =>
    api.createVerifyScheme(
      new $Dypnsapi.CreateVerifySchemeRequest({
        schemeName: "numauth Node integrator " + pageURL,
        appName: "numauth Node integrator",
        osType: "H5",
        origin,
        url: pageURL,
      }),
    ),
  );
  if (s.code != "OK") throw new Error("CreateVerifyScheme: " + s.code + ": " + s.message);
  sceneCode = s.gateVerifySchemeDTO.schemeCode;
  console.log("created H5 scheme " + sceneCode + " for " + pageURL);
}

const handlers = {
  "GET /api/tokens": async (req, url) => {
    const biz = url.searchParams.get("biz");
    if (biz != "verify" && biz != "login") return [400, { code: "BadRequest", message: "biz must be verify or login" }];
    const r = await call(() =>
      api.getAuthToken(new $Dypnsapi.GetAuthTokenRequest({ url: pageURL, origin, sceneCode, bizType: biz == "login" ? 1 : 0 })),
    );
    return [200, r.code == "OK" ? { code: "OK", accessToken: r.tokenInfo.accessToken, jwtToken: r.tokenInfo.jwtToken } : r];
  },
  "POST /api/verify": async (req) => {
    const { spToken, phoneNumber } = await readJSON(req);
    if (typeof spToken != "string" || typeof phoneNumber != "string") return [400, { code: "BadRequest", message: "spToken and phoneNumber are required" }];
    const r = await call(() => api.verifyPhoneWithToken(new $Dypnsapi.VerifyPhoneWithTokenRequest({ spToken, phoneNumber })));
    return [200, r.code == "OK" ? { code: "OK", verifyResult: r.gateVerify.verifyResult } : r];
  },
  "POST /api/login": async (req) => {
    const { spToken } = await readJSON(req);
    if (typeof spToken != "string") return [400, { code: "BadRequest", message: "spToken is required" }];
    const r = await call(() => api.getPhoneWithToken(new $Dypnsapi.GetPhoneWithTokenRequest({ spToken })));
    // A real site would now find or create the account of r.data.mobile and start a session.
    return [200, r.code == "OK" ? { code: "OK", mobile: r.data.mobile } : r];
  },
};

async function readJSON(req) {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16 << 10) return {};
  }
  try {
    return JSON.parse(body) || {};
  } catch {
    return {};
  }
}

const escapeHTML = (s) => s.replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");

async function serveFile(res, name, type, rewrite = (s) => s) {
  let text;
  try {
    text = await fs.readFile(path.join(publicDir, name), "utf8");
  } catch {
    res.writeHead(404, { "Content-Type": "text/plain" }).end(name + " is missing: build the page first (README.md)\n");
    return;
  }
  res.writeHead(200, {
    "Content-Type": type,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "origin",
    // The page's script is its own bundle; the SDK in it calls numauth's gateway.
    "Content-Security-Policy":
      "default-src 'none'; script-src 'self'; connect-src 'self' " + numauth.origin + "; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
  });
  res.end(rewrite(text));
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, pageURL);
  try {
    if (req.method == "GET" && url.pathname == "/") {
      // The bundled SDK learns numauth's address from <meta name="numauth-endpoint">.
      return await serveFile(res, "index.html", "text/html; charset=utf-8", (s) => s.replaceAll("{{NUMAUTH}}", escapeHTML(numauth.origin)));
    }
    if (req.method == "GET" && url.pathname == "/app.js") return await serveFile(res, "app.js", "text/javascript; charset=utf-8");
    const h = handlers[req.method + " " + url.pathname];
    const [status, answer] = h ? await h(req, url) : [404, { code: "BadRequest", message: "no such endpoint" }];
    console.log(req.method, url.pathname, status, answer.code);
    res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" }).end(JSON.stringify(answer));
  } catch (e) {
    console.error(e);
    if (!res.headersSent) res.writeHead(500).end();
  }
});

server.listen(Number(port), host, async () => {
  const a = server.address();
  pageURL = "http://" + (a.family == "IPv6" ? "[" + a.address + "]" : a.address) + ":" + a.port + "/";
  origin = new URL(pageURL).origin;
  try {
    await ensureScheme();
  } catch (e) {
    console.error("node-integrator: " + e.message + " (is numauth running at " + numauth.origin + "?)");
    process.exit(1);
  }
  console.log("node-integrator: serving " + pageURL);
});
