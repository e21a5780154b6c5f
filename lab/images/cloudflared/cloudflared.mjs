// cloudflared — lab stand-in for Cloudflare's tunnel daemon (image axelab-cloudflared:1).
//
//   cloudflared tunnel [--config PATH] [--metrics ADDR] run [TUNNEL]
//   cloudflared tunnel [--config PATH] ingress validate
//   cloudflared tunnel [--config PATH] ingress rule URL
//   cloudflared --version
//
// Reads config.yml (tunnel, credentials-file, ingress, originRequest) and the credentials
// JSON (AccountTag, TunnelSecret, TunnelID) and exits non-zero with a cloudflared-like
// message when they are missing or invalid. Instead of dialling Cloudflare's edge it
// listens on $CLOUDFLARED_LAB_PUBLIC_PORT (8080) for the "public" traffic the lab edge
// forwards, and routes each request by the ingress rules to the rule's service.
// Metrics server (default 0.0.0.0:2000): /ready, /healthcheck, /metrics, /config.
// SIGHUP re-reads config and credentials; an invalid new config is refused and the
// old one stays in force.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import YAML from 'yaml';

const VERSION = '2025.11.0-axelab';
const PUBLIC_PORT = Number(process.env.CLOUDFLARED_LAB_PUBLIC_PORT || 8080);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_DIRS = ['~/.cloudflared', '~/.cloudflare-warp', '~/cloudflare-warp', '/etc/cloudflared', '/usr/local/etc/cloudflared'];

class ConfigError extends Error {}

function log(level, message, fields = {}) {
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  process.stderr.write(`${new Date().toISOString()} ${level} ${message}${extra ? ' ' + extra : ''}\n`);
}

function expandHome(path) {
  return path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

function findDefaultConfig() {
  for (const dir of DEFAULT_DIRS) {
    for (const name of ['config.yml', 'config.yaml']) {
      const path = join(expandHome(dir), name);
      if (existsSync(path)) return path;
    }
  }
  throw new ConfigError(`Cannot determine default configuration path. No file [config.yml config.yaml] in [${DEFAULT_DIRS.join(' ')}]`);
}

function readConfigFile(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot load configuration file ${path}: ${error.code === 'ENOENT' ? 'no such file or directory' : error.message}`);
  }
  let doc;
  try {
    doc = YAML.parse(text);
  } catch (error) {
    throw new ConfigError(`error parsing YAML in config file at ${path}: ${error.message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`error parsing YAML in config file at ${path}: the top level must be a map`);
  return doc;
}

function parseService(service, index) {
  if (typeof service !== 'string' || service === '') throw new ConfigError(`Rule #${index + 1} has no service`);
  if (service.startsWith('http_status:')) {
    const status = Number(service.slice('http_status:'.length));
    if (!Number.isInteger(status) || status < 100 || status > 599) throw new ConfigError(`invalid HTTP status: ${service}`);
    return { kind: 'status', status, text: service };
  }
  if (service === 'hello_world' || service === 'hello-world' || service === 'helloworld') return { kind: 'hello', text: service };
  let url;
  try {
    url = new URL(service);
  } catch {
    throw new ConfigError(`${service} is an invalid address, please make sure it has a scheme and a hostname`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${service}: the lab stand-in proxies only http:// and https:// origins (and http_status:, hello_world)`);
  }
  if (url.pathname !== '/' && url.pathname !== '') {
    throw new ConfigError(
      `${service} is an invalid address, ingress rules don't support proxying to a different path on the origin service. The path will be the same as the eyeball request's path`,
    );
  }
  return { kind: 'origin', url, text: service };
}

function parseIngress(doc) {
  const raw = doc.ingress;
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) throw new ConfigError("The config file doesn't contain any ingress rules");
  if (!Array.isArray(raw)) throw new ConfigError('ingress must be a list of rules');
  const defaults = typeof doc.originRequest === 'object' && doc.originRequest ? doc.originRequest : {};
  return raw.map((rule, i) => {
    if (typeof rule !== 'object' || rule === null) throw new ConfigError(`Rule #${i + 1} must be a map`);
    const hostname = rule.hostname === undefined || rule.hostname === null ? '' : String(rule.hostname);
    const path = rule.path === undefined || rule.path === null ? '' : String(rule.path);
    const service = parseService(rule.service, i);
    if (/:\d+$/.test(hostname)) throw new ConfigError('Hostname cannot contain a port');
    if (hostname.lastIndexOf('*') > 0) {
      throw new ConfigError('Hostname patterns can have at most one wildcard character ("*") and it can only be used for subdomains, e.g. "*.example.com"');
    }
    const catchAll = (hostname === '' || hostname === '*') && path === '';
    const last = i === raw.length - 1;
    if (last && !catchAll) throw new ConfigError('The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)');
    if (!last && catchAll) {
      throw new ConfigError(
        `Rule #${i + 1} is matching the hostname '${hostname}', but this will match every hostname, meaning the rules which follow it will never be triggered.`,
      );
    }
    let pathRegex = null;
    if (path !== '') {
      try {
        pathRegex = new RegExp(path);
      } catch (error) {
        throw new ConfigError(`Rule #${i + 1} has an invalid regex: ${error.message}`);
      }
    }
    const originRequest = { ...defaults, ...(typeof rule.originRequest === 'object' && rule.originRequest ? rule.originRequest : {}) };
    return { hostname, path, pathRegex, service, originRequest };
  });
}

function readCredentials(path, tunnel) {
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
  } catch {
    throw new ConfigError(`Tunnel credentials file '${path}' doesn't exist or is not a file`);
  }
  let creds;
  try {
    creds = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`Failed to decode tunnel credentials from ${path}: ${error.message}`);
  }
  for (const key of ['AccountTag', 'TunnelSecret', 'TunnelID']) {
    if (typeof creds?.[key] !== 'string' || creds[key] === '') throw new ConfigError(`Tunnel credentials file ${path} is invalid: ${key} is missing`);
  }
  if (!UUID.test(creds.TunnelID)) throw new ConfigError(`Tunnel credentials file ${path} is invalid: TunnelID ${creds.TunnelID} is not a UUID`);
  if (Buffer.from(creds.TunnelSecret, 'base64').length < 32) {
    throw new ConfigError(`Tunnel credentials file ${path} is invalid: TunnelSecret must be base64 of at least 32 bytes`);
  }
  if (tunnel && UUID.test(tunnel) && creds.TunnelID.toLowerCase() !== tunnel.toLowerCase()) {
    throw new ConfigError(`Tunnel credentials file ${path} is for tunnel ${creds.TunnelID}, not for tunnel ${tunnel} named in the configuration`);
  }
  return { accountTag: creds.AccountTag, tunnelId: creds.TunnelID.toLowerCase() };
}

/** Loads and validates everything `tunnel run` needs; throws ConfigError. */
function loadRunConfig(options) {
  const configPath = options.config ? expandHome(options.config) : findDefaultConfig();
  const doc = readConfigFile(configPath);
  const tunnel = options.tunnel || (doc.tunnel === undefined || doc.tunnel === null ? '' : String(doc.tunnel));
  if (!tunnel) {
    throw new ConfigError('"cloudflared tunnel run" requires the ID or name of the tunnel to run as the last command line argument or in the configuration file.');
  }
  const ingress = parseIngress(doc);
  let credentialsFile = options.credentialsFile || doc['credentials-file'];
  if (!credentialsFile) {
    if (!UUID.test(tunnel)) throw new ConfigError(`Tunnel credentials file for tunnel ${tunnel} not found: set credentials-file in ${configPath}`);
    credentialsFile = join(dirname(configPath), `${tunnel}.json`);
  }
  const credentials = readCredentials(expandHome(String(credentialsFile)), tunnel);
  return { configPath, tunnel, ingress, credentialsFile: String(credentialsFile), credentials, raw: doc };
}

function matchRule(ingress, host, path) {
  const hostname = (host || '').replace(/:\d+$/, '').toLowerCase();
  for (let i = 0; i < ingress.length; i++) {
    const rule = ingress[i];
    let hostMatch = rule.hostname === '' || rule.hostname === '*';
    if (!hostMatch) {
      const pattern = rule.hostname.toLowerCase();
      hostMatch = pattern === hostname || (pattern.startsWith('*.') && hostname.endsWith(pattern.slice(2)));
    }
    const pathMatch = rule.pathRegex === null || rule.pathRegex.test(path);
    if (hostMatch && pathMatch) return { rule, index: i };
  }
  return { rule: ingress[ingress.length - 1], index: ingress.length - 1 };
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade'];

function parseDuration(value, fallbackMs) {
  if (typeof value === 'number') return value * 1000;
  const m = typeof value === 'string' ? value.match(/^(\d+(?:\.\d+)?)(ms|s|m)$/) : null;
  if (!m) return fallbackMs;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60000);
}

function runTunnel(options) {
  let state;
  try {
    state = loadRunConfig(options);
  } catch (error) {
    if (error instanceof ConfigError) {
      log('ERR', error.message);
      process.exit(1);
    }
    throw error;
  }
  let version = 0;
  const counters = { requests: 0, errors: 0 };
  log('INF', 'Starting tunnel', { tunnelID: state.credentials.tunnelId });
  log('INF', `Version ${VERSION} (axe lab stand-in: no connection to Cloudflare)`);
  log('INF', 'Settings', { config: state.configPath, rules: state.ingress.length });

  const publicServer = createServer((req, res) => {
    counters.requests++;
    const path = new URL(req.url || '/', 'http://x').pathname;
    const { rule, index } = matchRule(state.ingress, req.headers.host, path);
    const service = rule.service;
    if (service.kind === 'status') {
      res.writeHead(service.status, { 'content-length': 0 });
      res.end();
      return;
    }
    if (service.kind === 'hello') {
      const body = `Hello from the axe lab cloudflared stand-in (rule #${index + 1})\n`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const url = service.url;
    const headers = { ...req.headers };
    for (const name of HOP_BY_HOP) delete headers[name];
    if (rule.originRequest.httpHostHeader) headers.host = String(rule.originRequest.httpHostHeader);
    headers['cf-warp-tag-id'] = state.credentials.tunnelId;
    const https = url.protocol === 'https:';
    const upstream = (https ? httpsRequest : httpRequest)(
      {
        host: url.hostname,
        port: url.port || (https ? 443 : 80),
        method: req.method,
        path: req.url,
        headers,
        agent: false,
        rejectUnauthorized: !rule.originRequest.noTLSVerify,
        servername: rule.originRequest.originServerName || undefined,
      },
      (up) => {
        const out = { ...up.headers };
        for (const name of HOP_BY_HOP) delete out[name];
        res.writeHead(up.statusCode || 502, out);
        up.pipe(res);
      },
    );
    const connectTimeout = parseDuration(rule.originRequest.connectTimeout, 30_000);
    const timer = setTimeout(() => upstream.destroy(new Error('dial timeout')), connectTimeout);
    upstream.on('socket', (socket) => socket.once('connect', () => clearTimeout(timer)));
    upstream.on('error', (error) => {
      clearTimeout(timer);
      counters.errors++;
      log('ERR', 'Request failed', { error: error.code || error.message, originService: service.text, path });
      if (res.headersSent) {
        res.destroy(error);
        return;
      }
      const body = `<!doctype html><title>502 Bad Gateway</title><h1>Bad gateway</h1><p>cloudflared could not reach the origin service ${service.text}.</p>\n`;
      res.writeHead(502, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    upstream.on('close', () => clearTimeout(timer));
    req.pipe(upstream);
  });
  publicServer.keepAliveTimeout = 65_000;

  const [metricsHost, metricsPortText] = splitAddress(options.metrics || '0.0.0.0:2000');
  const metricsServer = createServer((req, res) => {
    const path = new URL(req.url || '/', 'http://x').pathname;
    const json = (status, body) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (path === '/ready') return json(200, { status: 200, readyConnections: 1, connectorId: state.credentials.tunnelId });
    if (path === '/healthcheck') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('OK\n');
      return;
    }
    if (path === '/config') {
      return json(200, {
        version,
        config: { ingress: state.ingress.map((r) => ({ hostname: r.hostname || undefined, path: r.path || undefined, service: r.service.text })) },
      });
    }
    if (path === '/metrics') {
      const text = [
        '# TYPE build_info gauge',
        `build_info{goversion="node",type="axelab",version="${VERSION}"} 1`,
        '# TYPE cloudflared_tunnel_ha_connections gauge',
        'cloudflared_tunnel_ha_connections 1',
        '# TYPE cloudflared_tunnel_total_requests counter',
        `cloudflared_tunnel_total_requests ${counters.requests}`,
        '# TYPE cloudflared_tunnel_request_errors counter',
        `cloudflared_tunnel_request_errors ${counters.errors}`,
        '# TYPE cloudflared_config_local_config_pushes counter',
        `cloudflared_config_local_config_pushes ${version}`,
        '',
      ].join('\n');
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(text);
      return;
    }
    return json(404, { error: 'not found' });
  });

  process.on('SIGHUP', () => {
    try {
      const next = loadRunConfig(options);
      state = next;
      version++;
      log('INF', 'Updated to new configuration', { version, rules: next.ingress.length });
    } catch (error) {
      log('ERR', 'Failed to reload configuration, keeping the previous one', { error: error.message });
    }
  });
  const stop = () => {
    log('INF', 'Initiating graceful shutdown');
    publicServer.close();
    metricsServer.close();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  for (const server of [metricsServer, publicServer]) {
    server.on('error', (error) => {
      log('ERR', 'Cannot listen', { error: error.message });
      process.exit(1);
    });
  }
  metricsServer.listen(Number(metricsPortText), metricsHost, () => log('INF', `Starting metrics server on ${metricsHost}:${metricsPortText}/metrics`));
  publicServer.listen(PUBLIC_PORT, '0.0.0.0', () => log('INF', 'Registered tunnel connection', { connIndex: 0, location: 'axelab', publicPort: PUBLIC_PORT }));
}

function splitAddress(address) {
  const i = address.lastIndexOf(':');
  if (i < 0) return ['0.0.0.0', address];
  return [address.slice(0, i) || '0.0.0.0', address.slice(i + 1)];
}

function ingressCommand(options, args) {
  let state;
  try {
    const configPath = options.config ? expandHome(options.config) : findDefaultConfig();
    const ingress = parseIngress(readConfigFile(configPath));
    state = { configPath, ingress };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`Validation failed: ${error.message}\n`);
    process.exit(1);
  }
  if (args[0] === 'validate') {
    process.stdout.write(`Validating rules from ${state.configPath}\nOK\n`);
    return;
  }
  if (args[0] === 'rule' && args[1]) {
    const url = new URL(args[1]);
    const { rule, index } = matchRule(state.ingress, url.host, url.pathname);
    const lines = [`Using rules from ${state.configPath}`, `Matched rule #${index + 1}`];
    if (rule.hostname) lines.push(`\thostname: ${rule.hostname}`);
    if (rule.path) lines.push(`\tpath: ${rule.path}`);
    lines.push(`\tservice: ${rule.service.text}`);
    process.stdout.write(lines.join('\n') + '\n');
    return;
  }
  process.stderr.write('usage: cloudflared tunnel ingress validate | cloudflared tunnel ingress rule URL\n');
  process.exit(2);
}

// Flags may come before or after the subcommand, as urfave/cli allows for these.
function parseArgs(argv) {
  const options = {};
  const positional = [];
  const withValue = { '--config': 'config', '--metrics': 'metrics', '--credentials-file': 'credentialsFile', '--cred-file': 'credentialsFile', '--loglevel': 'loglevel' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (name in withValue) {
      options[withValue[name]] = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      continue;
    }
    if (arg === '--no-autoupdate') continue;
    if (arg === '--version' || arg === '-v' || arg === '-V') {
      options.version = true;
      continue;
    }
    if (arg.startsWith('--')) {
      process.stderr.write(`Incorrect Usage: flag provided but not defined: ${arg}\n`);
      process.exit(2);
    }
    positional.push(arg);
  }
  return { options, positional };
}

const { options, positional } = parseArgs(process.argv.slice(2));
if (options.version || positional[0] === 'version') {
  process.stdout.write(`cloudflared version ${VERSION} (axe lab stand-in)\n`);
} else if (positional[0] === 'tunnel' && positional[1] === 'run') {
  runTunnel({ ...options, tunnel: positional[2] });
} else if (positional[0] === 'tunnel' && positional[1] === 'ingress') {
  ingressCommand(options, positional.slice(2));
} else {
  process.stderr.write('usage: cloudflared tunnel [--config PATH] [--metrics ADDR] run [TUNNEL] | cloudflared tunnel ingress validate|rule URL | cloudflared --version\n');
  process.exit(2);
}
