// A test CAMARA operator: an OpenID provider built on the oidc-provider package that
// authenticates a phone by its network line (the connection's source address), and the
// CAMARA Number Verification API v2 on the same listener, plus a test admin API under /test/.
//
//   node server.mjs --config FILE [--exit-with-stdin]
//
// Prints `listening http://127.0.0.1:PORT` on stdout once ready. See README.md.

import { createServer } from 'node:http';
import {
  createHash, createHmac, generateKeyPair, randomBytes, timingSafeEqual,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs, promisify } from 'node:util';

// An RSA key takes a few hundred milliseconds to generate: the first one is made on the
// thread pool while oidc-provider loads, and each rotation's key is ready before it is asked for.
const generateRSA = promisify(generateKeyPair);
let nextKey = newSigningKey();
const { default: Provider, errors, interactionPolicy } = await import('oidc-provider');

const SCOPE_VERIFY = 'number-verification:verify';
const SCOPE_SHARE = 'number-verification:device-phone-number:read';
const NV_BASE = '/number-verification/v2';
const E164 = /^\+[1-9][0-9]{4,14}$/;
const SHA256_HEX = /^[a-fA-F0-9]{64}$/;
const CORRELATOR = /^[a-zA-Z0-9-_:;./<>{}]{0,256}$/;
const OAUTH_ERROR = /^[a-z_]{1,64}$/;
const ENDPOINTS = new Set(['discovery', 'jwks', 'authorize', 'token', 'verify', 'device-phone-number']);
// oidc-provider's default routes; the discovery document is the source of truth for clients.
const ROUTES = { authorization: '/auth', token: '/token', jwks: '/jwks' };
// The provider session a network authentication creates lives for one authorization request.
const SESSION_TTL = 10;
const BODY_LIMIT = 16 * 1024;

// ---------------------------------------------------------------------------
// Configuration

const { values: args } = parseArgs({
  options: {
    config: { type: 'string' },
    'exit-with-stdin': { type: 'boolean', default: false },
  },
});
if (!args.config) {
  console.error('usage: node server.mjs --config FILE [--exit-with-stdin]');
  process.exit(2);
}
const config = loadConfig(args.config);

function loadConfig(file) {
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  const fail = (msg) => { throw new Error(`config ${file}: ${msg}`); };
  if (typeof raw.adminToken !== 'string' || raw.adminToken.length < 16) {
    fail('adminToken must be a string of at least 16 characters');
  }
  if (!Array.isArray(raw.clients) || raw.clients.length === 0) fail('clients must be a non-empty array');
  const clients = raw.clients.map((c, i) => {
    if (typeof c.client_id !== 'string' || !c.client_id) fail(`clients[${i}].client_id is required`);
    if (!Array.isArray(c.redirect_uris) || c.redirect_uris.length === 0) fail(`clients[${i}].redirect_uris is required`);
    const method = c.token_endpoint_auth_method ?? (c.client_secret ? 'client_secret_basic' : 'private_key_jwt');
    const client = {
      client_id: c.client_id,
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: method,
      id_token_signed_response_alg: 'RS256',
    };
    if (method === 'client_secret_basic') {
      if (typeof c.client_secret !== 'string' || !c.client_secret) fail(`clients[${i}] needs client_secret`);
      client.client_secret = c.client_secret;
    } else if (method === 'private_key_jwt') {
      if (!c.jwks || !Array.isArray(c.jwks.keys)) fail(`clients[${i}] needs a public jwks`);
      client.jwks = c.jwks;
    } else {
      fail(`clients[${i}].token_endpoint_auth_method must be client_secret_basic or private_key_jwt`);
    }
    return client;
  });
  const lines = new Map();
  for (const [address, phone] of Object.entries(raw.lines ?? {})) {
    if (!E164.test(phone)) fail(`lines[${address}] is not an E.164 number`);
    lines.set(address, phone);
  }
  const ttl = raw.accessTokenTTL ?? 300;
  if (!Number.isInteger(ttl) || ttl < 1) fail('accessTokenTTL must be a positive integer (seconds)');
  const denyError = raw.denyError ?? 'access_denied';
  if (!OAUTH_ERROR.test(denyError)) fail('denyError must be an OAuth error code');
  return {
    adminToken: raw.adminToken,
    clients,
    lines,
    singleUse: raw.singleUseAccessTokens === true,
    accessTokenTTL: ttl,
    denyError,
  };
}

// ---------------------------------------------------------------------------
// Run-time state, shared by every provider generation (see rotateKeys)

const state = {
  lines: config.lines, // source address -> E.164
  denyError: config.denyError,
  networkAuthenticated: true,
  faults: new Map(), // endpoint -> { status, delayMs, code, remaining (0: until cleared) }
  calls: [], // the NV call log; numbers are masked
  usedTokens: new Set(), // jti of single-use access tokens already spent
};

// Pseudonymous subjects: an HMAC of the number under a key that lives as long as the process.
const subjectKey = randomBytes(32);
const accounts = new Map(); // sub -> E.164

function subjectFor(phone) {
  const sub = createHmac('sha256', subjectKey).update(phone).digest('base64url').slice(0, 27);
  accounts.set(sub, phone);
  return sub;
}

function mask(phone) {
  return phone.slice(0, 3) + '*'.repeat(Math.max(phone.length - 5, 0)) + phone.slice(-2);
}

function peerAddress(req) {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

// ---------------------------------------------------------------------------
// Storage: oidc-provider's adapter interface over one in-memory map, so that every provider
// generation (a key rotation builds a new one) sees the same codes, grants and tokens.

const store = new Map(); // key -> { payload, expiresAt }

function storeGet(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.payload;
}

function storeSet(key, payload, expiresIn) {
  store.set(key, {
    payload,
    expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined,
  });
}

setInterval(() => {
  for (const key of store.keys()) storeGet(key);
}, 30_000).unref();

class MemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    storeSet(key, structuredClone(payload), expiresIn);
    if (payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      const members = storeGet(grantKey) ?? [];
      members.push(key);
      storeSet(grantKey, members, expiresIn);
    }
    if (payload.uid) storeSet(`uid:${this.model}:${payload.uid}`, id, expiresIn);
    if (payload.userCode) storeSet(`userCode:${payload.userCode}`, id, expiresIn);
  }

  async find(id) {
    const payload = storeGet(this.key(id));
    return payload === undefined ? undefined : structuredClone(payload);
  }

  async findByUid(uid) {
    const id = storeGet(`uid:${this.model}:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = storeGet(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = storeGet(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const grantKey = `grant:${grantId}`;
    for (const key of storeGet(grantKey) ?? []) store.delete(key);
    store.delete(grantKey);
  }
}

// ---------------------------------------------------------------------------
// The OpenID provider

let issuer;
let current; // { provider, handle, kid }

async function newSigningKey() {
  const { privateKey } = await generateRSA('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: randomBytes(12).toString('base64url'), alg: 'RS256', use: 'sig' };
}

async function takeSigningKey() {
  const key = await nextKey;
  nextKey = newSigningKey();
  return key;
}

function nvResource() {
  return `${issuer}${NV_BASE}`;
}

// Authentication policy: the `login` prompt's "is there a session?" check becomes "is this
// connection on a known line?", answered by the session networkAuthentication() established.
// An unknown line ends the request with the deny error; a login_hint naming another number
// ends it with access_denied. Neither ever asks for interaction. prompt=login is satisfied:
// the network authenticated the line for this very request. prompt=consent cannot be: there is
// nobody to ask, so it ends with consent_required.
function authenticationPolicy() {
  const { base, Check } = interactionPolicy;
  const policy = base();
  const login = policy.get('login');
  login.checks.remove('no_session');
  login.checks.remove('login_prompt');
  login.checks.add(new Check('network_line', 'the connection is not on a known mobile line', (ctx) => {
    if (!ctx.oidc.session.accountId) {
      throw new errors.CustomOIDCProviderError(state.denyError, 'the connection is not on a known mobile line');
    }
    return Check.NO_NEED_TO_PROMPT;
  }), 0);
  login.checks.add(new Check('login_hint_line', 'login_hint names another number than the line\'s', (ctx) => {
    const { accountId } = ctx.oidc.session;
    const hint = ctx.oidc.params.login_hint;
    if (accountId && typeof hint === 'string' && hint.startsWith('tel:') && hint.slice(4) !== accounts.get(accountId)) {
      throw new errors.CustomOIDCProviderError('access_denied', 'login_hint names another number than the line\'s');
    }
    return Check.NO_NEED_TO_PROMPT;
  }), 1);
  const consent = policy.get('consent');
  consent.checks.remove('consent_prompt');
  consent.checks.add(new Check('consent_prompt', 'this operator cannot ask the user for consent', (ctx) => {
    if (ctx.oidc.prompts.has('consent')) {
      throw new errors.CustomOIDCProviderError('consent_required', 'this operator cannot ask the user for consent');
    }
    return Check.NO_NEED_TO_PROMPT;
  }), 0);
  return policy;
}

// Consent is pre-arranged between the operator and the API consumer: a network-authenticated
// request gets a grant of exactly the scopes it asked for, so the consent prompt never fires.
async function loadExistingGrant(ctx) {
  const { oidc } = ctx;
  if (!oidc.session.accountId) return undefined;
  const grant = new oidc.provider.Grant({
    accountId: oidc.session.accountId,
    clientId: oidc.client.clientId,
  });
  grant.addOIDCScope(oidc.requestParamOIDCScopes);
  for (const [indicator, resourceServer] of Object.entries(oidc.resourceServers)) {
    const scopes = [...oidc.requestParamScopes].filter((s) => resourceServer.scopes.has(s));
    if (scopes.length) grant.addResourceScope(indicator, scopes.join(' '));
  }
  await grant.save();
  return grant;
}

async function findAccount(ctx, sub) {
  if (!accounts.has(sub)) return undefined;
  return { accountId: sub, claims: async () => ({ sub }) };
}

async function renderError(ctx, out) {
  ctx.type = 'json';
  ctx.body = out;
}

// Network-based authentication, as a pre-middleware of the authorization endpoint: the line
// is looked up from the TCP peer, and a known line gets a provider session logged in with
// amr ["nba"], handed to oidc-provider as the session cookie of this one request. Whatever
// session cookie the browser sent is dropped (only the connection authenticates), and the
// session cookie oidc-provider answers with is removed, so the browser keeps no state and the
// flow works where cookies do not (a third-party iframe). A request without `prompt` gets
// prompt=none, as the CAMARA profile implies it.
function networkAuthentication(provider) {
  const sessionCookie = provider.cookieName('session');
  const isSessionCookie = (pair) => {
    const name = pair.split('=', 1)[0].trim();
    return name === sessionCookie || name.startsWith(`${sessionCookie}.`);
  };
  return async (ctx, next) => {
    if (ctx.path !== ROUTES.authorization) {
      await next();
      return;
    }
    const cookies = (ctx.get('cookie') || '').split(';').map((s) => s.trim())
      .filter((pair) => pair && !isSessionCookie(pair));
    const phone = state.lines.get(peerAddress(ctx.req));
    if (phone) {
      const session = new provider.Session();
      session.loginAccount({ accountId: subjectFor(phone), amr: ['nba'], transient: true });
      await session.save(SESSION_TTL);
      cookies.push(`${sessionCookie}=${session.id}`);
    }
    if (cookies.length) {
      ctx.req.headers.cookie = cookies.join('; ');
    } else {
      delete ctx.req.headers.cookie;
    }
    if (ctx.method === 'GET' && ctx.query.prompt === undefined) {
      ctx.query = { ...ctx.query, prompt: 'none' };
    }
    try {
      await next();
    } finally {
      const setCookie = ctx.response.get('set-cookie');
      if (Array.isArray(setCookie)) {
        const kept = setCookie.filter((c) => !isSessionCookie(c));
        if (kept.length) ctx.set('set-cookie', kept); else ctx.remove('set-cookie');
      } else if (typeof setCookie === 'string' && isSessionCookie(setCookie)) {
        ctx.remove('set-cookie');
      }
    }
  };
}

function buildProvider(signingKey) {
  const provider = new Provider(issuer, {
    adapter: MemoryAdapter,
    clients: config.clients.map((c) => structuredClone(c)),
    jwks: { keys: [signingKey] },
    routes: ROUTES,
    scopes: ['openid', SCOPE_VERIFY, SCOPE_SHARE],
    // The default claims, with amr in the openid scope: oidc-provider puts amr in an ID token
    // only when a scope (or the claims parameter) asks for it, and CAMARA's relying parties
    // look for ["nba"] there.
    claims: {
      acr: null, auth_time: null, iss: null, sid: null, openid: ['sub', 'amr'],
    },
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'private_key_jwt'],
    pkce: { required: () => true },
    findAccount,
    loadExistingGrant,
    interactions: {
      policy: authenticationPolicy(),
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => nvResource(),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator) => {
          if (indicator !== nvResource()) throw new errors.InvalidTarget();
          return {
            scope: `${SCOPE_VERIFY} ${SCOPE_SHARE}`,
            accessTokenFormat: 'opaque',
            accessTokenTTL: config.accessTokenTTL,
          };
        },
      },
    },
    // Tokens outlive the one-request session that network authentication creates.
    expiresWithSession: async () => false,
    issueRefreshToken: async () => false,
    ttl: {
      AccessToken: config.accessTokenTTL,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 300,
      Interaction: 60,
      Session: SESSION_TTL,
    },
    renderError,
  });
  provider.use(networkAuthentication(provider));
  provider.on('server_error', (ctx, err) => {
    console.error(`server_error ${ctx.method} ${ctx.path}:`, err);
  });
  return { provider, handle: provider.callback(), kid: signingKey.kid };
}

// ---------------------------------------------------------------------------
// HTTP helpers

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

const ERROR_MESSAGES = {
  INVALID_ARGUMENT: 'Client specified an invalid argument, request body or query param.',
  UNAUTHENTICATED: 'Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required.',
  PERMISSION_DENIED: 'Client does not have sufficient permissions to perform this action.',
  'NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK': 'Client must authenticate via the mobile network to use this service',
  NOT_FOUND: 'The specified resource is not found.',
  METHOD_NOT_ALLOWED: 'The requested method is not allowed for this resource.',
  TOO_MANY_REQUESTS: 'Rate limit reached.',
  QUOTA_EXCEEDED: 'Out of resource quota.',
  INTERNAL: 'Unknown server error. Typically a server bug.',
  BAD_GATEWAY: 'An upstream internal service cannot be reached.',
  UNAVAILABLE: 'Service Unavailable.',
  TIMEOUT: 'Request timeout exceeded.',
};

const STATUS_CODES = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL',
  502: 'BAD_GATEWAY',
  503: 'UNAVAILABLE',
  504: 'TIMEOUT',
};

function errorInfo(res, status, code = STATUS_CODES[status] ?? 'INTERNAL', headers = {}) {
  send(res, status, { status, code, message: ERROR_MESSAGES[code] ?? 'Error.' }, headers);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readJSON(req) {
  try {
    return JSON.parse(await readBody(req));
  } catch {
    return undefined;
  }
}

function bearer(req) {
  const match = /^Bearer ([^\s]+)$/i.exec(req.headers.authorization ?? '');
  return match ? match[1] : undefined;
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// ---------------------------------------------------------------------------
// Faults

function endpointOf(pathname) {
  switch (pathname) {
    case '/.well-known/openid-configuration': return 'discovery';
    case ROUTES.jwks: return 'jwks';
    case ROUTES.authorization: return 'authorize';
    case ROUTES.token: return 'token';
    case `${NV_BASE}/verify`: return 'verify';
    case `${NV_BASE}/device-phone-number`: return 'device-phone-number';
    default: return undefined;
  }
}

function takeFault(endpoint) {
  const fault = state.faults.get(endpoint);
  if (!fault) return undefined;
  if (fault.remaining > 0) {
    fault.remaining -= 1;
    if (fault.remaining === 0) state.faults.delete(endpoint);
  }
  return fault;
}

function answerFault(res, endpoint, fault) {
  if (endpoint === 'token' && fault.status === 401) {
    send(res, 401, { error: 'invalid_client', error_description: 'client authentication failed' });
    return;
  }
  errorInfo(res, fault.status, fault.code ?? STATUS_CODES[fault.status]);
}

// ---------------------------------------------------------------------------
// CAMARA Number Verification v2

// The call log keeps the last 10000 calls, numbers masked.
function logCall(call) {
  state.calls.push(call);
  if (state.calls.length > 10_000) state.calls.shift();
}

async function numberVerification(req, res, pathname, correlator) {
  const operation = endpointOf(pathname);
  const call = { path: pathname, correlator: correlator ?? '', hashed: false };
  const answer = (status, body, code, headers) => {
    call.status = status;
    logCall(call);
    if (body) send(res, status, body, headers); else errorInfo(res, status, code, headers);
  };
  if (operation !== 'verify' && operation !== 'device-phone-number') {
    answer(404);
    return;
  }
  const method = operation === 'verify' ? 'POST' : 'GET';
  if (req.method !== method) {
    answer(405, undefined, 'METHOD_NOT_ALLOWED', { allow: method });
    return;
  }
  const body = operation === 'verify' ? await readJSON(req) : undefined;
  if (correlator !== undefined && !CORRELATOR.test(correlator)) {
    call.correlator = '';
    answer(400);
    return;
  }

  const value = bearer(req);
  const token = value ? await current.provider.AccessToken.find(value) : undefined;
  if (!token || token.isExpired || token.aud !== nvResource() || state.usedTokens.has(token.jti)
      || !accounts.has(token.accountId)) {
    answer(401);
    return;
  }
  if (!token.scopes.has(operation === 'verify' ? SCOPE_VERIFY : SCOPE_SHARE)) {
    answer(403);
    return;
  }
  if (!state.networkAuthenticated) {
    answer(403, undefined, 'NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK');
    return;
  }
  if (config.singleUse) {
    state.usedTokens.add(token.jti);
    await token.destroy();
  }
  const phone = accounts.get(token.accountId);

  if (operation === 'device-phone-number') {
    answer(200, { devicePhoneNumber: phone });
    return;
  }
  const keys = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
  if (keys.length !== 1) {
    answer(400);
    return;
  }
  if (keys[0] === 'phoneNumber' && typeof body.phoneNumber === 'string' && E164.test(body.phoneNumber)) {
    call.number = mask(body.phoneNumber);
    answer(200, { devicePhoneNumberVerified: body.phoneNumber === phone });
    return;
  }
  if (keys[0] === 'hashedPhoneNumber' && typeof body.hashedPhoneNumber === 'string'
      && SHA256_HEX.test(body.hashedPhoneNumber)) {
    call.hashed = true;
    const hash = createHash('sha256').update(phone).digest('hex');
    answer(200, { devicePhoneNumberVerified: body.hashedPhoneNumber.toLowerCase() === hash });
    return;
  }
  answer(400);
}

// ---------------------------------------------------------------------------
// Test admin API

const adminDigest = createHash('sha256').update(config.adminToken).digest();

function adminAuthorized(req) {
  const token = bearer(req);
  if (!token) return false;
  return timingSafeEqual(createHash('sha256').update(token).digest(), adminDigest);
}

async function admin(req, res, pathname) {
  if (!adminAuthorized(req)) {
    send(res, 401, { error: 'admin token required' }, { 'www-authenticate': 'Bearer' });
    return;
  }
  const route = `${req.method} ${pathname}`;
  const body = req.method === 'POST' ? (await readJSON(req)) ?? {} : {};
  const bad = (message) => send(res, 400, { error: message });
  switch (route) {
    case 'POST /test/lines': {
      const { address, phone } = body;
      if (typeof address !== 'string' || !address) return bad('address is required');
      if (phone === undefined || phone === null || phone === '') {
        state.lines.delete(address);
      } else if (typeof phone === 'string' && E164.test(phone)) {
        state.lines.set(address, phone);
      } else {
        return bad('phone must be an E.164 number or empty');
      }
      return send(res, 204);
    }
    case 'POST /test/deny-error': {
      if (typeof body.error !== 'string' || !OAUTH_ERROR.test(body.error)) return bad('error must be an OAuth error code');
      state.denyError = body.error;
      return send(res, 204);
    }
    case 'POST /test/faults': {
      const {
        endpoint, status = 0, delayMs = 0, count = 0, code,
      } = body;
      if (!ENDPOINTS.has(endpoint)) return bad(`endpoint must be one of ${[...ENDPOINTS].join(', ')}`);
      if (!Number.isInteger(status) || (status !== 0 && (status < 400 || status > 599))) return bad('status must be 0 or 400-599');
      if (!Number.isInteger(delayMs) || delayMs < 0) return bad('delayMs must be a non-negative integer');
      if (!Number.isInteger(count) || count < 0) return bad('count must be a non-negative integer');
      if (code !== undefined && (typeof code !== 'string' || !code)) return bad('code must be a string');
      if (status === 0 && delayMs === 0) return bad('a fault needs a status or a delay');
      state.faults.set(endpoint, {
        status, delayMs, code, remaining: count,
      });
      return send(res, 204);
    }
    case 'DELETE /test/faults':
      state.faults.clear();
      return send(res, 204);
    case 'POST /test/keys/rotate':
      current = buildProvider(await takeSigningKey());
      return send(res, 200, { kid: current.kid });
    case 'POST /test/network-authenticated': {
      if (typeof body.authenticated !== 'boolean') return bad('authenticated must be a boolean');
      state.networkAuthenticated = body.authenticated;
      return send(res, 204);
    }
    case 'GET /test/calls':
      return send(res, 200, { calls: state.calls });
    default:
      return send(res, 404, { error: `no admin route ${route}` });
  }
}

// ---------------------------------------------------------------------------
// Interactions: this operator has none, and its policy never asks for one with prompt=none
// (implied when absent). What still would (an id_token_hint of another subject in a request
// that sets another prompt) lands here and gets an error answer, not a page.

function interaction(req, res) {
  send(res, 400, { error: 'interaction_required', error_description: 'this operator authenticates through the mobile network only' });
}

// ---------------------------------------------------------------------------
// Dispatch

async function dispatch(req, res) {
  const { pathname } = new URL(req.url, issuer);
  const header = req.headers['x-correlator'];
  const correlator = typeof header === 'string' ? header : undefined;
  if (correlator !== undefined && CORRELATOR.test(correlator)) res.setHeader('x-correlator', correlator);

  if (pathname.startsWith('/test/')) {
    await admin(req, res, pathname);
    return;
  }
  const endpoint = endpointOf(pathname);
  const fault = endpoint && takeFault(endpoint);
  if (fault) {
    if (fault.delayMs) await sleep(fault.delayMs);
    if (fault.status) {
      if (endpoint === 'verify' || endpoint === 'device-phone-number') {
        logCall({
          path: pathname, correlator: correlator ?? '', hashed: false, status: fault.status,
        });
      }
      answerFault(res, endpoint, fault);
      return;
    }
  }
  if (pathname.startsWith(`${NV_BASE}/`)) {
    await numberVerification(req, res, pathname, correlator);
    return;
  }
  if (pathname.startsWith('/interaction/')) {
    interaction(req, res);
    return;
  }
  current.handle(req, res);
}

const server = createServer((req, res) => {
  dispatch(req, res).catch((err) => {
    console.error(`error ${req.method} ${req.url}:`, err);
    if (!res.headersSent) errorInfo(res, 500);
    else res.destroy();
  });
});

const firstKey = await takeSigningKey();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}`;
  current = buildProvider(firstKey);
  console.log(`listening ${issuer}`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (args['exit-with-stdin']) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
