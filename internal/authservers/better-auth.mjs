// A real OAuth 2.1 authorization server (Better Auth 1.7.5 with
// @better-auth/oauth-provider 1.7.5 and the jwt plugin) for oauthguard's
// end-to-end tests. TEST FIXTURE ONLY: fixed client secrets and user
// passwords, in-memory state, random auth secret per process.
//
// Environment:
//   PORT      TCP port on 127.0.0.1; 0 (the default) picks a free one.
//   AUDIENCE  the default resource / audience (default https://api.example.test).
//   AT_ALG    signing alg for the audience: EdDSA (default), RS256 or ES256.
//   AUTHSERVER_WATCH_STDIN=1  exit when stdin reaches EOF (set by the Go
//             harness so the server dies with the test process).
//
// Protocol on stdout, after seeding: one line "CLIENTS <json>" (client ids,
// organisations and scopes; no secrets), then one line "READY <issuer>".
// Everything else goes to stderr.

import { AsyncLocalStorage } from 'node:async_hooks';
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { getAuthTables } from 'better-auth/db';
import { createJwk, jwt } from 'better-auth/plugins/jwt';
import { oauthProvider, oauthProviderAuthServerMetadata } from '@better-auth/oauth-provider';

const port = Number(process.env.PORT ?? '0');
const audience = process.env.AUDIENCE || 'https://api.example.test';
const otherAudience = 'https://other.example.test';
const basePath = '/api/auth';
const redirectURI = 'https://client.example.test/callback';
const resourceScopes = ['read:clients', 'write:invoices'];
const primaryAlg = 'EdDSA';
const extraAlgs = ['RS256', 'ES256'];
const audienceAlg = process.env.AT_ALG || primaryAlg;
if (![primaryAlg, ...extraAlgs].includes(audienceAlg)) {
  throw new Error(`AT_ALG must be one of ${[primaryAlg, ...extraAlgs].join(', ')}`);
}

// Fixed, well-known test credentials (the same ids and secrets as
// oidc-provider.mjs). Client ids and secrets are injected through the
// plugin's generateClientId/generateClientSecret hooks during seeding.
// api-server is the resource server itself: registered for
// client_secret_post and linked to the audience resource, so it may
// introspect every token issued for that resource (not opaque tokens issued
// without a resource: those only their own client may introspect).
// disposable-client is for tests that disable a client.
const clients = [
  { id: 'test-client', secret: 'test-secret', organizationId: 'org_acme', scopes: resourceScopes },
  { id: 'reader-client', secret: 'reader-secret', organizationId: 'org_acme', scopes: ['read:clients'] },
  { id: 'globex-client', secret: 'globex-secret', organizationId: 'org_globex', scopes: resourceScopes },
  { id: 'api-server', secret: 'api-server-secret', organizationId: 'org_api', scopes: ['read:clients'], authMethod: 'client_secret_post', linked: true },
  { id: 'disposable-client', secret: 'disposable-secret', organizationId: 'org_acme', scopes: resourceScopes },
];
const users = [
  { email: 'alice@example.test', password: 'alice-password', name: 'Alice', organizationId: 'org_acme' },
  { email: 'bob@example.test', password: 'bob-password', name: 'Bob', organizationId: 'org_globex' },
];
const admin = { email: 'admin@example.test', password: crypto.randomBytes(18).toString('base64url'), name: 'Seeder', organizationId: 'org_admin' };
let nextClient = null;

// Per-request policy overrides for the audience resource. Better Auth always
// sets aud to the resource identifier, so a resource per alg would change
// aud. Instead the token endpoint accepts the test indicators
// urn:test:alg:<EdDSA|RS256|ES256> and urn:test:ttl:<seconds>, rewrites them
// to the audience and patches the audience's oauthResource row for that one
// request only (AsyncLocalStorage + a findOne wrapper on the memory adapter).
const override = new AsyncLocalStorage();

const db = {};
function database(options) {
  const adapter = memoryAdapter(db)(options);
  const findOne = adapter.findOne.bind(adapter);
  adapter.findOne = async (args) => {
    const row = await findOne(args);
    const patch = override.getStore();
    if (patch && row && args.model === 'oauthResource' && row.identifier === audience) {
      return { ...row, ...patch };
    }
    return row;
  };
  return adapter;
}

const jwtOptions = {
  jwks: {
    keyPairConfig: { alg: primaryAlg, crv: 'Ed25519' },
    keyPairConfigs: [{ alg: 'RS256', modulusLength: 2048 }, { alg: 'ES256', crv: 'P-256' }],
  },
};

let baseURL = '';

function authOptions() {
  return {
    baseURL,
    basePath,
    secret: crypto.randomBytes(32).toString('base64url'),
    database,
    telemetry: { enabled: false },
    rateLimit: { enabled: false },
    emailAndPassword: { enabled: true },
    user: { additionalFields: { organizationId: { type: 'string', required: false } } },
    plugins: [
      jwt(jwtOptions),
      oauthProvider({
        loginPage: '/login',
        consentPage: '/consent',
        scopes: ['openid', 'profile', 'email', 'offline_access', ...resourceScopes],
        resources: [
          { identifier: audience, accessTokenTtl: 300, signingAlgorithm: audienceAlg },
          { identifier: otherAudience, accessTokenTtl: 300 },
        ],
        enforcePerClientResources: false,
        clientPrivileges: () => true,
        generateClientId: () => nextClient.id,
        generateClientSecret: () => nextClient.secret,
        customAccessTokenClaims: ({ user, metadata }) => ({
          organizationId: user ? user.organizationId : metadata?.organizationId,
        }),
      }),
    ],
  };
}

const testIndicator = /^urn:test:(alg|ttl):(.+)$/;

function parseOverride(resource) {
  const m = testIndicator.exec(resource);
  if (!m) return null;
  if (m[1] === 'alg' && [primaryAlg, ...extraAlgs].includes(m[2])) return { signingAlgorithm: m[2] };
  if (m[1] === 'ttl' && /^[1-9][0-9]{0,5}$/.test(m[2])) return { accessTokenTtl: Number(m[2]) };
  return { invalid: true };
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function send(res, response) {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') res.setHeader(name, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) res.setHeader('set-cookie', cookies);
  res.end(Buffer.from(await response.arrayBuffer()));
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function main() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${server.address().port}`;
  const issuer = `${baseURL}${basePath}`;

  const options = authOptions();
  for (const table of Object.values(getAuthTables(options))) db[table.modelName] ??= [];
  const auth = betterAuth(options);
  const authContext = await auth.$context;
  const rfc8414Metadata = oauthProviderAuthServerMetadata(auth);

  // Signing keys: one per alg, minted now so the JWKS is complete from the start.
  const keyCtx = { context: authContext };
  const mintKeys = async () => {
    const kids = {};
    for (const cfg of [jwtOptions.jwks.keyPairConfig, ...jwtOptions.jwks.keyPairConfigs]) {
      const key = await createJwk(keyCtx, { ...jwtOptions, jwks: { ...jwtOptions.jwks, keyPairConfig: cfg } });
      kids[cfg.alg] = key.id;
    }
    return kids;
  };
  let kids = await mintKeys();

  // Key rotation the way the jwt plugin does it on its own (rotationInterval):
  // live keys get an expiresAt in the past, so they are no longer used for
  // signing but stay in the JWKS for gracePeriod (default 30 days); then a
  // fresh key per alg is minted. createdAt is forced strictly later so the
  // newest-key choice never depends on clock resolution.
  const rotate = async () => {
    const now = Date.now();
    const adapter = authContext.adapter;
    const live = (await adapter.findMany({ model: 'jwks' })).filter((k) => !k.expiresAt || k.expiresAt.getTime() > now);
    for (const key of live) {
      await adapter.update({ model: 'jwks', where: [{ field: 'id', value: key.id }], update: { expiresAt: new Date(now - 1000) } });
    }
    const retired = live.map((k) => k.id);
    while (Date.now() === now) await new Promise((r) => setTimeout(r, 1));
    kids = await mintKeys();
    return { kids, retired };
  };

  // Seed users and clients.
  const signUp = async (u) => auth.api.signUpEmail({ body: u, returnHeaders: true });
  for (const u of users) await signUp(u);
  const { headers: adminHeaders } = await signUp(admin);
  const cookie = adminHeaders.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  for (const c of clients) {
    nextClient = c;
    const created = await auth.api.adminCreateOAuthClient({
      headers: { cookie },
      body: {
        client_name: c.id,
        redirect_uris: [redirectURI],
        grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: c.authMethod ?? 'client_secret_basic',
        scope: ['openid', 'profile', 'email', 'offline_access', ...c.scopes].join(' '),
        client_credentials_scopes: c.scopes,
        skip_consent: true,
        metadata: { organizationId: c.organizationId },
      },
    });
    if (created.client_id !== c.id) throw new Error(`seeded client id ${created.client_id}, want ${c.id}`);
    if (c.linked) {
      await auth.api.adminLinkClientResource({ headers: { cookie }, params: { identifier: audience, client_id: c.id } });
    }
  }
  nextClient = null;

  // Test hooks: end every session of a user (as a sign-out everywhere or an
  // admin's session revocation would), and disable or enable a client.
  const endSessions = async (email) => {
    const user = await authContext.internalAdapter.findUserByEmail(email);
    if (!user) return 0;
    const sessions = await authContext.adapter.findMany({ model: 'session', where: [{ field: 'userId', value: user.user.id }] });
    await authContext.adapter.deleteMany({ model: 'session', where: [{ field: 'userId', value: user.user.id }] });
    return sessions.length;
  };
  const setClientDisabled = async (clientId, disabled) => {
    const updated = await authContext.adapter.update({ model: 'oauthClient', where: [{ field: 'clientId', value: clientId }], update: { disabled } });
    return updated != null;
  };

  const handle = async (req, res) => {
    const url = new URL(req.url, baseURL);
    if (url.pathname === '/__test/rotate') {
      if (req.method !== 'POST') return json(res, 405, { error: 'method_not_allowed' });
      const result = await rotate();
      process.stderr.write('authservers: rotated signing keys\n');
      return json(res, 200, result);
    }
    if (url.pathname === '/__test/end-sessions' || url.pathname === '/__test/client-disabled') {
      if (req.method !== 'POST') return json(res, 405, { error: 'method_not_allowed' });
      const input = JSON.parse((await readBody(req)).toString('utf8') || '{}');
      if (url.pathname === '/__test/end-sessions') return json(res, 200, { ended: await endSessions(input.email) });
      const ok = await setClientDisabled(input.client_id, input.disabled === true);
      return json(res, ok ? 200 : 404, { updated: ok });
    }
    if (url.pathname === `/.well-known/oauth-authorization-server${basePath}`) {
      return send(res, await rfc8414Metadata(new Request(url)));
    }
    if (!url.pathname.startsWith(`${basePath}/`)) return json(res, 404, { error: 'not_found' });

    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      for (const v of [value].flat()) headers.append(name, v);
    }
    let body = ['GET', 'HEAD'].includes(req.method) ? undefined : await readBody(req);
    let patch = null;
    if (url.pathname === `${basePath}/oauth2/token` && body
      && (headers.get('content-type') ?? '').startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(body.toString('utf8'));
      patch = parseOverride(form.get('resource') ?? '');
      if (patch?.invalid) return json(res, 400, { error: 'invalid_target', error_description: 'unknown test resource indicator' });
      if (patch) {
        form.set('resource', audience);
        body = Buffer.from(form.toString());
        headers.delete('content-length');
      }
    }
    const request = new Request(url, { method: req.method, headers, body, duplex: 'half' });
    const response = patch ? await override.run(patch, () => auth.handler(request)) : await auth.handler(request);
    return send(res, response);
  };

  server.on('request', (req, res) => {
    handle(req, res).catch((err) => {
      process.stderr.write(`authservers: request failed: ${err?.stack ?? err}\n`);
      if (!res.headersSent) json(res, 500, { error: 'server_error' });
      else res.destroy();
    });
  });

  const summary = clients.map((c) => ({ client_id: c.id, organization_id: c.organizationId, scope: c.scopes.join(' ') }));
  process.stdout.write(`CLIENTS ${JSON.stringify(summary)}\n`);
  process.stderr.write(`authservers: ready ${Math.round(process.uptime() * 1000)} ms after process start\n`);
  process.stdout.write(`READY ${issuer}\n`);
}

if (process.env.AUTHSERVER_WATCH_STDIN === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
// The harness reading stdout went away: nobody can use this server any more.
process.stdout.on('error', () => process.exit(0));

main().catch((err) => {
  process.stderr.write(`authservers: better-auth failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
