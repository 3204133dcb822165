// A real OAuth 2.1 / OpenID Connect authorization server (oidc-provider 9.13.3)
// for oauthguard's end-to-end tests. TEST FIXTURE ONLY: fixed client secrets,
// any login/password is accepted, keys and state live in memory.
//
// Environment:
//   PORT      TCP port on 127.0.0.1; 0 (the default) picks a free one.
//   AUDIENCE  audience of the default resource (default https://api.example.test).
//   AT_ALG    signing alg for the default resource (default RS256).
//   AUTHSERVER_WATCH_STDIN=1  exit when stdin reaches EOF (set by the Go
//             harness so the server dies with the test process).
//
// Protocol on stdout once listening: one line "CLIENTS <json>" (client ids,
// organisations and scopes; no secrets), then exactly one line
// "READY <issuer>". Everything else (oidc-provider's warnings) goes to stderr.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.PORT ?? '0');
const audience = process.env.AUDIENCE || 'https://api.example.test';
const defaultAlg = process.env.AT_ALG || 'RS256';
const otherAudience = 'https://other.example.test';
const redirectURI = 'http://127.0.0.1:9999/callback';
const fullScope = 'read:clients write:invoices';
const signingAlgs = ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'];

// Organisation of interactive users (devInteractions: the login becomes sub).
const userOrgs = { alice: 'org_acme', bob: 'org_globex' };

const clients = [
  {
    client_id: 'test-client',
    client_secret: 'test-secret',
    organization_id: 'org_acme',
    resource_scope: fullScope,
  },
  {
    client_id: 'reader-client',
    client_secret: 'reader-secret',
    organization_id: 'org_acme',
    resource_scope: 'read:clients',
  },
  {
    client_id: 'globex-client',
    client_secret: 'globex-secret',
    organization_id: 'org_globex',
    resource_scope: fullScope,
  },
  // The resource server itself, for introspection with client_secret_post,
  // and a client for tests that disable one.
  {
    client_id: 'api-server',
    client_secret: 'api-server-secret',
    organization_id: 'org_api',
    resource_scope: 'read:clients',
    token_endpoint_auth_method: 'client_secret_post',
  },
  {
    client_id: 'disposable-client',
    client_secret: 'disposable-secret',
    organization_id: 'org_acme',
    resource_scope: fullScope,
  },
].map((c) => ({
  grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: [redirectURI],
  token_endpoint_auth_method: 'client_secret_basic',
  // Only OIDC scopes may appear here; resource scopes come from resource_scope.
  scope: 'openid offline_access',
  ...c,
}));

// A private JWK for a new key pair. Not generateKeyPairSync(...).privateKey
// .export({format:'jwk'}): on Node 20.20 that deadlocks now and then (seen
// here about once in 30 starts) when a garbage collection during the export
// destroys the key generation job, whose destructor locks the mutex the
// export holds (main thread stuck in ~KeyGenJob -> uv_mutex_lock). Keys
// generated straight to DER and re-imported share no mutex with any job.
function generatePrivateJWK(type, options) {
  const { privateKey } = crypto.generateKeyPairSync(type, {
    ...options,
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });
  return crypto.createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
}

// One generation of signing keys: RSA-2048 (RS256 and PS256), P-256 (ES256),
// Ed25519 (EdDSA and Ed25519). Private JWKs, never written anywhere.
function generateKeys(generation) {
  const jwk = (kid, type, opts) => ({ ...generatePrivateJWK(type, opts), kid, use: 'sig' });
  return {
    rsa: jwk(`rsa-${generation}`, 'rsa', { modulusLength: 2048 }),
    ec: { ...jwk(`ec-${generation}`, 'ec', { namedCurve: 'P-256' }), alg: 'ES256' },
    ed: jwk(`ed-${generation}`, 'ed25519'),
  };
}

function kidFor(keys, alg) {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return keys.rsa.kid;
  if (alg.startsWith('ES')) return keys.ec.kid;
  return keys.ed.kid;
}

function buildProvider(issuer, current, retired) {
  const resourceServer = (alg, aud = audience, ttl = 300) => ({
    audience: aud,
    accessTokenTTL: ttl,
    accessTokenFormat: 'jwt',
    // The kid is explicit so tokens are always signed by the newest key even
    // though retired keys stay in the keystore (and in the published JWKS).
    jwt: { sign: { alg, kid: kidFor(current, alg) } },
  });

  const config = {
    clients,
    jwks: { keys: [current.rsa, current.ec, current.ed, ...retired] },
    extraClientMetadata: { properties: ['organization_id', 'resource_scope'] },
    scopes: ['openid', 'offline_access'],
    pkce: { required: () => true },
    cookies: { keys: ['authservers-cookie-key-not-a-secret'] },
    findAccount: (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => oneOf ?? audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator, client) => {
          const scope = client.resource_scope;
          if (indicator === audience) return { ...resourceServer(defaultAlg), scope };
          if (indicator === otherAudience) return { ...resourceServer(defaultAlg, otherAudience), scope };
          const alg = /^urn:test:alg:(.+)$/.exec(indicator)?.[1];
          if (alg && signingAlgs.includes(alg)) return { ...resourceServer(alg), scope };
          const ttl = /^urn:test:ttl:([1-9][0-9]{0,5})$/.exec(indicator)?.[1];
          if (ttl) return { ...resourceServer(defaultAlg, audience, Number(ttl)), scope };
          if (indicator === 'urn:test:format:opaque') {
            return { scope, audience, accessTokenTTL: 300, accessTokenFormat: 'opaque' };
          }
          throw new errors.InvalidTarget();
        },
      },
    },
    extraTokenClaims: async (ctx, token) => {
      if (token.accountId) {
        return { organizationId: userOrgs[token.accountId] ?? 'org_default' };
      }
      const client = await ctx.oidc.provider.Client.find(token.clientId);
      return { organizationId: client?.organization_id };
    },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 300,
      Interaction: 600,
      RefreshToken: 3600,
      Session: 3600,
    },
  };
  return new Provider(issuer, config);
}

// The node http server delegates to the current Provider; /__test/rotate
// swaps it for one with new keys. Port and issuer stay the same. The default
// memory adapter keeps its storage at module level, so grants, refresh tokens
// and sessions survive the swap.
let generation = 1;
let keys = generateKeys(generation);
let retired = [];
let handler = null;
let issuer = '';

function rotate() {
  retired = [keys.rsa, keys.ec, keys.ed, ...retired];
  generation += 1;
  keys = generateKeys(generation);
  handler = buildProvider(issuer, keys, retired).callback();
  return {
    kids: Object.fromEntries(signingAlgs.map((alg) => [alg, kidFor(keys, alg)])),
    retired: retired.map((k) => k.kid),
  };
}

const server = http.createServer((req, res) => {
  if (req.url === '/__test/rotate') {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    try {
      const body = JSON.stringify(rotate());
      process.stderr.write(`authservers: rotated signing keys to generation ${generation}\n`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } catch (err) {
      process.stderr.write(`authservers: rotate failed: ${err?.message}\n`);
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"rotate_failed"}');
    }
    return;
  }
  handler(req, res);
});

server.listen(port, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  handler = buildProvider(issuer, keys, retired).callback();
  const summary = clients.map((c) => ({
    client_id: c.client_id, organization_id: c.organization_id, scope: c.resource_scope,
  }));
  process.stdout.write(`CLIENTS ${JSON.stringify(summary)}\n`);
  process.stderr.write(`authservers: ready ${Math.round(process.uptime() * 1000)} ms after process start\n`);
  process.stdout.write(`READY ${issuer}\n`);
});

if (process.env.AUTHSERVER_WATCH_STDIN === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
// The harness reading stdout went away: nobody can use this server any more.
process.stdout.on('error', () => process.exit(0));
