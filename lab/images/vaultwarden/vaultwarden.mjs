// vaultwarden — lab stand-in for a customer's Vaultwarden (image axelab-vaultwarden:1).
//
// Serves its "web vault" under the path of $DOMAIN, as the real server does: with
// DOMAIN=https://acme.axelabs.ai/vault, GET /vault/alive answers 200; with a DOMAIN
// without /vault, /vault/* is 404 (the runbook's trap) and /alive answers instead.
// Lab-only endpoints, always under /vault/lab/ whatever DOMAIN says:
//   GET /vault/lab/config    which of the four SSO keys it was started with, their values, DOMAIN
//   GET /vault/lab/started   when this process started (tells whether the container was recreated)
// The image's HEALTHCHECK is /healthcheck.sh (healthcheck.sh here, busybox wget),
// like the real image's: it probes <DOMAIN path>/alive on localhost.
import { createServer } from 'node:http';

const PORT = Number(process.env.ROCKET_PORT || 80);
const FOUR_KEYS = ['SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION', 'SIGNUPS_ALLOWED', 'SSO_ONLY', 'ORGANIZATION_INVITE_AUTO_ACCEPT'];
const STARTED = new Date().toISOString();

// The path part of DOMAIN without a trailing slash: '' or '/vault'.
function basePath() {
  const domain = process.env.DOMAIN || '';
  try {
    return new URL(domain).pathname.replace(/\/+$/, '');
  } catch {
    return '';
  }
}

function send(res, status, body) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json';
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function config() {
  const keys = {};
  for (const key of FOUR_KEYS) keys[key] = { set: process.env[key] !== undefined, value: process.env[key] ?? null };
  return {
    DOMAIN: process.env.DOMAIN ?? null,
    basePath: basePath(),
    keys,
    SSO_ENABLED: process.env.SSO_ENABLED ?? null,
    SSO_SIGNUPS_MATCH_EMAIL: process.env.SSO_SIGNUPS_MATCH_EMAIL ?? null,
    INVITATIONS_ALLOWED: process.env.INVITATIONS_ALLOWED ?? null,
  };
}

function serve() {
  const server = createServer((req, res) => {
    const path = new URL(req.url || '/', 'http://vault').pathname;
    if (path === '/vault/lab/config') return send(res, 200, config());
    if (path === '/vault/lab/started') return send(res, 200, { started: STARTED, pid: process.pid });
    const base = basePath();
    if (base && path !== base && !path.startsWith(`${base}/`)) return send(res, 404, { error: 'not found', path });
    const rest = path.slice(base.length) || '/';
    if (rest === '/alive') return send(res, 200, JSON.stringify(new Date().toISOString()));
    if (rest === '/api/config') return send(res, 200, { version: 'lab-standin', environment: { vault: process.env.DOMAIN ?? '' }, sso: process.env.SSO_ENABLED === 'true' });
    if (rest === '/' || rest === '/index.html') return send(res, 200, '<!doctype html><title>Vaultwarden Web</title><h1>Vaultwarden (lab stand-in)</h1>\n');
    return send(res, 404, { error: 'not found', path });
  });
  server.listen(PORT, '0.0.0.0', () => {
    process.stdout.write(JSON.stringify({ msg: 'vaultwarden stand-in listening', port: PORT, basePath: basePath() }) + '\n');
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
}

serve();
